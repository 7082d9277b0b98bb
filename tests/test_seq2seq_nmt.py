"""tensorflow/nmt's attention model, as a TF1 program with only its names changed.

The goldens `nmt_train` and `nmt_infer_greedy` (TF 1.15, `tests/golden/
tf115_seq2seq/`) inline nmt's `model.py`, `attention_model.py` and
`model_helper.py`: embeddings, a 2-layer `BasicLSTMCell` encoder in
`DeviceWrapper`s, normed Bahdanau attention with `memory_sequence_length`, an
`AttentionWrapper(..., name="attention")` in a `DeviceWrapper`, the
`output_projection` layer, time-major `dynamic_decode` with `TrainingHelper`
(training) or `GreedyEmbeddingHelper` (inference). `nmt_train`'s checkpoint
holds the variables after one Adam step, their Adam slots, the beta powers
and `global_step`.

Each program is the golden's TF1 code with `TF1_TO_TFRNN` applied: contrib
names become tfrnn's, `tf.layers.Dense` Keras', and the TF1 names TF2 keeps
under `tf.compat.v1` move there (what `tf_upgrade_v2` does). It runs as TF1
ran it: once to build every object (TF1's graph construction), then ONE
`tfrnn.load_tf1_checkpoint` call with a mapping of every object by TF1 scope
(TF1's `saver.restore`), then again on the same objects (TF1's `session.run`),
and must give TF1's numbers: sample ids and lengths exactly, floats and
gradients to 1e-5. A failing load changes nothing, and `save_tf1_checkpoint`
writes the same names and values back.
"""

import json
import os
import pathlib
import re
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrnn
from seq2seq_goldens import flatten

GOLDEN = pathlib.Path(__file__).parent / "golden" / "tf115_seq2seq"
CASES = {case["name"]: case for case in json.loads((GOLDEN / "MANIFEST.json").read_text())["cases"]}
CHECKPOINT = GOLDEN / "nmt_train"
ATOL = RTOL = 1e-5

# The only changes made to the TF1 code, in this order.
TF1_TO_TFRNN = [
    ("tf.contrib.seq2seq.", "tfrnn.seq2seq."),
    ("tf.contrib.rnn.", "tfrnn."),
    ("tf.nn.dynamic_rnn(", "tfrnn.dynamic_rnn("),
    ("tf.layers.Dense(", "keras.layers.Dense("),
    ("tf.variable_scope(", "tf.compat.v1.variable_scope("),
    ("tf.get_variable_scope(", "tf.compat.v1.get_variable_scope("),
    ("tf.get_variable(", "tf.compat.v1.get_variable("),
    ("tf.to_float(", "tf.compat.v1.to_float("),
    ("tf.to_int32(", "tf.compat.v1.to_int32("),
]

# nmt_infer_greedy's TF1 code after TF1_TO_TFRNN: nmt's inference graph in tfrnn.
GREEDY_PROGRAM = '''\
batch_size = tf.size(source_length)
global_step = tf.Variable(0, trainable=False)
tf.compat.v1.get_variable_scope().set_initializer(tf.random_uniform_initializer(-0.1, 0.1, seed=7))

with tf.compat.v1.variable_scope("embeddings", dtype=tf.float32):
    with tf.compat.v1.variable_scope("encoder"):
        embedding_encoder = tf.compat.v1.get_variable("embedding_encoder", [8, 4], tf.float32)
    with tf.compat.v1.variable_scope("decoder"):
        embedding_decoder = tf.compat.v1.get_variable("embedding_decoder", [9, 4], tf.float32)

with tf.compat.v1.variable_scope("build_network"):
    with tf.compat.v1.variable_scope("decoder/output_projection"):
        output_layer = keras.layers.Dense(9, use_bias=False, name="output_projection")

def create_rnn_cell():
    cells = [tfrnn.DeviceWrapper(tfrnn.BasicLSTMCell(4, forget_bias=1.0), "/cpu:0")
             for i in range(2)]
    return tfrnn.MultiRNNCell(cells)

with tf.compat.v1.variable_scope("dynamic_seq2seq", dtype=tf.float32):
    with tf.compat.v1.variable_scope("encoder") as scope:
        encoder_emb_inp = tf.nn.embedding_lookup(embedding_encoder, tf.transpose(source))
        encoder_outputs, encoder_state = tfrnn.dynamic_rnn(
            create_rnn_cell(), encoder_emb_inp, dtype=scope.dtype,
            sequence_length=source_length, time_major=True, swap_memory=True)
    with tf.compat.v1.variable_scope("decoder") as decoder_scope:
        memory = tf.transpose(encoder_outputs, [1, 0, 2])
        attention_mechanism = tfrnn.seq2seq.BahdanauAttention(
            4, memory, memory_sequence_length=source_length, normalize=True)
        cell = tfrnn.seq2seq.AttentionWrapper(
            create_rnn_cell(), attention_mechanism, attention_layer_size=4,
            alignment_history=True, output_attention=True, name="attention")
        cell = tfrnn.DeviceWrapper(cell, "/cpu:0")
        decoder_initial_state = cell.zero_state(batch_size, tf.float32).clone(
            cell_state=encoder_state)
        maximum_iterations = tf.compat.v1.to_int32(tf.round(tf.compat.v1.to_float(tf.reduce_max(source_length)) * 2.0))
        helper = tfrnn.seq2seq.GreedyEmbeddingHelper(
            embedding_decoder, tf.fill([batch_size], 1), 2)
        my_decoder = tfrnn.seq2seq.BasicDecoder(
            cell, helper, decoder_initial_state, output_layer=output_layer)
        outputs, final_context_state, lengths = tfrnn.seq2seq.dynamic_decode(
            my_decoder, maximum_iterations=maximum_iterations, output_time_major=True,
            swap_memory=True, scope=decoder_scope)

record("outputs", outputs)
record("final_context_state", final_context_state)
record("lengths", lengths)
'''

