"""Writing tfrnn cells as a TF1 `tf.train.Saver` checkpoint, by TF1 variable names.

The mirror image of `load.py`: the names and shapes come from the same
`tf1_entries`, every cell, name and path is checked before anything is
written, and one error lists every problem. The files appear all at once:
they are written under a temporary prefix in the destination folder and
renamed into place only when complete, so a failure leaves nothing behind.
"""

from __future__ import annotations

import collections
import functools
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import tensorflow as tf

from tfrnn.base import Cell, Tensor
from tfrnn.checkpoint.names import Entry, require_structure, structure_entries

__all__ = ["save_tf1_checkpoint"]

# One cell, `{scope: cell}`, or `[(scope, cell), ...]` (a cell is `Any` to a type checker).
CellOrMapping = Any
_STATE_FILE = "checkpoint"  # what tf.train.latest_checkpoint(folder) reads
_DATA = ".data-00000-of-00001"  # SaveV2 writes a single shard
_INDEX = ".index"
_MAX_LISTED = 20  # names shown in an error


def save_tf1_checkpoint(
    path: str | os.PathLike[str], cell_or_mapping: CellOrMapping, scope: str = "rnn",
) -> str:
    """Writes built cells as a TF1 `tf.train.Saver` checkpoint, under TF1's variable names.

    TF1 code still in service restores it with `tf.compat.v1.train.Saver()`
    (`saver.restore(sess, path)` or `tf.train.latest_checkpoint(folder)`) into
    the same cells built by `tf.nn.dynamic_rnn` & co. The names are exactly
    `tf1_variable_names(cell, scope)`'s and the values keep the variables'
    dtypes; the format is TF1's (V2: `path.index`, `path.data-00000-of-00001`),
    and the folder's `checkpoint` state file is replaced by one naming this
    checkpoint (relative to the folder), as a fresh TF1 `Saver` does.

    Everything is checked before anything is written: on any problem one
    `ValueError` lists them all and no file is created or changed. The files
    are written under a temporary prefix in the same folder and renamed into
    place only when complete (an existing checkpoint at `path` is replaced,
    and restored if the renames fail), so no reader sees a partial checkpoint.

    Args:
        path: the checkpoint prefix to write, e.g. `/models/run1/model.ckpt`
            (TF1's `saver.save(sess, path)`). Its folder must exist.
        cell_or_mapping: a built tfrnn cell (or `MultiRNNCell`, wrapper), or
            several structures as `{scope: cell}` or `[(scope, cell), ...]`,
            e.g. `{"bidirectional_rnn/fw": cell_fw, "bidirectional_rnn/bw":
            cell_bw}` or an encoder at `"dynamic_seq2seq/encoder/rnn"` beside
            a decoder. Cells that are not built yet have no weights: call them
            once, or `load_tf1_checkpoint` into them, first.
        scope: the TF1 variable scope of a single cell: `"rnn"` for
            `dynamic_rnn`'s default, `""` for a cell called directly. With a
            mapping, each key is its cell's full scope and `scope` stays
            `"rnn"`.

    Returns:
        `path`, as a string (what `saver.save` returns).

    Raises:
        ValueError: a cell is unbuilt or has no TF1 layout, two cells would
            write the same name, the folder does not exist, `path` is a folder
            or named `checkpoint`, or writing failed. Nothing was written.

    Example: save a trained cell and read it back by its TF1 names.

    >>> import os, tempfile, numpy as np, tensorflow as tf
    >>> import tfrnn
    >>> cell = tfrnn.BasicLSTMCell(4)
    >>> _ = tfrnn.dynamic_rnn(cell, np.zeros((2, 5, 3), "float32"), dtype=tf.float32)  # builds it
    >>> folder = tempfile.mkdtemp()
    >>> prefix = tfrnn.save_tf1_checkpoint(os.path.join(folder, "model.ckpt"), cell)
    >>> tf.train.latest_checkpoint(folder) == prefix
    True
    >>> reader = tf.train.load_checkpoint(folder)
    >>> sorted(reader.get_variable_to_shape_map().items())
    [('rnn/basic_lstm_cell/bias', [16]), ('rnn/basic_lstm_cell/kernel', [7, 16])]
    >>> np.array_equal(reader.get_tensor("rnn/basic_lstm_cell/kernel"), cell.kernel.numpy())
    True

    In TF1, `tf.compat.v1.train.Saver().restore(sess, prefix)` after
    `tf.nn.dynamic_rnn(tf.nn.rnn_cell.BasicLSTMCell(4), x, dtype=tf.float32)`
    restores these weights; `tests/test_checkpoint_save.py` proves it for every
    cell, wrapper and loop scope.
    """
    path = os.fspath(path)
    structures, problems = _structures(cell_or_mapping, scope)
    problems += _path_problems(path)
    if not tf.executing_eagerly():
        problems.append("  it was called inside a tf.function (or a TF1 graph): it writes files, so call it eagerly")
    entries: list[Entry] = []
    for structure_scope, cell in structures:
        found, problem = _entries_of(cell, structure_scope)
        entries += found
        problems += [problem] if problem else []
    problems += _duplicate_problems(entries)
    if problems:
        raise ValueError(f"Cannot save a TF1 checkpoint to {path!r}; nothing was written.\n" + "\n".join(problems))
    _write_atomically(path, {entry.name: _value(entry) for entry in entries})
    return path


