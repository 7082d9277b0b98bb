"""Runs the notebooks and keeps their outputs, so a reader sees the pictures and results
without running anything: `python tests/execute_notebooks.py` rewrites every notebook in
`notebooks/` (or only those named) with fresh outputs; with `--out DIR` it writes them
to `DIR` instead. `test_notebooks.py` runs them that way, in the background, and checks
that the committed outputs are complete.
"""

from __future__ import annotations

import pathlib
import re
import sys

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = pathlib.Path(__file__).parent.parent / "notebooks"
# TensorFlow's C++ start-up lines (absl, oneDNN, CUDA probing): noise to a reader.
_LOG_LINE = re.compile(r"^(WARNING: All log messages before absl|[IWE]\d{4} |To enable the following instructions|$)")


def execute(path: pathlib.Path) -> nbformat.NotebookNode:
    """The notebook at `path`, run top to bottom in its folder, without TensorFlow's log lines."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)  # run times: they would change at every run
        if cell.cell_type == "code":
            cell.outputs = [output for output in cell.outputs if not _is_log(output)]
    return notebook


def _is_log(output: nbformat.NotebookNode) -> bool:
    return (output.output_type == "stream" and output.name == "stderr"
            and all(_LOG_LINE.match(line) for line in output.text.splitlines()))


def main(arguments: list[str]) -> None:
    out = None
    if arguments[:1] == ["--out"]:
        out, arguments = pathlib.Path(arguments[1]), arguments[2:]
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        if not arguments or path.name in arguments:
            nbformat.write(execute(path), (out or path.parent) / path.name)
            print(f"{path.name}: executed, outputs kept in {out or path.parent}")


if __name__ == "__main__":
    main(sys.argv[1:])
