"""Every notebook runs top to bottom, and is committed with its outputs: a reader sees its
pictures and results without running it (`python tests/execute_notebooks.py` refreshes them)."""

import nbformat
import pytest

from execute_notebooks import NOTEBOOKS, execute

PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_there_are_notebooks():
    assert PATHS


def kinds(notebook):
    """Per code cell, the kinds of its outputs: stream names and display types (images...)."""
    return [sorted({output.get("name") or ",".join(sorted(output.get("data", {}))) for output in cell.outputs})
            for cell in notebook.cells if cell.cell_type == "code"]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_notebook_runs_and_its_committed_outputs_are_complete(path):
    committed = nbformat.read(path, as_version=4)
    executed = execute(path)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    code = [cell for cell in committed.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), "run tests/execute_notebooks.py and commit the outputs"
    assert kinds(committed) == kinds(executed), "stale outputs: run tests/execute_notebooks.py"