# nmt_train's training step (gradients, clipping, Adam) already ran: its result is the
# checkpoint. The program runs everything before it and the records after it.
_TRAIN_STEP = re.compile(r"^params = tf\.trainable_variables\(\)\n.*?^set_train_op\(update\)\n", re.M | re.S)


def tfrnn_program(name):
    code = CASES[name]["code"]
    for tf1, ours in TF1_TO_TFRNN:
        code = code.replace(tf1, ours)
    return _TRAIN_STEP.sub("", code)


# ----- running a TF1 program eagerly: build, load, run again ----------------------------------------


class _Module(types.SimpleNamespace):
    """A module with some names replaced: the program's `tf`, `tfrnn`, `keras`."""

    def __init__(self, real, **own):
        super().__init__(**own)
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)


class Program:
    """A TF1 program run eagerly as TF1 ran it: the first `run` creates every object that holds
    variables (TF1's graph construction); later runs get those objects back from their
    constructors, in creation order, so they compute with the loaded weights (TF1's
    `session.run`). An attention mechanism given back takes the new run's memory
    (`setup_memory`), as TF1's graph recomputed it from the restored encoder."""

    def __init__(self, name):
        self.name = name
        self.code = tfrnn_program(name)
        with np.load(GOLDEN / f"{name}.npz") as data:
            self.data = {key: data[key] for key in data.files}
        self.inputs = {spec["name"]: tf.constant(self.data[f"in:{spec['name']}"]) for spec in CASES[name]["inputs"]}
        self.made = []  # (constructor, object), in creation order
        self.namespace = None

    def run(self):
        """Runs the program; returns `{result path: tensor}` (the golden's paths)."""
        recorded, replay = {}, iter(list(self.made)) if self.made else None
        namespace = self._namespace(replay, recorded)
        exec(compile(self.code, f"<{self.name}>", "exec"), namespace)
        self.namespace = self.namespace or namespace
        return recorded

    def _namespace(self, replay, recorded):
        def made(make, take_memory=False):
            def construct(*args, **kwargs):
                if replay is None:
                    self.made.append((make, make(*args, **kwargs)))
                    return self.made[-1][1]
                maker, again = next(replay)
                assert maker is make, "the second run constructs what the first did, in the same order"
                if take_memory:
                    again.setup_memory(*args[1:3], **{k: v for k, v in kwargs.items() if k.startswith("memory")})
                return again
            return construct

        seq2seq = tfrnn.seq2seq
        return {
            **self.inputs,
            "tf": _Module(tf, compat=_Module(tf.compat, v1=_Module(
                tf.compat.v1, get_variable=made(tf.compat.v1.get_variable)))),
            "keras": _Module(keras, layers=_Module(keras.layers, Dense=made(keras.layers.Dense))),
            "tfrnn": _Module(
                tfrnn, BasicLSTMCell=made(tfrnn.BasicLSTMCell), DeviceWrapper=made(tfrnn.DeviceWrapper),
                MultiRNNCell=made(tfrnn.MultiRNNCell),
                seq2seq=_Module(seq2seq, BahdanauAttention=made(seq2seq.BahdanauAttention, take_memory=True),
                                AttentionWrapper=made(seq2seq.AttentionWrapper)),
            ),
            "record": lambda key, structure, loss=True: recorded.update(flatten(key, structure)),
        }

    def objects(self):
        """Every object holding the model's variables, by TF1 scope: what one load call takes."""
        first = self.namespace
        encoder_cell = next(o for _, o in self.made if isinstance(o, tfrnn.MultiRNNCell))  # built first
        return {
            "embeddings/encoder": first["embedding_encoder"],
            "embeddings/decoder": first["embedding_decoder"],
            "dynamic_seq2seq/encoder/rnn": encoder_cell,
            "dynamic_seq2seq/decoder": [first["attention_mechanism"], first["cell"], first["output_layer"]],
        }


