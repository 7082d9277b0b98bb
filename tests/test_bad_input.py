"""Every row of the bad-input table: a clear error of the right type, and nothing changed.

The rows live beside this file in `bad_input_rows_*.py`, one file per part of the
API (loops, cells and wrappers, checkpoints and the CLI); `bad_input.py` says
what a row is and what "nothing changed" means.
"""

import importlib
import pathlib

import pytest

from bad_input import snapshot

ROWS = [
    row
    for path in sorted(pathlib.Path(__file__).parent.glob("bad_input_rows_*.py"))
    for row in importlib.import_module(path.stem).ROWS
]


def test_row_ids_are_unique():
    ids = [row.id for row in ROWS]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_bad_call_raises_a_clear_error_and_changes_nothing(row, tmp_path):
    env = row.setup(tmp_path)
    before = snapshot(env)
    with pytest.raises(row.error, match=row.match):
        row.call(env)
    assert snapshot(env) == before
