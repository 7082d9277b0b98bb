"""TF1 restores checkpoints that tfrnn wrote, and runs them: the save direction's oracle.

For each case, this script builds the case's TF1 structure (its cells, then
its call: `dynamic_rnn`, `bidirectional_dynamic_rnn`, ...), restores every
variable with `tf.compat.v1.train.Saver().restore` from the checkpoint that
tfrnn's `save_tf1_checkpoint` wrote in CHECKPOINTS/<case>/ (found through its
`checkpoint` state file, `tf.compat.v1.train.latest_checkpoint`), runs it on
inputs drawn from the case's seed, and writes what it computed to
OUT/<case>.npz, with OUT/MANIFEST.json.  tfrnn is never imported here.

It runs under two TF1s (README.md beside this file):

    /opt/tf115/bin/python tests/golden/tf115_save/restore_and_run.py CHECKPOINTS OUT [CASE...]
        real TensorFlow 1.15 (Python 3.7): every case, tf.contrib.rnn included.
        Without CASE, the cases marked `tf115`; their outputs are committed here.
    TF_USE_LEGACY_KERAS=1 python tests/golden/tf115_save/restore_and_run.py CHECKPOINTS OUT [CASE...]
        TF 2.x's TF1 cells (tf_keras' legacy_cells): the core cases only, which
        tests/test_checkpoint_save.py runs on every test run.

Importing this module has no side effects, and it imports only numpy and the
standard library (pytest's --doctest-modules imports every .py file under
tests/ with TF 2.x, and tests/test_checkpoint_save.py reads CASES from it):
the environment is set and TensorFlow is imported only in main().  Python 3.7
syntax throughout.
"""

import argparse
import json
import os
import sys
import zipfile
from typing import NamedTuple, Optional, Tuple

import numpy as np

B = 4
T = 5
D = 3
LENGTHS = (5, 3, 1, 0)
BATCH_MAJOR, TIME_MAJOR = "batch_major", "time_major"


class Case(NamedTuple):
    name: str
    seed: int  # fixed per case: x and the initial states come from it (weights: tfrnn's side)
    # (name, constructor string), evaluated in order with TF1's classes (and tfrnn's, in the test).
    cells: Tuple[Tuple[str, str], ...]
    # (cell name, TF1 scope): where TF1 puts each cell's variables, so the
    # `{scope: cell}` mapping tfrnn saves with.
    scopes: Tuple[Tuple[str, str], ...]
    call: str  # expression over the cells, x, L and the initial states
    inits: Tuple[Tuple[str, str], ...] = ()  # (init name, cell name): a random state of that cell
    tf115: bool = False  # needs tf.contrib (real TF 1.15); its outputs are committed
    layout: str = BATCH_MAJOR
    id_classes: int = 0  # > 0: x is int32 ids [B, T, 1] in [0, id_classes)
    lengths: Optional[Tuple[int, ...]] = LENGTHS  # None: the call has no L


DYN = "dynamic_rnn(cell, x, sequence_length=L, dtype=tf.float32)"
RNN = (("cell", "rnn"),)
BIDI = (("cell_fw", "bidirectional_rnn/fw"), ("cell_bw", "bidirectional_rnn/bw"))


def stack_scopes(layers, static=False):
    """TF1's stack_bidirectional_*rnn scopes of `layers` layers (README.md beside this file)."""
    middle = "" if static else "bidirectional_rnn/"
    return tuple(
        ("cell_%s%d" % (direction, i), "stack_bidirectional_rnn/cell_%d/%s%s" % (i, middle, direction))
        for i in range(layers)
        for direction in ("fw", "bw")
    )


