"""The contrib wrappers (OutputProjectionWrapper, InputProjectionWrapper, EmbeddingWrapper)
against NumPy oracles, their configs and their errors. TF 1.15's numbers: tests/test_wrappers_tf1.py.
"""

import numpy as np
import pytest

import tfrnn
from cases import assert_config_round_trip, assert_one_step_matches_oracle


@pytest.mark.parametrize("name", ["embedding_5x4", "input_projection_gru_5", "output_projection_lstm_tanh"])
def test_step_matches_numpy_oracle(name):
    assert_one_step_matches_oracle(name)


@pytest.mark.parametrize("name", ["output_projection_gru_tanh", "input_projection_gru_4", "embedding_7x2"])
def test_config_round_trip_rebuilds_the_same_cell(name):
    assert_config_round_trip(name)


def test_errors_say_what_was_passed_and_how_to_fix_it():
    lstm = tfrnn.BasicLSTMCell(3)
    with pytest.raises(ValueError, match=r"OutputProjectionWrapper\(output_size=0\): output_size.*received 0"):
        tfrnn.OutputProjectionWrapper(lstm, 0)
    with pytest.raises(ValueError, match=r"EmbeddingWrapper\(embedding_classes=0\).*must be a positive int"):
        tfrnn.EmbeddingWrapper(lstm, 0, 2)
    with pytest.raises(TypeError, match=r"The argument 'cell' \(3\) is not an RNNCell"):
        tfrnn.OutputProjectionWrapper(3, 2)
    with pytest.raises(TypeError, match="device string.*device functions"):
        tfrnn.DeviceWrapper(lstm, lambda op: "/cpu:0")
    embedding = tfrnn.EmbeddingWrapper(lstm, 7, 2)
    for bad in (np.zeros((2, 1), "float32"), np.zeros((2, 3), "int32")):
        with pytest.raises(ValueError, match=r"expects integer ids of shape \[batch_size, 1\] or \[batch_size\].*tf\.cast"):
            embedding(bad, embedding.zero_state(2, "float32"))
    residual = tfrnn.ResidualWrapper(tfrnn.GRUCell(4))
    with pytest.raises(ValueError, match=r"Shapes \(2, 3\) and \(2, 4\) are incompatible.*residual_fn"):
        residual(np.zeros((2, 3), "float32"), np.zeros((2, 4), "float32"))
    assert not embedding.built and not residual.built and residual.weights == [] and not lstm.built


def test_embedding_ids_at_both_ends_of_the_range_pass_eagerly_traced_and_in_a_loop():
    """Out-of-range ids are rows of the bad-input table; the ends of the range are fine."""
    import tensorflow as tf

    cell = tfrnn.EmbeddingWrapper(tfrnn.GRUCell(3), embedding_classes=7, embedding_size=2)
    ids = np.array([[0], [6]], "int32")
    eager, _ = cell(ids, cell.zero_state(2, "float32"))
    traced, _ = tf.function(lambda i: cell(i, cell.zero_state(2, tf.float32)))(tf.constant(ids))
    np.testing.assert_allclose(np.asarray(traced), np.asarray(eager), atol=1e-6)
    outputs, _ = tfrnn.dynamic_rnn(cell, np.stack([ids, ids[::-1]], axis=1), dtype=tf.float32)
    np.testing.assert_allclose(np.asarray(outputs[:, 0]), np.asarray(eager), atol=1e-6)
