"""Every notebook runs top to bottom, and is committed with its outputs: a reader sees its
pictures and results without running it (`python tests/execute_notebooks.py` refreshes them).
Each notebook runs in a background job (`background.py`) beside the rest of the suite."""

import nbformat
import pytest

import background
from execute_notebooks import NOTEBOOKS

PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
EXECUTE = background.TESTS / "execute_notebooks.py"

for _path in PATHS:
    background.job(f"notebook:{_path.name}")(lambda folder, name=_path.name: background.python(EXECUTE, "--out", folder, name))


def test_there_are_notebooks():
    assert PATHS


def kinds(notebook):
    """Per code cell, the kinds of its outputs: stream names and display types (images...)."""
    return [sorted({output.get("name") or ",".join(sorted(output.get("data", {}))) for output in cell.outputs})
            for cell in notebook.cells if cell.cell_type == "code"]


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name, marks=pytest.mark.background(f"notebook:{p.name}"))
                                  for p in PATHS])
def test_notebook_runs_and_its_committed_outputs_are_complete(path):
    committed = nbformat.read(path, as_version=4)
    executed = nbformat.read(background.result(f"notebook:{path.name}").check().folder / path.name, as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    code = [cell for cell in committed.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), "run tests/execute_notebooks.py and commit the outputs"
    assert kinds(committed) == kinds(executed), "stale outputs: run tests/execute_notebooks.py"
