"""The bidirectional loops: reversal within each length, Keras' own cells, and errors found before any cell is built."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrnn
from toy_cells import CounterCell, ramp


def test_bidirectional_reverses_within_each_length():
    (out_fw, out_bw), (state_fw, state_bw) = tfrnn.bidirectional_dynamic_rnn(
        CounterCell(), CounterCell(), ramp(2, 4), sequence_length=[4, 2], dtype=tf.float32
    )
    np.testing.assert_array_equal(out_bw[0, :, 0], [10, 9, 7, 4])  # 4+3+2+1, 4+3+2, 4+3, 4
    np.testing.assert_array_equal(out_bw[1, :, 0], [3, 2, 0, 0])  # row of length 2: reads 2, 1
    np.testing.assert_array_equal(state_bw[:, 0], [10, 3])
    np.testing.assert_array_equal(state_fw[:, 0], [10, 3])


@pytest.mark.parametrize(
    "make_cell",
    [lambda: keras.layers.LSTMCell(3), lambda: keras.layers.GRUCell(3), lambda: keras.layers.SimpleRNNCell(3),
     lambda: keras.layers.StackedRNNCells([keras.layers.LSTMCell(3), keras.layers.GRUCell(2)])],
    ids=["LSTMCell", "GRUCell", "SimpleRNNCell", "StackedRNNCells"],
)
def test_keras_cells_in_the_bidirectional_loops_like_keras_bidirectional(make_cell):
    """Keras' own cells, as Keras' Bidirectional built them: the same outputs, states and weight gradients.

    tfrnn's loops read NaN in the padding where Keras reads numbers: the padding must change nothing.
    """
    x = np.random.default_rng(6).normal(size=(3, 5, 3)).astype("float32")
    lengths = [5, 3, 0]
    garbage = np.where((np.arange(5)[None, :] >= np.array(lengths)[:, None])[..., None], np.nan, x).astype("float32")
    layer = keras.layers.Bidirectional(
        keras.layers.RNN(make_cell(), return_sequences=True, return_state=True, zero_output_for_mask=True), merge_mode=None
    )
    weigh = lambda leaves: sum(tf.reduce_sum(leaf * (k + 1.0)) for k, leaf in enumerate(leaves))  # noqa: E731
    with tf.GradientTape(persistent=True) as tape:
        want = tf.nest.flatten(layer(x, mask=tf.sequence_mask(lengths, 5)))  # out_fw, out_bw, states fw, bw
        fw, bw = layer.forward_layer.cell, layer.backward_layer.cell
        (out_fw, out_bw), states = tfrnn.bidirectional_dynamic_rnn(fw, bw, garbage, sequence_length=lengths, dtype=tf.float32)
        got = [out_fw, out_bw, *tf.nest.flatten(states)]
        loss_want, loss_got = weigh(want), weigh(got)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    weights = layer.trainable_weights
    for a, b in zip(tape.gradient(loss_got, weights), tape.gradient(loss_want, weights), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)
    steps, state_fw, state_bw = tfrnn.static_bidirectional_rnn(
        fw, bw, tf.unstack(garbage, axis=1), sequence_length=lengths, dtype=tf.float32
    )
    np.testing.assert_allclose(tf.stack(steps, 1), tf.concat([out_fw, out_bw], -1), atol=1e-5)
    stacked, _, _ = tfrnn.stack_bidirectional_dynamic_rnn([fw], [bw], garbage, sequence_length=lengths, dtype=tf.float32)
    np.testing.assert_allclose(stacked, tf.concat([out_fw, out_bw], -1), atol=1e-5)
    for a, b in zip(tf.nest.flatten((state_fw, state_bw)), got[2:], strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


class PairSumCell:
    """A TF1-contract cell over a pair of inputs `(a, b)`: state and output are the running sums `(sum a, sum b)`."""

    output_size = state_size = (1, 2)

    def zero_state(self, batch_size, dtype):
        return tf.zeros([batch_size, 1], dtype), tf.zeros([batch_size, 2], dtype)

    def __call__(self, inputs, state):
        new_state = tuple(x + s for x, s in zip(inputs, state))
        return new_state, new_state


def test_nested_inputs_are_reversed_leaf_by_leaf_within_each_length():
    """TF1's testNestedIOLSTMAllRNNContainers: every leaf of a tuple of inputs is reversed along its own lengths."""
    lengths = [4, 2]
    a, b = ramp(2, 4, depth=1), 10 * ramp(2, 4)  # [B, T, 1] and [B, T, 2]: leaves of different depths
    padding = np.arange(4)[None, :, None] >= np.array(lengths)[:, None, None]
    # The backward running sum at step t of a row of length L: sum over s in [t, L) of (s + 1).
    suffix = np.where(padding, 0.0, np.array([[10, 9, 7, 4], [3, 2, 0, 0]], "float32")[..., None])
    (_, (bw_a, bw_b)), (_, (state_a, state_b)) = tfrnn.bidirectional_dynamic_rnn(
        PairSumCell(), PairSumCell(), (a, b), sequence_length=lengths, dtype=tf.float32
    )
    np.testing.assert_array_equal(bw_a, suffix)
    np.testing.assert_array_equal(bw_b, np.broadcast_to(10 * suffix, (2, 4, 2)))
    np.testing.assert_array_equal(state_a[:, 0], [10, 3])
    steps = [(a[:, t], b[:, t]) for t in range(4)]
    outputs, _, (state_a, state_b) = tfrnn.static_bidirectional_rnn(
        PairSumCell(), PairSumCell(), steps, sequence_length=lengths, dtype=tf.float32
    )
    assert len(outputs) == 4 and [o.shape for o in outputs[0]] == [(2, 2), (2, 4)]  # fw and bw joined per leaf
    np.testing.assert_array_equal(np.stack([o[0][:, 1] for o in outputs], 1), suffix[..., 0])
    np.testing.assert_array_equal(np.stack([o[1][:, 2:] for o in outputs], 1), np.broadcast_to(10 * suffix, (2, 4, 2)))
    np.testing.assert_array_equal(state_b[:, 0], [100, 30])


