"""The `tfrnn-checkpoint` console script: `--help` answers before TensorFlow is imported.

Importing any module of the tfrnn package imports the package, and the package
imports TensorFlow at once: its cells must be registered with Keras before a
`.keras` file that holds them is loaded. So the command's entry point stands
outside the package. It answers `--help` (`-h`, for the command or a
subcommand) with the tool's own parser, read from its file
(`tfrnn/checkpoint/arguments.py`, which imports nothing of tfrnn, TensorFlow or
Keras), and hands every other command line to `tfrnn.checkpoint.tool.main`.
(`python -m tfrnn.checkpoint` imports the package first, so TensorFlow too.)
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
from collections.abc import Sequence
from types import ModuleType

_HELP = ("-h", "--help")


def main(argv: Sequence[str] | None = None) -> int:
    """Runs `tfrnn-checkpoint` and returns its exit status (see `tfrnn.checkpoint.tool.main`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(arg in _HELP for arg in argv[: argv.index("--") if "--" in argv else len(argv)]):
        arguments = _arguments_module()
        try:
            arguments.build_parser().parse_args(argv)
        except SystemExit as exit_:  # what argparse does after printing the help
            return exit_.code if isinstance(exit_.code, int) else 0
        except arguments.ToolError as error:  # e.g. `convert --to nope --help`
            print(f"{arguments.PROG}: error: {error}", file=sys.stderr)
            return error.code
    from tfrnn.checkpoint.tool import main as run  # imports TensorFlow

    return run(argv)


def _arguments_module() -> ModuleType:
    """`tfrnn/checkpoint/arguments.py`, loaded from its file without importing the tfrnn package."""
    package = importlib.util.find_spec("tfrnn")  # finds, does not import
    assert package is not None and package.submodule_search_locations, "tfrnn is not installed"
    path = pathlib.Path(next(iter(package.submodule_search_locations))) / "checkpoint" / "arguments.py"
    spec = importlib.util.spec_from_file_location("_tfrnn_checkpoint_arguments", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    raise SystemExit(main())
