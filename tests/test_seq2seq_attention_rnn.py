"""`tfrnn.seq2seq.attention_rnn.AttentionRNN`: the Keras layer that feeds an attention
cell its memory per call and runs `dynamic_rnn`.

The oracle is `tfrnn.dynamic_rnn` over the same cell with the memory set up by hand,
whose numbers `test_seq2seq_attention_wrapper.py` checks against TF 1.15 (and
`test_seq2seq_keras.py` checks this layer against TF 1.15's goldens directly):

- in a functional model whose memory is a `keras.Input`: equal outputs, the length-0
  row TF1's zeros, identical after a `.keras` round trip in safe mode;
- `return_sequences=False`: each row's output at its last step (zeros for an empty
  row, as TF1's final outputs), and `return_state` with `alignment_history`: the
  history stacked time-major `[time, batch, memory_time]`;
- a cell holding the wrapper (`MultiRNNCell`): the memory reaches the wrapper inside;
- Keras masks stand for the lengths: a masked memory equals `memory_sequence_length`,
  masked inputs equal `sequence_length`.

Bad inputs are rows in `bad_input_rows_seq2seq_attention.py` (`AttentionRNN-*`).
"""

import keras
import numpy as np
import tensorflow as tf

import tfrnn
from tfrnn import seq2seq

RNG = np.random.default_rng(26)
MEMORY = RNG.normal(size=(3, 6, 4)).astype("float32")  # [batch, memory_time, depth]
MEMORY_LENGTH = np.array([6, 2, 4], "int32")
INPUTS = RNG.normal(size=(3, 5, 2)).astype("float32")  # [batch, time, depth]
LENGTH = np.array([5, 3, 0], "int32")
ATOL = 1e-6


def _randomize(*layers):
    rng = np.random.default_rng(7)
    for layer in layers:
        for weight in layer.weights:
            weight.assign(rng.uniform(-0.7, 0.7, weight.shape).astype("float32"))


def _wrapper(mechanism=None, cell=None, **kwargs):
    mechanism = mechanism or seq2seq.BahdanauAttention(4, normalize=True)
    return seq2seq.AttentionWrapper(cell or tfrnn.LSTMCell(5), mechanism, attention_layer_size=3, **kwargs)


def _mechanisms(cell):
    return [m for w in ([cell] if isinstance(cell, seq2seq.AttentionWrapper) else
                        [c for c in cell.cells if isinstance(c, seq2seq.AttentionWrapper)])
            for m in w.attention_mechanisms]


def _dynamic_rnn(cell, memory_length=MEMORY_LENGTH, sequence_length=LENGTH):
    """The oracle: `dynamic_rnn` with the memory set up by hand."""
    for mechanism in _mechanisms(cell):
        mechanism.setup_memory(MEMORY, memory_length)
    return tfrnn.dynamic_rnn(cell, INPUTS, sequence_length=sequence_length, dtype=tf.float32)


def _functional_model(wrapper):
    inputs, memory = keras.Input((None, 2)), keras.Input((None, 4))
    memory_length, length = keras.Input((), dtype="int32"), keras.Input((), dtype="int32")
    outputs = seq2seq.AttentionRNN(wrapper)(inputs, memory, memory_length, sequence_length=length)
    return keras.Model([inputs, memory, memory_length, length], outputs)


def test_keras_input_memory_equals_dynamic_rnn_and_survives_a_keras_file(tmp_path):
    wrapper = _wrapper(seq2seq.LuongAttention(5), alignment_history=True)
    model = _functional_model(wrapper)
    _randomize(wrapper, *wrapper.attention_mechanisms)
    predictions = model.predict([INPUTS, MEMORY, MEMORY_LENGTH, LENGTH], verbose=0)
    outputs, _ = _dynamic_rnn(wrapper)
    np.testing.assert_allclose(predictions, outputs, atol=ATOL)
    np.testing.assert_array_equal(predictions[2], 0)  # the length-0 row: TF1's zeros
    assert np.all(np.abs(predictions[0]) > 0)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded.predict([INPUTS, MEMORY, MEMORY_LENGTH, LENGTH], verbose=0), predictions)


