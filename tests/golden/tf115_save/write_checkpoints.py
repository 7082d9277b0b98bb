"""Write the checkpoints TF1 restores in restore_and_run.py, with tfrnn's save_tf1_checkpoint.

For each case of `restore_and_run.CASES`: its constructor strings are evaluated
with tfrnn's classes in place of TF1's, the cells are built by running the
case's call once on zeros (tfrnn's loops in place of TF1's), every weight gets
a value U(-0.5, 0.5) drawn from `np.random.default_rng(seed + WEIGHT_SEED)`
in the sorted order of the TF1 names, and `save_tf1_checkpoint` writes the
case's `{scope: cell}` mapping to DIR/<case>/model.ckpt (+ `checkpoint`).

    python tests/golden/tf115_save/write_checkpoints.py [--out DIR] [CASE...]

DIR defaults to this script's folder; CASE defaults to the `tf115` cases
(whose checkpoints are committed). tests/test_checkpoint_save.py imports this
module to write the core cases' checkpoints on every run, and to check that
the committed ones are still what tfrnn writes. Importing it has no side
effects.
"""

import argparse
import importlib.util
import pathlib

import numpy as np
import tensorflow as tf

import tfrnn
from tfrnn.checks import built_input_depth
from tfrnn.checkpoint.names import tf1_entries
from tfrnn.checkpoint.save import save_tf1_checkpoint

HERE = pathlib.Path(__file__).resolve().parent
WEIGHT_SEED = 10_000  # weights draw from seed + WEIGHT_SEED; x and the inits from seed (TF1's side)


def _load_cases():
    spec = importlib.util.spec_from_file_location("tf115_save_restore_and_run", HERE / "restore_and_run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


restore_and_run = _load_cases()
CASES = restore_and_run.CASES
BY_NAME = restore_and_run.BY_NAME


def tfrnn_names():
    """The names a case's strings may use, bound to tfrnn instead of TF1."""
    return {"__builtins__": {}, "tf": tf, **{name: getattr(tfrnn, name) for name in tfrnn.__all__}}


def make_cells(case):
    return {name: eval(text, tfrnn_names()) for name, text in case.cells}  # noqa: S307 - CASES text


def run_call(case, cells, arrays):
    """The case's call with tfrnn, on `arrays` (x, L, init:<name>:<i> as restore_and_run draws
    them): the flat result leaves, in TF1's `tf.nest.flatten` order."""
    given = dict(tfrnn_names(), **cells, x=tf.constant(arrays["x"]))
    if "L" in arrays:
        given["L"] = tf.constant(arrays["L"])
    for init_name, cell_name in case.inits:
        size = cells[cell_name].state_size
        count = len(tf.nest.flatten(size))
        given[init_name] = tf.nest.pack_sequence_as(
            size, [tf.constant(arrays[f"init:{init_name}:{i}"]) for i in range(count)]
        )
    return tf.nest.flatten(eval(case.call, given))  # noqa: S307 - CASES text


def zero_inputs(case, cells):
    """Arrays shaped like restore_and_run's inputs, all zeros: enough to build the cells."""
    sizes = {name: cell.state_size for name, cell in cells.items()}
    return {key: np.zeros_like(value) for key, value in restore_and_run.inputs(case, sizes, tf.nest.flatten).items()}


def scoped(case, cells):
    """The `{scope: cell}` mapping the case saves."""
    return {scope: cells[name] for name, scope in case.scopes}


def randomize(case, cells):
    """Every weight U(-0.5, 0.5), in sorted TF1-name order, from the case's weight seed."""
    rng = np.random.default_rng(case.seed + WEIGHT_SEED)
    entries = [e for scope, cell in scoped(case, cells).items() for e in tf1_entries(cell, built_input_depth(cell), scope)]
    for entry in sorted(entries, key=lambda e: e.name):
        variable = entry.variable()
        variable.assign(rng.uniform(-0.5, 0.5, entry.shape).astype(variable.dtype))


def write_case(case, out):
    """Build, randomize and save one case to out/<case>/model.ckpt; returns its cells."""
    cells = make_cells(case)
    run_call(case, cells, zero_inputs(case, cells))
    randomize(case, cells)
    folder = pathlib.Path(out) / case.name
    folder.mkdir(parents=True, exist_ok=True)
    save_tf1_checkpoint(folder / "model.ckpt", scoped(case, cells))
    return cells


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE), help="output folder (default: this script's folder)")
    parser.add_argument("cases", nargs="*", help="case names (default: the tf115 cases)")
    args = parser.parse_args(argv)
    names = args.cases or [case.name for case in CASES if case.tf115]
    for name in names:
        write_case(BY_NAME[name], args.out)
    print(f"wrote {len(names)} checkpoints to {args.out}")


if __name__ == "__main__":
    main()
