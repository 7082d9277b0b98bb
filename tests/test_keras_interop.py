"""Keras and TF's own loops drive tfrnn cells, with the same numbers as a step-by-step loop."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from cases import BY_NAME, CELLS, names, randomize

ATOL = 1e-5


def manual_unroll(cell, x):
    state = cell.get_initial_state(batch_size=x.shape[0], dtype="float32")
    outputs = []
    for t in range(x.shape[1]):
        output, state = cell(x[:, t], state)
        outputs.append(output)
    return np.stack(outputs, axis=1), keras.tree.flatten(state)


def built_random_cell(name, depth, seed=0):
    cell = BY_NAME[name].make()
    rng = np.random.default_rng(seed)
    cell(np.zeros((1, depth), "float32"), cell.zero_state(1, "float32"))
    randomize(cell, rng)
    return cell, rng.normal(size=(3, 5, depth)).astype("float32")


@pytest.mark.parametrize("name", sorted(names(CELLS)))
def test_keras_rnn_layer_equals_the_step_loop(name):
    cell, x = built_random_cell(name, depth=4)
    layer = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    outputs, *states = layer(x)
    want_outputs, want_states = manual_unroll(cell, x)
    np.testing.assert_allclose(np.asarray(outputs), want_outputs, atol=ATOL)
    for got, want in zip(keras.tree.flatten(states), want_states):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=ATOL)


@pytest.mark.parametrize("name", ["basic_lstm", "gru", "multi_mixed_4"])
def test_tf_compat_v1_dynamic_rnn_drives_the_cell(name):
    cell, x = built_random_cell(name, depth=4, seed=1)
    outputs, state = tf.compat.v1.nn.dynamic_rnn(cell, x, dtype=tf.float32)
    want_outputs, want_states = manual_unroll(cell, x)
    np.testing.assert_allclose(np.asarray(outputs), want_outputs, atol=ATOL)
    for got, want in zip(keras.tree.flatten(state), want_states):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=ATOL)


def test_keras_rnn_builds_an_unbuilt_cell_inside_a_model():
    cell = BY_NAME["lstm_full"].make()
    inputs = keras.Input((None, 6))
    model = keras.Model(inputs, keras.layers.RNN(cell)(inputs))
    assert tuple(model.output.shape) == (None, 3) and tuple(cell.kernel.shape) == (9, 20)
    assert tuple(model(np.ones((2, 4, 6), "float32")).shape) == (2, 3)
