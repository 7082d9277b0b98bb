"""The decoding helpers: TF 1.15's step tests, TF1's checks, the replaceable random draws.

The step tests of `ScheduledEmbeddingTrainingHelper`, `ScheduledOutputTrainingHelper`
(with and without `next_inputs_fn` and auxiliary inputs, and at probability 0)
and `InferenceHelper` (categorical and multi-label) are ported from TensorFlow
1.15's `tensorflow/contrib/seq2seq/python/kernel_tests/basic_decoder_test.py`
(Copyright 2016 The TensorFlow Authors, Apache License 2.0), with its sizes and
lengths (`[3, 4, 3, 1, 0]`). The helpers' numbers over whole decodes are in
`test_seq2seq_decoder.py` (TF 1.15's goldens).
"""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrnn
from tfrnn import seq2seq
from bad_input import Row, snapshot

SEQUENCE_LENGTH = [3, 4, 3, 1, 0]
BATCH, MAX_TIME, INPUT_DEPTH = 5, 8, 7
RNG = np.random.default_rng(11)
INPUTS = RNG.standard_normal((BATCH, MAX_TIME, INPUT_DEPTH)).astype(np.float32)


def _step(helper, cell_depth, output_layer=None):
    """TF's test pattern: `initialize`, then one `BasicDecoder.step`."""
    cell = tfrnn.LSTMCell(cell_depth)
    decoder = seq2seq.BasicDecoder(cell, helper, cell.zero_state(BATCH, tf.float32), output_layer=output_layer)
    finished, first_inputs, first_state = decoder.initialize()
    outputs, state, next_inputs, step_finished = decoder.step(tf.constant(0), first_inputs, first_state)
    assert isinstance(state, tfrnn.LSTMStateTuple) and isinstance(outputs, seq2seq.BasicDecoderOutput)
    return decoder, finished, first_inputs, outputs, next_inputs, step_finished


# ----- TrainingHelper --------------------------------------------------------------------


def test_training_helper_reads_each_step_and_zeros_once_every_row_is_done():
    helper = seq2seq.TrainingHelper(INPUTS, SEQUENCE_LENGTH)
    finished, first = helper.initialize()
    np.testing.assert_array_equal(finished, [False, False, False, False, True])
    np.testing.assert_array_equal(first, INPUTS[:, 0])
    for time, expected_finished in ((0, [0, 0, 0, 1, 1]), (2, [1, 0, 1, 1, 1])):
        step_finished, next_inputs, state = helper.next_inputs(tf.constant(time), None, "state")
        np.testing.assert_array_equal(step_finished, np.array(expected_finished, bool))
        np.testing.assert_array_equal(next_inputs, INPUTS[:, time + 1])
        assert state == "state"
    all_done, zeros, _ = helper.next_inputs(tf.constant(3), None, None)
    assert bool(tf.reduce_all(all_done))
    np.testing.assert_array_equal(zeros, np.zeros((BATCH, INPUT_DEPTH)))
    np.testing.assert_array_equal(helper.sample(0, tf.constant([[0.0, 2.0, 1.0]] * 5)), [1] * 5)
    assert helper.batch_size == BATCH and helper.sample_ids_dtype == tf.int32


def test_training_helper_time_major_and_nested_inputs():
    time_major = INPUTS.transpose(1, 0, 2)
    helper = seq2seq.TrainingHelper((time_major, time_major[..., :2]), SEQUENCE_LENGTH, time_major=True)
    _, (first, second) = helper.initialize()
    np.testing.assert_array_equal(first, INPUTS[:, 0])
    np.testing.assert_array_equal(second, INPUTS[:, 0, :2])


def test_training_helper_read_has_a_dense_gradient_equal_to_the_selected_steps():
    inputs = tf.constant(INPUTS)
    helper = seq2seq.TrainingHelper(inputs, SEQUENCE_LENGTH)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        _, first = helper.initialize()
        _, second, _ = helper.next_inputs(tf.constant(0), None, None)
        loss = tf.reduce_sum(first) + 2.0 * tf.reduce_sum(second)
    grad = tape.gradient(loss, inputs)
    assert isinstance(grad, tf.Tensor)  # not IndexedSlices
    expected = np.zeros_like(INPUTS)
    expected[:, 0], expected[:, 1] = 1.0, 2.0
    np.testing.assert_array_equal(grad, expected)


# ----- Embedding helpers ----------------------------------------------------------------------


