"""LayerNormBasicLSTMCell against NumPy oracles: with and without layer norm, its dropout,
its config. TF 1.15's numbers: tests/test_wrappers_tf1.py.
"""

import numpy as np
import pytest

import reference
import tfrnn
from cases import assert_config_round_trip, assert_one_step_matches_oracle


@pytest.mark.parametrize("name", ["layer_norm_lstm_fb", "layer_norm_lstm_off", "layer_norm_lstm_relu"])
def test_step_matches_numpy_oracle(name):
    assert_one_step_matches_oracle(name)


@pytest.mark.parametrize("name", ["layer_norm_lstm_dropout"])
def test_config_round_trip_rebuilds_the_same_cell(name):
    assert_config_round_trip(name)


def test_layer_norm_lstm_dropout_hits_the_candidate_only_and_only_when_training():
    rng = np.random.default_rng(3)
    cell = tfrnn.LayerNormBasicLSTMCell(4, dropout_keep_prob=0.0, dropout_prob_seed=1)
    x = rng.normal(size=(2, 3)).astype("float32")
    state = tfrnn.LSTMStateTuple(*rng.normal(size=(2, 2, 4)).astype("float32"))
    output, _ = cell(x, state)  # not training: no dropout
    kernel = np.asarray(cell.kernel)
    norms = {scope: (np.asarray(n.gamma), np.asarray(n.beta)) for scope, n in cell.norms.items()}
    np.testing.assert_allclose(np.asarray(output), reference.layer_norm_lstm(x, state, kernel, norms)[0], atol=1e-5)
    gates = np.split(np.concatenate([x, state.h], 1) @ kernel, 4, axis=1)
    i, _, f, o = (reference.layer_norm(g, *norms[s]) for g, s in zip(gates, ("input", "transform", "forget", "output")))
    c = reference.layer_norm(state.c * reference.sigmoid(f + 1.0) + reference.sigmoid(i) * 0.0, *norms["state"])
    output, (new_c, _) = cell(x, state, training=True)  # keep 0: the candidate g is all dropped
    np.testing.assert_allclose(np.asarray(new_c), c, atol=1e-5)
    np.testing.assert_allclose(np.asarray(output), np.tanh(c) * reference.sigmoid(o), atol=1e-5)