def _structures(cell_or_mapping: CellOrMapping, scope: str) -> tuple[list[tuple[str, Cell]], list[str]]:
    """The `(scope, cell)` pairs to write, and the problems with the argument's form."""
    if isinstance(cell_or_mapping, Mapping):
        pairs = list(cell_or_mapping.items())
    elif isinstance(cell_or_mapping, (list, tuple)):
        pairs = list(cell_or_mapping)
    else:
        return [(scope, cell_or_mapping)], []
    problems = []
    if scope != "rnn":
        problems.append(
            f"  scope={scope!r} was given with several structures: with a mapping each key is "
            "the full scope of its cell (e.g. {'encoder/rnn': cell}); leave scope at 'rnn'"
        )
    if not pairs:
        problems.append("  nothing to save: the mapping is empty; pass a cell, or {scope: cell}")
    malformed = [p for p in pairs if not (isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str))]
    if malformed:
        problems.append(
            f"  expected (scope, cell) pairs, e.g. [('rnn', cell)], or {{scope: cell}}; received "
            f"{[type(p).__name__ if not isinstance(p, tuple) else p for p in malformed][:_MAX_LISTED]} "
            "(a stack of cells is one cell: tfrnn.MultiRNNCell([...]))"
        )
    return [p for p in pairs if p not in malformed], problems


def _entries_of(structure: Any, scope: str) -> tuple[list[Entry], str | None]:
    """The TF1 entries of a built structure, or why it cannot be written (no TF1 layout, not built)."""
    where = f"{getattr(structure, 'name', type(structure).__name__)} (scope {scope!r})"
    try:
        require_structure(structure, "save_tf1_checkpoint")
        return list(structure_entries(structure, scope)), None
    except TypeError as error:
        return [], f"  {where}: {error}"
    except ValueError:
        return [], (
            f"  {where} is not built, so it has no weights yet: call it once on inputs "
            "(e.g. dynamic_rnn(cell, x, dtype=tf.float32)), or load_tf1_checkpoint into it, "
            "then save"
        )


def _duplicate_problems(entries: list[Entry]) -> list[str]:
    counts = collections.Counter(entry.name for entry in entries)
    duplicates = [name for name, count in counts.items() if count > 1]
    if not duplicates:
        return []
    listed = "\n".join(f"    {name}" for name in duplicates[:_MAX_LISTED])
    more = f"\n    ... and {len(duplicates) - _MAX_LISTED} more" if len(duplicates) > _MAX_LISTED else ""
    return [
        f"  {len(duplicates)} TF1 name(s) would be written by more than one cell; a checkpoint "
        "holds each name once. Give each structure its own scope (as TF1's loops did: "
        "'bidirectional_rnn/fw' and 'bidirectional_rnn/bw') or its cell its own name=:\n" + listed + more
    ]


