"""`tfrnn-checkpoint`: find the RNNs in a TF1 checkpoint and convert them to Keras files.

    tfrnn-checkpoint inspect PATH
    tfrnn-checkpoint convert PATH --scope rnn --to keras OUT.weights.h5 [--force]

(also `python -m tfrnn.checkpoint ...`). `inspect` reads variable names and
shapes only, never values, and prints, for each RNN structure it finds
(`tfrnn.checkpoint.inspection`), the tfrnn code that rebuilds and loads it
(`tfrnn.checkpoint.report`); every other variable is listed, optimizer slots
and counters as "not RNN weights", the rest as "unexplained". `convert` loads
one structure with `load_tf1_checkpoint` (which checks every name, shape and
value first) and saves it in Keras 3's formats, for native Keras cells
(`to_keras`) or for tfrnn cells. It never overwrites OUT without `--force`, and
writes nothing unless everything worked: the file is written beside OUT as
`.partial-<pid>-<name>` and renamed, removed on any failure, and a partial file
left by a killed run (its process gone) is removed by the next `convert` into
that folder.

Every failure is one `tfrnn-checkpoint: error: ...` line on stderr and a
non-zero exit status, never a traceback. The console script's entry point,
`tfrnn_cli`, answers `--help` with this tool's parser
(`tfrnn.checkpoint.arguments`) before TensorFlow is imported.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from tfrnn.checkpoint.arguments import PROG, ToolError, build_parser

if TYPE_CHECKING:  # imported lazily at run time: `--help` must not wait for TensorFlow
    import keras

    from tfrnn.base import RNNCell
    from tfrnn.checkpoint.discovery import Inspection, Unit

__all__ = ["main"]

_OUTPUT_SUFFIXES = (".weights.h5", ".keras")
# What `--forget-bias` and `--activation` mean when not given: TF1's defaults, which
# are also the constructors', so they are neither passed nor printed.
_TF1_DEFAULTS = {"forget_bias": 1.0, "activation": "tanh"}
_CHECKPOINT_FILE = re.compile(r"\.(index|data-\d{5}-of-\d{5})$")
# What `convert` writes before renaming: `.partial-<pid>-<output name>`.
_PARTIAL = re.compile(r"\.partial-(?P<pid>\d+)-.+(?:\.weights\.h5|\.keras)")
# The first bytes of files given as PATH that are not TF1 checkpoints.
_MAGIC = ((b"PK\x03\x04", "a zip archive (a Keras 3 .keras model?)"), (b"\x89HDF", "an HDF5 file (Keras weights?)"))


class _Terminated(BaseException):
    """SIGTERM while writing: a BaseException, like KeyboardInterrupt, so no `except Exception` stops it."""


# ------------------------------------------------------------------- reading


def _resolve_checkpoint(path: str | os.PathLike[str]) -> str:
    """The checkpoint prefix for a prefix, its `.index`/`.data-*` file, its `checkpoint` file or directory."""
    path = str(path)
    if os.path.isfile(path) and os.path.basename(path) == "checkpoint":
        return _latest_in(path, os.path.dirname(path) or ".")
    if os.path.isdir(path):
        return _latest_in(path, path)
    prefix = _CHECKPOINT_FILE.sub("", path)
    if os.path.exists(prefix + ".index"):
        return prefix
    if os.path.isfile(path):
        raise ToolError(
            f"{path} is not a TF1 checkpoint: it is {_file_kind(path)}. Pass a tf.train.Saver "
            "checkpoint: its prefix (model.ckpt for model.ckpt.index) or its directory"
        )
    raise ToolError(
        f"no TF1 checkpoint at {path}: {prefix}.index does not exist; pass the "
        "checkpoint prefix (model.ckpt for model.ckpt.index) or its directory"
    )


def _latest_in(path: str, directory: str) -> str:
    import tensorflow as tf

    latest = tf.train.latest_checkpoint(directory)
    if latest is None:
        raise ToolError(
            f"{path} is a directory without a readable 'checkpoint' file; pass the "
            f"checkpoint prefix instead (e.g. {os.path.join(directory, 'model.ckpt')})"
        )
    return str(latest)


def _file_kind(path: str) -> str:
    with open(path, "rb") as file:
        head = file.read(1024)
    kind = next((kind for magic, kind in _MAGIC if head.startswith(magic)), None)
    if kind:
        return kind
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "a binary file of another format"
    return "a text file" if b"\0" not in head else "a binary file of another format"


def _read_shapes(prefix: str) -> dict[str, list[int]]:
    import tensorflow as tf

    try:
        shapes = tf.train.load_checkpoint(prefix).get_variable_to_shape_map()
    except (tf.errors.OpError, ValueError) as error:
        detail = _first_line(error)
        raise ToolError(f"{prefix} is not a TF1 checkpoint: {prefix}.index cannot be read ({detail})") from None
    return {name: list(shape) for name, shape in shapes.items()}


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _inspect(path: str) -> str:
    from tfrnn.checkpoint.inspection import inspect_shapes
    from tfrnn.checkpoint.report import format_inspection

    return format_inspection(path, inspect_shapes(_read_shapes(_resolve_checkpoint(path))))


# ------------------------------------------------------------------- convert


def _convert(args: argparse.Namespace) -> str:
    """Loads the cell(s) at `args.scope`, saves them to `args.out`; returns the report."""
    import keras

    from tfrnn.checkpoint.inspection import inspect_shapes
    from tfrnn.checkpoint.report import Conversion, conversion_report

    suffix = _check_output(args.out, args.force)
    swept = _sweep_stale_partials(os.path.dirname(os.path.abspath(args.out)))
    prefix = _resolve_checkpoint(args.path)
    load_scope, unit = _unit_at(inspect_shapes(_read_shapes(prefix)), args.scope, args.path)
    unit = unit.with_options(_given(forget_bias=args.forget_bias, activation=args.activation))
    cell, saved = _load(prefix, unit, load_scope, args.to)
    model = keras.Sequential([keras.Input((None, unit.input_depth)), keras.layers.RNN(saved, return_sequences=True)])
    _save_atomically(model, args.out, suffix)
    report = conversion_report(Conversion(prefix, load_scope, unit, cell, saved, args.to, args.out, suffix))
    return "\n".join([f"removed {path}, left by a run that was killed" for path in swept] + [report])


def _given(**options: Any) -> dict[str, Any]:
    return {key: value for key, value in options.items() if value != _TF1_DEFAULTS[key]}


def _load(prefix: str, unit: Unit, load_scope: str, to: str) -> tuple[RNNCell, keras.layers.Layer]:
    """`(tfrnn cell, what to save)`: the cell built from its class and loaded, or its Keras twin."""
    from tfrnn.checkpoint.convert import to_keras
    from tfrnn.checkpoint.load import load_tf1_checkpoint

    try:
        cell = unit.build()
        load_tf1_checkpoint(prefix, cell, scope=load_scope)
        return cell, to_keras(cell) if to == "keras" else cell
    except (ValueError, TypeError) as error:
        hint = " (--to tfrnn keeps TF1's cell)" if to == "keras" and "to_keras" in str(error) else ""
        raise ToolError(" ".join(str(error).split()) + hint) from None


def _check_output(out: str, force: bool) -> str:
    """OUT's suffix, once OUT is known to be writable: refusals come before any work."""
    suffix = next((s for s in _OUTPUT_SUFFIXES if str(out).endswith(s)), None)
    if suffix is None:
        raise ToolError(f"output {out} must end in .weights.h5 (weights only) or .keras (whole model)", code=2)
    directory = os.path.dirname(os.path.abspath(out))
    if os.path.isdir(out):
        raise ToolError(f"output {out} is a directory; pass a file path, e.g. {os.path.join(out, 'model' + suffix)}")
    if not os.path.isdir(directory):
        raise ToolError(f"cannot write {out}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ToolError(f"cannot write {out}: the folder {directory} is not writable")
    if os.path.lexists(out) and not force:
        raise ToolError(f"output {out} already exists; pass --force to overwrite it")
    return suffix


def _save_atomically(model: keras.Model, out: str, suffix: str) -> None:
    """Write beside `out` and rename, so a failure (a signal too) leaves no partial file."""
    directory, base = os.path.split(os.path.abspath(out))
    partial = os.path.join(directory, f".partial-{os.getpid()}-{base}")  # Keras checks the suffix
    try:
        with _terminate_as_error():
            if suffix == ".keras":
                model.save(partial)
            else:
                model.save_weights(partial)
            os.replace(partial, out)
    except OSError as error:
        raise ToolError(f"cannot write {out}: {_os_reason(error)}; nothing was written") from None
    finally:
        with contextlib.suppress(OSError):
            os.remove(partial)


def _os_reason(error: OSError) -> str:
    if error.strerror:
        return f"{error.strerror} (errno {error.errno})"
    return _first_line(error)


@contextlib.contextmanager
def _terminate_as_error() -> Iterator[None]:
    """SIGTERM (a timeout, `kill`) raises `_Terminated` while writing, so the `finally` cleans up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(signum: int, frame: object) -> NoReturn:
        raise _Terminated()

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _sweep_stale_partials(directory: str) -> list[str]:
    """Removes `.partial-<pid>-*` files whose process is gone (killed mid-write); returns them."""
    removed = []
    for name in sorted(os.listdir(directory)):
        match = _PARTIAL.fullmatch(name)
        if match and not _running(int(match["pid"])):
            with contextlib.suppress(FileNotFoundError):  # another run swept it first
                os.remove(os.path.join(directory, name))
                removed.append(os.path.join(directory, name))
    return removed


def _running(pid: int) -> bool:
    """Whether process `pid` exists; in doubt (another user's, Windows), yes."""
    if pid == os.getpid() or os.name != "posix":
        return True
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _unit_at(inspection: Inspection, scope: str | None, path: str) -> tuple[str, Unit]:
    """The one cell or MultiRNNCell whose load scope is `scope` (any, if only one exists)."""
    units = [(s, unit) for structure in inspection.structures for s, _, unit in structure.units]
    scopes = ", ".join(repr(s) for s, _ in units) or "none"
    if scope is None:
        if len(units) == 1:
            return units[0]
        raise ToolError(f"{path} holds {len(units)} RNN cells; choose one with --scope: {scopes}", code=2)
    scope = scope.strip("/")
    found = [(s, unit) for s, unit in units if s == scope]
    if len(found) == 1:
        return found[0]
    if found:
        raise ToolError(f"scope {scope!r} holds {len(found)} cells side by side; convert them in Python "
                        "with tfrnn.load_tf1_checkpoint and tfrnn.to_keras")
    groups = [st for st in inspection.structures if st.scope == scope and st.kind != "rnn"]
    if groups:
        inner = ", ".join(repr(s) for s, _, _ in groups[0].units)
        raise ToolError(f"scope {scope!r} holds a {groups[0].kind.replace('_', ' ')} structure; "
                        f"convert each direction's cells with --scope: {inner}")
    raise ToolError(f"no RNN cell at scope {scope!r} in {path}; its cells' scopes are: {scopes}")


# ------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """Runs `tfrnn-checkpoint` (`python -m tfrnn.checkpoint`) and returns its exit status.

    `inspect PATH` lists the RNN structures in a TF1 checkpoint, read from
    variable names and shapes alone, with the tfrnn code that rebuilds and
    loads each; every other variable is listed, as an optimizer slot or
    counter ("not RNN weights") or as unexplained. `convert PATH OUT --scope S
    --to keras|tfrnn` saves the cell (or `MultiRNNCell`) at scope S in
    `OUT.weights.h5` or `OUT.keras`, inside a
    `keras.Sequential([keras.Input((None, depth)), keras.layers.RNN(cell)])`,
    and prints what went where and the code that loads it.

    Args:
        argv: the arguments, without the program name; default `sys.argv[1:]`.

    Returns:
        0 on success; 1 on a failure (bad path, not a checkpoint, a damaged
        checkpoint, unknown scope, no Keras equivalent, OUT exists without
        `--force`, OUT cannot be written); 2 on a usage error; 130 when
        interrupted, 143 on SIGTERM. Failures print one line on stderr, never
        a traceback, and write nothing.

    Example:

    >>> import tempfile, numpy as np, tensorflow as tf
    >>> from tfrnn.checkpoint.tool import main
    >>> values = {"rnn/gru_cell/gates/kernel": np.ones((5, 4), "float32"),
    ...           "rnn/gru_cell/gates/bias": np.ones((4,), "float32"),
    ...           "rnn/gru_cell/candidate/kernel": np.ones((5, 2), "float32"),
    ...           "rnn/gru_cell/candidate/bias": np.ones((2,), "float32"),
    ...           "global_step": np.zeros((), "float32")}
    >>> prefix = tempfile.mkdtemp() + "/model.ckpt"
    >>> tf.raw_ops.SaveV2(prefix=prefix, tensor_names=list(values),
    ...                   shape_and_slices=[""] * 5, tensors=list(values.values()))
    >>> main(["inspect", prefix])  # doctest: +ELLIPSIS
    TF1 checkpoint .../model.ckpt: 5 variables, 1 RNN structure
    <BLANKLINE>
    [1] scope 'rnn': dynamic_rnn, static_rnn or raw_rnn, input depth 3
        cell 'rnn': GRUCell(2), input depth 3
        tfrnn code:
            import tfrnn
            PATH = '.../model.ckpt'
            cell = tfrnn.GRUCell(2)
            tfrnn.load_tf1_checkpoint(PATH, cell, scope='rnn')
            # outputs, state = tfrnn.dynamic_rnn(cell, inputs, dtype='float32')  # inputs [batch, time, 3]
    <BLANKLINE>
    not RNN weights (1):
        global_step []  optimizer or training counter
    <BLANKLINE>
    Checkpoints do not store activation, forget_bias ...
    0
    """
    default_hook = sys.unraisablehook
    try:
        return _run(argv)
    finally:
        gc.collect()  # while a stopped run's hook is quiet (see `_stopped`)
        sys.unraisablehook = default_hook


def _run(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        print(_inspect(args.path) if args.command == "inspect" else _convert(args))
    except ToolError as error:
        return _fail(str(error), error.code)
    except SystemExit as exit_:  # --help: argparse exits with status 0
        code = exit_.code
        return code if isinstance(code, int) else int(code is not None)  # None or a message: as sys.exit reads them
    except KeyboardInterrupt:
        return _stopped("interrupted; nothing was written", 130)
    except _Terminated:
        return _stopped("terminated by SIGTERM; nothing was written", 128 + signal.SIGTERM)
    except Exception as error:  # noqa: BLE001 - a command-line tool answers in one line, never a traceback
        return _fail(f"unexpected {type(error).__name__}: {error} (please report this to tfrnn)", 1)
    return 0


def _stopped(message: str, code: int) -> int:
    """`_fail`, for a run a signal stopped halfway through the writer's work.

    The signal may have stopped an object's constructor (a `zipfile.ZipFile`)
    whose `__del__` then fails when the traceback is dropped: after the one
    error line, that report must not reach stderr. `main` restores the hook.
    """
    sys.unraisablehook = lambda unraisable: None
    return _fail(message, code)


def _fail(message: str, code: int) -> int:
    """Prints `message` as the one error line (newlines folded) and returns `code`."""
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
