"""Write TF1 checkpoints of whole models, for the checkpoint tool's tests.

The goldens beside this folder hold one RNN call each. These hold what a TF1
training script leaves behind: several RNN structures under a user scope
(tensorflow/nmt's `dynamic_seq2seq/encoder/...`), non-RNN variables
(embeddings, an output projection, a softmax) and an optimizer's slots and
bookkeeping (`.../Adam`, `beta1_power`, `global_step`, `.../Momentum`), saved
after one training step. Every number is computed by TF1's code
(tf.compat.v1.nn.* driving tf_keras' legacy cells, TF_USE_LEGACY_KERAS=1) in a
tf.compat.v1.Session; tfrnn is never imported here.

Usage:
    TF_USE_LEGACY_KERAS=1 python tests/golden/structures/generate.py [--out DIR]

DIR defaults to this script's folder. For each case it writes DIR/<case>.npz,
DIR/<case>/model.ckpt.* and DIR/<case>/checkpoint, and DIR/MANIFEST.json.
See README.md beside this file.
"""

import os
import sys

if os.environ.get("TF_USE_LEGACY_KERAS") != "1":
    sys.stderr.write(
        "structures/generate.py: set TF_USE_LEGACY_KERAS=1 in the environment "
        "before running, e.g.\n"
        "  TF_USE_LEGACY_KERAS=1 python tests/golden/structures/generate.py\n"
    )
    sys.exit(2)

# ../generate.py sets the CPU/oneDNN switches before it imports tensorflow and
# owns the shared conventions (variable values, the reproducible npz writer).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import generate as cell_goldens  # noqa: E402

import argparse  # noqa: E402
import json  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

v1 = tf.compat.v1
rnn_cell = v1.nn.rnn_cell

BATCH = 3
TIME = 4
LENGTHS = (4, 2, 3)


def seq2seq(rng):
    """tensorflow/nmt's layout: embeddings, a bi + uni encoder, a decoder, Adam.

    Returns {key: tensor} of everything the tests compare, and the train op.
    """
    ids = tf.constant(rng.integers(0, 7, (BATCH, TIME)).astype(np.int32), name="ids")
    L = tf.constant(np.array(LENGTHS, np.int32), name="L")
    dec_x = tf.constant(cell_goldens.normal(rng, (BATCH, TIME, 2)), name="dec_x")
    with v1.variable_scope("embeddings/encoder"):
        embedding = v1.get_variable("embedding_encoder", [7, 3])
    x = tf.nn.embedding_lookup(embedding, ids)  # [B, T, 3]
    with v1.variable_scope("dynamic_seq2seq"):
        with v1.variable_scope("encoder"):
            (bi_fw, bi_bw), (bi_state_fw, bi_state_bw) = v1.nn.bidirectional_dynamic_rnn(
                rnn_cell.BasicLSTMCell(4), rnn_cell.GRUCell(3), x, sequence_length=L, dtype=tf.float32
            )
            bi = tf.concat([bi_fw, bi_bw], -1)  # [B, T, 7]
            uni, uni_state = v1.nn.dynamic_rnn(
                rnn_cell.MultiRNNCell([rnn_cell.BasicLSTMCell(4), rnn_cell.GRUCell(3)]), bi,
                sequence_length=L, dtype=tf.float32,
            )
        with v1.variable_scope("decoder"):
            dec, dec_state = v1.nn.dynamic_rnn(
                rnn_cell.LSTMCell(4, use_peepholes=True), dec_x, dtype=tf.float32
            )
            projection = v1.get_variable("output_projection/kernel", [4, 5])
    logits = tf.tensordot(dec, projection, 1)
    loss = 0.01 * tf.reduce_sum(logits**2) + tf.reduce_sum(uni)
    step = v1.train.AdamOptimizer(0.01).minimize(loss, global_step=v1.train.get_or_create_global_step())
    fetches = {
        "x": x, "L": L, "bi_fw": bi_fw, "bi_bw": bi_bw, "bi": bi, "uni": uni,
        "dec_x": dec_x, "dec": dec, "logits": logits,
        **leaves("bi_state_fw", bi_state_fw), **leaves("bi_state_bw", bi_state_bw),
        **leaves("uni_state", uni_state), **leaves("dec_state", dec_state),
    }
    return fetches, step


def gru_momentum(rng):
    """One GRU, a softmax layer next to it (not a cell), and Momentum slots."""
    x = tf.constant(cell_goldens.normal(rng, (BATCH, TIME, 2)), name="x")
    outputs, state = v1.nn.dynamic_rnn(rnn_cell.GRUCell(3), x, dtype=tf.float32)
    with v1.variable_scope("softmax"):
        kernel = v1.get_variable("kernel", [3, 2])
        bias = v1.get_variable("bias", [2])
    logits = tf.tensordot(outputs, kernel, 1) + bias
    step = v1.train.MomentumOptimizer(0.1, 0.9).minimize(
        tf.reduce_sum(logits**2), global_step=v1.train.get_or_create_global_step()
    )
    return {"x": x, "outputs": outputs, "state": state}, step


def leaves(key, state):
    return {f"{key}:{i}": leaf for i, leaf in enumerate(tf.nest.flatten(state))}


CASES = {"seq2seq": (seq2seq, 301), "gru_momentum": (gru_momentum, 302)}


def run_case(name, out_dir):
    """Build, train one step, fetch and save one case; return its manifest entry."""
    build, seed = CASES[name]
    rng = np.random.default_rng(seed)
    with tf.Graph().as_default():
        fetches, step = build(rng)
        trainable = cell_goldens.sorted_variables()
        saver = v1.train.Saver(save_relative_paths=True)
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            cell_goldens.assign_random_values(sess, trainable, rng)
            sess.run(step)  # so that slots and global_step hold real values
            arrays = sess.run(fetches)
            saved = {v.op.name: value for v, value in zip(v1.global_variables(), sess.run(v1.global_variables()))}
            ckpt_dir = os.path.join(out_dir, name)
            os.makedirs(ckpt_dir, exist_ok=True)
            saver.save(sess, os.path.join(ckpt_dir, "model.ckpt"), write_meta_graph=False)
    for var_name, value in saved.items():
        arrays[f"var:{var_name}"] = value
    cell_goldens.write_npz(os.path.join(out_dir, f"{name}.npz"), arrays)
    return {
        "name": name,
        "seed": seed,
        "trainable": [v.op.name for v in trainable],
        "variables": sorted([n, list(np.shape(value))] for n, value in saved.items()),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", default=os.path.dirname(os.path.abspath(__file__)),
        help="output folder (default: this script's folder)",
    )
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    manifest = {
        "tensorflow": tf.__version__,
        "tf_keras": tf_keras.__version__,
        "numpy": np.__version__,
        "batch": BATCH,
        "time": TIME,
        "lengths": list(LENGTHS),
        "cases": [run_case(name, args.out) for name in CASES],
    }
    with open(os.path.join(args.out, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"wrote {len(CASES)} cases to {args.out}")


if __name__ == "__main__":
    main()