def golden_loss(program, results):
    """TF1's loss: the sum over recorded float results of sum(result * r:<path>)."""
    return tf.add_n([tf.reduce_sum(tf.cast(value, tf.float32) * program.data[f"r:{path}"])
                     for path, value in results.items() if f"r:{path}" in program.data])


def loaded_program(name):
    """Build, ONE load of the whole model, run again under a tape: `(program, loaded, results, gradients)`."""
    program = Program(name)
    program.run()
    loaded = tfrnn.load_tf1_checkpoint(CHECKPOINT, program.objects())
    with tf.GradientTape() as tape:
        results = program.run()
        loss = golden_loss(program, results)
    variables = list(loaded.values())
    grads = tape.gradient(loss, variables)
    gradients = {name: np.asarray(tf.convert_to_tensor(g)) for name, g in zip(loaded, grads)}
    return program, loaded, {path: np.asarray(value) for path, value in results.items()}, gradients


@pytest.fixture(scope="module")
def greedy():
    return loaded_program("nmt_infer_greedy")


@pytest.fixture(scope="module")
def train():
    return loaded_program("nmt_train")


def model_variables():
    return {name for name, _ in CASES["nmt_train"]["variables"]}


def checkpoint_values(path=CHECKPOINT):
    reader = tf.train.load_checkpoint(str(path))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def assert_equals_golden(name, results, gradients):
    """Every result of the golden (ints exactly, floats to 1e-5) and every variable's gradient."""
    case, data = CASES[name], np.load(GOLDEN / f"{name}.npz")
    assert sorted(results) == sorted(path for path, *_ in case["results"])
    for path, dtype, shape, _ in case["results"]:
        got, want = results[path], data[f"out:{path}"]
        assert (got.dtype.name, got.shape) == (dtype, tuple(shape)), path
        if got.dtype.kind in "iub":
            np.testing.assert_array_equal(got, want, err_msg=path)
        else:
            np.testing.assert_allclose(got, want, atol=ATOL, rtol=RTOL, err_msg=path)
    assert sorted(gradients) == sorted(data["names"])
    for variable, gradient in gradients.items():
        np.testing.assert_allclose(gradient, data[f"grad:{variable}"], atol=ATOL, rtol=RTOL, err_msg=variable)


# ----- the programs ------------------------------------------------------------------------------------


def test_the_programs_are_tf1s_code_with_only_names_changed():
    assert tfrnn_program("nmt_infer_greedy") == GREEDY_PROGRAM
    for name in ("nmt_train", "nmt_infer_greedy"):
        code = tfrnn_program(name)
        assert not re.search(r"tf\.(contrib|layers|nn\.dynamic_rnn|variable_scope|get_variable|to_)", code)
        assert "tfrnn.seq2seq.AttentionWrapper(" in code and "tfrnn.DeviceWrapper(cell, \"/cpu:0\")" in code
    train = tfrnn_program("nmt_train")
    assert "TrainingHelper(decoder_emb_inp, target_length, time_major=True)" in train
    assert "AdamOptimizer" not in train and 'record("train_loss", train_loss)' in train


def test_one_load_call_restores_the_whole_model_and_ignores_the_optimizer_state(greedy):
    program, loaded, _, _ = greedy
    saved = checkpoint_values()
    assert set(loaded) == model_variables() and len(loaded) == 17
    for name, variable in loaded.items():
        np.testing.assert_array_equal(np.asarray(variable), saved[name], err_msg=name)
    ignored = set(saved) - set(loaded)  # 2 slots per variable, the beta powers, global_step
    assert ignored == {f"{n}/{slot}" for n in loaded for slot in ("Adam", "Adam_1")} | {
        "beta1_power", "beta2_power", "Variable"}
    assert list(loaded)[:3] == ["embeddings/encoder/embedding_encoder", "embeddings/decoder/embedding_decoder",
                                "dynamic_seq2seq/encoder/rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel"]
    assert "dynamic_seq2seq/decoder/attention/bahdanau_attention/attention_g" in loaded


