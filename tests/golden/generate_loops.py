"""Write the TF1 oracle goldens for the sequence loop functions.

The companion of generate.py (single cells): here every number is computed by
TF1's own loop functions -- tf.compat.v1.nn.dynamic_rnn, static_rnn,
bidirectional_dynamic_rnn, static_bidirectional_rnn and raw_rnn -- driving the
TF1 cells (tf_keras' legacy_cells when TF_USE_LEGACY_KERAS=1), in graph mode
with a tf.compat.v1.Session.  tfrnn is never imported here.

Each case is a TF1 call expression (CASES below), evaluated as written; the
manifest records that text, so a test can evaluate the same text with tfrnn in
place of tf.compat.v1.nn.

Usage:
    TF_USE_LEGACY_KERAS=1 python tests/golden/generate_loops.py [--out DIR]

DIR defaults to the loops/ folder beside this script.  For each case it writes
DIR/<case>.npz, DIR/<case>/model.ckpt.* and, for all cases, DIR/MANIFEST.json.
See the "Loop functions" section of README.md beside this file.
"""

import os
import sys

if os.environ.get("TF_USE_LEGACY_KERAS") != "1":
    sys.stderr.write(
        "generate_loops.py: set TF_USE_LEGACY_KERAS=1 in the environment before "
        "running, e.g.\n"
        "  TF_USE_LEGACY_KERAS=1 python tests/golden/generate_loops.py\n"
    )
    sys.exit(2)

# generate.py sets the CPU/oneDNN switches before it imports tensorflow, and
# owns the conventions shared by both sets of goldens (variable values, the
# byte-reproducible npz writer, the names a constructor string may use).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate as cell_goldens  # noqa: E402

import argparse  # noqa: E402
import json  # noqa: E402
from typing import NamedTuple, Optional  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

nn = tf.compat.v1.nn

BATCH = 4
TIME = 6
DEPTH = 3
LENGTHS = (6, 3, 1, 0)  # a full row, two partial rows and a zero-length row

BATCH_MAJOR, TIME_MAJOR = "batch_major", "time_major"


def raw_rnn_docstring_loop(cell, x, L):
    """raw_rnn driven by the loop_fn of TF's raw_rnn docstring.

    x is time-major [T, B, D], L int32 [B].  Returns (emit_ta.stack(),
    final_state): the emitted outputs [T', B, out] (T' = number of loop
    iterations = max(L) here) and the final cell state; the final loop state
    (None) is dropped.
    """
    max_time, batch_size, input_depth = x.shape.as_list()
    inputs_ta = tf.TensorArray(dtype=tf.float32, size=max_time)
    inputs_ta = inputs_ta.unstack(x)

    def loop_fn(time, cell_output, cell_state, loop_state):
        emit_output = cell_output  # == None for time == 0
        if cell_output is None:  # time == 0
            next_cell_state = cell.zero_state(batch_size, tf.float32)
        else:
            next_cell_state = cell_state
        elements_finished = time >= L
        finished = tf.reduce_all(elements_finished)
        next_input = tf.cond(
            finished,
            lambda: tf.zeros([batch_size, input_depth], dtype=tf.float32),
            lambda: inputs_ta.read(time),
        )
        next_loop_state = None
        return (
            elements_finished,
            next_input,
            next_cell_state,
            emit_output,
            next_loop_state,
        )

    emit_ta, final_state, _ = nn.raw_rnn(cell, loop_fn)
    return emit_ta.stack(), final_state


class Case(NamedTuple):
    name: str
    seed: int  # fixed per case, so adding or reordering cases changes nothing
    cells: dict  # name -> TF1 constructor text, evaluated before `call`
    call: str  # TF1 call expression; its value is the case's result
    scopes: dict  # cell name -> TF1 variable-scope prefix of its variables
    layout: str = BATCH_MAJOR
    lengths: Optional[tuple] = LENGTHS  # None: the case has no `L`
    inits: tuple = ()  # initial states the call uses: "init", "init_fw", ...
    outer_scope: str = ""  # variable_scope the call runs in, "" for none
    time: int = TIME  # steps in x


