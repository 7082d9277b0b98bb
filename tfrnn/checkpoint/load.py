"""Loading TF1 `tf.train.Saver` checkpoints into tfrnn cells, by TF1 variable names.

Every expected name, shape, dtype and value range is checked, and every value
read, before anything is built or assigned, so a bad or damaged checkpoint
changes nothing and one error lists every problem.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from tfrnn.base import Cell, Tensor
from tfrnn.checkpoint.names import (
    Entry, join_scope, require_scope, require_structure, shown, structure_entries, tf1_entries,
)

_MAX_LISTED = 20  # names shown per category in an error
_PRE_1_2_NAMES = {"kernel": "weights", "bias": "biases"}
_CHECKPOINT_FILE = re.compile(r"\.(index|data-\d{5}-of-\d{5})$")  # model.ckpt.index -> model.ckpt
_REAL_KINDS = "fiu"  # NumPy kinds a float variable can take: float, int, unsigned int


def load_tf1_checkpoint(ckpt_path: str | os.PathLike[str], cell: Any, scope: str = "rnn") -> dict[str, Tensor]:
    """Loads a TF1 `tf.train.Saver` checkpoint into a cell, by TF1 variable names.

    An unbuilt cell is first built for the input depth the checkpoint implies.
    Everything is checked before anything is built or assigned: every
    expected name and shape, then every value, read in full: it must be a
    real number (not a string), and fit the variable's dtype (a float64 `1e300`
    does not fit a float32 variable; values that fit are converted, float64 to
    float32 rounding as a cast does). On any problem one `ValueError` lists
    every missing, unexpected, mis-shaped, unreadable or unconvertible
    variable, and the cell is left exactly as it was (unbuilt cells stay
    unbuilt). Optimizer slots (`.../kernel/Adam`) and variables outside the
    cell's scope (`global_step`, a softmax layer) are ignored.

    NaN and infinite values already in the checkpoint are loaded as they are,
    as TF1's `Saver.restore` did: they are the checkpoint's values, not a
    conversion's.

    Args:
        ckpt_path: checkpoint prefix (`/path/model.ckpt`, or its `.index`
            file) or a directory holding a `checkpoint` file, or that file
            (its latest checkpoint is used).
        cell: a tfrnn cell or `MultiRNNCell`, built or not; or anything
            `tf1_variable_names` names: a seq2seq object (attention wrapper,
            mechanism, decoder), a Keras layer or variable, a list of these
            sharing `scope`, or `{scope: these}` to load a whole TF1 model in
            one call (an NMT checkpoint: embeddings, encoder, decoder with its
            attention and output layer). Unbuilt cells are built from the
            checkpoint's shapes; other layers must be built (run once) first.
        scope: the TF1 variable scope the cell's variables live under: `"rnn"`
            for `tf.nn.dynamic_rnn`'s default, `""` for a cell called directly,
            `"encoder/rnn"` inside `variable_scope("encoder")`.

    Returns:
        The `tf1_variable_names(cell, scope)` dict, after assignment.

    Raises:
        TypeError: `ckpt_path` is not a path, `cell` not a tfrnn cell (a Keras
            cell, a list of cells), or `scope` not a string.
        ValueError: the checkpoint cannot be read (no `.index`, a truncated,
            corrupt or missing `.data` shard: the message names the file and
            the variables) or does not fit the cell (names, shapes, dtypes,
            value range); nothing was built or assigned.

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
    _check_arguments(ckpt_path, cell, scope)
    prefix, reader = _open_checkpoint(ckpt_path)
    available = reader.get_variable_to_shape_map()
    to_build: list[tuple[Cell, int | None]] = []

    def depth_of(part: Cell, part_scope: str, name: str) -> int:
        depth = infer_input_depth(part, available, part_scope, name)
        to_build.append((part, depth))
        return depth or 0  # names at depth 0 still show what is missing

    entries, reports = [], []
    for group_scope, structure in _groups(cell, scope):
        already = len(to_build)
        group = list(structure_entries(structure, group_scope, depth_of))
        unread = any(depth is None for _, depth in to_build[already:])
        reports.append(_mismatch_report(group, available, _prefix(group_scope), unread) if group else "")
        entries += group
    report = "\n".join(filter(None, reports))
    values, problems = _read_values(reader, prefix, entries) if not report else ({}, "")
    if report or problems:
        raise ValueError(
            f"Cannot load TF1 checkpoint {str(ckpt_path)!r} into {_described(cell)} with "
            f"scope={scope!r}; nothing was assigned.\n{report or problems}"
        )
    for part, depth in to_build:
        if not part.built:  # one object may appear twice (a decoder's cell listed on its own)
            part.build((None, depth))
    variables = {entry.name: entry.variable() for entry in entries}
    for name, variable in variables.items():
        variable.assign(values[name])
    return variables