CASES = (
    # Core cells, wrappers and loops: run by tf_keras' TF1 cells in every test run.
    Case("basic_rnn", 301, (("cell", "BasicRNNCell(5)"),), RNN, DYN),
    Case(
        "basic_lstm_init", 302, (("cell", "BasicLSTMCell(4, forget_bias=0.5)"),), RNN,
        "dynamic_rnn(cell, x, sequence_length=L, initial_state=init)", inits=(("init", "cell"),),
    ),
    Case(
        "lstm_peep_proj_clip", 303,
        (("cell", "LSTMCell(4, use_peepholes=True, num_proj=3, cell_clip=0.4, proj_clip=0.1, forget_bias=0.5)"),),
        RNN, DYN,
    ),
    Case("gru_no_length", 304, (("cell", "GRUCell(3)"),), RNN, "dynamic_rnn(cell, x, dtype=tf.float32)", lengths=None),
    Case(
        "multi_mixed", 305,
        (("cell", "MultiRNNCell([LSTMCell(4, use_peepholes=True, num_proj=2), GRUCell(3), BasicRNNCell(2), "
                  "BasicLSTMCell(3)])"),),
        RNN, DYN,
    ),
    Case(
        "multi_residual_dropout", 306,
        (("cell", "MultiRNNCell([ResidualWrapper(GRUCell(3)), DropoutWrapper(BasicLSTMCell(3), "
                  "input_keep_prob=1.0, output_keep_prob=1.0, state_keep_prob=1.0)])"),),
        RNN, DYN,
    ),
    Case(
        "residual_of_dropout", 307,
        (("cell", "ResidualWrapper(DropoutWrapper(LSTMCell(5, num_proj=3), output_keep_prob=1.0))"),),
        RNN, "dynamic_rnn(cell, x, dtype=tf.float32, time_major=True)", layout=TIME_MAJOR, lengths=None,
    ),
    Case(
        "direct_multi", 308, (("cell", "MultiRNNCell([GRUCell(3), BasicLSTMCell(2)])"),), (("cell", ""),),
        "cell(x[:, 0], init)", inits=(("init", "cell"),), lengths=None,
    ),
    Case(
        "bidirectional", 309, (("cell_fw", "BasicLSTMCell(3)"), ("cell_bw", "GRUCell(2)")), BIDI,
        "bidirectional_dynamic_rnn(cell_fw, cell_bw, x, sequence_length=L, dtype=tf.float32)",
    ),
    Case(
        "bidirectional_multi_scoped", 310,
        (("cell_fw", "MultiRNNCell([LSTMCell(3), LSTMCell(2)])"), ("cell_bw", "MultiRNNCell([LSTMCell(3), GRUCell(2)])")),
        (("cell_fw", "encoder/birnn/fw"), ("cell_bw", "encoder/birnn/bw")),
        'bidirectional_dynamic_rnn(cell_fw, cell_bw, x, sequence_length=L, dtype=tf.float32, scope="encoder/birnn")',
    ),
    Case(
        "static_bidirectional", 311, (("cell_fw", "GRUCell(2)"), ("cell_bw", "BasicRNNCell(3)")), BIDI,
        "static_bidirectional_rnn(cell_fw, cell_bw, tf.unstack(x, axis=1), sequence_length=L, dtype=tf.float32)",
    ),
    Case(  # an encoder and a decoder of the same class, in two scopes (tensorflow/nmt's names)
        "seq2seq_scopes", 312, (("encoder", "LSTMCell(4)"), ("decoder", "LSTMCell(4)")),
        (("encoder", "dynamic_seq2seq/encoder/rnn"), ("decoder", "dynamic_seq2seq/decoder/rnn")),
        '(lambda encoded: (encoded, dynamic_rnn(decoder, x, initial_state=encoded[1], '
        'scope="dynamic_seq2seq/decoder/rnn")))(dynamic_rnn(encoder, x, sequence_length=L, dtype=tf.float32, '
        'scope="dynamic_seq2seq/encoder/rnn"))',
    ),
    # tf.contrib.rnn: run by real TF 1.15 once; what it computed is committed here.
    Case("layer_norm_lstm", 321, (("cell", "LayerNormBasicLSTMCell(4, forget_bias=0.5)"),), RNN, DYN, tf115=True),
    Case(
        "layer_norm_lstm_off", 322, (("cell", "LayerNormBasicLSTMCell(3, layer_norm=False)"),), RNN, DYN, tf115=True,
    ),
    Case(
        "output_projection", 323,
        (("cell", "OutputProjectionWrapper(LSTMCell(4, num_proj=3), 5, activation=tf.nn.tanh)"),), RNN, DYN,
        tf115=True,
    ),
    Case("input_projection", 324, (("cell", "InputProjectionWrapper(GRUCell(3), num_proj=4)"),), RNN, DYN, tf115=True),
    Case(
        "embedding", 325,
        (("cell", "EmbeddingWrapper(BasicLSTMCell(3), embedding_classes=7, embedding_size=2)"),), RNN, DYN,
        tf115=True, id_classes=7,
    ),
    Case("gru_block", 326, (("cell", "GRUBlockCell(4)"),), RNN, DYN, tf115=True),
    Case(
        "lstm_block_peephole_clip", 327,
        (("cell", "LSTMBlockCell(3, forget_bias=0.5, cell_clip=0.3, use_peephole=True)"),), RNN, DYN, tf115=True,
    ),
    Case(
        "multi_contrib", 328,
        (("cell", "MultiRNNCell([InputProjectionWrapper(LayerNormBasicLSTMCell(3), num_proj=2), "
                  "OutputProjectionWrapper(GRUBlockCell(3), 2), LSTMBlockCell(2)])"),),
        RNN, DYN, tf115=True,
    ),
    Case(
        "stack_bidirectional_dynamic", 329,
        (("cell_fw0", "LSTMBlockCell(3)"), ("cell_bw0", "LayerNormBasicLSTMCell(2)"),
         ("cell_fw1", "GRUCell(2)"), ("cell_bw1", "BasicLSTMCell(3)")),
        stack_scopes(2),
        "stack_bidirectional_dynamic_rnn([cell_fw0, cell_fw1], [cell_bw0, cell_bw1], x, sequence_length=L, "
        "dtype=tf.float32)",
        tf115=True,
    ),
    Case(
        "stack_bidirectional_static", 330,
        (("cell_fw0", "GRUBlockCell(2)"), ("cell_bw0", "GRUCell(2)"),
         ("cell_fw1", "BasicRNNCell(3)"), ("cell_bw1", "LSTMCell(2, num_proj=2)")),
        stack_scopes(2, static=True),
        "stack_bidirectional_rnn([cell_fw0, cell_fw1], [cell_bw0, cell_bw1], tf.unstack(x, axis=1), "
        "sequence_length=L, dtype=tf.float32)",
        tf115=True,
    ),
)
BY_NAME = {case.name: case for case in CASES}


