"""The fused attention-decoder loop (tfrnn/seq2seq/fused_attention.py) equals the step-by-step path.

The same wrapper, mechanism and weights run twice: through the fused loop, and through the
attention wrapper's own step with `fused_attention.eligible` patched to refuse every cell (the
switch that sends `dynamic_rnn` and `dynamic_decode` to their generic loops). Values and the
gradients of every input, the initial state, the memory and every weight must agree. A spy on
the fused sequence proves which path ran, so no test passes by running the generic path twice.
TF 1.15's goldens of the one attention configuration among them that takes the fast path
(`output_attention_false`) are checked through the fast path too.
"""

import contextlib
from unittest import mock

import keras
import numpy as np
import pytest
import tensorflow as tf

import seq2seq_goldens as goldens
import tfrnn
from tfrnn import seq2seq
from tfrnn.seq2seq import fused_attention

BATCH, TIME, DEPTH, MEMORY_TIME, MEMORY_DEPTH, UNITS, ATTENTION = 3, 5, 4, 6, 7, 8, 5
TARGET_LENGTHS = [5, 2, 0]  # full, uneven, empty
MEMORY_LENGTHS = [6, 2, 4]

MECHANISMS = {
    "bahdanau": lambda: seq2seq.BahdanauAttention(6),
    "bahdanau_norm": lambda: seq2seq.BahdanauAttention(6, normalize=True),
    "luong": lambda: seq2seq.LuongAttention(UNITS),
    "luong_scale": lambda: seq2seq.LuongAttention(UNITS, scale=True),
}
CELLS = {
    "lstm": lambda: tfrnn.LSTMCell(UNITS),
    "basic_lstm": lambda: tfrnn.BasicLSTMCell(UNITS, forget_bias=0.7),
}


@contextlib.contextmanager
def fused_runs():
    """Counts the fused sequences built (once per trace) inside the block."""
    with mock.patch.object(fused_attention, "_attention_sequence", wraps=fused_attention._attention_sequence) as spy:
        yield spy


@contextlib.contextmanager
def generic_path():
    """Every cell refused by the fast path: the wrapper steps in the generic loops."""
    with mock.patch.object(fused_attention, "eligible", return_value=False), fused_runs() as spy:
        yield
    assert spy.call_count == 0


class Model:
    """A wrapper with random weights (attention_b, attention_g and the biases too: none left at its init)."""

    def __init__(self, mechanism, cell, seed=0, output_attention=True, memory_lengths=MEMORY_LENGTHS,
                 target_lengths=TARGET_LENGTHS, time_major=False):
        rng = np.random.default_rng(seed)
        self.memory_lengths, self.target_lengths, self.time_major = memory_lengths, target_lengths, time_major
        self.memory = tf.constant(rng.normal(size=(BATCH, MEMORY_TIME, MEMORY_DEPTH)), tf.float32)
        self.mechanism = MECHANISMS[mechanism]()
        self.mechanism.setup_memory(self.memory, memory_lengths)
        self.cell = seq2seq.AttentionWrapper(CELLS[cell](), self.mechanism, attention_layer_size=ATTENTION,
                                             output_attention=output_attention)
        self.cell(tf.zeros([BATCH, DEPTH]), self.cell.zero_state(BATCH, tf.float32))  # build
        self.weights = list({id(w): w for w in self.cell.weights + self.mechanism.weights}.values())
        for w in self.weights:
            w.assign(rng.uniform(-0.6, 0.6, w.shape))
        self.inputs = tf.constant(rng.normal(size=(BATCH, TIME, DEPTH)), tf.float32)
        state = self.cell.zero_state(BATCH, tf.float32)
        self.state = [tf.constant(rng.normal(size=s.shape), tf.float32)
                      for s in (state.cell_state.c, state.cell_state.h, state.attention, state.alignments)]
        self.loss_weights = rng.normal(size=(64,)).astype(np.float32)

    def arguments(self):
        return [self.inputs, self.memory, *self.state]

    def run(self, loop, inputs, memory, c, h, attention, alignments, maximum_iterations=None):
        """`(results, gradients)` of one loop: its outputs and state, then d(inputs, memory, state, weights)."""
        with tf.GradientTape() as tape:
            tape.watch([inputs, memory, c, h, attention, alignments])
            self.mechanism.setup_memory(memory, self.memory_lengths)
            state = self.cell.zero_state(BATCH, tf.float32).clone(
                cell_state=tfrnn.LSTMStateTuple(c, h), attention=attention, alignments=alignments)
            if loop == "rnn":
                if self.time_major:
                    inputs = tf.transpose(inputs, [1, 0, 2])
                outputs, final = tfrnn.dynamic_rnn(self.cell, inputs, sequence_length=self.target_lengths,
                                                   initial_state=state, time_major=self.time_major)
                extra = []
            else:
                helper = seq2seq.TrainingHelper(inputs, TARGET_LENGTHS)
                decoder = seq2seq.BasicDecoder(self.cell, helper, state)
                decoded, final, lengths = seq2seq.dynamic_decode(
                    decoder, impute_finished=loop == "decode_impute", maximum_iterations=maximum_iterations)
                outputs, extra = decoded.rnn_output, [decoded.sample_id, lengths, final.time]
            floats = [outputs, final.cell_state.c, final.cell_state.h, final.attention, final.alignments,
                      final.attention_state]
            loss = tf.add_n([tf.reduce_sum(v * tf.sin(float(k) + tf.reshape(tf.cast(tf.range(tf.size(v)), tf.float32), tf.shape(v)))) * w
                             for k, (v, w) in enumerate(zip(floats, self.loss_weights))])
        gradients = tape.gradient(loss, [inputs, memory, c, h, attention, alignments] + [w.value for w in self.weights])
        return floats + extra, gradients