def test_greedy_embedding_helper_with_callable_and_variable_embeddings():
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    variable = keras.Variable(table)
    logits = tf.constant([[0.0, 0.0, 5.0, 0.0], [9.0, 0.0, 0.0, 0.0]])
    for embedding in (lambda ids: tf.gather(table, ids) * 10.0, variable):
        helper = seq2seq.GreedyEmbeddingHelper(embedding, [1, 3], end_token=0)
        with tf.GradientTape() as tape:
            _, start = helper.initialize()
            ids = helper.sample(0, logits, None)
            finished, next_inputs, _ = helper.next_inputs(0, logits, None, ids)
            loss = tf.reduce_sum(next_inputs)
        scale = 10.0 if callable(embedding) else 1.0
        np.testing.assert_array_equal(start, table[[1, 3]] * scale)
        np.testing.assert_array_equal(ids, [2, 0])
        np.testing.assert_array_equal(finished, [False, True])
        np.testing.assert_array_equal(next_inputs, table[[2, 0]] * scale)
    grad = tf.convert_to_tensor(tape.gradient(loss, variable.value))
    np.testing.assert_array_equal(grad, [[1] * 3, [0] * 3, [1] * 3, [0] * 3])


def test_greedy_embedding_helper_feeds_the_start_inputs_once_every_row_ended():
    helper = seq2seq.GreedyEmbeddingHelper(np.eye(3, dtype="float32"), [1, 2], end_token=0)
    helper.initialize()
    finished, next_inputs, _ = helper.next_inputs(0, None, None, tf.constant([0, 0]))
    np.testing.assert_array_equal(finished, [True, True])
    np.testing.assert_array_equal(next_inputs, np.eye(3)[[1, 2]])


class _CapturingSampler(seq2seq.SampleEmbeddingHelper):
    def _categorical_draw(self, time, logits):
        self.logits = logits
        return tf.argmax(logits, -1, output_type=tf.int32)


def test_sample_embedding_helper_divides_by_the_temperature_and_draws_through_the_overridable_method():
    outputs = tf.constant([[1.0, 3.0, 2.0], [4.0, 0.0, 2.0]])
    helper = _CapturingSampler(np.eye(3, dtype="float32"), [0, 0], 1, softmax_temperature=0.5)
    ids = helper.sample(0, outputs, None)
    np.testing.assert_allclose(helper.logits, outputs / 0.5)
    np.testing.assert_array_equal(ids, [1, 0])
    certain = seq2seq.SampleEmbeddingHelper(np.eye(3, dtype="float32"), [0, 0], 1, seed=3)
    draws = certain.sample(0, tf.constant([[0.0, 60.0, 0.0], [0.0, 0.0, 60.0]]), None)
    np.testing.assert_array_equal(draws, [1, 2])  # the default draw, on (near) one-hot distributions
    assert draws.dtype == tf.int32


# ----- Scheduled sampling (TF's testStepWithScheduled*TrainingHelper) --------------------------


def test_step_with_scheduled_embedding_training_helper():
    vocabulary = 10
    embeddings = RNG.standard_normal((vocabulary, INPUT_DEPTH)).astype(np.float32)
    helper = seq2seq.ScheduledEmbeddingTrainingHelper(
        inputs=INPUTS, sequence_length=SEQUENCE_LENGTH, embedding=embeddings,
        sampling_probability=tf.constant(0.5), time_major=False)
    decoder, finished, _, outputs, next_inputs, step_finished = _step(helper, vocabulary)
    assert decoder.output_size == seq2seq.BasicDecoderOutput(vocabulary, tf.TensorShape([]))
    np.testing.assert_array_equal(finished, [False, False, False, False, True])
    np.testing.assert_array_equal(step_finished, [False, False, False, True, True])
    ids = outputs.sample_id.numpy()
    sampling, not_sampling = np.where(ids > -1), np.where(ids == -1)
    np.testing.assert_allclose(next_inputs.numpy()[sampling], embeddings[ids[sampling]])
    np.testing.assert_allclose(next_inputs.numpy()[not_sampling], INPUTS[not_sampling[0], 1])


@pytest.mark.parametrize("probability, sampled", [(0.0, [0] * 5), (1.0, [1] * 5), ([0.0, 1.0, 0.0, 1.0, 0.0], [0, 1, 0, 1, 0])])
def test_scheduled_embedding_probability_extremes_and_one_per_row(probability, sampled):
    embeddings = np.arange(10 * INPUT_DEPTH, dtype=np.float32).reshape(10, INPUT_DEPTH)
    helper = seq2seq.ScheduledEmbeddingTrainingHelper(INPUTS, SEQUENCE_LENGTH, embeddings, probability, seed=1)
    _, _, _, outputs, next_inputs, _ = _step(helper, 10)
    ids = outputs.sample_id.numpy()
    np.testing.assert_array_equal(ids > -1, np.array(sampled, bool))
    for row in range(BATCH):
        expected = embeddings[ids[row]] if sampled[row] else INPUTS[row, 1]
        np.testing.assert_allclose(next_inputs[row], expected)