def test_last_outputs_and_the_stacked_history():
    wrapper = _wrapper(alignment_history=True)
    layer = seq2seq.AttentionRNN(wrapper, return_sequences=False, return_state=True)
    layer(INPUTS, MEMORY, MEMORY_LENGTH, sequence_length=LENGTH)  # builds
    _randomize(wrapper, *wrapper.attention_mechanisms)
    last, state = layer(INPUTS, MEMORY, MEMORY_LENGTH, sequence_length=LENGTH)
    outputs, expected = _dynamic_rnn(wrapper)
    np.testing.assert_allclose(last[:2], [outputs[0, 4], outputs[1, 2]], atol=ATOL)  # rows of length 5 and 3
    np.testing.assert_array_equal(last[2], 0)  # the empty row
    history = np.asarray(state.alignment_history)
    assert history.shape == (5, 3, 6)  # time-major, as TF1's TensorArray stacked
    np.testing.assert_allclose(history, expected.alignment_history.stack(), atol=ATOL)
    np.testing.assert_allclose(history[2, 1], state.alignments[1], atol=ATOL)  # row 1 ended after step 3
    np.testing.assert_allclose(state.cell_state.h, expected.cell_state.h, atol=ATOL)
    assert state.time.dtype == tf.int32 and int(state.time) == 5  # TF1's int32 (keras.layers.RNN casts it)
    without_lengths = seq2seq.AttentionRNN(wrapper, return_sequences=False)(INPUTS, MEMORY, MEMORY_LENGTH)
    np.testing.assert_allclose(without_lengths, _dynamic_rnn(wrapper, sequence_length=None)[0][:, -1], atol=ATOL)


def test_the_memory_reaches_a_wrapper_inside_a_multi_rnn_cell():
    cell = tfrnn.MultiRNNCell([tfrnn.GRUCell(4), _wrapper()])
    layer = seq2seq.AttentionRNN(cell)
    layer(INPUTS, MEMORY, MEMORY_LENGTH)
    _randomize(cell, *_mechanisms(cell))
    got = layer(INPUTS, MEMORY, MEMORY_LENGTH, sequence_length=LENGTH)
    np.testing.assert_allclose(got, _dynamic_rnn(cell)[0], atol=ATOL)
    other_memory = layer(INPUTS, MEMORY * 2.0, MEMORY_LENGTH, sequence_length=LENGTH)  # fed per call, not kept
    assert np.abs(np.asarray(other_memory) - np.asarray(got))[:2].max() > 1e-3


def test_keras_masks_stand_for_the_lengths():
    wrapper = _wrapper()
    inputs, memory = keras.Input((None, 2)), keras.Input((None, 4))
    masked_memory = keras.layers.Masking(0.0)(memory)  # padded memory frames are all zeros
    masked_inputs = keras.layers.Masking(0.0)(inputs)
    model = keras.Model([inputs, memory], seq2seq.AttentionRNN(wrapper)(masked_inputs, masked_memory))
    padded_memory = np.where(np.arange(6)[None, :, None] < MEMORY_LENGTH[:, None, None], MEMORY, 0.0)
    padded_inputs = np.where(np.arange(5)[None, :, None] < LENGTH[:, None, None], INPUTS, 0.0)
    got = model([padded_inputs.astype("float32"), padded_memory.astype("float32")])
    _randomize(wrapper, *wrapper.attention_mechanisms)
    got = model([padded_inputs.astype("float32"), padded_memory.astype("float32")])
    np.testing.assert_allclose(got, _dynamic_rnn(wrapper)[0], atol=ATOL)
    np.testing.assert_array_equal(np.asarray(got)[2], 0)