BIDIRECTIONAL_LOOPS = {  # name: whether it reads a list of steps
    "bidirectional_dynamic_rnn": False, "static_bidirectional_rnn": True,
    "stack_bidirectional_dynamic_rnn": False, "stack_bidirectional_rnn": True,
}


def run_bidirectional(loop, cells_fw, cells_bw, states_fw, states_bw, dtype):
    """Any bidirectional loop on zeros `[2, 4, 3]`, with one initial state per layer (None: from `dtype`)."""
    x = np.zeros((2, 4, 3), "float32")
    inputs = list(x.transpose(1, 0, 2)) if BIDIRECTIONAL_LOOPS[loop] else x
    run = getattr(tfrnn, loop)
    if loop.startswith("stack"):
        return run(cells_fw, cells_bw, inputs, initial_states_fw=states_fw, initial_states_bw=states_bw, dtype=dtype)
    (cell_fw,), (cell_bw,), (state_fw,), (state_bw,) = cells_fw, cells_bw, states_fw, states_bw
    return run(cell_fw, cell_bw, inputs, initial_state_fw=state_fw, initial_state_bw=state_bw, dtype=dtype)


BAD_LAST_BACKWARD = {  # what is wrong with the last backward cell's argument: (its state, dtype, the error)
    "batch": (tfrnn.LSTMStateTuple(*[tf.zeros((3, 2))] * 2), tf.float32, "batch size 3 but the inputs' batch size is 2"),
    "structure": (tf.zeros((2, 2)), tf.float32, "a single tensor where a tuple of 2 was expected"),
    "no dtype": (None, None, "argument `dtype` must be specified"),
    "not a cell": (None, tf.float32, "is not an RNNCell"),
}


@pytest.mark.parametrize("loop", BIDIRECTIONAL_LOOPS)
@pytest.mark.parametrize("bad", BAD_LAST_BACKWARD)
def test_bidirectional_errors_leave_no_cell_built(loop, bad):
    """A bad argument for the backward direction, or for a later layer, is found before any cell is built."""
    last_bw_state, dtype, match = BAD_LAST_BACKWARD[bad]
    layers = 2 if loop.startswith("stack") else 1
    cells_fw = [tfrnn.GRUCell(2) for _ in range(layers)]
    cells_bw = [tfrnn.GRUCell(2) for _ in range(layers - 1)] + [tfrnn.BasicLSTMCell(2)]  # the LSTM's state is a pair
    states_fw = [tf.zeros((2, 2))] * layers
    states_bw = [tf.zeros((2, 2))] * (layers - 1) + [last_bw_state]
    if bad == "not a cell":
        cells_bw[-1] = "not a cell"
    with pytest.raises((ValueError, TypeError), match=match):
        run_bidirectional(loop, cells_fw, cells_bw, states_fw, states_bw, dtype)
    assert not any(cell.built for cell in cells_fw + cells_bw if cell != "not a cell")
