"""Write the TF 1.15 golden of a Tacotron-2 decoder program (tacotron.py.txt).

tacotron.py.txt is a TF1 program (tf.contrib.seq2seq, tf.contrib.rnn, tf.layers)
written after Rayhane-mamah/Tacotron-2 and keithito/tacotron. This script runs it
as it is, in a TF1 graph, on TensorFlow 1.15 under Python 3.7 (the venv that
../tf115/README.md describes); tfrnn is never imported. It builds the decoder cell
once and decodes twice: teacher-forced (`training`, with its loss) and free-running
(`synthesis`), gives every variable a fixed value, saves them in a TF1 checkpoint and
records the results and the gradients of a loss w.r.t. every variable and the memory.

Usage (with the TF 1.15 venv's interpreter):
    /opt/tf115/bin/python tests/golden/tf115_tacotron/generate.py [--out DIR]
    /opt/tf115/bin/python tests/golden/tf115_tacotron/generate.py --search   # development

DIR defaults to this script's folder; it gets DIR/tacotron.npz, DIR/model.ckpt.*
(with DIR/checkpoint) and DIR/MANIFEST.json. README.md beside this file explains
the keys. `--search` prints, for a range of weight seeds and <stop_token> biases,
how the synthesis rows end (it is how WEIGHT_SEED and STOP_BIAS were chosen).

Importing this module has no side effects (pytest imports every .py file under
tests/ with TF 2.x): TensorFlow is imported only in main().
"""

import argparse
import json
import os
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "tacotron.py.txt")

# Sizes: batch 3, encoder outputs (the memory) [3, 7, 6] with lengths (7, 5, 3);
# mel targets [3, 12, 4] (12 frames = 6 decoder steps of r = 2) with lengths (12, 8, 10).
BATCH, MEMORY_TIME, MEMORY_DEPTH = 3, 7, 6
MEMORY_LENGTHS = (7, 5, 3)
FRAMES = 12
FRAME_LENGTHS = (12, 8, 10)
HPARAMS = dict(num_mels=4, outputs_per_step=2, attention_dim=8, attention_filters=3, attention_kernel=3,
               prenet_layers=[8, 6], decoder_units=8, max_iters=8)

INPUT_SEED = 2018
WEIGHT_SEED = 165  # chosen with --search: the synthesis rows end at different steps
WEIGHT_SCALE = 0.5
STOP_BIAS = -0.261  # --search found -0.25; -0.261 puts every stop logit >= 0.011 from 0
STOP_BIAS_NAME = "decoder/frame_and_stop_projection/stop_token_projection/bias"


def inputs():
    """The program's inputs: memory, its lengths, mel targets (zero past each row's frames)
    and <stop_token> targets (1 from each row's last frame on, as Tacotron-2 pads them)."""
    rng = np.random.RandomState(INPUT_SEED)
    memory = rng.normal(size=(BATCH, MEMORY_TIME, MEMORY_DEPTH)).astype(np.float32)
    frame = np.arange(FRAMES)[None, :]
    lengths = np.array(FRAME_LENGTHS)[:, None]
    mel_targets = rng.normal(size=(BATCH, FRAMES, HPARAMS["num_mels"])).astype(np.float32)
    mel_targets *= (frame < lengths)[:, :, None]
    stop_token_targets = (frame >= lengths - 1).astype(np.float32)
    return {"memory": memory, "memory_lengths": np.array(MEMORY_LENGTHS, np.int32),
            "mel_targets": mel_targets, "stop_token_targets": stop_token_targets}


def weight_value(name, shape, seed, stop_bias):
    """A variable's fixed value: uniform in [-WEIGHT_SCALE, WEIGHT_SCALE], drawn from a stream
    keyed by its name (so adding a variable changes no other)."""
    rng = np.random.RandomState((zlib.crc32(name.encode()) + seed) % 2 ** 32)
    value = rng.uniform(-WEIGHT_SCALE, WEIGHT_SCALE, size=shape).astype(np.float32)
    if name == STOP_BIAS_NAME:
        value += np.float32(stop_bias)
    return value


def flatten(key, structure, tf):
    """{dotted path: tensor}: namedtuple fields, tuple indices, dict keys. A TensorArray is left
    out: the program stacked it already (`alignments`), and TF1 cannot read one twice."""
    if isinstance(structure, tf.TensorArray):
        return {}
    if isinstance(structure, tuple) and hasattr(structure, "_fields"):
        items = zip(structure._fields, structure)
    elif isinstance(structure, (tuple, list)):
        items = ((str(i), value) for i, value in enumerate(structure))
    elif isinstance(structure, dict):
        items = sorted(structure.items())
    else:
        return {key: structure}
    flat = {}
    for field, value in items:
        flat.update(flatten("%s.%s" % (key, field) if key else field, value, tf))
    return flat


def build(tf, data):
    """Runs the program's graph construction: (results {path: tensor}, variables)."""
    namespace = {"__name__": "tacotron"}
    with open(PROGRAM) as f:
        exec(compile(f.read(), PROGRAM, "exec"), namespace)
    hp = namespace["HParams"](**HPARAMS)
    memory = tf.constant(data["memory"])
    memory_lengths = tf.constant(data["memory_lengths"])
    mel_targets = tf.constant(data["mel_targets"])
    stop_token_targets = tf.constant(data["stop_token_targets"])
    output_cell = namespace["decoder_cell"](memory, memory_lengths, hp)
    train = namespace["training"](output_cell, memory, mel_targets, stop_token_targets, hp)
    synth = namespace["synthesis"](output_cell, memory, hp)
    results = flatten("", {"train": train, "synth": synth}, tf)
    return results, memory, tf.global_variables()