def run_both(model, loop, mode, maximum_iterations=None):
    """The fused and the generic run of `loop` in `mode` (eager, tf.function or XLA)."""
    def call():
        run = lambda *args: model.run(loop, *args, maximum_iterations=maximum_iterations)  # noqa: E731
        if mode != "eager":
            run = tf.function(run, jit_compile=mode == "xla")
        return run(*model.arguments())

    with fused_runs() as spy:
        fast = call()
    assert spy.call_count == 1, "the fused loop did not run"
    with generic_path():
        slow = call()
    return fast, slow


def assert_same(fast, slow):
    (fast_results, fast_grads), (slow_results, slow_grads) = fast, slow
    for k, (got, want) in enumerate(zip(fast_results, slow_results)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"result {k}")
    for k, (got, want) in enumerate(zip(fast_grads, slow_grads)):
        assert got is not None or want is None, f"gradient {k} is None"
        if got is None:
            continue  # both None: a value neither path reads (the alignments before a loop without lengths)
        got = np.asarray(tf.convert_to_tensor(got))
        want = np.zeros_like(got) if want is None else np.asarray(tf.convert_to_tensor(want))  # None: TF's zero
        scale = max(np.max(np.abs(want)), 1e-3)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * scale, err_msg=f"gradient {k}")


@pytest.mark.parametrize("loop", ["rnn", "decode", "decode_impute"])
@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("mechanism", sorted(MECHANISMS))
def test_fast_equals_generic_eagerly(mechanism, cell, loop):
    """Every mechanism variant, both LSTM cells, dynamic_rnn and dynamic_decode with and without
    impute_finished (TF1's quirk: without it, outputs past a row's end are not zeros)."""
    model = Model(mechanism, cell)
    fast, slow = run_both(model, loop, "eager")
    assert_same(fast, slow)
    memory_gradient = np.asarray(fast[1][1])
    assert np.any(memory_gradient[1, :2]) and not np.any(memory_gradient[1, 2:])  # padded memory gets none


@pytest.mark.parametrize("mechanism, cell, loop, mode, maximum_iterations", [
    ("bahdanau", "lstm", "rnn", "function", None),
    ("luong_scale", "basic_lstm", "decode", "function", 3),  # the decode cut short: rows end early
    ("bahdanau_norm", "lstm", "decode_impute", "xla", 7),  # XLA: outputs padded to maximum_iterations
    ("luong", "lstm", "rnn", "xla", None),
    ("bahdanau", "basic_lstm", "decode", "xla", 4),
])
def test_fast_equals_generic_compiled(mechanism, cell, loop, mode, maximum_iterations):
    """In `tf.function` and under XLA (`jit_compile=True`), with `maximum_iterations` above and below the time."""
    fast, slow = run_both(Model(mechanism, cell, seed=1), loop, mode, maximum_iterations)
    assert_same(fast, slow)


@pytest.mark.parametrize("mechanism", ["bahdanau_norm", "luong"])
def test_without_lengths_time_major(mechanism):
    """No sequence_length and no memory_sequence_length (nothing masked), time-major inputs."""
    model = Model(mechanism, "lstm", seed=5, memory_lengths=None, target_lengths=None, time_major=True)
    assert_same(*run_both(model, "rnn", "eager"))