CELL = "cell"
FW_BW = ("cell_fw", "cell_bw")
BIDI_SCOPES = {"cell_fw": "bidirectional_rnn/fw", "cell_bw": "bidirectional_rnn/bw"}

CASES = (
    Case(
        "dyn_lstm_len",
        201,
        {CELL: "BasicLSTMCell(4)"},
        "dynamic_rnn(cell, x, sequence_length=L, initial_state=init)",
        {CELL: "rnn"},
        inits=("init",),
    ),
    Case(
        "dyn_gru_len_dtype",
        202,
        {CELL: "GRUCell(3)"},
        "dynamic_rnn(cell, x, sequence_length=L, dtype=tf.float32)",
        {CELL: "rnn"},
        lengths=(2, 6, 0, 5),
    ),
    Case(
        "dyn_lstm_full_time_major",
        203,
        {
            CELL: "LSTMCell(4, use_peepholes=True, num_proj=2, cell_clip=0.5, "
            "forget_bias=0.5)"
        },
        "dynamic_rnn(cell, x, sequence_length=L, initial_state=init, "
        "time_major=True)",
        {CELL: "rnn"},
        layout=TIME_MAJOR,
        inits=("init",),
    ),
    Case(
        "dyn_multi_len",
        204,
        {
            CELL: "MultiRNNCell([LSTMCell(4, use_peepholes=True, num_proj=3), "
            "GRUCell(3), BasicLSTMCell(2)])"
        },
        "dynamic_rnn(cell, x, sequence_length=L, initial_state=init)",
        {CELL: "rnn"},
        inits=("init",),
    ),
    Case(
        "dyn_rnn_no_len",
        205,
        {CELL: "BasicRNNCell(5)"},
        "dynamic_rnn(cell, x, dtype=tf.float32)",
        {CELL: "rnn"},
        lengths=None,
    ),
    Case(
        "dyn_len_longer_than_time",
        206,
        {CELL: "BasicLSTMCell(3)"},
        "dynamic_rnn(cell, x, sequence_length=L, dtype=tf.float32)",
        {CELL: "rnn"},
        lengths=(6, 9, 2, 0),
    ),
    Case(
        "dyn_scoped",
        207,
        {CELL: 'BasicLSTMCell(3, name="my_lstm")'},
        'dynamic_rnn(cell, x, sequence_length=L, dtype=tf.float32, scope="myrnn")',
        {CELL: "encoder/myrnn"},
        outer_scope="encoder",
    ),
    Case(
        "bidi_len",
        208,
        {"cell_fw": "BasicLSTMCell(4)", "cell_bw": "GRUCell(3)"},
        "bidirectional_dynamic_rnn(cell_fw, cell_bw, x, sequence_length=L, "
        "dtype=tf.float32)",
        BIDI_SCOPES,
    ),
    Case(
        "bidi_time_major_init",
        209,
        {"cell_fw": "LSTMCell(3)", "cell_bw": "LSTMCell(3)"},
        "bidirectional_dynamic_rnn(cell_fw, cell_bw, x, sequence_length=L, "
        "initial_state_fw=init_fw, initial_state_bw=init_bw, time_major=True)",
        BIDI_SCOPES,
        layout=TIME_MAJOR,
        inits=("init_fw", "init_bw"),
    ),
    Case(
        "bidi_no_len",
        210,
        {"cell_fw": "GRUCell(2)", "cell_bw": "GRUCell(2)"},
        "bidirectional_dynamic_rnn(cell_fw, cell_bw, x, dtype=tf.float32)",
        BIDI_SCOPES,
        lengths=None,
    ),
    Case(
        "bidi_multi",
        211,
        {
            "cell_fw": "MultiRNNCell([BasicLSTMCell(3), GRUCell(2)])",
            "cell_bw": "MultiRNNCell([GRUCell(2), BasicLSTMCell(3)])",
        },
        "bidirectional_dynamic_rnn(cell_fw, cell_bw, x, sequence_length=L, "
        "dtype=tf.float32)",
        BIDI_SCOPES,
    ),
    Case(
        "static_len",
        212,
        {CELL: "BasicLSTMCell(4)"},
        "static_rnn(cell, tf.unstack(x, axis=1), sequence_length=L, "
        "initial_state=init)",
        {CELL: "rnn"},
        inits=("init",),
    ),
    Case(
        "static_no_len",
        213,
        {CELL: "GRUCell(3)"},
        "static_rnn(cell, tf.unstack(x, axis=1), dtype=tf.float32)",
        {CELL: "rnn"},
        lengths=None,
    ),
    Case(
        "static_bidi_len",
        214,
        {"cell_fw": "BasicLSTMCell(3)", "cell_bw": "GRUCell(2)"},
        "static_bidirectional_rnn(cell_fw, cell_bw, tf.unstack(x, axis=1), "
        "sequence_length=L, dtype=tf.float32)",
        BIDI_SCOPES,
    ),
    Case(
        "raw_rnn_docstring",
        215,
        {CELL: "LSTMCell(4)"},
        "raw_rnn_docstring_loop(cell, x, L)",
        {CELL: "rnn"},
        layout=TIME_MAJOR,
    ),
    # Zero steps: TF1 runs none, returns [B, 0, out] outputs and the initial
    # state, and still creates the cells' variables.
    Case(
        "dyn_zero_time",
        216,
        {CELL: "BasicLSTMCell(4)"},
        "dynamic_rnn(cell, x, sequence_length=L, initial_state=init)",
        {CELL: "rnn"},
        lengths=(0, 0, 0, 0),
        inits=("init",),
        time=0,
    ),
    Case(
        "bidi_zero_time",
        217,
        {"cell_fw": "GRUCell(3)", "cell_bw": "MultiRNNCell([BasicRNNCell(2), GRUCell(2)])"},
        "bidirectional_dynamic_rnn(cell_fw, cell_bw, x, dtype=tf.float32, time_major=True)",
        BIDI_SCOPES,
        layout=TIME_MAJOR,
        lengths=None,
        time=0,
    ),
)

