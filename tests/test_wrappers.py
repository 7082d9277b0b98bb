"""MultiRNNCell (stacking semantics, the `[cell] * n` pitfall, its errors), ResidualWrapper, DeviceWrapper;
every wrapper's TF1 behaviours (`wrapped_cell`, the wrapped cell's initial state, checkpoint dependencies)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrnn
from cases import assert_config_round_trip, assert_one_step_matches_oracle


def test_layers_feed_each_other_and_state_is_a_tuple_per_layer():
    rng = np.random.default_rng(0)
    first, second = tfrnn.BasicLSTMCell(4), tfrnn.GRUCell(3)
    stack = tfrnn.MultiRNNCell([first, second])
    x = rng.normal(size=(2, 5)).astype("float32")
    state = stack.zero_state(2, "float32")
    output, (state_0, state_1) = stack(x, state)
    mid, want_0 = first(x, state[0])
    want_output, want_1 = second(mid, state[1])
    np.testing.assert_allclose(np.asarray(output), np.asarray(want_output), atol=1e-6)
    np.testing.assert_allclose(np.asarray(state_0.c), np.asarray(want_0.c), atol=1e-6)
    np.testing.assert_allclose(np.asarray(state_1), np.asarray(want_1), atol=1e-6)
    assert isinstance(state_0, tfrnn.LSTMStateTuple)


def test_each_layer_is_built_for_the_previous_output_depth():
    stack = tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(4), tfrnn.BasicLSTMCell(4)])
    stack.call(np.zeros((2, 3), "float32"), stack.zero_state(2, "float32"))
    assert [tuple(c.kernel.shape) for c in stack.cells] == [(7, 16), (8, 16)]
    assert len(stack.weights) == 4


def test_same_object_twice_is_refused_with_positions_and_fix():
    cell = tfrnn.BasicRNNCell(num_units=128)
    with pytest.raises(ValueError) as error:
        tfrnn.MultiRNNCell([cell] * 3)
    message = str(error.value)
    assert "positions [[0, 1, 2]]" in message
    assert "MultiRNNCell([make_cell() for _ in range(n)])" in message
    other = tfrnn.BasicRNNCell(4)
    with pytest.raises(ValueError, match=r"positions \[\[0, 2\]\]"):
        tfrnn.MultiRNNCell([cell, other, cell])


def test_constructor_errors_match_tf1():
    with pytest.raises(TypeError, match="cells must be a list or tuple"):
        tfrnn.MultiRNNCell(tfrnn.GRUCell(2))
    with pytest.raises(ValueError, match="Must specify at least one cell for MultiRNNCell"):
        tfrnn.MultiRNNCell([])
    with pytest.raises(TypeError, match=r"cells\[1\] is not an RNN cell"):
        tfrnn.MultiRNNCell([tfrnn.GRUCell(2), "gru"])
    with pytest.raises(ValueError, match="state_is_tuple=False.*not supported.*checkpoints load unchanged"):
        tfrnn.MultiRNNCell([tfrnn.GRUCell(2)], state_is_tuple=False)


def test_a_prebuilt_layer_of_the_wrong_depth_is_refused():
    built = tfrnn.GRUCell(3)
    built(np.zeros((1, 9), "float32"), built.zero_state(1, "float32"))
    with pytest.raises(ValueError, match=r"cells\[1\] \(gru_cell\) was already built for inputs of depth 9"):
        tfrnn.MultiRNNCell([tfrnn.GRUCell(4), built])


def test_wrong_number_of_layer_states_is_refused_before_building():
    stack = tfrnn.MultiRNNCell([tfrnn.GRUCell(2), tfrnn.GRUCell(2)])
    with pytest.raises(ValueError, match="1 parts where 2 were expected"):
        stack(np.zeros((1, 3), "float32"), (np.zeros((1, 2), "float32"),))
    assert not stack.built and stack.weights == []


def test_keras_cells_can_be_stacked():
    stack = tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(3), keras.layers.GRUCell(2)])
    output, state = stack(np.ones((2, 4), "float32"), stack.zero_state(2, "float32"))
    assert tuple(output.shape) == (2, 2) and isinstance(state[0], tfrnn.LSTMStateTuple)
    _, flat = stack(np.ones((2, 4), "float32"), stack.get_initial_state(batch_size=2))  # Keras' form
    assert [tuple(s.shape) for s in flat] == [(2, 3), (2, 3), (2, 2)]


def test_config_round_trip_rebuilds_the_same_stack():
    stack = tfrnn.MultiRNNCell([tfrnn.LSTMCell(4, num_proj=2, use_peepholes=True), tfrnn.GRUCell(3, name="top")])
    clone = tfrnn.MultiRNNCell.from_config(stack.get_config())
    assert [type(c) for c in clone.cells] == [tfrnn.LSTMCell, tfrnn.GRUCell]
    assert clone.cells[0].num_proj == 2 and clone.cells[0].use_peepholes and clone.cells[1].name == "top"
    assert clone.state_size == stack.state_size


def test_residual_fn_replaces_the_sum():
    cell = tfrnn.ResidualWrapper(tfrnn.GRUCell(4), residual_fn=lambda inputs, outputs: outputs * 0.0 + inputs[:, :1])
    output, _ = cell(np.full((2, 3), 2.0, "float32"), np.zeros((2, 4), "float32"))
    np.testing.assert_array_equal(np.asarray(output), np.full((2, 4), 2.0))


@pytest.mark.parametrize("name", ["residual_lstm"])
def test_step_matches_numpy_oracle(name):
    assert_one_step_matches_oracle(name)


@pytest.mark.parametrize("name", ["residual", "device_basic_rnn"])
def test_config_round_trip_rebuilds_the_same_cell(name):
    assert_config_round_trip(name)


# Issue 24: wrappers as TF1's, object-based checkpoints, the flat state Keras holds.

WRAPPERS = {
    "dropout": lambda cell: tfrnn.DropoutWrapper(cell, output_keep_prob=0.5, seed=1),
    "residual": tfrnn.ResidualWrapper,
    "device": lambda cell: tfrnn.DeviceWrapper(cell, "/cpu:0"),
    "output_projection": lambda cell: tfrnn.OutputProjectionWrapper(cell, 2),
    "input_projection": lambda cell: tfrnn.InputProjectionWrapper(cell, 3),
    "embedding": lambda cell: tfrnn.EmbeddingWrapper(cell, 5, 3),
}


class _OnesStateCell(tfrnn.GRUCell):
    """A cell with its own initial state (ones), as a TF1 user might write."""

    def zero_state(self, batch_size, dtype):
        return tf.ones((batch_size, self.state_size), dtype)


@pytest.mark.parametrize("name", list(WRAPPERS))
def test_every_wrapper_has_wrapped_cell_and_keeps_the_cells_initial_state(name):
    cell = _OnesStateCell(3)
    wrapper = WRAPPERS[name](cell)
    assert wrapper.wrapped_cell is cell
    for state in (wrapper.zero_state(2, tf.float32), wrapper.get_initial_state(batch_size=2, dtype=tf.float32),
                  wrapper.get_initial_state(2)):
        np.testing.assert_array_equal(np.asarray(state), np.ones((2, 3)))


def test_multi_rnn_cell_checkpoint_has_tf1_dependency_names_and_restores_every_layer(tmp_path):
    layers = [tfrnn.BasicLSTMCell(2), tfrnn.DropoutWrapper(tfrnn.GRUCell(2))]
    stack = tfrnn.MultiRNNCell(layers)
    stack(tf.ones((1, 3)), stack.zero_state(1, tf.float32))
    children = dict(tf.train.TrackableView(stack).children(stack))
    assert children["cell-0"] is layers[0] and children["cell-1"] is layers[1]
    assert dict(tf.train.TrackableView(layers[1]).children(layers[1]))["cell"] is layers[1].cell
    saved = [np.array(w) for w in stack.weights]
    path = tf.train.Checkpoint(cell=stack).save(str(tmp_path / "ckpt"))
    for weight in stack.weights:
        weight.assign(tf.zeros_like(weight))
    tf.train.Checkpoint(cell=stack).restore(path).assert_consumed()
    for weight, value in zip(stack.weights, saved):
        np.testing.assert_array_equal(np.asarray(weight), value)


def test_keras_form_of_get_initial_state_is_flat_for_nested_states_and_cells_take_it():
    stack = tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(2), tfrnn.GRUCell(3)])
    nested = stack.get_initial_state(batch_size=2, dtype=tf.float32)
    assert isinstance(nested[0], tfrnn.LSTMStateTuple)  # TF1's structure, asked TF1's way
    flat = stack.get_initial_state(batch_size=2)  # as keras.layers.RNN asks: one tensor per state
    assert [tuple(s.shape) for s in flat] == [(2, 2), (2, 2), (2, 3)]
    x = np.ones((2, 4), "float32")
    got, want = stack(x, flat), stack(x, nested)
    assert isinstance(want[1][0], tfrnn.LSTMStateTuple) and len(got[1]) == 3  # flat in, flat out (Keras' form)
    for a, b in zip(keras.tree.flatten(got), keras.tree.flatten(want)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b))
    wrapped = tfrnn.ResidualWrapper(tfrnn.MultiRNNCell([tfrnn.GRUCell(4), tfrnn.BasicLSTMCell(4)]))
    assert len(wrapped.get_initial_state(batch_size=2)) == 3
    assert isinstance(tfrnn.BasicLSTMCell(2).get_initial_state(batch_size=2), tfrnn.LSTMStateTuple)  # one level


def test_stateful_keras_rnn_with_a_stack_of_lstms():
    """The issue's crash: keras.layers.RNN(MultiRNNCell([BasicLSTMCell...]), stateful=True)."""
    layer = keras.layers.RNN(tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(3) for _ in range(2)]), stateful=True)
    x = np.random.default_rng(0).normal(size=(2, 4, 5)).astype("float32")
    first = np.asarray(layer(x))
    assert len(layer.states) == 4 and np.any(np.asarray(layer.states[0]))
    assert not np.allclose(np.asarray(layer(x)), first)  # the second call starts from the carried state
    layer.reset_states()
    np.testing.assert_allclose(np.asarray(layer(x)), first, atol=1e-6)
