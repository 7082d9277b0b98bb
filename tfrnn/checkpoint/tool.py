"""`tfrnn-checkpoint`: find the RNNs in a TF1 checkpoint and convert them to Keras files.

    tfrnn-checkpoint inspect PATH
    tfrnn-checkpoint convert PATH --scope rnn --to keras OUT.weights.h5

(also `python -m tfrnn.checkpoint ...`). `inspect` reads variable names and
shapes only, never values, and prints, for each RNN structure it finds
(`tfrnn.checkpoint.discovery`), the tfrnn code that rebuilds and loads it
(`tfrnn.checkpoint.report`); every other variable is listed, optimizer slots
and counters as "not RNN weights", the rest as "unexplained". `convert` loads
one structure with `load_tf1_checkpoint` (which checks every name and shape
first) and saves it in Keras 3's formats, for native Keras cells (`to_keras`)
or for tfrnn cells, writing nothing unless everything worked.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import keras
import tensorflow as tf

from tfrnn.base import RNNCell
from tfrnn.checkpoint import load_tf1_checkpoint, to_keras
from tfrnn.checkpoint.discovery import Inspection, Unit, inspect_shapes
from tfrnn.checkpoint.report import Conversion, conversion_report, format_inspection

__all__ = ["main"]

PROG = "tfrnn-checkpoint"
_OUTPUT_SUFFIXES = (".weights.h5", ".keras")
# What `--forget-bias` and `--activation` mean when not given: TF1's defaults, which
# are also the constructors', so they are neither passed nor printed.
_TF1_DEFAULTS = {"forget_bias": 1.0, "activation": "tanh"}


class ToolError(Exception):
    """A failure reported as one line on stderr; `code` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# ------------------------------------------------------------------- reading


def _resolve_checkpoint(path: str | os.PathLike[str]) -> str:
    """The checkpoint prefix for a prefix, its `.index`/`.data-*` file, or a directory."""
    path = str(path)
    if os.path.isdir(path):
        latest = tf.train.latest_checkpoint(path)
        if latest is None:
            raise ToolError(
                f"{path} is a directory without a readable 'checkpoint' file; pass the "
                f"checkpoint prefix instead (e.g. {os.path.join(path, 'model.ckpt')})"
            )
        return latest
    prefix = re.sub(r"\.(index|data-\d+-of-\d+)$", "", path)
    if not os.path.exists(prefix + ".index"):
        raise ToolError(
            f"no TF1 checkpoint at {path}: {prefix}.index does not exist; pass the "
            "checkpoint prefix (model.ckpt for model.ckpt.index) or its directory"
        )
    return prefix


def _read_shapes(prefix: str) -> dict[str, list[int]]:
    try:
        shapes = tf.train.load_checkpoint(prefix).get_variable_to_shape_map()
    except (tf.errors.OpError, ValueError) as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ToolError(f"{prefix} is not a readable TF1 checkpoint: {detail}") from None
    return {name: list(shape) for name, shape in shapes.items()}


def _inspect(path: str) -> str:
    return format_inspection(path, inspect_shapes(_read_shapes(_resolve_checkpoint(path))))


# ------------------------------------------------------------------- convert


def _convert(
    path: str, scope: str | None, to: str, out: str, forget_bias: float = 1.0, activation: str = "tanh",
) -> str:
    """Loads the cell(s) at `scope`, saves them to `out`; returns the report."""
    suffix = _output_suffix(out)
    prefix = _resolve_checkpoint(path)
    load_scope, unit = _unit_at(inspect_shapes(_read_shapes(prefix)), scope, path)
    unit = unit.with_options(_given(forget_bias=forget_bias, activation=activation))
    cell, saved = _load(prefix, unit, load_scope, to)
    model = keras.Sequential([keras.Input((None, unit.input_depth)), keras.layers.RNN(saved, return_sequences=True)])
    _save_atomically(model, out, suffix)
    return conversion_report(Conversion(prefix, load_scope, unit, cell, saved, to, out, suffix))


def _given(**options: Any) -> dict[str, Any]:
    return {key: value for key, value in options.items() if value != _TF1_DEFAULTS[key]}


def _load(prefix: str, unit: Unit, load_scope: str, to: str) -> tuple[RNNCell, keras.layers.Layer]:
    """`(tfrnn cell, what to save)`: the cell built from its class and loaded, or its Keras twin."""
    try:
        cell = unit.build()
        load_tf1_checkpoint(prefix, cell, scope=load_scope)
        return cell, to_keras(cell) if to == "keras" else cell
    except (ValueError, TypeError) as error:
        hint = " (--to tfrnn keeps TF1's cell)" if to == "keras" else ""
        raise ToolError(" ".join(str(error).split()) + hint) from None


def _output_suffix(out: str) -> str:
    suffix = next((s for s in _OUTPUT_SUFFIXES if str(out).endswith(s)), None)
    if suffix is None:
        raise ToolError(f"output {out} must end in .weights.h5 (weights only) or .keras (whole model)", code=2)
    directory = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(directory):
        raise ToolError(f"cannot write {out}: directory {directory} does not exist")
    return suffix


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


def _save_atomically(model: keras.Model, out: str, suffix: str) -> None:
    """Write beside `out` and rename, so a failure leaves no partial file."""
    directory, base = os.path.split(os.path.abspath(out))
    partial = os.path.join(directory, f".partial-{os.getpid()}-{base}")  # Keras checks the suffix
    try:
        if suffix == ".keras":
            model.save(partial)
        else:
            model.save_weights(partial)
        os.replace(partial, out)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


# ------------------------------------------------------------------- command line


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, not argparse's usage block; exit status 2 as argparse's.
        raise ToolError(f"{message} (see {self.prog} --help)", code=2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="{inspect,convert}")
    inspect = commands.add_parser("inspect", help="list the RNN structures of a TF1 checkpoint")
    inspect.add_argument("path", help="checkpoint prefix (model.ckpt) or its directory")
    convert_ = commands.add_parser("convert", help="save one structure's weights in a Keras 3 file")
    convert_.add_argument("path", help="checkpoint prefix (model.ckpt) or its directory")
    convert_.add_argument("out", help="output file: OUT.weights.h5 (weights) or OUT.keras (model)")
    convert_.add_argument("--scope", help="the cell's scope, as inspect lists it (default: the only one)")
    convert_.add_argument("--to", choices=("keras", "tfrnn"), default="keras",
                          help="native Keras cells (default) or tfrnn cells")
    convert_.add_argument("--forget-bias", type=float, default=1.0,
                          help="the LSTMs' forget_bias in your TF1 code (not stored in checkpoints; default 1.0)")
    convert_.add_argument("--activation", default="tanh",
                          help="the cells' activation in your TF1 code, a Keras name (not stored; default tanh)")
    return parser


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
        0 on success; 1 on a failure (bad path, not a checkpoint, unknown
        scope, no Keras equivalent); 2 on a usage error. Failures print one
        line on stderr and write nothing.

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
    try:
        args = _parser().parse_args(argv)
        if args.command == "inspect":
            print(_inspect(args.path))
        else:
            print(_convert(args.path, args.scope, args.to, args.out, args.forget_bias, args.activation))
    except ToolError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return error.code
    except SystemExit as exit_:  # --help: argparse exits with status 0
        code = exit_.code
        return code if isinstance(code, int) else int(code is not None)  # None or a message: as sys.exit reads them
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
