"""Write the TF1 oracle goldens that tfrnn is tested against.

Every number in the golden files is computed by the original TF1 RNN cell code
(tf.compat.v1.nn.rnn_cell, served by tf_keras' legacy_cells when
TF_USE_LEGACY_KERAS=1), run in graph mode with a tf.compat.v1.Session.  tfrnn is
never imported here: the goldens must not depend on the code they judge.

Usage:
    TF_USE_LEGACY_KERAS=1 python tests/golden/generate.py [--out DIR]

DIR defaults to this script's folder.  For each case it writes
DIR/<case>.npz (inputs, outputs, gradients, variable values),
DIR/<case>/model.ckpt.* (a TF1 name-based checkpoint) and, for all cases,
DIR/MANIFEST.json.  See README.md beside this file for the key layout.
"""

import os
import sys

# Without this switch tf.compat.v1.nn.rnn_cell resolves to Keras 3 code, not
# the TF1 cells, and it is only read when tensorflow is first imported.
if os.environ.get("TF_USE_LEGACY_KERAS") != "1":
    sys.stderr.write(
        "generate.py: set TF_USE_LEGACY_KERAS=1 in the environment before "
        "running, e.g.\n  TF_USE_LEGACY_KERAS=1 python tests/golden/generate.py\n"
    )
    sys.exit(2)
# The goldens are defined as float32 results of TF's plain CPU kernels: no GPU,
# and no oneDNN, whose fused kernels move results by an ulp or so and which
# TF 1.15's standard build did not use.  Forced, not defaulted, so that every
# regeneration computes the same way.
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
# Level 3 also hides the C++ "failed call to cuInit" error line; real failures
# still surface as Python exceptions.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import json  # noqa: E402
import warnings  # noqa: E402
import zipfile  # noqa: E402
from typing import NamedTuple  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

# Every TF1 API used here is deprecated and says so at each use.
tf.get_logger().setLevel("ERROR")
warnings.filterwarnings("ignore", message=".*is deprecated", category=UserWarning)

rnn_cell = tf.compat.v1.nn.rnn_cell

BATCH = 3
TIME = 4

# How a case drives its cell:
#   "dynamic": dynamic_rnn with its default scope, so names start with "rnn/";
#   "direct":  one call cell(x[:, 0], init) at top level, no scope at all;
#   "scoped":  dynamic_rnn(scope="myrnn") inside variable_scope("encoder").
DYNAMIC, DIRECT, SCOPED = "dynamic", "direct", "scoped"
SCOPE_OF_MODE = {DYNAMIC: "rnn", DIRECT: "", SCOPED: "encoder/myrnn"}


class Case(NamedTuple):
    name: str
    seed: int  # fixed per case, so adding or reordering cases changes nothing
    ctor: str  # TF1 constructor call; evaluated, and recorded in the manifest
    depth: int  # input depth D
    mode: str = DYNAMIC


CASES = (
    Case("basic_rnn", 101, "BasicRNNCell(5)", 3),
    Case("basic_rnn_relu", 102, "BasicRNNCell(4, activation=tf.nn.relu)", 3),
    Case("basic_lstm", 103, "BasicLSTMCell(4)", 3),
    Case("basic_lstm_fb0", 104, "BasicLSTMCell(4, forget_bias=0.0)", 3),
    Case(
        "basic_lstm_fb2p5_relu",
        105,
        "BasicLSTMCell(4, forget_bias=2.5, activation=tf.nn.relu)",
        2,
    ),
    Case("lstm", 106, "LSTMCell(5)", 3),
    Case("lstm_peep", 107, "LSTMCell(4, use_peepholes=True)", 3),
    Case("lstm_proj", 108, "LSTMCell(4, num_proj=2)", 3),
    Case(
        "lstm_full",
        # Not 109: with that seed |h| never reaches proj_clip.  377 was picked
        # so both clips bind: 4 of 36 outputs at +-0.3, 3 of 15 final c at +-0.5.
        377,
        "LSTMCell(5, use_peepholes=True, cell_clip=0.5, num_proj=3, "
        "proj_clip=0.3, forget_bias=0.5)",
        3,
    ),
    Case("gru", 110, "GRUCell(4)", 3),
    Case("gru_relu", 111, "GRUCell(3, activation=tf.nn.relu)", 2),
    Case(
        "multi_mixed",
        112,
        "MultiRNNCell([LSTMCell(4, use_peepholes=True, num_proj=3), "
        "GRUCell(5), BasicLSTMCell(2), BasicRNNCell(3)])",
        3,
    ),
    Case(
        "multi_same_class",
        113,
        "MultiRNNCell([BasicLSTMCell(4), BasicLSTMCell(4)])",
        3,
    ),
    Case("direct_lstm_proj", 114, "LSTMCell(4, num_proj=2)", 3, DIRECT),
    Case(
        "direct_multi",
        115,
        "MultiRNNCell([GRUCell(3), BasicLSTMCell(2)])",
        3,
        DIRECT,
    ),
    Case("scoped_named", 116, 'BasicLSTMCell(3, name="my_lstm")', 2, SCOPED),
)

# The only names a constructor string may use.  Evaluating the manifest string
# itself keeps what is recorded and what was built from ever disagreeing.
CTOR_NAMESPACE = {
    "__builtins__": {},
    "tf": tf,
    "BasicRNNCell": rnn_cell.BasicRNNCell,
    "BasicLSTMCell": rnn_cell.BasicLSTMCell,
    "LSTMCell": rnn_cell.LSTMCell,
    "GRUCell": rnn_cell.GRUCell,
    "MultiRNNCell": rnn_cell.MultiRNNCell,
}