@pytest.mark.parametrize("probability, next_inputs_fn, auxiliary", [
    (0.5, False, False), (0.5, True, False), (0.5, False, True), (0.5, True, True), (0.0, True, True),
])
def test_step_with_scheduled_output_training_helper(probability, next_inputs_fn, auxiliary):
    cell_depth = 6 if next_inputs_fn else INPUT_DEPTH
    layer = keras.layers.Dense(INPUT_DEPTH, use_bias=False) if next_inputs_fn else None
    aux = RNG.standard_normal((BATCH, MAX_TIME, 4)).astype(np.float32) if auxiliary else None
    helper = seq2seq.ScheduledOutputTrainingHelper(
        inputs=INPUTS, sequence_length=SEQUENCE_LENGTH, sampling_probability=tf.constant(probability),
        time_major=False, next_inputs_fn=layer, auxiliary_inputs=aux)
    decoder, finished, first_inputs, outputs, next_inputs, step_finished = _step(helper, cell_depth)
    assert decoder.output_size == seq2seq.BasicDecoderOutput(cell_depth, tf.TensorShape([]))
    np.testing.assert_array_equal(finished, [False, False, False, False, True])
    np.testing.assert_array_equal(step_finished, [False, False, False, True, True])
    ids = outputs.sample_id.numpy()
    assert outputs.sample_id.dtype == tf.int32 and set(ids.tolist()) <= {0, 1}
    if probability == 0.0:
        assert not ids.any()
    aux_step = aux[:, 1] if auxiliary else np.zeros((BATCH, 0), np.float32)
    fed_back = (layer(outputs.rnn_output) if next_inputs_fn else outputs.rnn_output).numpy()
    sampling, not_sampling = ids == 1, ids == 0
    np.testing.assert_allclose(next_inputs.numpy()[sampling],
                               np.concatenate([fed_back, aux_step], -1)[sampling], atol=1e-6)
    np.testing.assert_allclose(next_inputs.numpy()[not_sampling],
                               np.concatenate([INPUTS[:, 1], aux_step], -1)[not_sampling])
    np.testing.assert_allclose(first_inputs, np.concatenate([INPUTS[:, 0], aux[:, 0]] if auxiliary else [INPUTS[:, 0]], -1))


# ----- InferenceHelper and CustomHelper --------------------------------------------------------


def test_step_with_inference_helper_categorical():
    """TF's testStepWithInferenceHelperCategorical: one-hot inputs of the sampled ids."""
    vocabulary, end_token = 7, 6
    helper = seq2seq.InferenceHelper(
        lambda x: tf.random.categorical(x, 1, dtype=tf.int32)[:, 0], sample_shape=(), sample_dtype=tf.int32,
        start_inputs=tf.one_hot(np.zeros(BATCH, np.int32), vocabulary), end_fn=lambda ids: tf.equal(ids, end_token),
        next_inputs_fn=lambda ids: tf.one_hot(ids, vocabulary, dtype=tf.float32))
    decoder, _, _, outputs, next_inputs, step_finished = _step(helper, vocabulary)
    assert decoder.output_dtype == seq2seq.BasicDecoderOutput(tf.float32, tf.int32)
    ids = outputs.sample_id.numpy()
    np.testing.assert_array_equal(step_finished, ids == end_token)
    np.testing.assert_array_equal(next_inputs, np.eye(vocabulary)[ids])


def test_step_with_inference_helper_multilabel():
    """TF's testStepWithInferenceHelperMultilabel: bool samples of shape [cell_depth]."""
    depth, end_token = 7, 6
    helper = seq2seq.InferenceHelper(
        lambda x: tf.random.uniform(tf.shape(x)) < tf.sigmoid(x), sample_shape=[depth], sample_dtype=tf.bool,
        start_inputs=tf.one_hot(np.zeros(BATCH, np.int32), depth), end_fn=lambda ids: ids[:, end_token],
        next_inputs_fn=lambda ids: tf.cast(ids, tf.float32))
    decoder, _, _, outputs, next_inputs, step_finished = _step(helper, depth)
    assert decoder.output_size == seq2seq.BasicDecoderOutput(depth, tf.TensorShape([depth]))
    assert decoder.output_dtype == seq2seq.BasicDecoderOutput(tf.float32, tf.bool)
    ids = outputs.sample_id.numpy()
    assert ids.shape == (BATCH, depth)
    np.testing.assert_array_equal(step_finished, ids[:, end_token])
    np.testing.assert_array_equal(next_inputs, ids.astype(np.float32))