def namespace(tf, contrib):
    """The only names a constructor or call string may use (plus the cells, x, L and the inits)."""
    cells = tf.compat.v1.nn.rnn_cell
    names = {"__builtins__": {}, "tf": tf}
    for name in ("BasicRNNCell", "BasicLSTMCell", "LSTMCell", "GRUCell", "MultiRNNCell", "DropoutWrapper",
                 "ResidualWrapper"):
        names[name] = getattr(cells, name)
    for name in ("dynamic_rnn", "bidirectional_dynamic_rnn", "static_bidirectional_rnn"):
        names[name] = getattr(tf.compat.v1.nn, name)
    if contrib:
        for name in ("LayerNormBasicLSTMCell", "OutputProjectionWrapper", "InputProjectionWrapper",
                     "EmbeddingWrapper", "GRUBlockCell", "LSTMBlockCell", "stack_bidirectional_dynamic_rnn",
                     "stack_bidirectional_rnn"):
            names[name] = getattr(tf.contrib.rnn, name)
    return names


def inputs(case, state_sizes, flatten):
    """x, L and the initial-state leaves of a case, drawn from its seed in this order."""
    rng = np.random.default_rng(case.seed)
    if case.id_classes:
        x = rng.integers(0, case.id_classes, size=(B, T, 1)).astype(np.int32)
    else:
        x = rng.normal(size=(T, B, D) if case.layout == TIME_MAJOR else (B, T, D)).astype(np.float32)
    arrays = {"x": x}
    if case.lengths is not None:
        arrays["L"] = np.array(case.lengths, np.int32)
    for init_name, cell_name in case.inits:
        for i, size in enumerate(flatten(state_sizes[cell_name])):
            arrays["init:%s:%d" % (init_name, i)] = rng.normal(size=(B, size)).astype(np.float32)
    return arrays