def normal(rng, shape):
    return rng.normal(size=shape).astype(np.float32)


def build(case, rng):
    """Build the case's graph; return x, state leaves and output tensors.

    Draws from rng, in order: x, then one array per initial-state leaf.
    """
    cell = eval(case.ctor, CTOR_NAMESPACE)  # noqa: S307 - literal from CASES
    x = tf.constant(normal(rng, (BATCH, TIME, case.depth)), name="x")
    # tf.nest order is the TF1 order: c before h in an LSTMStateTuple, cells
    # in stacking order in a MultiRNNCell.
    init_leaves = [
        tf.constant(normal(rng, (BATCH, size)), name=f"init_{i}")
        for i, size in enumerate(tf.nest.flatten(cell.state_size))
    ]
    init = tf.nest.pack_sequence_as(cell.state_size, init_leaves)

    if case.mode == DIRECT:
        outputs, final = cell(x[:, 0], init)
    elif case.mode == SCOPED:
        with tf.compat.v1.variable_scope("encoder"):
            outputs, final = tf.compat.v1.nn.dynamic_rnn(
                cell, x, initial_state=init, dtype=tf.float32, scope="myrnn"
            )
    else:
        outputs, final = tf.compat.v1.nn.dynamic_rnn(
            cell, x, initial_state=init, dtype=tf.float32
        )
    return x, init_leaves, outputs, tf.nest.flatten(final)


def sorted_variables():
    variables = tf.compat.v1.trainable_variables()
    return sorted(variables, key=lambda v: v.op.name)


def assign_random_values(sess, variables, rng):
    """Overwrite every variable with U(-0.5, 0.5), in sorted-name order.

    The default initializers leave biases at zero (GRU's gate bias at 1.0)
    and would hide a port that drops or misplaces a bias or a peephole
    diagonal; random values make every parameter show.
    """
    assigns = [
        var.assign(rng.uniform(-0.5, 0.5, var.shape.as_list()).astype(np.float32))
        for var in variables
    ]
    sess.run(assigns)


def loss_weights(rng, outputs, final_leaves):
    """Random-normal weights for the loss: one for outputs, one per leaf.

    Weighting every element differently makes each gradient depend on every
    element of every output, not only on their sum.
    """
    r_out = normal(rng, outputs.shape.as_list())
    r_leaves = [normal(rng, leaf.shape.as_list()) for leaf in final_leaves]
    return r_out, r_leaves


def run_case(case, out_dir):
    """Build, run and save one case; return its manifest entry."""
    rng = np.random.default_rng(case.seed)
    with tf.Graph().as_default():
        x, init_leaves, outputs, final_leaves = build(case, rng)
        variables = sorted_variables()
        r_out, r_leaves = loss_weights(rng, outputs, final_leaves)

        loss = tf.reduce_sum(outputs * r_out)
        for leaf, r in zip(final_leaves, r_leaves):
            loss += tf.reduce_sum(leaf * r)
        wrt = [x, *init_leaves, *variables]
        grads = tf.gradients(loss, wrt)
        missing = [t.name for t, g in zip(wrt, grads) if g is None]
        if missing:
            raise RuntimeError(f"{case.name}: no gradient for {missing}")

        # save_relative_paths keeps the temp/work dir out of the
        # "checkpoint" file, so goldens do not depend on where they were made.
        saver = tf.compat.v1.train.Saver(save_relative_paths=True)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            # Drawn after x, init and loss weights; see README.md.
            assign_random_values(sess, variables, rng)
            fetched = sess.run(
                {
                    "x": x,
                    "init": init_leaves,
                    "outputs": outputs,
                    "final": final_leaves,
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
    arrays = {"x": fetched["x"], "outputs": fetched["outputs"], "r_out": r_out}
    n_leaves = len(init_leaves)
    for i in range(n_leaves):
        arrays[f"init_{i}"] = fetched["init"][i]
        arrays[f"final_{i}"] = fetched["final"][i]
        arrays[f"r_{i}"] = r_leaves[i]
    grads = fetched["grads"]
    arrays["grad_x"] = grads[0]
    for i in range(n_leaves):
        arrays[f"grad_init_{i}"] = grads[1 + i]
    for name, value, grad in zip(names, fetched["vars"], grads[1 + n_leaves :]):
        arrays[f"var:{name}"] = value
        arrays[f"grad:{name}"] = grad
    arrays["names"] = np.array(names)
    write_npz(os.path.join(out_dir, f"{case.name}.npz"), arrays)

    return {
        "name": case.name,
        "constructor": case.ctor,
        "input_depth": case.depth,
        "batch": BATCH,
        "time": TIME,
        "mode": case.mode,
        "scope": SCOPE_OF_MODE[case.mode],
        "state_leaves": n_leaves,
        "variables": [[n, list(v.shape)] for n, v in zip(names, fetched["vars"])],
    }


def write_npz(path, arrays):
    """Like np.savez_compressed, but byte-reproducible.

    np.savez stamps each member with the current time; a fixed timestamp and
    sorted member order make a regenerated file identical to the committed
    one, so `cmp` is enough to check it.
    """
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(
                    f, np.asanyarray(arrays[key]), allow_pickle=False
                )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        default=os.path.dirname(os.path.abspath(__file__)),
        help="output folder (default: this script's folder)",
    )
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    manifest = {
        "tensorflow": tf.__version__,
        "tf_keras": tf_keras.__version__,
        "numpy": np.__version__,
        "cases": [run_case(case, args.out) for case in CASES],
    }
    with open(os.path.join(args.out, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"wrote {len(CASES)} cases to {args.out}")


if __name__ == "__main__":
    main()
