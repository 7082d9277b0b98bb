"""Bad inputs get a clear error that names the problem, before any weight exists or changes."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrnn
from cases import ERRORS

ALL_CELLS = [case.make for case in ERRORS]  # ids make_cell0..4; [1:3] are the LSTMs


def assert_rejected_unbuilt(make_cell, inputs, state_of, match):
    """Both entry points raise, and the cell has created no weight."""
    for call in ("__call__", "call"):
        cell = make_cell()
        with pytest.raises(ValueError, match=match):
            getattr(cell, call)(inputs, state_of(cell))
        assert not cell.built and cell.weights == []


@pytest.mark.parametrize("make_cell", ALL_CELLS)
def test_wrong_rank_is_refused(make_cell):
    assert_rejected_unbuilt(
        make_cell, np.zeros((2, 5, 3), "float32"), lambda c: c.zero_state(2, "float32"),
        r"expects inputs of shape \[batch_size, input_depth\].*received shape \(2, 5, 3\).*keras.layers.RNN",
    )


@pytest.mark.parametrize("make_cell", ALL_CELLS)
def test_integer_inputs_are_refused(make_cell):
    assert_rejected_unbuilt(
        make_cell, np.zeros((2, 3), "int32"), lambda c: c.zero_state(2, "float32"),
        "only supports floating point inputs.*int32.*Cast",
    )


@pytest.mark.parametrize("make_cell", ALL_CELLS)
def test_unknown_depth_is_refused(make_cell):
    cell = make_cell()

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])
    def step(x):
        return cell(x, cell.get_initial_state(inputs=x))[0]

    with pytest.raises(ValueError, match=r"last dimension of its inputs to be known.*\(None, None\)"):
        step(tf.zeros((2, 3)))
    assert not cell.built and cell.weights == []


@pytest.mark.parametrize("make_cell", ALL_CELLS[1:3])
def test_plain_tensor_state_for_an_lstm_is_refused(make_cell):
    assert_rejected_unbuilt(
        make_cell, np.zeros((2, 3), "float32"), lambda c: np.zeros((2, 4), "float32"),
        r"state_size=LSTMStateTuple.*a single tensor where a tuple of 2 was expected.*zero_state",
    )


def test_concatenated_lstm_state_gets_a_hint():
    assert_rejected_unbuilt(
        lambda: tfrnn.BasicLSTMCell(4), np.zeros((2, 3), "float32"), lambda c: np.zeros((2, 8), "float32"),
        r"state_is_tuple=False.*LSTMStateTuple\(c=state\[:, :num_units\], h=state\[:, num_units:\]\)",
    )


@pytest.mark.parametrize("make_cell", ALL_CELLS)
def test_state_of_another_batch_size_is_refused(make_cell):
    assert_rejected_unbuilt(
        make_cell, np.zeros((2, 3), "float32"), lambda c: c.zero_state(5, "float32"),
        "batch size 5 but the inputs' batch size is 2",
    )


def test_state_of_another_width_is_refused():
    assert_rejected_unbuilt(
        lambda: tfrnn.GRUCell(4), np.zeros((2, 3), "float32"), lambda c: np.zeros((2, 6), "float32"),
        r"shape \(2, 6\) where \[batch_size, 4\] was expected",
    )


@pytest.mark.parametrize("make_cell", ALL_CELLS)
def test_built_cell_called_with_another_depth_is_refused_unchanged(make_cell):
    cell = make_cell()
    cell(np.zeros((2, 3), "float32"), cell.zero_state(2, "float32"))
    before = [np.asarray(w).copy() for w in cell.weights]
    for call in (cell, cell.call):
        with pytest.raises(ValueError, match=r"built for inputs of depth 3.*shape \(2, 5\).*create a new cell"):
            call(np.zeros((2, 5), "float32"), cell.zero_state(2, "float32"))
    assert all(np.array_equal(b, np.asarray(w)) for b, w in zip(before, cell.weights))


def test_integer_dtype_argument_is_refused():
    with pytest.raises(ValueError, match="floating point"):
        tfrnn.GRUCell(3, dtype="int32")


@pytest.mark.parametrize(
    "make",
    [lambda: tfrnn.BasicLSTMCell(4, state_is_tuple=False), lambda: tfrnn.LSTMCell(4, state_is_tuple=False)],
)
def test_state_is_tuple_false_explains_the_tuple_layout(make):
    with pytest.raises(ValueError, match="state_is_tuple=False.*LSTMStateTuple.*checkpoints load unchanged"):
        make()


@pytest.mark.parametrize("arg", ["num_unit_shards", "num_proj_shards"])
def test_sharding_arguments_are_refused_unless_trivial(arg):
    tfrnn.LSTMCell(4, num_proj=2, **{arg: 1})
    with pytest.raises(ValueError, match=f"{arg}=2.*not supported.*Drop {arg}"):
        tfrnn.LSTMCell(4, num_proj=2, **{arg: 2})


def test_keras_rnn_reports_cell_errors_too():
    layer = keras.layers.RNN(tfrnn.BasicLSTMCell(4))
    with pytest.raises(ValueError, match="floating point"):
        layer(np.zeros((2, 3, 5), "int32"))
