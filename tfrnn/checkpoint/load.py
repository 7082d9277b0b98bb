"""Loading TF1 `tf.train.Saver` checkpoints into tfrnn cells, by TF1 variable names.

Every expected name and shape is checked before anything is assigned, so a bad
checkpoint changes nothing and one error lists every problem.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from tfrnn.base import Cell, Tensor, built_input_depth
from tfrnn.checkpoint.names import Entry, tf1_entries

_MAX_LISTED = 20  # names shown per category in an error
_PRE_1_2_NAMES = {"kernel": "weights", "bias": "biases"}


def load_tf1_checkpoint(ckpt_path: str | os.PathLike[str], cell: Cell, scope: str = "rnn") -> dict[str, Tensor]:
    """Loads a TF1 `tf.train.Saver` checkpoint into a cell, by TF1 variable names.

    An unbuilt cell is first built for the input depth the checkpoint implies.
    Every expected name and shape is checked before anything is assigned: on
    any mismatch one `ValueError` lists every missing, unexpected and
    mis-shaped variable, and the cell is left exactly as it was (unbuilt cells
    stay unbuilt). Optimizer slots (`.../kernel/Adam`) and variables outside
    the cell's scope (`global_step`, a softmax layer) are ignored.

    Args:
        ckpt_path: checkpoint prefix (`/path/model.ckpt`) or a directory holding
            a `checkpoint` file (its latest checkpoint is used).
        cell: a tfrnn cell or `MultiRNNCell`, built or not.
        scope: the TF1 variable scope the cell's variables live under: `"rnn"`
            for `tf.nn.dynamic_rnn`'s default, `""` for a cell called directly,
            `"encoder/rnn"` inside `variable_scope("encoder")`.

    Returns:
        The `tf1_variable_names(cell, scope)` dict, after assignment.

    Example: write a checkpoint, as TF1 would name it, and load it.

    >>> import tempfile, numpy as np, tensorflow as tf
    >>> import tfrnn
    >>> values = {"rnn/basic_lstm_cell/kernel": np.ones((7, 16), "float32"),
    ...           "rnn/basic_lstm_cell/bias": np.zeros((16,), "float32")}
    >>> prefix = tempfile.mkdtemp() + "/model.ckpt"
    >>> tf.raw_ops.SaveV2(prefix=prefix, tensor_names=list(values),
    ...                   shape_and_slices=["", ""], tensors=list(values.values()))
    >>> cell = tfrnn.BasicLSTMCell(4)  # unbuilt: depth 3 comes from the [7, 16] kernel
    >>> loaded = tfrnn.load_tf1_checkpoint(prefix, cell)
    >>> sorted(loaded), float(np.asarray(cell.kernel).sum())
    (['rnn/basic_lstm_cell/bias', 'rnn/basic_lstm_cell/kernel'], 112.0)
    """
    reader = _open_checkpoint(ckpt_path)
    available = reader.get_variable_to_shape_map()
    depth = built_input_depth(cell) if cell.built else infer_input_depth(cell, available, scope)
    entries = list(tf1_entries(cell, depth or 0, scope))
    report = _mismatch_report(entries, available, _prefix(scope), depth)
    if report:
        raise ValueError(
            f"Cannot load TF1 checkpoint {ckpt_path!r} into {cell.name} with "
            f"scope={scope!r}; nothing was assigned.\n{report}"
        )
    values = {entry.name: reader.get_tensor(entry.name) for entry in entries}
    if not cell.built:
        cell.build((None, depth))
    variables = {entry.name: entry.variable() for entry in entries}
    for name, variable in variables.items():
        variable.assign(np.asarray(values[name], dtype=variable.dtype))
    return variables


def _prefix(scope: str | None) -> str:
    scope = (scope or "").strip("/")
    return scope + "/" if scope else ""


def _open_checkpoint(ckpt_path: str | os.PathLike[str]) -> Any:  # a tf.train.CheckpointReader
    try:
        return tf.train.load_checkpoint(str(ckpt_path))
    except (ValueError, tf.errors.OpError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(
            f"Cannot read a TF1 checkpoint at {str(ckpt_path)!r}: {first_line}. Pass "
            "the checkpoint prefix (e.g. 'model.ckpt' for 'model.ckpt.index') or "
            "the directory that holds the 'checkpoint' file."
        ) from None


def infer_input_depth(cell: Cell, available: Mapping[str, Sequence[int]], scope: str) -> int | None:
    """The input depth an unbuilt cell must have to match the checkpoint, or None.

    The first weight whose shape depends on the input depth (the first
    kernel: its rows are the input depth plus a constant) gives it. When no
    weight depends on it, the inputs are ids (`EmbeddingWrapper`): depth 1.
    `load_tf1_checkpoint` builds an unbuilt cell for this depth, and
    `tfrnn-checkpoint inspect` uses the same rule for the cells it finds.
    """
    at_zero, at_one = (list(tf1_entries(cell, depth, scope)) for depth in (0, 1))
    for zero, one in zip(at_zero, at_one):
        if zero.shape != one.shape:
            found = available.get(zero.name)
            if not found or found[0] <= zero.shape[0]:
                return None
            return found[0] - zero.shape[0]
    return 1


def _mismatch_report(
    entries: list[Entry], available: Mapping[str, Sequence[int]], prefix: str, depth: int | None,
) -> str:
    expected = {entry.name: entry.shape for entry in entries}
    # The scope the cell's weights share: its name, or for a wrapper that adds
    # no scope (DropoutWrapper, ...) the wrapped cell's.
    cell_prefix = prefix + entries[0].name[len(prefix):].split("/")[0] + "/"
    missing = [n for n in expected if n not in available]
    misshaped = [n for n in expected if n in available and tuple(available[n]) != expected[n]]
    unexpected = [
        n for n in sorted(available)
        if n.startswith(cell_prefix) and n not in expected and not _is_slot_of(n, expected)
    ]
    if not (missing or misshaped or unexpected) and depth is not None:
        return ""
    lines = []
    if depth is None:
        lines.append(f"  the input depth could not be read from {entries[0].name!r}")
    lines += _listing("missing from the checkpoint", [f"{n} {list(expected[n])}" for n in missing])
    lines += _listing(
        "mis-shaped", [f"{n}: checkpoint {list(available[n])}, cell expects {list(expected[n])}" for n in misshaped]
    )
    lines += _listing(f"unexpected in the checkpoint under {cell_prefix!r}", unexpected)
    lines += _hints(missing, expected, available, prefix)
    return "\n".join(lines)


def _is_slot_of(name: str, expected: Mapping[str, object]) -> bool:
    # TF1 optimizers save slots as `<weight>/Adam`, `<weight>/Momentum`, ...
    return any(name.startswith(weight + "/") for weight in expected)


def _listing(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    shown = [f"    {item}" for item in items[:_MAX_LISTED]]
    more = [f"    ... and {len(items) - _MAX_LISTED} more"] if len(items) > _MAX_LISTED else []
    return [f"  {title} ({len(items)}):"] + shown + more


def _hints(
    missing: list[str], expected: Mapping[str, object], available: Mapping[str, object], prefix: str,
) -> list[str]:
    """Point at the usual causes: another scope, pre-TF-1.2 names, another cell."""
    hints = []
    old_names = [n for n in missing if _pre_1_2_name(n) in available]
    if old_names:
        hints.append(
            "  hint: the checkpoint uses pre-TF-1.2 names ('weights'/'biases'); TF 1.2 "
            "renamed them 'kernel'/'bias'. Rename them first (TF1's "
            "tf.contrib.rnn checkpoint_convert tool did exactly this)."
        )
    if missing and len(missing) == len(expected):
        hints += _scope_hints(next(iter(expected))[len(prefix):], available)
    return hints


def _pre_1_2_name(name: str) -> str:
    head, _, last = name.rpartition("/")
    return f"{head}/{_PRE_1_2_NAMES.get(last, last)}"


def _scope_hints(first_name: str, available: Mapping[str, object]) -> list[str]:
    """Suggest the scope under which the checkpoint holds this cell's first kernel."""
    scopes = sorted({n[: -len(first_name)].rstrip("/") for n in available if n == first_name or n.endswith("/" + first_name)})
    if scopes:
        return [f"  hint: the checkpoint holds {first_name!r} under scope(s) {scopes}; pass scope= one of them."]
    kernels = sorted(n for n in available if n.rpartition("/")[2] in ("kernel", "weights"))
    return [f"  hint: no {first_name!r} anywhere; the checkpoint's kernels are {kernels[:_MAX_LISTED]}"]
