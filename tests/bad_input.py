"""The bad-input table's row type and the snapshot that proves a failed call changed nothing.

Each `Row` is one bad call: how to set up fresh objects, the call, the exception
type and a phrase of its message. `tests/test_bad_input.py` runs every row of
the `ROWS` lists in `tests/bad_input_rows_*.py` and checks that the objects the
row set up are exactly as before: every Keras layer's built-ness and weights
(by hash), and every folder's files (names, sizes and hashes).
"""

import dataclasses
import hashlib
import pathlib
from typing import Any, Callable

import keras
import numpy as np


@dataclasses.dataclass(frozen=True)
class Row:
    """One bad call.

    Attributes:
        id: the test id, `<function>-<what is wrong>`.
        call: `call(env)` makes the bad call; `env` is what `setup` returned.
        error: the exception type the call must raise.
        match: a regular expression the message must contain (`re.search`).
        setup: `setup(tmp_path) -> env`, a dict of fresh objects the call uses and
            the snapshot compares; by default an empty one.
    """

    id: str
    call: Callable[[dict], Any]
    error: type
    match: str
    setup: Callable[[pathlib.Path], dict] = lambda tmp_path: {}

    def __str__(self):
        return self.id


def snapshot(env):
    """What a failed call must not change: layers' built-ness and weights, folders' files."""
    return {key: _state_of(value) for key, value in env.items()}


def _state_of(value):
    if isinstance(value, keras.layers.Layer):
        weights = [hashlib.sha256(np.asarray(w).tobytes()).hexdigest() for w in value.weights]
        return ("layer", value.built, tuple(weights))
    if isinstance(value, pathlib.Path) and value.is_dir():
        return ("folder", tuple(sorted(_file_state(p, value) for p in value.rglob("*"))))
    if isinstance(value, (list, tuple)):
        return tuple(_state_of(item) for item in value)
    return None  # inputs and other plain values: nothing a call may change


def _file_state(path, root):
    if path.is_dir():
        return (str(path.relative_to(root)), "dir", "")
    return (str(path.relative_to(root)), path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest())
