"""TF 1.15's side of bench_seq2seq.py: the same seq2seq programs in `tf.contrib.seq2seq`, in a Session.

    /opt/tf115/bin/python benchmarks/bench_seq2seq_tf115.py --data DATA.npz --check CHECK.npz --modes train greedy

Run by bench_seq2seq.py as its own process (TensorFlow 1.15 needs Python 3.7), never
imported by it. `DATA.npz` holds the sizes, the inputs and every weight under its TF1
name (`var:<name>`), written by bench_seq2seq.py from tfrnn's model. Each program is
built in a graph of its own, its variables loaded from `DATA.npz` (every name must
match, both ways), and run once; what it computed goes to `CHECK.npz` (the loss and
every gradient, or the greedy ids), for bench_seq2seq.py to compare with tfrnn's.
Then the process prints `READY <keys>` and serves turns as head_to_head.py's TF1
process does: for each key read on stdin, one untimed and one timed call, and the
time in ms on stdout.

Programs (what a TF 1.15 user writes; `decoder` is dynamic_decode's default scope):

- train, "decoder, output layer per step": `BasicDecoder(AttentionWrapper, TrainingHelper,
  output_layer=Dense(V, use_bias=False))`, `sequence_loss`, `tf.gradients` of every
  trainable variable and the memory.
- train, "decoder + projection after the loop": the same without `output_layer`, the
  projection applied to `outputs.rnn_output` afterwards (tensorflow/nmt's training graph).
- greedy, "decoder, greedy": `GreedyEmbeddingHelper` with an end token no argmax can
  give, `maximum_iterations=T`; fetches the ids and the lengths.
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from measure import timed_ms  # noqa: E402  (the benchmarks folder is this script's)

TRAIN_PROGRAMS = ("decoder, output layer per step", "decoder + projection after the loop")
GREEDY_PROGRAMS = ("decoder, greedy",)
VARIANT = "session"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="npz: sizes, inputs and weights by TF1 name")
    parser.add_argument("--check", required=True, help="npz written here: each program's results")
    parser.add_argument("--modes", nargs="+", choices=("train", "greedy"), default=["train", "greedy"])
    return parser.parse_args(argv)


def build(program, data):
    """`(session, fetches, feed)` of one program, its variables loaded from `data`."""
    import tensorflow as tf

    seq2seq = tf.contrib.seq2seq
    sizes = json.loads(str(data["sizes"]))
    batch, steps, units, vocabulary = sizes["batch"], sizes["target_time"], sizes["units"], sizes["vocabulary"]
    graph = tf.Graph()
    with graph.as_default():
        placeholders = {
            key: tf.placeholder(tf.as_dtype(data[f"in:{key}"].dtype), data[f"in:{key}"].shape, name=key)
            for key in ("memory", "memory_length", "target_input", "target_output", "target_length")
        }
        memory = placeholders["memory"]
        embedding = tf.get_variable("embedding", [vocabulary, sizes["embedding"]])
        mechanism = seq2seq.BahdanauAttention(units, memory, memory_sequence_length=placeholders["memory_length"])
        cell = seq2seq.AttentionWrapper(tf.nn.rnn_cell.LSTMCell(units), mechanism, attention_layer_size=units)
        projection = tf.layers.Dense(vocabulary, use_bias=False, name="output_projection")
        initial_state = cell.zero_state(batch, tf.float32)
        if program in GREEDY_PROGRAMS:
            helper = seq2seq.GreedyEmbeddingHelper(embedding, tf.fill([batch], 1), vocabulary)  # no argmax is V
            decoder = seq2seq.BasicDecoder(cell, helper, initial_state, output_layer=projection)
            outputs, _, lengths = seq2seq.dynamic_decode(decoder, maximum_iterations=steps)
            fetches = {"sample_id": outputs.sample_id, "lengths": lengths}
        else:
            inputs = tf.nn.embedding_lookup(embedding, placeholders["target_input"])
            helper = seq2seq.TrainingHelper(inputs, placeholders["target_length"])
            per_step = program == TRAIN_PROGRAMS[0]
            decoder = seq2seq.BasicDecoder(cell, helper, initial_state, output_layer=projection if per_step else None)
            outputs, _, _ = seq2seq.dynamic_decode(decoder, maximum_iterations=steps)
            logits = outputs.rnn_output
            if not per_step:
                with tf.variable_scope("decoder"):  # where the layer's kernel sits in the per-step program
                    logits = projection(logits)
            weights = tf.sequence_mask(placeholders["target_length"], steps, tf.float32)
            loss = seq2seq.sequence_loss(logits, placeholders["target_output"], weights)
            variables = tf.trainable_variables()
            gradients = tf.gradients(loss, variables + [memory])
            names = [v.op.name for v in variables] + ["memory"]
            fetches = {"loss": loss, **{f"grad:{name}": g for name, g in zip(names, gradients)}}
        session = tf.Session(graph=graph)
        load_weights(session, graph, data)
    feed = {placeholder: data[f"in:{key}"] for key, placeholder in placeholders.items()}
    return session, fetches, feed


def load_weights(session, graph, data):
    """Every variable of the graph from `data`'s `var:<name>`, and every such array used."""
    variables = {v.op.name: v for v in graph.get_collection("variables")}
    given = {key[len("var:"):] for key in data.files if key.startswith("var:")}
    if set(variables) != given:
        raise SystemExit(f"TF1's variables {sorted(variables)} are not the weights given {sorted(given)}")
    for name, variable in variables.items():
        variable.load(data[f"var:{name}"], session)


def checked(results):
    """Results as arrays for CHECK.npz; a gradient TF1 gives as IndexedSlices is made dense."""
    arrays = {}
    for key, value in results.items():
        if hasattr(value, "indices"):  # IndexedSlicesValue
            dense = np.zeros(value.dense_shape, value.values.dtype)
            np.add.at(dense, value.indices, value.values)
            value = dense
        arrays[key] = np.asarray(value)
    return arrays


def main(argv=None):
    args = parse_args(argv)
    data = np.load(args.data)
    programs = [p for mode, names in (("train", TRAIN_PROGRAMS), ("greedy", GREEDY_PROGRAMS))
                if mode in args.modes for p in names]
    calls, check = {}, {}
    for program in programs:
        session, fetches, feed = build(program, data)
        key = ("tf1", program, VARIANT)
        calls[key] = (lambda s=session, f=fetches, d=feed: s.run(f, feed_dict=d))
        first = calls[key]()  # graph optimisation happens here
        check.update({f"{program}/{name}": value for name, value in checked(first).items()})
        calls[key]()
    np.savez(args.check, **check)
    print("READY " + json.dumps([list(key) for key in calls]), flush=True)
    for line in sys.stdin:
        call = calls[tuple(json.loads(line))]
        call()  # a warm turn, as head_to_head.local_turn
        print(f"{timed_ms(call):.6f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