def _path_problems(path: str) -> list[str]:
    folder, base = os.path.split(path)
    if tf.io.gfile.isdir(path) or not base:
        return [
            f"  {path!r} is a folder; the path is a checkpoint prefix inside a folder, "
            f"e.g. {os.path.join(path, 'model.ckpt')!r}"
        ]
    if base == _STATE_FILE:
        return [f"  the prefix may not be named {_STATE_FILE!r}, the state file's name; use e.g. 'model.ckpt'"]
    if not tf.io.gfile.isdir(folder or "."):
        return [f"  the folder {folder!r} does not exist: create it first (os.makedirs), then save"]
    return []


def _value(entry: Entry) -> Tensor:
    """The variable's current value, in its own dtype."""
    return tf.convert_to_tensor(entry.variable())


# ------------------------------------------------------------------- writing


def _write_atomically(path: str, values: Mapping[str, Tensor]) -> None:
    """Writes everything under a temporary prefix beside `path`, then renames it into place."""
    folder, base = os.path.split(path)
    temporary = os.path.join(folder, f"{base}_temp_{uuid.uuid4().hex}")
    try:
        _write_tensors(temporary, values)
        _write_text(temporary + ".state", _state_text(base))
        _move_into_place([
            (temporary + _DATA, path + _DATA),  # data before the index that points into it
            (temporary + _INDEX, path + _INDEX),
            (temporary + ".state", os.path.join(folder, _STATE_FILE)),  # last: readers start here
        ], backup_suffix=f"_backup_{uuid.uuid4().hex}")
    except Exception as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ValueError(
            f"Cannot save a TF1 checkpoint to {path!r}: writing failed ({type(error).__name__}: {detail}); "
            "nothing was written. Check that the folder is writable and has space, then save again."
        ) from error
    finally:
        _remove_all(folder, os.path.basename(temporary))


def _write_tensors(prefix: str, values: Mapping[str, Tensor]) -> None:
    """TF1's V2 format, one shard: `prefix.index` and `prefix.data-00000-of-00001`."""
    tf.raw_ops.SaveV2(
        prefix=prefix, tensor_names=list(values), shape_and_slices=[""] * len(values), tensors=list(values.values()),
    )


def _state_text(base: str) -> str:
    """The `checkpoint` state file (a `CheckpointState` text proto) naming `base`, relative to its folder."""
    quoted = base.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'model_checkpoint_path: "{quoted}"\nall_model_checkpoint_paths: "{quoted}"\n'


def _write_text(path: str, text: str) -> None:
    with tf.io.gfile.GFile(path, "w") as file:
        file.write(text)


def _move_into_place(moves: Sequence[tuple[str, str]], backup_suffix: str) -> None:
    """Renames each source onto its target; on failure undoes every rename, restoring old targets."""
    undo: list[Callable[[], None]] = []
    try:
        for source, target in moves:
            if tf.io.gfile.exists(target):
                _rename(target, target + backup_suffix)
                undo.append(functools.partial(_rename, target + backup_suffix, target, overwrite=True))
            _rename(source, target)
            undo.append(functools.partial(tf.io.gfile.remove, target))
    except BaseException:  # also an interrupt: no half-replaced checkpoint
        for step in reversed(undo):
            _quietly(step)
        raise
    for _, target in moves:
        if tf.io.gfile.exists(target + backup_suffix):
            _quietly(functools.partial(tf.io.gfile.remove, target + backup_suffix))


def _rename(source: str, target: str, overwrite: bool = False) -> None:
    tf.io.gfile.rename(source, target, overwrite=overwrite)


def _remove_all(folder: str, name_prefix: str) -> None:
    """Removes the files of an unfinished write (also the writer's own temporary files)."""
    try:
        names = [name for name in tf.io.gfile.listdir(folder or ".") if name.startswith(name_prefix)]
    except (OSError, tf.errors.OpError):
        return  # the folder went away: nothing of ours is left in it
    for name in names:
        _quietly(functools.partial(tf.io.gfile.remove, os.path.join(folder, name)))


def _quietly(step: Callable[[], None]) -> None:
    # Clean-up after a failure: the first error is the one to report.
    try:
        step()
    except (OSError, tf.errors.OpError):
        pass