def probe_loss(tf, results, r):
    """The synthesis' loss: sum over its float results of sum(result * r:<path>)."""
    return tf.add_n([tf.reduce_sum(results[path] * r[path]) for path in sorted(r)])


def imputed_steps(decoder_output, r):
    """Per row, the steps whose r frames are all zero (imputed: the row was finished)."""
    steps = decoder_output.reshape(decoder_output.shape[0], -1, r, decoder_output.shape[-1])
    return [np.flatnonzero(np.all(row == 0, axis=(1, 2))).tolist() for row in steps]


def session(tf):
    config = tf.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
    return tf.Session(config=config)


def resumed(imputed, steps):
    """Whether a row went on after a step was imputed (it stopped, then did not)."""
    return any(rows and rows[-1] - rows[0] + 1 != len(rows) or rows and rows[-1] != steps - 1 for rows in imputed)


def search(tf):
    """Prints the weight seeds and stop biases whose synthesis rows end at different steps and
    where a row goes on after it stopped (the decoder tracks its own finished)."""
    data = inputs()
    graph = tf.Graph()
    with graph.as_default():
        results, _, variables = build(tf, data)
        placeholders = [tf.placeholder(v.dtype.base_dtype, v.shape) for v in variables]
        assigns = [v.assign(p) for v, p in zip(variables, placeholders)]
        with session(tf) as sess:
            for seed in range(300):
                for stop_bias in np.arange(-1.5, 0.3, 0.25).round(2).tolist():
                    feed = {p: weight_value(v.op.name, v.shape.as_list(), seed, stop_bias)
                            for v, p in zip(variables, placeholders)}
                    sess.run(assigns, feed)
                    out = sess.run({k: results[k] for k in ("synth.lengths", "synth.decoder_output")})
                    lengths = out["synth.lengths"].tolist()
                    r = HPARAMS["outputs_per_step"]
                    imputed = imputed_steps(out["synth.decoder_output"], r)
                    if len(set(lengths)) == BATCH and resumed(imputed, out["synth.decoder_output"].shape[1] // r):
                        print(seed, stop_bias, lengths, imputed)


def write(tf, out_dir):
    data = inputs()
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(0)
        results, memory, variables = build(tf, data)
        names = [v.op.name for v in variables]
        assert len(set(names)) == len(names) and all(v in tf.trainable_variables() for v in variables)
        values = {name: weight_value(name, v.shape.as_list(), WEIGHT_SEED, STOP_BIAS)
                  for name, v in zip(names, variables)}
        rng = np.random.RandomState(INPUT_SEED + 1)
        synth_floats = sorted(path for path, t in results.items()
                              if path.startswith("synth.") and t.dtype.is_floating)
        saver = tf.train.Saver(variables, save_relative_paths=True)
        with session(tf) as sess:
            for v in variables:
                v.load(values[v.op.name], sess)
            shapes = sess.run({path: tf.shape(results[path]) for path in synth_floats})
            r = {path: rng.normal(size=shapes[path]).astype(np.float32) for path in synth_floats}
            train_grads = tf.gradients(results["train.loss"], variables + [memory])
            synth_loss = probe_loss(tf, results, r)
            synth_grads = tf.gradients(synth_loss, variables + [memory])
            out = sess.run(results)
            train_g, synth_g = sess.run([train_grads, synth_grads])
            saver.save(sess, os.path.join(out_dir, "model.ckpt"), write_meta_graph=False)
    arrays = {"in:" + key: value for key, value in data.items()}
    arrays.update({"out:" + path: value for path, value in out.items()})
    arrays.update({"r:" + path: value for path, value in r.items()})
    none = []
    for prefix, grads in (("grad_train", train_g), ("grad_synth", synth_g)):
        for name, grad in zip(names + ["memory"], grads):
            if grad is None:
                none.append("%s:%s" % (prefix, name))
            else:
                arrays["%s:%s" % (prefix, name)] = np.asarray(grad)
    np.savez(os.path.join(out_dir, "tacotron.npz"), **arrays)
    manifest = {
        "tensorflow": tf.__version__, "numpy": np.__version__, "python": sys.version.split()[0],
        "program": "tacotron.py.txt", "hparams": HPARAMS, "input_seed": INPUT_SEED, "weight_seed": WEIGHT_SEED,
        "weight_scale": WEIGHT_SCALE, "stop_bias": STOP_BIAS,
        "variables": [[name, list(values[name].shape)] for name in names],
        "results": [[path, str(value.dtype), list(value.shape)] for path, value in sorted(out.items())],
        "no_gradient": none,
    }
    with open(os.path.join(out_dir, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print("synthesis lengths", out["synth.lengths"].tolist(), "training lengths", out["train.lengths"].tolist())
    print("imputed synthesis steps", imputed_steps(out["synth.decoder_output"], HPARAMS["outputs_per_step"]))
    print("no gradient:", none)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=HERE)
    parser.add_argument("--search", action="store_true")
    args = parser.parse_args(argv)
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    if not tf.__version__.startswith("1.15."):
        print("needs TensorFlow 1.15, found %s" % tf.__version__, file=sys.stderr)
        return 2
    tf.logging.set_verbosity(tf.logging.ERROR)
    if args.search:
        search(tf)
    else:
        os.makedirs(args.out, exist_ok=True)
        write(tf, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
