"""The core cells against NumPy oracles: values, sizes, initializers, options, traced and compiled.

`CELLS` (tests/cases.py) is the core cells, alone and stacked in a MultiRNNCell.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

import tfrnn
from cases import BY_NAME, CELLS, names, randomize, random_state

ATOL = 1e-5


def run_step(cell, x, state):
    output, new_state = cell(x, state)
    return np.asarray(output), keras.tree.map_structure(np.asarray, new_state)


def assert_step_matches_oracle(name, batch, depth, seed):
    case = BY_NAME[name]
    rng = np.random.default_rng(seed)
    cell = case.make()
    x = rng.normal(size=(batch, depth)).astype("float32")
    state = random_state(cell, batch, rng)
    cell(x, state)  # build
    randomize(cell, rng)
    output, new_state = run_step(cell, x, state)
    want_output, want_state = case.oracle(cell)(x.astype("float64"), keras.tree.map_structure(np.float64, state))
    np.testing.assert_allclose(output, want_output, atol=ATOL, rtol=ATOL)
    for got, want in zip(keras.tree.flatten(new_state), keras.tree.flatten(want_state)):
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=ATOL)


@pytest.mark.parametrize("name", sorted(names(CELLS)))
def test_step_matches_numpy_oracle(name):
    assert_step_matches_oracle(name, batch=3, depth=4, seed=0)


@settings(max_examples=12, deadline=None)
@given(
    name=st.sampled_from(sorted(names(CELLS))),
    batch=st.integers(1, 5),
    depth=st.integers(1, 7),
    seed=st.integers(0, 2**16),
)
def test_step_matches_numpy_oracle_for_any_sizes(name, batch, depth, seed):
    assert_step_matches_oracle(name, batch, depth, seed)


@pytest.mark.parametrize("name", sorted(names(CELLS)))
def test_call_and_dunder_call_agree_and_chain_over_time(name):
    case = BY_NAME[name]
    rng = np.random.default_rng(1)
    cell = case.make()
    xs = rng.normal(size=(4, 2, 3)).astype("float32")
    state = cell.zero_state(2, "float32")
    cell.call(xs[0], state)  # .call builds an unbuilt cell, as seed 004 relies on
    randomize(cell, rng)
    oracle = case.oracle(cell)
    want_state = keras.tree.map_structure(np.float64, state)
    for x in xs:
        layer_output, _ = cell(x, state)
        output, state = cell.call(x, state)
        want_output, want_state = oracle(x.astype("float64"), want_state)
        np.testing.assert_allclose(np.asarray(output), want_output, atol=ATOL, rtol=ATOL)
        np.testing.assert_allclose(np.asarray(layer_output), np.asarray(output), atol=1e-6)
    for got, want in zip(keras.tree.flatten(state), keras.tree.flatten(want_state)):
        np.testing.assert_allclose(np.asarray(got), want, atol=ATOL, rtol=ATOL)


def test_state_and_output_sizes_match_tf1():
    assert tfrnn.BasicRNNCell(128).state_size == 128
    assert tfrnn.BasicLSTMCell(128).state_size == tfrnn.LSTMStateTuple(128, 128)
    assert tfrnn.LSTMCell(5, num_proj=2).state_size == tfrnn.LSTMStateTuple(5, 2)
    assert tfrnn.LSTMCell(5, num_proj=2).output_size == 2
    assert tfrnn.GRUCell(7).output_size == 7
    stack = tfrnn.MultiRNNCell([tfrnn.BasicRNNCell(128) for _ in range(3)])
    assert stack.state_size == (128, 128, 128)
    assert stack.output_size == 128


def test_weights_have_tf1_layout_and_default_initializers():
    x = np.zeros((2, 30), "float32")
    lstm = tfrnn.BasicLSTMCell(50)
    lstm(x, lstm.zero_state(2, "float32"))
    assert tuple(lstm.kernel.shape) == (80, 200) and tuple(lstm.bias.shape) == (200,)
    assert not np.any(np.asarray(lstm.bias))  # forget_bias is never stored
    limit = np.sqrt(6.0 / (80 + 200))  # glorot-uniform over the fused kernel
    kernel = np.asarray(lstm.kernel)
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    np.testing.assert_allclose(kernel.std(), limit / np.sqrt(3), rtol=0.1)
    gru = tfrnn.GRUCell(6)
    gru(x, gru.zero_state(2, "float32"))
    assert np.all(np.asarray(gru.gates.bias) == 1.0) and not np.any(np.asarray(gru.candidate.bias))
    assert tuple(gru.gates.kernel.shape) == (36, 12) and tuple(gru.candidate.kernel.shape) == (36, 6)


def test_initializer_arguments_reach_the_weights_tf1_does():
    x = np.zeros((1, 3), "float32")
    lstm = tfrnn.LSTMCell(4, use_peepholes=True, num_proj=2, initializer=keras.initializers.Constant(0.25))
    lstm(x, lstm.zero_state(1, "float32"))
    for weight in (lstm.kernel, lstm.w_f_diag, lstm.w_i_diag, lstm.w_o_diag, lstm.projection.kernel):
        assert np.all(np.asarray(weight) == 0.25)
    assert not np.any(np.asarray(lstm.bias))
    gru = tfrnn.GRUCell(2, kernel_initializer="ones", bias_initializer=keras.initializers.Constant(0.5))
    gru(x, gru.zero_state(1, "float32"))
    assert np.all(np.asarray(gru.gates.kernel) == 1) and np.all(np.asarray(gru.candidate.kernel) == 1)
    assert np.all(np.asarray(gru.gates.bias) == 0.5) and np.all(np.asarray(gru.candidate.bias) == 0.5)


def test_peepholes_default_to_random_not_zero():
    lstm = tfrnn.LSTMCell(16, use_peepholes=True)
    lstm(np.zeros((1, 3), "float32"), lstm.zero_state(1, "float32"))
    assert np.abs(np.asarray(lstm.w_f_diag)).max() > 0


def test_forget_bias_is_added_at_call_time():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3)).astype("float32")
    outputs = []
    for forget_bias in (0.0, 2.0):
        cell = tfrnn.BasicLSTMCell(4, forget_bias=forget_bias)
        state = cell.zero_state(2, "float32")
        state = tfrnn.LSTMStateTuple(state.c + 1.0, state.h)
        cell(x, state)
        cell.kernel.assign(np.full((7, 16), 0.1, "float32"))
        outputs.append(np.asarray(cell(x, state)[1].c))
        assert not np.any(np.asarray(cell.bias))
    assert np.all(outputs[1] > outputs[0])  # a larger forget bias keeps more of c


def test_reuse_is_accepted_and_changes_nothing():
    a, b = tfrnn.GRUCell(3, reuse=True), tfrnn.GRUCell(3, reuse=tf.compat.v1.AUTO_REUSE)
    x = np.ones((1, 2), "float32")
    a(x, a.zero_state(1, "float32"))
    b(x, b.zero_state(1, "float32"))
    assert len(a.weights) == len(b.weights) == 4


@pytest.mark.parametrize("name", sorted(names(CELLS)))
def test_graph_and_xla_match_eager(name):
    rng = np.random.default_rng(4)
    cell = BY_NAME[name].make()
    x = rng.normal(size=(3, 4)).astype("float32")
    state = random_state(cell, 3, rng)
    eager = keras.tree.flatten(cell(x, state))
    for jit in (False, True):
        traced = keras.tree.flatten(tf.function(cell, jit_compile=jit)(x, state))
        for got, want in zip(traced, eager):
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=ATOL)



@pytest.mark.parametrize("size", [4, np.int64(4), np.int32(4), 4.0, np.float32(4.0)])
def test_sizes_take_what_tf1_took_and_store_an_int(size):
    """TF1 took ints and whole floats (`hidden / 2` in Python 3); the bad-input table has the rest."""
    for cell in (tfrnn.LSTMCell(size, num_proj=size), tfrnn.GRUCell(size), tfrnn.GRUBlockCell(cell_size=size)):
        assert type(cell.num_units) is int and cell.num_units == 4
    assert type(tfrnn.LSTMCell(size, num_proj=size).num_proj) is int


def test_activations_and_numbers_are_read_once_as_keras_would():
    custom = lambda x: x * 2.0  # noqa: E731
    assert tfrnn.GRUCell(3, activation="relu").activation is keras.activations.relu
    assert tfrnn.BasicRNNCell(3, activation=custom).activation is custom
    assert tfrnn.BasicLSTMCell(3).activation is keras.activations.tanh  # None: TF1's default
    assert type(tfrnn.BasicLSTMCell(3, forget_bias=np.float32(0.5)).forget_bias) is float
    config = tfrnn.LSTMCell(3, activation="sigmoid", forget_bias=0.5, cell_clip=2).get_config()
    clone = tfrnn.LSTMCell.from_config(config)
    assert clone.activation is keras.activations.sigmoid and clone.forget_bias == 0.5 and clone.cell_clip == 2.0
    assert tfrnn.LSTMBlockCell(3, cell_clip=-1).cell_clip is None  # TF1: 0 or below is no clip
