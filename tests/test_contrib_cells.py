"""LayerNormBasicLSTMCell, GRUBlockCell and LSTMBlockCell against NumPy oracles, their
configs and TF1 quirks. TF 1.15's numbers: tests/test_wrappers_tf1.py.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import reference
import tfrnn
from cases import assert_config_round_trip, assert_one_step_matches_oracle


@pytest.mark.parametrize(
    "name", ["layer_norm_lstm_fb", "layer_norm_lstm_off", "layer_norm_lstm_relu", "gru_block", "lstm_block_peep_clip"]
)
def test_step_matches_numpy_oracle(name):
    assert_one_step_matches_oracle(name)


@pytest.mark.parametrize("name", ["layer_norm_lstm_dropout", "gru_block", "lstm_block_peep_clip"])
def test_config_round_trip_rebuilds_the_same_cell(name):
    assert_config_round_trip(name)


def test_layer_norm_lstm_dropout_hits_the_candidate_only_and_only_when_training():
    rng = np.random.default_rng(3)
    cell = tfrnn.LayerNormBasicLSTMCell(4, dropout_keep_prob=0.0, dropout_prob_seed=1)
    x = rng.normal(size=(2, 3)).astype("float32")
    state = tfrnn.LSTMStateTuple(*rng.normal(size=(2, 2, 4)).astype("float32"))
    output, _ = cell(x, state, training=False)  # not training: no dropout
    kernel = np.asarray(cell.kernel)
    norms = {scope: (np.asarray(n.gamma), np.asarray(n.beta)) for scope, n in cell.norms.items()}
    np.testing.assert_allclose(np.asarray(output), reference.layer_norm_lstm(x, state, kernel, norms)[0], atol=1e-5)
    gates = np.split(np.concatenate([x, state.h], 1) @ kernel, 4, axis=1)
    i, _, f, o = (reference.layer_norm(g, *norms[s]) for g, s in zip(gates, ("input", "transform", "forget", "output")))
    c = reference.layer_norm(state.c * reference.sigmoid(f + 1.0) + reference.sigmoid(i) * 0.0, *norms["state"])
    output, (new_c, _) = cell(x, state, training=True)  # keep 0: the candidate g is all dropped
    np.testing.assert_allclose(np.asarray(new_c), c, atol=1e-5)
    np.testing.assert_allclose(np.asarray(output), np.tanh(c) * reference.sigmoid(o), atol=1e-5)


# ----------------------------------------------------------- GRUBlockCell, LSTMBlockCell
# TF 1.15's numbers for both are in tests/golden/tf115 (gru_block, lstm_block,
# lstm_block_peephole_clip, multi_block), checked by the golden tests.


def test_gru_block_cell_takes_exactly_one_of_num_units_and_cell_size():
    with pytest.raises(ValueError, match="Exactly one of num_units or cell_size"):
        tfrnn.GRUBlockCell()
    with pytest.raises(ValueError, match="Exactly one of num_units or cell_size"):
        tfrnn.GRUBlockCell(3, cell_size=3)
    assert tfrnn.GRUBlockCell(cell_size=3).num_units == 3


def test_block_cells_keep_tf1s_default_scopes():
    for cell, names in ((tfrnn.GRUBlockCell(2), ["w_ru", "b_ru", "w_c", "b_c"]),
                        (tfrnn.LSTMBlockCell(2, use_peephole=True), ["kernel", "bias", "w_i_diag", "w_f_diag", "w_o_diag"])):
        cell(np.ones((1, 3), "float32"), cell.zero_state(1, "float32"))
        scope = "gru_cell" if isinstance(cell, tfrnn.GRUBlockCell) else "lstm_cell"
        assert list(tfrnn.tf1_variable_names(cell)) == [f"rnn/{scope}/{n}" for n in names]


def built_lstm_pair(clip, rng):
    """An LSTMBlockCell and an LSTMCell with peepholes, the same weights, and a step that makes |c| large."""
    block = tfrnn.LSTMBlockCell(3, cell_clip=clip, use_peephole=True)
    plain = tfrnn.LSTMCell(3, cell_clip=clip, use_peepholes=True)
    x, state = np.full((2, 4), 2.0, "float32"), tfrnn.LSTMStateTuple(*(np.full((2, 3), 1.5, "float32"),) * 2)
    for cell in (block, plain):
        cell(x, state)
    for name, variable in tfrnn.tf1_variable_names(block).items():
        variable.assign(rng.uniform(0.5, 1.0, variable.shape).astype("float32"))
        tfrnn.tf1_variable_names(plain)[name].assign(variable)
    return block, plain, x, state


def test_lstm_block_cell_clip_of_zero_or_less_is_no_clip_unlike_lstm_cell():
    block, plain, x, state = built_lstm_pair(0.0, np.random.default_rng(0))
    unclipped = tfrnn.LSTMBlockCell(3, use_peephole=True)
    unclipped(x, state)
    for a, b in zip(unclipped.weights, block.weights):
        a.assign(b)
    np.testing.assert_array_equal(block(x, state)[1].c, unclipped(x, state)[1].c)
    assert np.all(np.abs(block(x, state)[1].c) > 1.0)
    np.testing.assert_array_equal(plain(x, state)[1].c, 0.0)  # LSTMCell(cell_clip=0.0) clips to zero
    assert tfrnn.LSTMBlockCell(3, cell_clip=-2.0).cell_clip is None


def test_lstm_block_cell_clip_passes_the_gradient_where_lstm_cell_stops_it():
    block, plain, x, state = built_lstm_pair(0.5, np.random.default_rng(1))
    grads = []
    for cell in (block, plain):
        with tf.GradientTape() as tape:
            _, new_state = cell(x, state)
            loss = tf.reduce_sum(new_state.c)
        grads.append(np.asarray(tape.gradient(loss, cell.bias)))
    np.testing.assert_allclose(block(x, state)[1].c, plain(x, state)[1].c, atol=1e-6)  # same forward
    np.testing.assert_allclose(plain(x, state)[1].c, 0.5)  # clipped everywhere
    assert not np.any(grads[1])  # clip_by_value: nothing passes where the clip binds
    assert np.all(grads[0][:3] > 0)  # straight through: d c / d i-bias = sigmoid' * tanh(j) > 0


def test_block_cells_convert_to_native_keras_cells():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3)).astype("float32")
    for cell, keras_class in ((tfrnn.GRUBlockCell(4), keras.layers.GRUCell), (tfrnn.LSTMBlockCell(4), keras.layers.LSTMCell)):
        state = cell.zero_state(2, "float32")
        cell(x, state)
        for weight in cell.weights:
            weight.assign(rng.uniform(-0.5, 0.5, weight.shape).astype("float32"))
        keras_cell = tfrnn.to_keras(cell)
        assert type(keras_cell) is keras_class
        keras_state = [np.zeros((2, 4), "float32")] * (2 if keras_class is keras.layers.LSTMCell else 1)
        np.testing.assert_allclose(keras_cell(x, keras_state)[0], cell(x, state)[0], atol=1e-6)
