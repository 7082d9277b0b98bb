"""`Decoder`, `BasicDecoder` and `dynamic_decode`: TF 1.15's goldens, TF's own tests, TF1's quirks.

* Every plain-cell decode golden (`DECODE` in `seq2seq_goldens.py`, written by
  TF 1.15) runs its TF1 code with tfrnn's names and must give TF1's outputs,
  states, lengths and gradients to 1e-5. The seeded helpers replay TF1's
  recorded draws (TF1's random streams cannot be reproduced in TF 2).
* `DynamicDecodeRNNTest` and the decoder parts of `BasicDecoderTest` are ported
  from TensorFlow 1.15's `tensorflow/contrib/seq2seq/python/kernel_tests/
  decoder_test.py` and `basic_decoder_test.py` (Copyright 2016 The TensorFlow
  Authors, Apache License 2.0), with their sizes and lengths (`[3, 4, 3, 1, 0]`).
* TF1's semantics: `impute_finished` both ways, `output_time_major`,
  `maximum_iterations` (0, 1, the cap), `tf.function` and XLA, the output-layer
  fast path (equal values and gradients), user subclasses, bad inputs.
"""

import re

import numpy as np
import pytest
import tensorflow as tf
import keras

import tfrnn
from tfrnn import seq2seq
from tfrnn.seq2seq import decoder as decoder_module
from bad_input import Row, snapshot
import seq2seq_goldens as goldens

SEQUENCE_LENGTH = [3, 4, 3, 1, 0]  # TF's tests' lengths: a length-0 row, and max 4 < 8 steps
BATCH, MAX_TIME, INPUT_DEPTH, CELL_DEPTH = 5, 8, 7, 10


# ----- TF 1.15 goldens ----------------------------------------------------------------------


def _replaying(cls, recorded):
    """`cls` with its random draws replaced by TF1's, read from the recorded `sample_id` `[batch, time]`."""

    class Replay(cls):
        def _categorical_draw(self, time, logits):
            return tf.constant(np.maximum(recorded[:, int(time)], 0), tf.int32)

        def _bernoulli_draw(self, time, probability, batch_size, seed):
            step = recorded[:, int(time)]
            return tf.constant(step > -1 if cls is seq2seq.ScheduledEmbeddingTrainingHelper else step == 1)

    return Replay


_SEEDED = {
    "sample_embedding": "SampleEmbeddingHelper",
    "scheduled_embedding": "ScheduledEmbeddingTrainingHelper",
    "scheduled_output": "ScheduledOutputTrainingHelper",
    "scheduled_output_aux": "ScheduledOutputTrainingHelper",
}


@pytest.mark.parametrize("name", goldens.DECODE)
def test_decode_golden_matches_tf115(name):
    overrides = {}
    if name in _SEEDED:
        _, data = goldens.case_data(name)
        helper = _SEEDED[name]
        overrides[helper] = _replaying(getattr(seq2seq, helper), data["out:outputs.sample_id"])
    goldens.assert_matches_golden(name, goldens.run_case(name, overrides))


def test_decode_golden_list_is_the_plain_cell_cases():
    assert sorted(goldens.DECODE) == sorted([
        "greedy", "greedy_impute", "inference_helper", "sample_embedding", "scheduled_embedding",
        "scheduled_output", "scheduled_output_aux", "training_helper", "training_helper_impute",
        "training_helper_max_iter", "training_helper_time_major",
    ])