def test_custom_helper_learns_its_batch_size_at_initialize_and_drives_a_decode():
    lengths = tf.constant([1, 3])
    helper = seq2seq.CustomHelper(
        initialize_fn=lambda: (tf.constant([False, False]), tf.ones([2, 2])),
        sample_fn=lambda time, outputs, state: tf.argmax(outputs, -1, output_type=tf.int32),
        next_inputs_fn=lambda time, outputs, state, sample_ids: (time + 1 >= lengths, outputs[:, :2], state),
        sample_ids_shape=[], sample_ids_dtype=tf.int32)
    with pytest.raises(ValueError, match="batch_size accessed before initialize was called"):
        helper.batch_size
    cell = tfrnn.GRUCell(3)
    outputs, _, decoded_lengths = seq2seq.dynamic_decode(
        seq2seq.BasicDecoder(cell, helper, cell.zero_state(2, tf.float32)))
    assert helper.batch_size == 2
    np.testing.assert_array_equal(decoded_lengths, [1, 3])
    np.testing.assert_array_equal(outputs.sample_id, tf.argmax(outputs.rnn_output, -1))


# ----- Bad inputs ----------------------------------------------------------------------


def _rows():
    embedding = np.eye(4, dtype="float32")
    scheduled = lambda p: seq2seq.ScheduledEmbeddingTrainingHelper(INPUTS, SEQUENCE_LENGTH, embedding, p)  # noqa: E731
    return [
        Row("GreedyEmbeddingHelper-start-tokens-not-a-vector",
            lambda env: seq2seq.GreedyEmbeddingHelper(embedding, [[1, 2]], 0), ValueError, "start_tokens must be a vector"),
        Row("GreedyEmbeddingHelper-end-token-not-a-scalar",
            lambda env: seq2seq.GreedyEmbeddingHelper(embedding, [1, 2], [0]), ValueError, "end_token must be a scalar"),
        Row("GreedyEmbeddingHelper-float-start-tokens",
            lambda env: seq2seq.GreedyEmbeddingHelper(embedding, [1.5, 2.0], 0), TypeError, "start_tokens must hold integer ids"),
        Row("GreedyEmbeddingHelper-embedding-rank-3",
            lambda env: seq2seq.GreedyEmbeddingHelper(np.zeros((2, 2, 2)), [1, 0], 0), ValueError,
            "embedding must be a [vocabulary, depth] matrix"),
        Row("TrainingHelper-lengths-not-a-vector",
            lambda env: seq2seq.TrainingHelper(INPUTS, [SEQUENCE_LENGTH]), ValueError,
            "Expected sequence_length to be a vector, but received shape: (1, 5)"),
        Row("TrainingHelper-lengths-too-long",
            lambda env: seq2seq.TrainingHelper(INPUTS, [3, 4, 9, 1, 0]), ValueError, "sequence_length must lie in [0, 8]"),
        Row("TrainingHelper-integer-inputs",
            lambda env: seq2seq.TrainingHelper(np.zeros((5, 8), np.int32), SEQUENCE_LENGTH), ValueError,
            "TrainingHelper's inputs must be a [batch, time, depth] float tensor"),
        Row("ScheduledEmbeddingTrainingHelper-probability-matrix",
            lambda env: scheduled([[0.5]]), ValueError,
            "sampling_probability must be either a scalar or a vector. saw shape: (1, 1)"),
        Row("ScheduledEmbeddingTrainingHelper-probability-above-one",
            lambda env: scheduled(1.5), ValueError, "sampling_probability must lie in [0, 1]"),
        Row("ScheduledOutputTrainingHelper-next-inputs-fn-not-callable",
            lambda env: seq2seq.ScheduledOutputTrainingHelper(INPUTS, SEQUENCE_LENGTH, 0.5, next_inputs_fn="tanh"),
            TypeError, "next_inputs_fn must be a callable or None"),
        Row("InferenceHelper-end-fn-not-callable",
            lambda env: seq2seq.InferenceHelper(tf.tanh, [3], tf.float32, np.zeros((2, 3)), end_fn=None), TypeError,
            "InferenceHelper's end_fn must be a callable"),
        Row("CustomHelper-sample-fn-not-callable",
            lambda env: seq2seq.CustomHelper(lambda: None, 3, lambda **kw: None), TypeError,
            "CustomHelper's sample_fn must be a callable"),
    ]


@pytest.mark.parametrize("row", _rows(), ids=str)
def test_bad_helper_arguments_raise_a_clear_error(row, tmp_path):
    env = row.setup(tmp_path)
    before = snapshot(env)
    with pytest.raises(row.error, match=re.escape(row.match)):
        row.call(env)
    assert snapshot(env) == before