def _groups(structure: Any, scope: str) -> list[tuple[str, Any]]:
    """`(scope, structure)` pairs: a mapping's items (keys are full scopes), else the one structure."""
    if isinstance(structure, Mapping):
        root = "" if scope == "rnn" else scope
        return [(join_scope(root, key), value) for key, value in structure.items()]
    return [(scope, structure)]


def _described(structure: Any) -> str:
    if isinstance(structure, Mapping):
        return f"{{{', '.join(map(repr, structure))}}}"
    return str(getattr(structure, "name", type(structure).__name__))


def _check_arguments(ckpt_path: object, cell: object, scope: object) -> None:
    if not isinstance(ckpt_path, (str, os.PathLike)):
        raise TypeError(
            f"load_tf1_checkpoint received ckpt_path={shown(ckpt_path)}; it expects the "
            "checkpoint prefix as a str or pathlib.Path ('model.ckpt' for "
            "'model.ckpt.index'), or the directory that holds the 'checkpoint' file."
        )
    require_structure(cell, "load_tf1_checkpoint")
    require_scope(scope, "load_tf1_checkpoint")


def _prefix(scope: str | None) -> str:
    scope = (scope or "").strip("/")
    return scope + "/" if scope else ""


def _open_checkpoint(ckpt_path: str | os.PathLike[str]) -> tuple[str, Any]:  # (prefix, tf.train.CheckpointReader)
    """The checkpoint's prefix and a reader of its `.index`, or one `ValueError` naming the file."""
    path = os.fspath(ckpt_path)
    if os.path.basename(path) == "checkpoint" and os.path.isfile(path):  # the state file names the latest
        path = os.path.dirname(path) or "."
    prefix = tf.train.latest_checkpoint(path) if os.path.isdir(path) else _CHECKPOINT_FILE.sub("", path)
    if prefix is None:
        problem = f"the directory {path!r} has no readable 'checkpoint' file"
    elif not os.path.exists(prefix + ".index"):
        problem = f"{prefix + '.index'!r} does not exist"
    else:
        try:
            return prefix, tf.train.load_checkpoint(prefix)
        except (ValueError, tf.errors.OpError) as error:
            problem = f"its index file {prefix + '.index'!r} cannot be read ({_first_line(error)})"
    raise ValueError(
        f"Cannot read a TF1 checkpoint at {path!r}: {problem}. Pass the checkpoint "
        "prefix (e.g. 'model.ckpt' for 'model.ckpt.index') or the directory that "
        "holds the 'checkpoint' file."
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _read_values(reader: Any, prefix: str, entries: list[Entry]) -> tuple[dict[str, np.ndarray], str]:
    """`(values, report)`: every entry's value in its variable's dtype, or why it cannot be had."""
    values: dict[str, np.ndarray] = {}
    unreadable, wrong_kind, out_of_range = [], [], []
    for entry in entries:
        dtype = _variable_dtype(entry)
        try:
            value = np.asarray(reader.get_tensor(entry.name))
        except (IndexError, ValueError, tf.errors.OpError) as error:  # what a damaged bundle raises
            unreadable.append(f"{entry.name}: {_read_problem(error, prefix)}")
            continue
        if value.dtype.kind not in _REAL_KINDS:
            held = "string" if value.dtype.kind in "OSU" else value.dtype.name
            wrong_kind.append(f"{entry.name}: checkpoint holds {held} values, the variable is {dtype.name}")
            continue
        converted, overflow = _converted(value, dtype)
        if overflow is not None:
            out_of_range.append(f"{entry.name}: {overflow} does not fit the variable's {dtype.name}")
            continue
        values[entry.name] = converted
    return values, _value_report(prefix, unreadable, wrong_kind, out_of_range)


def _variable_dtype(entry: Entry) -> np.dtype[Any]:
    """The dtype the variable has, or will have once the cell is built (its dtype policy's)."""
    if entry.held is not None or entry.cell.built:  # a bare variable has no cell to build
        name = entry.variable().dtype
    else:
        name = entry.cell.dtype_policy.variable_dtype
    return np.dtype(tf.as_dtype(name).as_numpy_dtype)  # also bfloat16, which NumPy lacks


def _converted(value: np.ndarray, dtype: np.dtype[Any]) -> tuple[np.ndarray, str | None]:
    """`(value as dtype, None)`, or `(_, the first finite value that overflows)`."""
    with np.errstate(over="ignore", invalid="ignore"):
        converted = value.astype(dtype)
    overflows = np.isinf(converted.astype(np.float64)) & np.isfinite(value)
    if overflows.any():
        first, largest = value[overflows].flat[0].item(), tf.as_dtype(dtype).max
        return converted, f"value {first!r} (largest finite {largest:.5g})"
    return converted, None


def _read_problem(error: BaseException, prefix: str) -> str:
    """Which data file failed and how, from what TensorFlow's reader raised."""
    detail = _first_line(error)
    named = re.search(r"\S+\.data-\d{5}-of-\d{5}", detail)
    shard = re.search(r"shard (\d+)", detail)
    shards = sorted(glob.glob(glob.escape(prefix) + ".data-?????-of-?????"))
    if named:
        file = named.group(0).rstrip(";:,")
    elif shard:
        file = next((f for f in shards if f".data-{int(shard.group(1)):05d}-of-" in f), f"shard {shard.group(1)}")
    else:
        file = shards[0] if len(shards) == 1 else f"one of {shards or [prefix + '.data-*']}"
    if "No such file" in detail or (named and not os.path.exists(file)):
        return f"its data file {file!r} is missing"
    if "Checksum does not match" in detail:
        return f"its data file {file!r} is corrupt (checksum mismatch)"
    if isinstance(error, IndexError) or "less bytes" in detail:
        return f"its data file {file!r} is truncated (shorter than the index says)"
    return f"reading {file!r} failed: {detail}"


def _value_report(prefix: str, unreadable: list[str], wrong_kind: list[str], out_of_range: list[str]) -> str:
    lines = _listing("unreadable", unreadable)
    if unreadable:
        lines.append(f"  hint: the checkpoint's files are damaged or incomplete: copy {prefix}.index and "
                     "every .data-NNNNN-of-NNNNN shard again, all from the same save")
    lines += _listing("not real numbers", wrong_kind)
    if wrong_kind:
        lines.append("  hint: these are not a cell's float weights: check scope=, and what wrote the checkpoint")
    lines += _listing("out of the variable's range", out_of_range)
    if out_of_range:
        lines.append("  hint: build the cell with a dtype that holds them (dtype='float64' for a float64 checkpoint)")
    return "\n".join(lines)


def infer_input_depth(
    cell: Cell, available: Mapping[str, Sequence[int]], scope: str, name: str | None = None,
) -> int | None:
    """The input depth an unbuilt cell must have to match the checkpoint, or None.

    The first weight whose shape depends on the input depth (the first
    kernel: its rows are the input depth plus a constant) gives it. When no
    weight depends on it, the inputs are ids (`EmbeddingWrapper`): depth 1.
    `load_tf1_checkpoint` builds an unbuilt cell for this depth, and
    `tfrnn-checkpoint inspect` uses the same rule for the cells it finds.
    """
    at_zero, at_one = (list(tf1_entries(cell, depth, scope, name)) for depth in (0, 1))
    for zero, one in zip(at_zero, at_one):
        if zero.shape != one.shape:
            found = available.get(zero.name)
            if not found or found[0] <= zero.shape[0]:
                return None
            return found[0] - zero.shape[0]
    return 1


def _mismatch_report(
    entries: list[Entry], available: Mapping[str, Sequence[int]], prefix: str, unread: bool,
) -> str:
    expected = {entry.name: entry.shape for entry in entries}
    # The scopes the objects' weights live in: each object's name (for a wrapper that
    # adds no scope, DropoutWrapper, ..., the wrapped cell's), for every object of the
    # group: a variable there that no object names is one the load would leave behind.
    owned = tuple(sorted({prefix + name[len(prefix):].split("/")[0] + "/"
                          for name in expected if "/" in name[len(prefix):]}))
    missing = [n for n in expected if n not in available]
    misshaped = [n for n in expected if n in available and tuple(available[n]) != expected[n]]
    unexpected = [
        n for n in sorted(available)
        if n.startswith(owned) and n not in expected and not _is_slot_of(n, expected)
    ]
    if not (missing or misshaped or unexpected or unread):
        return ""
    lines = []
    if unread:
        lines.append(f"  the input depth could not be read from {entries[0].name!r}")
    lines += _listing("missing from the checkpoint", [f"{n} {list(expected[n])}" for n in missing])
    lines += _listing(
        "mis-shaped", [f"{n}: checkpoint {list(available[n])}, cell expects {list(expected[n])}" for n in misshaped]
    )
    lines += _listing(f"unexpected in the checkpoint under {', '.join(map(repr, owned))}", unexpected)
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