def test_memory_of_another_batch_is_refused_as_the_step_refuses_it():
    """An initial state whose batch is not the memory's: TF1's error, on both paths."""
    model = Model("luong", "lstm")
    state = model.cell.zero_state(BATCH, tf.float32)
    cell_state = tfrnn.LSTMStateTuple(tf.zeros([2, UNITS]), tf.zeros([2, UNITS]))
    state = state._replace(cell_state=cell_state, attention=tf.zeros([2, ATTENTION]), alignments=state.alignments[:2],
                           attention_state=state.attention_state[:2])
    for context in (fused_runs(), generic_path()):
        with context, pytest.raises(ValueError, match="Non-matching batch sizes between the memory"):
            tfrnn.dynamic_rnn(model.cell, model.inputs[:2], initial_state=state)


@pytest.mark.parametrize("loop", ["rnn", "decode"])
def test_output_attention_false(loop):
    """The cell output is the loop's output; the attention still feeds the next step."""
    model = Model("bahdanau_norm", "lstm", seed=2, output_attention=False)
    assert_same(*run_both(model, loop, "eager"))


@pytest.mark.parametrize("use_bias", [True, False])
def test_decode_with_output_layer_hoisted(use_bias):
    """A Dense output layer after the fused loop: the logits and sample ids of the generic loop
    (without a bias, the zeros of finished rows come from the loop's outputs alone)."""
    model = Model("luong", "lstm", seed=3)
    layer = keras.layers.Dense(11, use_bias=use_bias, name="output_projection")

    def run():
        with tf.GradientTape() as tape:
            model.mechanism.setup_memory(model.memory, MEMORY_LENGTHS)
            helper = seq2seq.TrainingHelper(model.inputs, TARGET_LENGTHS)
            decoder = seq2seq.BasicDecoder(model.cell, helper, model.cell.zero_state(BATCH, tf.float32),
                                           output_layer=layer)
            outputs, _, _ = seq2seq.dynamic_decode(decoder, impute_finished=True)
            loss = tf.reduce_sum(tf.sin(outputs.rnn_output))
        return [outputs.rnn_output, outputs.sample_id], tape.gradient(loss, layer.trainable_weights + model.weights)

    with fused_runs() as spy:
        fast = run()
    assert spy.call_count == 1
    with generic_path():
        slow = run()
    assert_same(fast, slow)
    finished = np.arange(fast[0][0].shape[1])[None, :] >= np.asarray(TARGET_LENGTHS)[:, None]
    assert finished.any() and not np.asarray(fast[0][0])[finished].any()  # TF1's zeros past each row's end


# ----- TF 1.15's goldens -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["output_attention_false__rnn", "output_attention_false__decode"])
def test_golden_through_the_fast_path(name):
    """TF 1.15's numbers (values and gradients, to 1e-5) from the fast path; the only attention goldens
    of its configuration (the others keep alignment_history, or have a GRU, a user layer or no layer)."""
    with fused_runs() as spy:
        run = goldens.run_case(name)
    assert spy.call_count == 2  # the harness's build run, then the taped run
    assert fused_attention.eligible(run.namespace["cell"])
    goldens.assert_matches_golden(name, run)


def test_which_goldens_take_the_fast_path():
    """Every attention golden but output_attention_false runs step by step (so its own tests cover that path)."""
    taken = []
    for name in goldens.ATTENTION_RNN:
        case, _ = goldens.case_data(name)
        if "LSTMCell" in case["code"] and "alignment_history" not in case["code"] and "attention_layer_size" in case["code"]:
            taken.append(name)
    assert taken == ["output_attention_false__rnn"]


# ----- what does not take it -------------------------------------------------------------------------


def _memory():
    return np.random.default_rng(4).normal(size=(BATCH, MEMORY_TIME, MEMORY_DEPTH)).astype("float32")