def run_case(tf, contrib, case, checkpoints):
    """Build the case's TF1 graph, restore it from tfrnn's checkpoint, run it: the npz arrays."""
    with tf.Graph().as_default():
        names = namespace(tf, contrib)
        cells = dict((name, eval(text, dict(names))) for name, text in case.cells)  # noqa: S307 - CASES
        arrays = inputs(case, dict((n, c.state_size) for n, c in cells.items()), tf.nest.flatten)
        given = dict(names, **cells)
        given.update((key, tf.constant(value)) for key, value in arrays.items() if not key.startswith("init:"))
        for init_name, cell_name in case.inits:
            size = cells[cell_name].state_size
            leaves = [tf.constant(arrays["init:%s:%d" % (init_name, i)]) for i in range(len(tf.nest.flatten(size)))]
            given[init_name] = tf.nest.pack_sequence_as(size, leaves)
        result = tf.nest.flatten(eval(case.call, given))  # noqa: S307 - CASES
        variables = sorted(tf.compat.v1.global_variables(), key=lambda v: v.op.name)
        prefix = tf.compat.v1.train.latest_checkpoint(os.path.join(checkpoints, case.name))
        if prefix is None:
            raise RuntimeError("%s: no checkpoint state file in %s" % (case.name, checkpoints))
        config = tf.compat.v1.ConfigProto(
            intra_op_parallelism_threads=1, inter_op_parallelism_threads=1, device_count={"GPU": 0}
        )
        with tf.compat.v1.Session(config=config) as sess:
            # No initializer runs: a variable the checkpoint lacks stays uninitialized and fails.
            tf.compat.v1.train.Saver().restore(sess, prefix)
            fetched = sess.run({"result": result, "vars": variables})
    for k, value in enumerate(fetched["result"]):
        arrays["out_%d" % k] = value
    for variable, value in zip(variables, fetched["vars"]):
        arrays["var:" + variable.op.name] = value
    arrays["names"] = np.array([v.op.name for v in variables])
    return arrays


def write_npz(path, arrays):
    """Like np.savez_compressed, but byte-reproducible (fixed timestamps, sorted members)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(arrays[key]), allow_pickle=False)


def manifest_entry(case, arrays):
    return {
        "name": case.name,
        "seed": case.seed,
        "cells": dict(case.cells),
        "scopes": dict(case.scopes),
        "call": case.call,
        "inits": dict(case.inits),
        "x_layout": case.layout,
        "x_shape": list(arrays["x"].shape),
        "x_dtype": str(arrays["x"].dtype),
        "L": list(case.lengths) if case.lengths is not None else None,
        "result_shapes": [list(arrays["out_%d" % k].shape) for k in range(len(result_keys(arrays)))],
        "variables": [[str(n), list(arrays["var:" + str(n)].shape)] for n in arrays["names"]],
    }


def result_keys(arrays):
    return [key for key in arrays if key.startswith("out_")]


def import_tf1():
    """TF 1.15 with tf.contrib, or TF 2.x's TF1 cells (tf_keras): (tf, has contrib)."""
    # Plain CPU kernels only (no GPU, no oneDNN, one thread), every run the same way.
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings

    warnings.filterwarnings("ignore")
    import tensorflow as tf

    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
    if tf.__version__.startswith("1.15."):
        tf.contrib.rnn  # noqa: B018 - load contrib (prints its notice) before use
        return tf, True
    if os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        sys.stderr.write(
            "restore_and_run.py: on TensorFlow %s set TF_USE_LEGACY_KERAS=1 before running (else "
            "tf.compat.v1.nn.rnn_cell is Keras 3 code, not TF1's cells), or use TF 1.15.\n" % tf.__version__
        )
        sys.exit(2)
    import tf_keras  # noqa: F401 - serves tf.compat.v1.nn.rnn_cell

    return tf, False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", help="folder holding <case>/checkpoint, written by tfrnn")
    parser.add_argument("out", help="folder for <case>.npz and MANIFEST.json")
    parser.add_argument("cases", nargs="*", help="case names (default: the cases of this TF)")
    args = parser.parse_args(argv)
    tf, contrib = import_tf1()
    names = args.cases or [case.name for case in CASES if case.tf115 == contrib]
    cases = [BY_NAME[name] for name in names]
    if not contrib and any(case.tf115 for case in cases):
        sys.stderr.write("restore_and_run.py: tf.contrib cases need TensorFlow 1.15\n")
        sys.exit(2)
    os.makedirs(args.out, exist_ok=True)
    entries = []
    for case in cases:
        arrays = run_case(tf, contrib, case, args.checkpoints)
        write_npz(os.path.join(args.out, case.name + ".npz"), arrays)
        entries.append(manifest_entry(case, arrays))
    versions = {"python": "%d.%d.%d" % sys.version_info[:3], "tensorflow": tf.__version__, "numpy": np.__version__}
    with open(os.path.join(args.out, "MANIFEST.json"), "w") as f:
        json.dump(dict(versions, cases=entries), f, indent=1)
        f.write("\n")
    print("restored and ran %d cases into %s" % (len(cases), args.out))


if __name__ == "__main__":
    main()