def test_greedy_decode_equals_tf1s(greedy):
    _, _, results, gradients = greedy
    assert_equals_golden("nmt_infer_greedy", results, gradients)
    # Rows end at different steps (eos = 2); row 2 never ends and runs maximum_iterations = 10.
    assert results["lengths"].tolist() == [6, 5, 10, 7]
    assert results["outputs.sample_id"][:, 0].tolist() == [1, 1, 1, 1, 1, 2, 2, 2, 1, 1]


def test_training_graph_equals_tf1s(train):
    _, _, results, gradients = train
    assert_equals_golden("nmt_train", results, gradients)
    assert results["logits"].shape == (4, 4, 9)  # time-major [T, B, target vocabulary]


# ----- loading is atomic; saving writes TF1's names back ----------------------------------------------


def write_checkpoint(prefix, values):
    tf.raw_ops.SaveV2(prefix=str(prefix), tensor_names=list(values), shape_and_slices=[""] * len(values),
                      tensors=list(values.values()))
    return prefix


def test_a_failing_load_changes_nothing(tmp_path):
    program = Program("nmt_infer_greedy")
    program.run()
    objects = program.objects()
    before = {name: np.asarray(v).copy() for name, v in tfrnn.tf1_variable_names(objects).items()}
    # Every variable present with new values, but one: a partial load would show the new values.
    damaged = {name: value + 1 for name, value in checkpoint_values().items()
               if name != "dynamic_seq2seq/decoder/attention/bahdanau_attention/attention_g"}
    with pytest.raises(ValueError, match=r"nothing was assigned[\s\S]*missing from the checkpoint \(1\):\n"
                                         r"    dynamic_seq2seq/decoder/attention/bahdanau_attention/attention_g \[\]"):
        tfrnn.load_tf1_checkpoint(write_checkpoint(tmp_path / "model.ckpt", damaged), objects)
    after = {name: np.asarray(v) for name, v in tfrnn.tf1_variable_names(objects).items()}
    assert sorted(after) == sorted(before)
    for name in before:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)


def test_save_writes_every_object_back_under_tf1s_names(greedy, tmp_path):
    program = greedy[0]
    prefix = tfrnn.save_tf1_checkpoint(os.path.join(tmp_path, "model.ckpt"), program.objects())
    written, original = checkpoint_values(prefix), checkpoint_values()
    assert set(written) == model_variables()
    for name, value in written.items():
        assert value.dtype == original[name].dtype, name
        np.testing.assert_array_equal(value, original[name], err_msg=name)


def test_unbuilt_objects_are_built_from_the_checkpoint_and_every_variable_is_loaded():
    # The wrapper's query and attention layers are Keras layers it builds itself: they must be
    # named (and loaded) even though nothing has run yet.
    memory = np.zeros((1, 1, 4), "float32")  # only its depth matters here
    mechanism = tfrnn.seq2seq.BahdanauAttention(4, memory, normalize=True)
    cell = tfrnn.seq2seq.AttentionWrapper(tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(4), tfrnn.BasicLSTMCell(4)]),
                                          mechanism, attention_layer_size=4, name="attention")
    encoder_cell = tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(4), tfrnn.BasicLSTMCell(4)])
    output_layer = keras.layers.Dense(9, use_bias=False, name="output_projection")
    output_layer.build((None, 4))
    embeddings = [tf.Variable(tf.zeros(shape), name=name) for name, shape in
                  (("embedding_encoder", [8, 4]), ("embedding_decoder", [9, 4]))]
    loaded = tfrnn.load_tf1_checkpoint(CHECKPOINT, {
        "embeddings/encoder": embeddings[0], "embeddings/decoder": embeddings[1],
        "dynamic_seq2seq/encoder/rnn": encoder_cell, "dynamic_seq2seq/decoder": [mechanism, cell, output_layer]})
    assert set(loaded) == model_variables()
    saved = checkpoint_values()
    for name, variable in loaded.items():
        np.testing.assert_array_equal(np.asarray(variable), saved[name], err_msg=name)
    np.testing.assert_array_equal(np.asarray(cell.attention_layers[0].kernel),
                                  saved["dynamic_seq2seq/decoder/attention/attention_layer/kernel"])