def test_golden_greedy_lengths_and_ids_are_tf1s_quirks():
    """Without impute_finished, rows past their end keep decoding; with it, they emit id 0 (README)."""
    plain, imputed = goldens.run_case("greedy"), goldens.run_case("greedy_impute")
    np.testing.assert_array_equal(plain.results["lengths"], [6, 1, 4, 6])
    np.testing.assert_array_equal(plain.results["outputs.sample_id"][1], [4, 4, 4, 4, 4, 3])
    np.testing.assert_array_equal(imputed.results["outputs.sample_id"][1], [4, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(imputed.results["outputs.rnn_output"][1, 1:], 0)


# ----- TF 1.15's decoder_test.py (DynamicDecodeRNNTest) ----------------------------------


def _training_decoder(time_major=False, seed=0, output_layer=None, helper_class=None, cell=None):
    rng = np.random.default_rng(seed)
    shape = (MAX_TIME, BATCH, INPUT_DEPTH) if time_major else (BATCH, MAX_TIME, INPUT_DEPTH)
    inputs = tf.constant(rng.standard_normal(shape).astype(np.float32))
    cell = cell or tfrnn.LSTMCell(CELL_DEPTH)
    helper = (helper_class or seq2seq.TrainingHelper)(inputs, SEQUENCE_LENGTH, time_major=time_major)
    decoder = seq2seq.BasicDecoder(cell, helper, cell.zero_state(BATCH, tf.float32), output_layer=output_layer)
    return decoder, inputs, cell


@pytest.mark.parametrize("time_major, maximum_iterations", [(False, None), (True, None), (True, 0), (True, 1)])
def test_dynamic_decode_rnn_shapes(time_major, maximum_iterations):
    """TF's testDynamicDecodeRNN{BatchMajor,TimeMajor,ZeroMaxIters,OneMaxIter}."""
    decoder, _, _ = _training_decoder(time_major)
    outputs, state, lengths = seq2seq.dynamic_decode(
        decoder, output_time_major=time_major, maximum_iterations=maximum_iterations)
    steps = max(SEQUENCE_LENGTH) if maximum_iterations is None else min(max(SEQUENCE_LENGTH), maximum_iterations)
    t = (lambda shape: (shape[1], shape[0]) + shape[2:]) if time_major else (lambda shape: shape)
    assert isinstance(outputs, seq2seq.BasicDecoderOutput) and isinstance(state, tfrnn.LSTMStateTuple)
    assert outputs.rnn_output.shape == t((BATCH, steps, CELL_DEPTH))
    assert outputs.sample_id.shape == t((BATCH, steps)) and outputs.sample_id.dtype == tf.int32
    expected_lengths = np.minimum(SEQUENCE_LENGTH, steps)
    np.testing.assert_array_equal(lengths, expected_lengths)
    if maximum_iterations == 0:  # nothing ran: the initial state comes back
        np.testing.assert_array_equal(state.c, 0)


@pytest.mark.parametrize("use_sequence_length", [True, False])
def test_dynamic_decode_with_training_helper_matches_dynamic_rnn(use_sequence_length):
    """TF's testDynamicDecodeRNNWithTrainingHelperMatchesDynamicRNN{WithSeqLen,NoSeqLen}."""
    decoder, inputs, cell = _training_decoder()
    outputs, state, _ = seq2seq.dynamic_decode(decoder, impute_finished=use_sequence_length)
    rnn_outputs, rnn_state = tfrnn.dynamic_rnn(
        cell, inputs, sequence_length=SEQUENCE_LENGTH if use_sequence_length else None,
        initial_state=cell.zero_state(BATCH, tf.float32))
    max_out = max(SEQUENCE_LENGTH)
    np.testing.assert_allclose(outputs.rnn_output, rnn_outputs[:, :max_out], atol=1e-6)
    if use_sequence_length:
        np.testing.assert_allclose(state, rnn_state, atol=1e-6)


# ----- TF 1.15's basic_decoder_test.py: one step of BasicDecoder ---------------------------


@pytest.mark.parametrize("use_output_layer", [False, True])
def test_step_with_training_helper(use_output_layer):
    """TF's testStepWithTrainingHelper{NoOutputLayer,WithOutputLayer}."""
    layer = keras.layers.Dense(3, use_bias=False) if use_output_layer else None
    decoder, inputs, _ = _training_decoder(output_layer=layer)
    depth = 3 if use_output_layer else CELL_DEPTH
    assert decoder.output_size == seq2seq.BasicDecoderOutput(depth, tf.TensorShape([]))
    assert decoder.output_dtype == seq2seq.BasicDecoderOutput(tf.float32, tf.int32)
    finished, first_inputs, first_state = decoder.initialize()
    outputs, state, next_inputs, step_finished = decoder.step(tf.constant(0), first_inputs, first_state)
    assert isinstance(state, tfrnn.LSTMStateTuple) and isinstance(outputs, seq2seq.BasicDecoderOutput)
    assert outputs.rnn_output.shape == (BATCH, depth) and outputs.sample_id.shape == (BATCH,)
    if use_output_layer:
        assert len(layer.weights) == 1
    assert decoder.batch_size == BATCH
    np.testing.assert_array_equal(finished, [False, False, False, False, True])
    np.testing.assert_array_equal(step_finished, [False, False, False, True, True])
    np.testing.assert_array_equal(np.argmax(outputs.rnn_output, -1), outputs.sample_id)
    np.testing.assert_array_equal(first_inputs, inputs[:, 0])
    np.testing.assert_array_equal(next_inputs, inputs[:, 1])


def test_step_with_greedy_embedding_helper():
    """TF's testStepWithGreedyEmbeddingHelper: ids are the argmax, next inputs their embeddings."""
    rng = np.random.default_rng(1)
    vocabulary, end_token = 7, 1
    embeddings = rng.standard_normal((vocabulary, 10)).astype(np.float32)
    cell = tfrnn.LSTMCell(vocabulary)
    helper = seq2seq.GreedyEmbeddingHelper(embeddings, rng.integers(0, vocabulary, BATCH), end_token)
    decoder = seq2seq.BasicDecoder(cell, helper, cell.zero_state(BATCH, tf.float32))
    assert decoder.output_size == seq2seq.BasicDecoderOutput(vocabulary, tf.TensorShape([]))
    finished, first_inputs, first_state = decoder.initialize()
    outputs, _, next_inputs, step_finished = decoder.step(tf.constant(0), first_inputs, first_state)
    ids = np.argmax(outputs.rnn_output, -1)
    np.testing.assert_array_equal(finished, [False] * BATCH)
    np.testing.assert_array_equal(outputs.sample_id, ids)
    np.testing.assert_array_equal(step_finished, ids == end_token)
    np.testing.assert_array_equal(next_inputs, embeddings[ids])


# ----- Numbers from a TF 1.15 run (hard-coded) ----------------------------------------------
# LSTMCell(3) with kernel linspace(-0.5, 0.5, 60).reshape(5, 12) (zero bias), Dense(4, no bias)
# with kernel linspace(0.4, -0.4, 12).reshape(3, 4); TF 1.15.0 printed these values.

_KERNEL = np.linspace(-0.5, 0.5, 60).reshape(5, 12).astype(np.float32)
_PROJECTION = np.linspace(0.4, -0.4, 12).reshape(3, 4).astype(np.float32)


def _tf115_decoder(helper):
    cell = tfrnn.LSTMCell(3)
    layer = keras.layers.Dense(4, use_bias=False, name="output_projection")
    decoder = seq2seq.BasicDecoder(cell, helper, cell.zero_state(3, tf.float32), output_layer=layer)
    cell.build((None, 2))
    layer.build((None, 3))
    variables = tfrnn.tf1_variable_names(decoder, scope="decoder")
    variables["decoder/lstm_cell/kernel"].assign(_KERNEL)
    variables["decoder/output_projection/kernel"].assign(_PROJECTION)
    return decoder


def test_training_decode_equals_a_tf115_run():
    inputs = np.linspace(-1, 1, 24).reshape(3, 4, 2).astype(np.float32)
    outputs, state, lengths = seq2seq.dynamic_decode(_tf115_decoder(seq2seq.TrainingHelper(inputs, [3, 1, 2])))
    np.testing.assert_allclose(outputs.rnn_output[0], [[0.080318, 0.031745, -0.016828, -0.065401],
                                                       [0.131707, 0.04871, -0.034286, -0.117282],
                                                       [0.158439, 0.055465, -0.04751, -0.150484]], atol=2e-6)
    np.testing.assert_allclose(outputs.rnn_output[1, 2], [0.013425, 0.004377, -0.004672, -0.01372], atol=2e-6)
    np.testing.assert_array_equal(outputs.sample_id, [[0, 0, 0], [0, 0, 0], [3, 3, 3]])
    np.testing.assert_allclose(state.c, [[0.95219, 0.93029, 0.908218], [0.081985, 0.082227, 0.08249],
                                         [-0.324327, -0.318392, -0.311903]], atol=2e-6)
    np.testing.assert_allclose(state.h[2], [-0.122079, -0.121587, -0.120837], atol=2e-6)
    np.testing.assert_array_equal(lengths, [3, 1, 2])


def test_greedy_decode_equals_a_tf115_run():
    embedding = np.linspace(-1, 1, 8).reshape(4, 2).astype(np.float32)
    helper = seq2seq.GreedyEmbeddingHelper(embedding, [0, 1, 3], 2)
    outputs, state, lengths = seq2seq.dynamic_decode(_tf115_decoder(helper), maximum_iterations=4)
    np.testing.assert_allclose(outputs.rnn_output[:, 3], [[0.207494, 0.070722, -0.066049, -0.20282],
                                                          [0.190801, 0.066259, -0.058282, -0.182823],
                                                          [-0.047322, -0.015435, 0.016452, 0.04834]], atol=2e-6)
    np.testing.assert_array_equal(outputs.sample_id, [[0] * 4, [0] * 4, [3] * 4])
    np.testing.assert_allclose(state.h, [[0.630855, 0.626926, 0.622822], [0.577629, 0.570896, 0.563918],
                                         [-0.145227, -0.146247, -0.146976]], atol=2e-6)
    np.testing.assert_array_equal(lengths, [4, 4, 4])


# ----- TF1's semantics -------------------------------------------------------------------


def test_impute_finished_zeroes_outputs_and_holds_state_while_the_default_does_not():
    decoder, _, _ = _training_decoder(output_layer=keras.layers.Dense(3, name="output_projection"))
    plain_outputs, plain_state, lengths = seq2seq.dynamic_decode(decoder)
    imputed_outputs, imputed_state, imputed_lengths = seq2seq.dynamic_decode(decoder, impute_finished=True)
    np.testing.assert_array_equal(lengths, [3, 4, 3, 1, 0])
    np.testing.assert_array_equal(imputed_lengths, lengths)
    past_end = np.arange(4)[None, :] >= np.array(SEQUENCE_LENGTH)[:, None]
    assert np.all(np.abs(plain_outputs.rnn_output.numpy()[past_end]).sum(-1) > 0)  # TF1: not zeroed
    np.testing.assert_array_equal(imputed_outputs.rnn_output.numpy()[past_end], 0)
    np.testing.assert_array_equal(imputed_outputs.sample_id.numpy()[past_end], 0)
    np.testing.assert_allclose(imputed_outputs.rnn_output.numpy()[~past_end],
                               plain_outputs.rnn_output.numpy()[~past_end], atol=1e-6)
    np.testing.assert_array_equal(imputed_state.h[4], 0)  # the length-0 row keeps its zero state
    assert np.all(plain_state.h[4] != 0)  # TF1: stepped with everyone else


def test_maximum_iterations_caps_steps_and_lengths_and_must_be_a_scalar():
    decoder, _, _ = _training_decoder()
    outputs, _, lengths = seq2seq.dynamic_decode(decoder, maximum_iterations=2)
    assert outputs.rnn_output.shape == (BATCH, 2, CELL_DEPTH)
    np.testing.assert_array_equal(lengths, [2, 2, 2, 1, 0])
    with pytest.raises(ValueError, match="maximum_iterations must be a scalar"):
        seq2seq.dynamic_decode(decoder, maximum_iterations=[2])
    with pytest.raises(TypeError, match="Expected decoder to be type Decoder"):
        seq2seq.dynamic_decode("decoder")


def test_every_row_finished_at_start_runs_no_step():
    cell = tfrnn.GRUCell(3)
    helper = seq2seq.TrainingHelper(np.ones((2, 4, 2), "float32"), [0, 0])
    initial = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    outputs, state, lengths = seq2seq.dynamic_decode(seq2seq.BasicDecoder(cell, helper, initial))
    assert outputs.rnn_output.shape == (2, 0, 3) and outputs.sample_id.shape == (2, 0)
    np.testing.assert_array_equal(state, initial)
    np.testing.assert_array_equal(lengths, [0, 0])


def _greedy(maximum_iterations, end_token=6, seed=3):
    rng = np.random.default_rng(seed)
    embedding = tf.constant(rng.standard_normal((7, 3)).astype(np.float32))
    cell = tfrnn.LSTMCell(5)
    layer = keras.layers.Dense(7, use_bias=False, name="output_projection")
    state = tfrnn.LSTMStateTuple(*(tf.constant(rng.standard_normal((4, 5)).astype(np.float32)) for _ in range(2)))

    def decode(start_tokens):
        helper = seq2seq.GreedyEmbeddingHelper(embedding, start_tokens, end_token)
        decoder = seq2seq.BasicDecoder(cell, helper, state, output_layer=layer)
        return seq2seq.dynamic_decode(decoder, maximum_iterations=maximum_iterations)

    return decode


def test_greedy_decode_in_tf_function_and_under_xla_equals_eager():
    decode = _greedy(maximum_iterations=5)
    start = tf.constant([1, 2, 3, 4])
    eager = decode(start)
    for compiled in (tf.function(decode), tf.function(decode, jit_compile=True)):
        outputs, state, lengths = compiled(start)
        np.testing.assert_array_equal(lengths, eager[2])
        np.testing.assert_array_equal(outputs.sample_id, eager[0].sample_id)
        np.testing.assert_allclose(outputs.rnn_output, eager[0].rnn_output, atol=1e-5)
        np.testing.assert_allclose(state.h, eager[1].h, atol=1e-5)


def test_xla_keeps_maximum_iterations_steps_with_zeros_after_the_loop_ends():
    """TF1's XLA path: fixed-size outputs; steps never run are zeros (eager stops after 4 steps)."""
    decoder, _, cell = _training_decoder(helper_class=_PerStepTrainingHelper)
    eager_outputs, eager_state, eager_lengths = seq2seq.dynamic_decode(decoder, maximum_iterations=6)

    @tf.function(jit_compile=True)
    def decode():
        again, _, _ = _training_decoder(helper_class=_PerStepTrainingHelper, cell=cell)
        return seq2seq.dynamic_decode(again, maximum_iterations=6)

    outputs, state, lengths = decode()
    assert eager_outputs.rnn_output.shape == (BATCH, 4, CELL_DEPTH)
    assert outputs.rnn_output.shape == (BATCH, 6, CELL_DEPTH)
    np.testing.assert_array_equal(lengths, eager_lengths)
    np.testing.assert_allclose(outputs.rnn_output[:, :4], eager_outputs.rnn_output, atol=1e-5)
    np.testing.assert_array_equal(outputs.rnn_output[:, 4:], 0)
    np.testing.assert_allclose(state.c, eager_state.c, atol=1e-5)


def test_xla_without_maximum_iterations_is_a_clear_error():
    decode = _greedy(maximum_iterations=None)
    with pytest.raises(ValueError, match="maximum_iterations is required for XLA"):
        tf.function(decode, jit_compile=True)(tf.constant([1, 2, 3, 4]))


def test_tf1_variable_names_of_a_basic_decoder():
    decoder, _, _ = _training_decoder(output_layer=keras.layers.Dense(3, use_bias=False, name="output_projection"))
    seq2seq.dynamic_decode(decoder)
    names = {name: tuple(v.shape) for name, v in tfrnn.tf1_variable_names(decoder, scope="decoder").items()}
    assert names == {
        "decoder/lstm_cell/kernel": (INPUT_DEPTH + CELL_DEPTH, 4 * CELL_DEPTH),
        "decoder/lstm_cell/bias": (4 * CELL_DEPTH,),
        "decoder/output_projection/kernel": (CELL_DEPTH, 3),
    }


# ----- The fast path: a TrainingHelper's output layer applied once ---------------------------


class _PerStepTrainingHelper(seq2seq.TrainingHelper):
    """A TrainingHelper in name only: its decoder takes the generic per-step loop."""


@pytest.mark.parametrize("use_bias, output_time_major", [(True, False), (False, False), (True, True), (False, True)])
@pytest.mark.parametrize("impute_finished, maximum_iterations", [(False, None), (True, None), (True, 3), (False, 2)])
def test_fast_path_equals_the_per_step_path_in_values_and_gradients(impute_finished, maximum_iterations, use_bias,
                                                                    output_time_major):
    # With a bias, zeros past the end must be selected; without, the zero cell outputs project to zeros.
    layer = keras.layers.Dense(6, use_bias=use_bias, name="output_projection")
    runs = []
    for helper_class in (seq2seq.TrainingHelper, _PerStepTrainingHelper):
        decoder, inputs, cell = _training_decoder(output_layer=layer, helper_class=helper_class, seed=7,
                                                  cell=runs[0][3] if runs else None)
        assert decoder_module._hoistable(decoder) is (helper_class is seq2seq.TrainingHelper)
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs, state, lengths = seq2seq.dynamic_decode(
                decoder, output_time_major=output_time_major, impute_finished=impute_finished,
                maximum_iterations=maximum_iterations)
            loss = tf.reduce_sum(outputs.rnn_output * np.linspace(-1, 1, 6)) + tf.reduce_sum(state.h)
        grads = tape.gradient(loss, [inputs] + [v.value for v in cell.weights + layer.weights])
        runs.append((outputs, state, lengths, cell, grads))
    (fast, fast_state, fast_lengths, _, fast_grads), (slow, slow_state, slow_lengths, _, slow_grads) = runs
    np.testing.assert_allclose(fast.rnn_output, slow.rnn_output, atol=1e-6)
    np.testing.assert_array_equal(fast.sample_id, slow.sample_id)
    np.testing.assert_array_equal(fast_lengths, slow_lengths)
    np.testing.assert_allclose(fast_state, slow_state, atol=1e-6)
    for fast_grad, slow_grad in zip(fast_grads, slow_grads):
        np.testing.assert_allclose(fast_grad, slow_grad, atol=1e-5)


def test_fast_path_applies_the_layer_once_to_every_step(monkeypatch):
    layer = keras.layers.Dense(6, name="output_projection")
    decoder, _, _ = _training_decoder(output_layer=layer)
    ranks = []
    original = keras.layers.Dense.__call__

    def counting(self, inputs, *args, **kwargs):
        ranks.append(len(inputs.shape))
        return original(self, inputs, *args, **kwargs)

    monkeypatch.setattr(keras.layers.Dense, "__call__", counting)
    seq2seq.dynamic_decode(decoder)
    assert ranks == [3]  # one call on [time, batch, units], none per step


@pytest.mark.parametrize("use_bias, impute_finished", [(True, True), (False, True), (False, False)])
def test_fast_path_under_xla_equals_eager(use_bias, impute_finished):
    layer = keras.layers.Dense(6, use_bias=use_bias, name="output_projection")
    decoder, _, cell = _training_decoder(output_layer=layer)
    eager = seq2seq.dynamic_decode(decoder, maximum_iterations=6, impute_finished=impute_finished)

    @tf.function(jit_compile=True)
    def decode():
        again, _, _ = _training_decoder(output_layer=layer, cell=cell)
        return seq2seq.dynamic_decode(again, maximum_iterations=6, impute_finished=impute_finished)

    outputs, state, lengths = decode()
    assert outputs.rnn_output.shape == (BATCH, 6, 6)  # XLA: maximum_iterations steps
    np.testing.assert_allclose(outputs.rnn_output[:, :4], eager[0].rnn_output, atol=1e-5)
    np.testing.assert_array_equal(outputs.rnn_output[:, 4:], 0)
    np.testing.assert_array_equal(outputs.sample_id[:, 4:], 0)
    np.testing.assert_array_equal(outputs.sample_id[:, :4], eager[0].sample_id)
    np.testing.assert_array_equal(lengths, eager[2])


# ----- User subclasses: a Tacotron-style Decoder -------------------------------------------


class _StopTokenDecoder(seq2seq.Decoder):
    """A Tacotron-style decoder: frames plus a stop flag as outputs; it decides `finished` itself."""

    def __init__(self, cell, frames, initial_state):
        self._cell, self._frames, self._initial_state = cell, frames, initial_state
        self._projection = keras.layers.Dense(2, name="frame_projection")

    @property
    def batch_size(self):
        return 3

    @property
    def output_size(self):
        return (tf.TensorShape([2]), tf.TensorShape([]))

    @property
    def output_dtype(self):
        return (tf.float32, tf.float32)

    @property
    def tracks_own_finished(self):
        return True

    def initialize(self, name=None):
        return tf.zeros([3], tf.bool), tf.zeros([3, 2]), self._initial_state

    def step(self, time, inputs, state, name=None):
        output, state = self._cell(inputs, state)
        frame = self._projection(output)
        stop = tf.sigmoid(tf.reduce_sum(output, -1))
        finished = tf.logical_or(time + 1 >= self._frames, stop > 0.99)
        return (frame, stop), state, frame, finished

    def finalize(self, outputs, final_state, sequence_lengths):
        frames, stops = outputs
        return (frames * 2.0, stops), final_state


def test_user_decoder_with_extra_outputs_tracks_its_own_finished_and_finalizes():
    cell = tfrnn.GRUCell(4)
    decoder = _StopTokenDecoder(cell, tf.constant([2, 4, 3]), cell.zero_state(3, tf.float32))
    (frames, stops), state, lengths = seq2seq.dynamic_decode(decoder, impute_finished=True)
    np.testing.assert_array_equal(lengths, [2, 4, 3])
    assert frames.shape == (3, 4, 2) and stops.shape == (3, 4)
    np.testing.assert_array_equal(frames[0, 2:], 0)  # imputed past the end
    # Replay by hand: finalize doubled the frames.
    inputs, h = tf.zeros([3, 2]), cell.zero_state(3, tf.float32)
    for t in range(2):
        output, h = cell(inputs, h)
        inputs = decoder._projection(output)
        np.testing.assert_allclose(frames[:, t], 2 * inputs, atol=1e-6)


def test_user_helper_subclass_drives_basic_decoder():
    class CountingHelper(seq2seq.Helper):
        """Feeds back the step number; rows end at their own step."""

        batch_size = 2
        sample_ids_shape = tf.TensorShape([])
        sample_ids_dtype = tf.int32

        def initialize(self, name=None):
            return tf.constant([False, False]), tf.zeros([2, 1])

        def sample(self, time, outputs, state, name=None):
            return tf.fill([2], time)

        def next_inputs(self, time, outputs, state, sample_ids, name=None):
            finished = time + 1 >= tf.constant([2, 3])
            return finished, tf.cast(tf.fill([2, 1], time + 1), tf.float32), state

    cell = tfrnn.BasicRNNCell(2)
    outputs, _, lengths = seq2seq.dynamic_decode(
        seq2seq.BasicDecoder(cell, CountingHelper(), cell.zero_state(2, tf.float32)))
    np.testing.assert_array_equal(outputs.sample_id, [[0, 1, 2], [0, 1, 2]])
    np.testing.assert_array_equal(lengths, [2, 3])


# ----- Bad inputs: a clear error, nothing built ----------------------------------------------


def _cell_env(tmp_path):
    return {"cell": tfrnn.LSTMCell(3), "layer": keras.layers.Dense(2)}


def _helper():
    return seq2seq.TrainingHelper(np.zeros((2, 3, 4), "float32"), [3, 2])


def _state():
    return tfrnn.LSTMStateTuple(tf.zeros([2, 3]), tf.zeros([2, 3]))


BAD_ROWS = [
    Row("BasicDecoder-helper-not-a-helper", lambda env: seq2seq.BasicDecoder(env["cell"], "helper", _state()),
        TypeError, "helper must be a Helper, received: <class 'str'>", _cell_env),
    Row("BasicDecoder-output-layer-not-a-layer",
        lambda env: seq2seq.BasicDecoder(env["cell"], _helper(), _state(), output_layer="dense"),
        TypeError, "output_layer must be a Layer, received: <class 'str'>", _cell_env),
    Row("BasicDecoder-cell-not-a-cell", lambda env: seq2seq.BasicDecoder(env["layer"], _helper(), _state()),
        TypeError, "is not an RNNCell", _cell_env),
    Row("BasicDecoder-no-initial-state", lambda env: seq2seq.BasicDecoder(env["cell"], _helper(), None),
        ValueError, "initial_state must be the cell's initial state", _cell_env),
    Row("dynamic_decode-not-a-decoder", lambda env: seq2seq.dynamic_decode(env["cell"]),
        TypeError, "Expected decoder to be type Decoder", _cell_env),
    Row("dynamic_decode-maximum-iterations-vector",
        lambda env: seq2seq.dynamic_decode(seq2seq.BasicDecoder(env["cell"], _helper(), _state()), maximum_iterations=[3]),
        ValueError, "maximum_iterations must be a scalar", _cell_env),
    Row("dynamic_decode-maximum-iterations-text",
        lambda env: seq2seq.dynamic_decode(seq2seq.BasicDecoder(env["cell"], _helper(), _state()), maximum_iterations="3"),
        TypeError, "maximum_iterations must be an int32 scalar", _cell_env),
]


@pytest.mark.parametrize("row", BAD_ROWS, ids=str)
def test_bad_call_raises_a_clear_error_and_builds_nothing(row, tmp_path):
    env = row.setup(tmp_path)
    before = snapshot(env)
    with pytest.raises(row.error, match=re.escape(row.match)):
        row.call(env)
    assert snapshot(env) == before
    assert not env["cell"].built