# The names a call expression may use besides the case's own tensors and cells.
CALL_NAMESPACE = {
    **cell_goldens.CTOR_NAMESPACE,
    "dynamic_rnn": nn.dynamic_rnn,
    "static_rnn": nn.static_rnn,
    "bidirectional_dynamic_rnn": nn.bidirectional_dynamic_rnn,
    "static_bidirectional_rnn": nn.static_bidirectional_rnn,
    "raw_rnn": nn.raw_rnn,
    "raw_rnn_docstring_loop": raw_rnn_docstring_loop,
}

# Which cell an initial state belongs to.
CELL_OF_INIT = {"init": "cell", "init_fw": "cell_fw", "init_bw": "cell_bw"}


def x_shape(case):
    if case.layout == TIME_MAJOR:
        return (case.time, BATCH, DEPTH)
    return (BATCH, case.time, DEPTH)


def build(case, rng):
    """Build the case's graph.

    Draws from rng, in order: x, then one array per initial-state leaf (for
    each name in case.inits, in that order, in tf.nest order).
    Returns x, L (or None), {init name: leaves}, result leaves.
    """
    namespace = dict(CALL_NAMESPACE)
    x = tf.constant(cell_goldens.normal(rng, x_shape(case)), name="x")
    namespace["x"] = x
    L = None
    if case.lengths is not None:
        L = tf.constant(np.array(case.lengths, np.int32), name="L")
        namespace["L"] = L
    for cell_name, ctor in case.cells.items():
        namespace[cell_name] = eval(ctor, namespace)  # noqa: S307 - from CASES
    init_leaves = {}
    for init_name in case.inits:
        cell = namespace[CELL_OF_INIT[init_name]]
        leaves = [
            tf.constant(
                cell_goldens.normal(rng, (BATCH, size)), name=f"{init_name}_{i}"
            )
            for i, size in enumerate(tf.nest.flatten(cell.state_size))
        ]
        init_leaves[init_name] = leaves
        namespace[init_name] = tf.nest.pack_sequence_as(cell.state_size, leaves)

    if case.outer_scope:
        with tf.compat.v1.variable_scope(case.outer_scope):
            result = eval(case.call, namespace)  # noqa: S307 - from CASES
    else:
        result = eval(case.call, namespace)  # noqa: S307 - from CASES
    return x, L, init_leaves, tf.nest.flatten(result)