OUTSIDE = {
    "gru": lambda m: seq2seq.AttentionWrapper(tfrnn.GRUCell(UNITS), m(), attention_layer_size=ATTENTION),
    "peepholes": lambda m: seq2seq.AttentionWrapper(tfrnn.LSTMCell(UNITS, use_peepholes=True), m(), attention_layer_size=ATTENTION),
    "cell_clip": lambda m: seq2seq.AttentionWrapper(tfrnn.LSTMCell(UNITS, cell_clip=1.0), m(), attention_layer_size=ATTENTION),
    "num_proj": lambda m: seq2seq.AttentionWrapper(tfrnn.LSTMCell(UNITS, num_proj=UNITS), m(), attention_layer_size=ATTENTION),
    "relu": lambda m: seq2seq.AttentionWrapper(tfrnn.LSTMCell(UNITS, activation="relu"), m(), attention_layer_size=ATTENTION),
    "no_attention_layer": lambda m: seq2seq.AttentionWrapper(tfrnn.LSTMCell(UNITS), m()),
    "user_attention_layer": lambda m: seq2seq.AttentionWrapper(
        tfrnn.LSTMCell(UNITS), m(), attention_layer=keras.layers.Dense(ATTENTION, use_bias=False)),
    "alignment_history": lambda m: seq2seq.AttentionWrapper(tfrnn.LSTMCell(UNITS), m(), attention_layer_size=ATTENTION,
                                                            alignment_history=True),
    "cell_input_fn": lambda m: seq2seq.AttentionWrapper(tfrnn.LSTMCell(UNITS), m(), attention_layer_size=ATTENTION,
                                                        cell_input_fn=lambda x, a: tf.concat([x, a], -1)),
    "two_mechanisms": lambda m: seq2seq.AttentionWrapper(tfrnn.LSTMCell(UNITS), [m(), m()], attention_layer_size=[3, 2]),
    "list_of_one": lambda m: seq2seq.AttentionWrapper(tfrnn.LSTMCell(UNITS), [m()], attention_layer_size=[ATTENTION]),
    "hardmax": lambda m: seq2seq.AttentionWrapper(
        tfrnn.LSTMCell(UNITS), seq2seq.LuongAttention(UNITS, _memory(), probability_fn=seq2seq.hardmax),
        attention_layer_size=ATTENTION),
    "score_mask_value": lambda m: seq2seq.AttentionWrapper(
        tfrnn.LSTMCell(UNITS), seq2seq.BahdanauAttention(6, _memory(), MEMORY_LENGTHS, score_mask_value=-5.0),
        attention_layer_size=ATTENTION),
    "monotonic": lambda m: seq2seq.AttentionWrapper(
        tfrnn.LSTMCell(UNITS), seq2seq.BahdanauMonotonicAttention(6, _memory()), attention_layer_size=ATTENTION),
    "float64": lambda m: seq2seq.AttentionWrapper(
        tfrnn.LSTMCell(UNITS, dtype="float64"), seq2seq.LuongAttention(UNITS, _memory().astype("float64"), dtype="float64"),
        attention_layer_size=ATTENTION, dtype="float64"),
    "subclass": lambda m: type("MyWrapper", (seq2seq.AttentionWrapper,), {})(
        tfrnn.LSTMCell(UNITS), m(), attention_layer_size=ATTENTION),
}


@pytest.mark.parametrize("name", sorted(OUTSIDE))
def test_other_configurations_take_the_generic_path(name):
    cell = OUTSIDE[name](lambda: seq2seq.BahdanauAttention(6, _memory(), MEMORY_LENGTHS))
    assert not fused_attention.eligible(cell)
    dtype = tf.float64 if name == "float64" else tf.float32
    inputs = tf.ones([BATCH, TIME, DEPTH], dtype)
    with fused_runs() as spy:
        outputs, _ = tfrnn.dynamic_rnn(cell, inputs, sequence_length=TARGET_LENGTHS, dtype=dtype)
    assert spy.call_count == 0 and outputs.shape[:2] == (BATCH, TIME)


def test_other_decoders_take_the_generic_path():
    """A greedy helper, a BasicDecoder subclass, or a TrainingHelper over zero steps: step by step."""
    model = Model("bahdanau", "lstm")
    state = model.cell.zero_state(BATCH, tf.float32)
    greedy = seq2seq.GreedyEmbeddingHelper(np.eye(DEPTH, dtype="float32"), [0, 1, 2], end_token=3)
    subclass = type("MyDecoder", (seq2seq.BasicDecoder,), {})
    empty = seq2seq.TrainingHelper(tf.zeros([BATCH, 0, DEPTH]), [0, 0, 0])
    decoders = [seq2seq.BasicDecoder(model.cell, greedy, state),
                subclass(model.cell, seq2seq.TrainingHelper(model.inputs, TARGET_LENGTHS), state),
                seq2seq.BasicDecoder(model.cell, empty, state)]
    for decoder in decoders:
        with fused_runs() as spy:
            seq2seq.dynamic_decode(decoder, maximum_iterations=3)
        assert spy.call_count == 0, type(decoder).__name__
    assert fused_attention.eligible(model.cell)  # the cell itself would take it
