"""Write the TF 1.15 oracle goldens for the tf.contrib.rnn pieces of tfrnn.

tf.contrib exists only in real TensorFlow 1.x, so unlike ../generate.py (which
runs TF1's core cells from tf_keras' legacy_cells on TF 2.x) this script must
run on TensorFlow 1.15 itself, under Python 3.7.  README.md beside this file
says how to set that interpreter up.  tfrnn is never imported here.

Usage (with the TF 1.15 venv's interpreter):
    /opt/tf115/bin/python tests/golden/tf115/generate.py [--out DIR]

DIR defaults to this script's folder.  For each case it writes DIR/<case>.npz
(inputs, results, gradients, variable values) and DIR/<case>/model.ckpt.* (a
TF1 name-based checkpoint); for all cases DIR/MANIFEST.json, and
DIR/INIT_FACTS.json (statistics of the default initializers of a few cases).
See README.md beside this file for the key layout.

Importing this module has no side effects (pytest's --doctest-modules imports
every .py file under tests/ with TF 2.x): the environment is set and
TensorFlow is imported only in main().
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
    seed: int  # fixed per case, so adding or reordering cases changes nothing
    # (name, constructor string) pairs, evaluated in this order; a later
    # constructor may not refer to an earlier cell (each stands alone).
    cells: Tuple[Tuple[str, str], ...]
    call: str  # expression over the cells, x, L and the initial states
    # (init name, cell name): an initial state shaped like that cell's
    # state_size, bound to the init name in the call's namespace.
    inits: Tuple[Tuple[str, str], ...] = ()
    layout: str = BATCH_MAJOR
    x_dtype: str = "float32"  # "int32": ids in [0, id_classes), shape [B, T, 1]
    id_classes: int = 0
    lengths: Optional[Tuple[int, ...]] = LENGTHS  # None: the call has no L
    init_facts: bool = False  # record default-initializer stats in INIT_FACTS


DYN = "dynamic_rnn(cell, x, sequence_length=L, dtype=tf.float32)"

CASES = (
    Case(
        "stack_bidi_dyn",
        201,
        (
            ("cell_fw0", "LSTMCell(3)"),
            ("cell_fw1", "GRUCell(2)"),
            ("cell_bw0", "LSTMCell(3)"),
            ("cell_bw1", "GRUCell(2)"),
        ),
        "stack_bidirectional_dynamic_rnn([cell_fw0, cell_fw1], "
        "[cell_bw0, cell_bw1], x, sequence_length=L, dtype=tf.float32)",
    ),
    Case(
        "stack_bidi_dyn_init_time_major",
        202,
        (("cell_fw0", "BasicLSTMCell(2)"), ("cell_bw0", "BasicLSTMCell(2)")),
        "stack_bidirectional_dynamic_rnn([cell_fw0], [cell_bw0], x, "
        "initial_states_fw=[init_fw0], initial_states_bw=[init_bw0], "
        "sequence_length=L, time_major=True)",
        inits=(("init_fw0", "cell_fw0"), ("init_bw0", "cell_bw0")),
        layout=TIME_MAJOR,
    ),
    Case(
        "stack_bidi_static",
        203,
        (
            ("cell_fw0", "GRUCell(2)"),
            ("cell_fw1", "GRUCell(3)"),
            ("cell_bw0", "GRUCell(2)"),
            ("cell_bw1", "GRUCell(3)"),
        ),
        "stack_bidirectional_rnn([cell_fw0, cell_fw1], [cell_bw0, cell_bw1], "
        "tf.unstack(x, axis=1), sequence_length=L, dtype=tf.float32)",
    ),
    Case(
        "output_projection",
        204,
        (("cell", "OutputProjectionWrapper(LSTMCell(4), 5)"),),
        DYN,
        init_facts=True,
    ),
    Case(
        "output_projection_act",
        205,
        (("cell", "OutputProjectionWrapper(GRUCell(3), 2, activation=tf.nn.tanh)"),),
        "dynamic_rnn(cell, x, dtype=tf.float32)",
        lengths=None,
    ),
    Case(
        "input_projection",
        206,
        (("cell", "InputProjectionWrapper(GRUCell(3), num_proj=4)"),),
        DYN,
    ),
    Case(
        "embedding",
        207,
        (
            (
                "cell",
                "EmbeddingWrapper(BasicLSTMCell(3), embedding_classes=7, "
                "embedding_size=2)",
            ),
        ),
        DYN,
        x_dtype="int32",
        id_classes=7,
        init_facts=True,
    ),
    Case(
        "layer_norm_lstm",
        208,
        (("cell", "LayerNormBasicLSTMCell(4)"),),
        DYN,
        init_facts=True,
    ),
    Case(
        "layer_norm_lstm_opts",
        209,
        (
            (
                "cell",
                "LayerNormBasicLSTMCell(3, forget_bias=0.5, norm_gain=1.3, "
                "norm_shift=0.2, activation=tf.nn.relu)",
            ),
        ),
        DYN,
        init_facts=True,
    ),
    Case(
        "layer_norm_lstm_off",
        210,
        (("cell", "LayerNormBasicLSTMCell(3, layer_norm=False)"),),
        DYN,
        init_facts=True,
    ),
    Case(
        "multi_of_contrib",
        211,
        (
            (
                "cell",
                "MultiRNNCell([OutputProjectionWrapper(BasicLSTMCell(3), 2), "
                "LayerNormBasicLSTMCell(2)])",
            ),
        ),
        DYN,
    ),
    Case(
        "residual_dropout_keep1",
        212,
        (
            (
                "cell",
                "MultiRNNCell([ResidualWrapper(GRUCell(3)), "
                "DropoutWrapper(BasicLSTMCell(3), input_keep_prob=1.0, "
                "output_keep_prob=1.0)])",
            ),
        ),
        "dynamic_rnn(cell, x, dtype=tf.float32)",
        lengths=None,
    ),
    # TF 1.15's fused-kernel cells (GRUBlockCell and LSTMBlockCell ops).
    Case(
        "gru_block",
        213,
        (("cell", "GRUBlockCell(4)"),),
        DYN,
        init_facts=True,
    ),
    Case(
        "lstm_block",
        214,
        (("cell", "LSTMBlockCell(4)"),),
        DYN,
        init_facts=True,
    ),
    # With these weights the unclipped |c| stays below 0.54, so a clip of 0.8
    # would never bind; 0.3 binds at 8 of the 27 valid (step, row, unit) entries.
    Case(
        "lstm_block_peephole_clip",
        215,
        (
            (
                "cell",
                "LSTMBlockCell(3, forget_bias=0.5, cell_clip=0.3, "
                "use_peephole=True)",
            ),
        ),
        DYN,
    ),
    Case(
        "multi_block",
        216,
        (("cell", "MultiRNNCell([GRUBlockCell(3), LSTMBlockCell(2)])"),),
        DYN,
    ),
)


def namespace(tf):
    """The only names a constructor or call string may use (plus the cells,
    x, L and the initial states for a call).  Evaluating the manifest strings
    themselves keeps what is recorded and what was built from agreeing."""
    rnn_cell = tf.nn.rnn_cell
    contrib = tf.contrib.rnn
    return {
        "__builtins__": {},
        "tf": tf,
        "dynamic_rnn": tf.nn.dynamic_rnn,
        "stack_bidirectional_dynamic_rnn": contrib.stack_bidirectional_dynamic_rnn,
        "stack_bidirectional_rnn": contrib.stack_bidirectional_rnn,
        "OutputProjectionWrapper": contrib.OutputProjectionWrapper,
        "InputProjectionWrapper": contrib.InputProjectionWrapper,
        "EmbeddingWrapper": contrib.EmbeddingWrapper,
        "LayerNormBasicLSTMCell": contrib.LayerNormBasicLSTMCell,
        "GRUBlockCell": contrib.GRUBlockCell,
        "LSTMBlockCell": contrib.LSTMBlockCell,
        "BasicLSTMCell": rnn_cell.BasicLSTMCell,
        "LSTMCell": rnn_cell.LSTMCell,
        "GRUCell": rnn_cell.GRUCell,
        "BasicRNNCell": rnn_cell.BasicRNNCell,
        "MultiRNNCell": rnn_cell.MultiRNNCell,
        "DropoutWrapper": rnn_cell.DropoutWrapper,
        "ResidualWrapper": rnn_cell.ResidualWrapper,
    }


def normal(rng, shape):
    return rng.normal(size=shape).astype(np.float32)


def x_shape(case):
    return [T, B, D] if case.layout == TIME_MAJOR else [B, T, D]


def build(tf, case, rng):
    """Build the case's graph.

    Draws from rng, in order: x, then one array per initial-state leaf (inits
    in the case's order, leaves in tf.nest order).  Returns x, the flat
    initial-state leaves as (init name, index, tensor), and the flat result.
    """
    ns = namespace(tf)
    cells = {}
    for name, ctor in case.cells:
        cells[name] = eval(ctor, dict(ns))  # noqa: S307 - literal from CASES

    if case.x_dtype == "int32":
        ids = rng.integers(0, case.id_classes, size=(B, T, 1)).astype(np.int32)
        x = tf.constant(ids, name="x")
    else:
        x = tf.constant(normal(rng, x_shape(case)), name="x")

    call_ns = dict(ns)
    call_ns.update(cells)
    call_ns["x"] = x
    if case.lengths is not None:
        call_ns["L"] = tf.constant(np.array(case.lengths, np.int32), name="L")

    init_leaves = []
    for init_name, cell_name in case.inits:
        state_size = cells[cell_name].state_size
        leaves = []
        for i, size in enumerate(tf.nest.flatten(state_size)):
            t = tf.constant(normal(rng, (B, size)), name="%s_%d" % (init_name, i))
            leaves.append(t)
            init_leaves.append((init_name, i, t))
        call_ns[init_name] = tf.nest.pack_sequence_as(state_size, leaves)

    result = eval(case.call, call_ns)  # noqa: S307 - literal from CASES
    return x, init_leaves, tf.nest.flatten(result)


def sorted_variables(tf):
    return sorted(tf.trainable_variables(), key=lambda v: v.op.name)


def init_facts(sess, variables):
    """min / max / mean / std of each variable as the default initializers left it."""
    facts = {}
    for var, value in zip(variables, sess.run(variables)):
        value = np.asarray(value, np.float64)
        facts[var.op.name] = {
            "shape": list(value.shape),
            "min": float(value.min()),
            "max": float(value.max()),
            "mean": float(value.mean()),
            "std": float(value.std()),
        }
    return facts


def assign_random_values(sess, variables, rng):
    """Overwrite every variable with U(-0.5, 0.5), in sorted-name order.

    Default initializers leave biases at zero and layer-norm gains at
    norm_gain; random values make every parameter show in the results.
    """
    assigns = [
        var.assign(rng.uniform(-0.5, 0.5, var.shape.as_list()).astype(np.float32))
        for var in variables
    ]
    sess.run(assigns)


def run_case(tf, case, out_dir):
    """Build, run and save one case; return (manifest entry, init facts or None)."""
    rng = np.random.default_rng(case.seed)
    with tf.Graph().as_default():
        # Only the default initializers draw from TF's RNG, and only the
        # INIT_FACTS statistics see those values; a graph seed keeps them fixed.
        tf.set_random_seed(case.seed)
        x, init_leaves, result = build(tf, case, rng)
        variables = sorted_variables(tf)
        non_trainable = [
            v.op.name for v in tf.global_variables() if v not in set(variables)
        ]
        if non_trainable:
            raise RuntimeError("%s: non-trainable variables %s" % (case.name, non_trainable))

        float_k = [k for k, leaf in enumerate(result) if leaf.dtype.is_floating]
        r = {k: normal(rng, result[k].shape.as_list()) for k in float_k}
        loss = tf.add_n([tf.reduce_sum(result[k] * r[k]) for k in float_k])
        wrt = ([x] if x.dtype.is_floating else []) + [t for _, _, t in init_leaves]
        wrt += variables
        grads = tf.gradients(loss, wrt)
        missing = [t.name for t, g in zip(wrt, grads) if g is None]
        if missing:
            raise RuntimeError("%s: no gradient for %s" % (case.name, missing))
        # The embedding's gradient is IndexedSlices; make every gradient dense.
        grads = [tf.convert_to_tensor(g) for g in grads]

        # save_relative_paths keeps the work dir out of the "checkpoint" file.
        saver = tf.train.Saver(save_relative_paths=True)
        config = tf.ConfigProto(
            intra_op_parallelism_threads=1,
            inter_op_parallelism_threads=1,
            device_count={"GPU": 0},
        )
        with tf.Session(config=config) as sess:
            sess.run(tf.global_variables_initializer())
            facts = init_facts(sess, variables) if case.init_facts else None
            # Drawn after x, the initial states and the loss weights.
            assign_random_values(sess, variables, rng)
            fetched = sess.run(
                {
                    "x": x,
                    "init": [t for _, _, t in init_leaves],
                    "result": result,
                    "grads": grads,
                    "vars": variables,
                }
            )
            ckpt_dir = os.path.join(out_dir, case.name)
            os.makedirs(ckpt_dir, exist_ok=True)
            saver.save(
                sess, os.path.join(ckpt_dir, "model.ckpt"), write_meta_graph=False
            )

    names = [v.op.name for v in variables]
    arrays = {"x": fetched["x"]}
    if case.lengths is not None:
        arrays["L"] = np.array(case.lengths, np.int32)
    for (init_name, i, _), value in zip(init_leaves, fetched["init"]):
        arrays["init:%s:%d" % (init_name, i)] = value
    for k, value in enumerate(fetched["result"]):
        arrays["out_%d" % k] = value
        if k in r:
            arrays["r_%d" % k] = r[k]
    grads = list(fetched["grads"])
    if x.dtype.is_floating:
        arrays["grad_x"] = grads.pop(0)
    for init_name, i, _ in init_leaves:
        arrays["grad_init:%s:%d" % (init_name, i)] = grads.pop(0)
    for name, value, grad in zip(names, fetched["vars"], grads):
        arrays["var:" + name] = value
        arrays["grad:" + name] = grad
    arrays["names"] = np.array(names)
    write_npz(os.path.join(out_dir, case.name + ".npz"), arrays)

    entry = {
        "name": case.name,
        "seed": case.seed,
        "cells": dict(case.cells),
        "inits": dict(case.inits),
        "init_leaves": [
            [init_name, i, list(value.shape)]
            for (init_name, i, _), value in zip(init_leaves, fetched["init"])
        ],
        "call": case.call,
        "x_layout": case.layout,
        "x_dtype": case.x_dtype,
        "x_shape": list(fetched["x"].shape),
        "batch": B,
        "time": T,
        "input_depth": D if case.x_dtype != "int32" else None,
        "id_classes": case.id_classes if case.x_dtype == "int32" else None,
        "L": list(case.lengths) if case.lengths is not None else None,
        "result_leaves": len(result),
        "result_shapes": [list(np.shape(v)) for v in fetched["result"]],
        "variables": [[n, list(v.shape)] for n, v in zip(names, fetched["vars"])],
    }
    return entry, facts


def write_npz(path, arrays):
    """Like np.savez_compressed, but byte-reproducible.

    np.savez stamps each member with the current time; a fixed timestamp and
    sorted member order make a regenerated file identical to the committed one.
    """
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(
                    f, np.asanyarray(arrays[key]), allow_pickle=False
                )


def import_tf115():
    # Plain CPU kernels only, every run the same way.
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings

    warnings.filterwarnings("ignore")
    import tensorflow as tf

    if not tf.__version__.startswith("1.15."):
        sys.stderr.write(
            "generate.py: needs TensorFlow 1.15 (found %s); see README.md "
            "beside this script for the Python 3.7 venv.\n" % tf.__version__
        )
        sys.exit(2)
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
    tf.contrib.rnn  # noqa: B018 - load contrib (prints its notice) before use
    return tf


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        default=os.path.dirname(os.path.abspath(__file__)),
        help="output folder (default: this script's folder)",
    )
    args = parser.parse_args(argv)
    tf = import_tf115()
    os.makedirs(args.out, exist_ok=True)

    entries, facts = [], {}
    for case in CASES:
        entry, case_facts = run_case(tf, case, args.out)
        entries.append(entry)
        if case_facts is not None:
            facts[case.name] = case_facts

    versions = {
        "python": "%d.%d.%d" % sys.version_info[:3],
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
    }
    manifest = dict(versions, cases=entries)
    with open(os.path.join(args.out, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    init_facts_doc = dict(
        versions,
        note="Variable statistics right after global_variables_initializer "
        "(graph seed = case seed), before the U(-0.5, 0.5) assignment.",
        cases=facts,
    )
    with open(os.path.join(args.out, "INIT_FACTS.json"), "w") as f:
        json.dump(init_facts_doc, f, indent=1)
        f.write("\n")
    print("wrote %d cases to %s" % (len(CASES), args.out))


if __name__ == "__main__":
    main()
