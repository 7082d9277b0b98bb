"""TF1 checkpoints: the names tfrnn cells have in TF1, loading `tf.train.Saver`
checkpoints by those names and writing them back, and converting cells to and
from native Keras 3.

All TF1-compatibility knowledge derives from each cell's `tf1_layout`.

The functions are imported on first use (PEP 562), not with the package:
`tfrnn-checkpoint --help` imports `tfrnn.checkpoint.tool` through this package
and must answer without loading TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tfrnn.checkpoint.convert import from_keras, to_keras
    from tfrnn.checkpoint.load import load_tf1_checkpoint
    from tfrnn.checkpoint.names import tf1_entries, tf1_variable_names
    from tfrnn.checkpoint.save import save_tf1_checkpoint

__all__ = [
    "from_keras", "load_tf1_checkpoint", "save_tf1_checkpoint", "tf1_entries", "tf1_variable_names", "to_keras",
]

_HOMES = {
    "from_keras": "tfrnn.checkpoint.convert",
    "to_keras": "tfrnn.checkpoint.convert",
    "load_tf1_checkpoint": "tfrnn.checkpoint.load",
    "save_tf1_checkpoint": "tfrnn.checkpoint.save",
    "tf1_entries": "tfrnn.checkpoint.names",
    "tf1_variable_names": "tfrnn.checkpoint.names",
}


def __getattr__(name: str) -> Any:
    """`tfrnn.checkpoint.load_tf1_checkpoint` & co, imported from their module on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module 'tfrnn.checkpoint' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
