"""`tfrnn-checkpoint`'s command line: its parser and its one-line failure, in plain Python.

This module imports nothing from tfrnn, TensorFlow or Keras, so the console
script (`tfrnn_cli`) can load it from its file and answer `--help` without
importing TensorFlow; `tfrnn.checkpoint.tool` builds its parser here too.
"""

from __future__ import annotations

import argparse
import math
from typing import NoReturn

PROG = "tfrnn-checkpoint"
DESCRIPTION = "find the RNNs in a TF1 checkpoint and convert them to Keras files."


class ToolError(Exception):
    """A failure reported as one line on stderr; `code` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, not argparse's usage block; exit status 2 as argparse's.
        raise ToolError(f"{message} (see {self.prog} --help)", code=2)


def build_parser() -> argparse.ArgumentParser:
    """The parser of `tfrnn-checkpoint {inspect,convert}`; a usage error raises `ToolError` (status 2).

    >>> build_parser().parse_args(["inspect", "model.ckpt"]).path
    'model.ckpt'
    """
    parser = _Parser(prog=PROG, description=f"{PROG}: {DESCRIPTION}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{inspect,convert}")
    inspect = commands.add_parser("inspect", help="list the RNN structures of a TF1 checkpoint")
    inspect.add_argument("path", help="checkpoint prefix (model.ckpt) or its directory")
    convert_ = commands.add_parser(
        "convert", help="save one structure's weights in a Keras 3 file (an existing file only with --force)",
        description="Save one RNN structure of a TF1 checkpoint in a Keras 3 file. An existing OUT is "
                    "refused unless --force; on any failure nothing is written.",
    )
    convert_.add_argument("path", help="checkpoint prefix (model.ckpt) or its directory")
    convert_.add_argument("out", help="output file: OUT.weights.h5 (weights) or OUT.keras (model)")
    convert_.add_argument("--scope", help="the cell's scope, as inspect lists it (default: the only one)")
    convert_.add_argument("--to", choices=("keras", "tfrnn"), default="keras",
                          help="native Keras cells (default) or tfrnn cells")
    convert_.add_argument("--forget-bias", type=finite_float, default=1.0,
                          help="the LSTMs' forget_bias in your TF1 code (not stored in checkpoints; default 1.0)")
    convert_.add_argument("--activation", default="tanh",
                          help="the cells' activation in your TF1 code, a Keras name (not stored; default tanh)")
    convert_.add_argument("--force", action="store_true",
                          help="overwrite OUT if it exists (without --force, an existing OUT is an error)")
    return parser


def finite_float(text: str) -> float:
    """`--forget-bias`'s type: a finite number, parsed by `float`, never evaluated."""
    fix = "pass your TF1 code's forget_bias, e.g. 1.0"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; {fix}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number; {fix}")
    return value