def run_case(case, out_dir):
    """Build, run and save one case; return its manifest entry and arrays."""
    rng = np.random.default_rng(case.seed)
    with tf.Graph().as_default():
        x, L, init_leaves, leaves = build(case, rng)
        variables = cell_goldens.sorted_variables()
        flat_init = [t for name in case.inits for t in init_leaves[name]]

        # raw_rnn's stacked outputs have no static time size, so the loss
        # weights are fed: their shapes come from a first run.
        r_feeds = [
            tf.compat.v1.placeholder(tf.float32, name=f"r_{k}")
            for k in range(len(leaves))
        ]
        loss = tf.add_n(
            [tf.reduce_sum(leaf * r) for leaf, r in zip(leaves, r_feeds)]
        )
        wrt = [x, *flat_init, *variables]
        grads = tf.gradients(loss, wrt)
        missing = [t.name for t, g in zip(wrt, grads) if g is None]
        if missing:
            raise RuntimeError(f"{case.name}: no gradient for {missing}")

        saver = tf.compat.v1.train.Saver(save_relative_paths=True)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            shapes = [v.shape for v in sess.run(leaves)]
            # Drawn after x and init, before the variable values, as in
            # generate.py.
            r_values = [cell_goldens.normal(rng, s) for s in shapes]
            cell_goldens.assign_random_values(sess, variables, rng)
            fetched = sess.run(
                {
                    "x": x,
                    "init": flat_init,
                    "leaves": leaves,
                    "grads": grads,
                    "vars": variables,
                },
                feed_dict=dict(zip(r_feeds, r_values)),
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
    init_keys = [
        f"init:{name}:{i}"
        for name in case.inits
        for i in range(len(init_leaves[name]))
    ]
    grads = fetched["grads"]
    arrays["grad_x"] = grads[0]
    for j, key in enumerate(init_keys):
        arrays[key] = fetched["init"][j]
        arrays["grad_" + key] = grads[1 + j]
    for k, (out, r) in enumerate(zip(fetched["leaves"], r_values)):
        arrays[f"out_{k}"] = out
        arrays[f"r_{k}"] = r
    for name, value, grad in zip(
        names, fetched["vars"], grads[1 + len(init_keys) :]
    ):
        arrays[f"var:{name}"] = value
        arrays[f"grad:{name}"] = grad
    arrays["names"] = np.array(names)
    cell_goldens.write_npz(os.path.join(out_dir, f"{case.name}.npz"), arrays)

    entry = {
        "name": case.name,
        "seed": case.seed,
        "cells": case.cells,
        "call": case.call,
        "x_layout": case.layout,
        "batch": BATCH,
        "time": case.time,
        "input_depth": DEPTH,
        "lengths": None if case.lengths is None else list(case.lengths),
        "inits": {name: len(init_leaves[name]) for name in case.inits},
        "result_leaves": len(leaves),
        "result_shapes": [list(s) for s in shapes],
        "scopes": case.scopes,
        "outer_scope": case.outer_scope,
        "variables": [[n, list(v.shape)] for n, v in zip(names, fetched["vars"])],
    }
    return entry, arrays


def sanity_report(case, arrays):
    """Print what TF1 does past each row's length (not stored anywhere)."""
    if case.lengths is None:
        return
    n_out = sum(key.startswith("out_") for key in arrays)
    outs = [arrays[f"out_{k}"] for k in range(n_out)]
    lines = [f"{case.name}: L={list(case.lengths)}"]

    def batch_major(o):
        if case.layout == TIME_MAJOR or case.name == "raw_rnn_docstring":
            return np.swapaxes(o, 0, 1)
        return o

    if case.name.startswith("static"):
        n_steps = TIME
        seq_outs = [np.stack(outs[:n_steps], axis=1)]
        finals = outs[n_steps:]
    elif case.name.startswith("bidi"):
        seq_outs = [batch_major(outs[0]), batch_major(outs[1])]
        finals = outs[2:]
    else:
        seq_outs = [batch_major(outs[0])]
        finals = outs[1:]
    for s, o in enumerate(seq_outs):
        for b, n in enumerate(case.lengths):
            past = o[b, min(n, o.shape[1]) :]
            lines.append(
                f"  seq_out{s} row {b} len {n}: {past.shape[0]} steps past len, "
                f"all exactly 0.0: {bool(np.all(past == 0.0))}; "
                f"steps before len nonzero: {bool(np.all(np.any(o[b, :n] != 0, axis=-1)))}"
            )
    for j, f in enumerate(finals):
        lines.append(f"  final leaf {j} rows all zero: {[bool(np.all(r == 0)) for r in f]}")
    # Final state vs. the output at step len-1 (for cells whose output is a
    # state leaf: GRU state, LSTM h).  Forward: step len-1; backward: step 0.
    if case.name == "dyn_gru_len_dtype":
        checks = [(seq_outs[0], finals[0], "fw")]
    elif case.name == "dyn_len_longer_than_time":
        checks = [(seq_outs[0], finals[1], "fw")]  # BasicLSTM (c, h): h
    elif case.name == "bidi_len":
        # fw BasicLSTM (c, h): h is finals[1]; bw GRU: finals[2]
        checks = [(seq_outs[0], finals[1], "fw"), (seq_outs[1], finals[2], "bw")]
    else:
        checks = []
    for o, f, direction in checks:
        for b, n in enumerate(case.lengths):
            if n == 0:
                lines.append(
                    f"  {direction} row {b} len 0: final == zero state: "
                    f"{bool(np.all(f[b] == 0))}"
                )
                continue
            step = min(n, o.shape[1]) - 1 if direction == "fw" else 0
            lines.append(
                f"  {direction} row {b} len {n}: final == output[{step}] exactly: "
                f"{bool(np.array_equal(f[b], o[b, step]))}"
            )
    # A zero-length row keeps its initial state.
    init_leaves = [arrays[k] for k in sorted(arrays) if k.startswith("init:")]
    if init_leaves and case.name.startswith(("dyn", "static")):
        for b, n in enumerate(case.lengths):
            if n == 0:
                same = [bool(np.array_equal(f[b], i[b])) for f, i in zip(finals, init_leaves)]
                lines.append(f"  row {b} len 0: final leaves == init leaves: {same}")
    print("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "loops"),
        help="output folder (default: loops/ beside this script)",
    )
    parser.add_argument(
        "--report", action="store_true", help="print what happens past each length"
    )
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    entries = []
    for case in CASES:
        entry, arrays = run_case(case, args.out)
        entries.append(entry)
        if args.report:
            sanity_report(case, arrays)
    manifest = {
        "tensorflow": tf.__version__,
        "tf_keras": tf_keras.__version__,
        "numpy": np.__version__,
        "cases": entries,
    }
    with open(os.path.join(args.out, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"wrote {len(CASES)} cases to {args.out}")


if __name__ == "__main__":
    main()
