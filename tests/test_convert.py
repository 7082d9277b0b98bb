"""to_keras / from_keras: native Keras 3 cells that compute exactly what tfrnn's (TF1's) compute."""

import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrnn
from cases import BY_NAME, CONVERTIBLE, names, random_state, randomize

ATOL = 1e-5
GOLDEN = pathlib.Path(__file__).parent / "golden"

# The Keras class of each tfrnn class; the cells are `CONVERTIBLE` (tests/cases.py), run over random weights.
KERAS_CLASS = {
    tfrnn.BasicRNNCell: keras.layers.SimpleRNNCell, tfrnn.BasicLSTMCell: keras.layers.LSTMCell,
    tfrnn.LSTMCell: keras.layers.LSTMCell, tfrnn.GRUCell: keras.layers.GRUCell,
    tfrnn.MultiRNNCell: keras.layers.StackedRNNCells,
}


def built_random(cell, depth, rng):
    cell(np.zeros((1, depth), "float32"), cell.zero_state(1, "float32"))
    randomize(cell, rng, scale=0.8)
    return cell


def keras_state(cell, state):
    """TF1's state structure as Keras cells take it: `(c, h)` -> `[h, c]`, `h` -> `[h]`."""
    if isinstance(cell, tfrnn.MultiRNNCell):
        return [keras_state(child, part) for child, part in zip(cell.cells, state)]
    if isinstance(cell, (tfrnn.BasicLSTMCell, tfrnn.LSTMCell)):
        c, h = state
        return [h, c]
    return [state]


def unroll(cell, x, state):
    outputs = []
    for t in range(x.shape[1]):
        output, state = cell(x[:, t], state)
        if isinstance(cell, keras.layers.StackedRNNCells) and len(cell.cells) == 1:
            state = [state]  # Keras returns a one-cell stack's state unnested (see below)
        outputs.append(np.asarray(output))
    return np.stack(outputs, 1), [np.asarray(leaf) for leaf in keras.tree.flatten(state)]


def assert_same_numbers(tfrnn_cell, keras_cell, x, state):
    """Outputs and every state leaf agree over a sequence, after mapping the state order."""
    outputs, finals = unroll(tfrnn_cell, x, state)
    keras_outputs, keras_finals = unroll(keras_cell, x, keras_state(tfrnn_cell, state))
    want = [np.asarray(leaf) for leaf in keras.tree.flatten(keras_state(tfrnn_cell, tf.nest.pack_sequence_as(
        tfrnn_cell.state_size, finals)))]
    np.testing.assert_allclose(keras_outputs, outputs, atol=ATOL)
    assert len(keras_finals) == len(want)
    for got, expected in zip(keras_finals, want):
        np.testing.assert_allclose(got, expected, atol=ATOL)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("name", sorted(names(CONVERTIBLE)))
def test_to_keras_computes_the_same_outputs_and_states(name, seed):
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(1, 6))
    cell = built_random(BY_NAME[name].make(), depth, rng)
    keras_cell = tfrnn.to_keras(cell)
    assert type(keras_cell) is KERAS_CLASS[type(cell)]
    x = rng.normal(size=(3, 4, depth)).astype("float32")
    assert_same_numbers(cell, keras_cell, x, random_state(cell, 3, rng))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("name", sorted(set(names(CONVERTIBLE)) - {"multi_convertible"}))
def test_from_keras_of_to_keras_gives_back_the_weights(name, seed):
    rng = np.random.default_rng(seed)
    cell = built_random(BY_NAME[name].make(), 3, rng)
    forget_bias = getattr(_cells(cell)[0], "forget_bias", 1.0)
    back = tfrnn.from_keras(tfrnn.to_keras(cell), forget_bias=forget_bias)
    original, returned = tfrnn.tf1_variable_names(cell), tfrnn.tf1_variable_names(back)
    # LSTMCell comes back for BasicLSTMCell: same weights, scope `lstm_cell`.
    assert list(returned) == [name.replace("basic_lstm_cell", "lstm_cell") for name in original]
    for (name_a, a), b in zip(original.items(), returned.values()):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), atol=1e-6, err_msg=name_a)


def test_round_trip_with_mixed_forget_biases_keeps_the_function():
    """One `forget_bias` comes back for every layer; the bias absorbs the difference."""
    rng = np.random.default_rng(7)
    cell = built_random(BY_NAME["multi_convertible"].make(), 3, rng)
    back = tfrnn.from_keras(tfrnn.to_keras(cell))
    assert {c.forget_bias for c in _cells(back) if hasattr(c, "forget_bias")} == {1.0}
    x, state = rng.normal(size=(2, 4, 3)).astype("float32"), random_state(cell, 2, rng)
    for got, want in zip(unroll(back, x, state)[1], unroll(cell, x, state)[1]):
        np.testing.assert_allclose(got, want, atol=ATOL)


def _cells(cell):
    return cell.cells if isinstance(cell, tfrnn.MultiRNNCell) else [cell]


KERAS_CELLS = {
    "simple_rnn": lambda: keras.layers.SimpleRNNCell(4),
    "simple_rnn_no_bias_relu": lambda: keras.layers.SimpleRNNCell(3, use_bias=False, activation="relu"),
    "lstm": lambda: keras.layers.LSTMCell(4),
    "lstm_no_bias_softsign": lambda: keras.layers.LSTMCell(3, use_bias=False, activation="softsign"),
    "gru": lambda: keras.layers.GRUCell(4, reset_after=False),
    "stacked": lambda: keras.layers.StackedRNNCells(
        [keras.layers.LSTMCell(3), keras.layers.GRUCell(2, reset_after=False), keras.layers.SimpleRNNCell(4)]
    ),
}


@pytest.mark.parametrize("forget_bias", [1.0, 0.0, 2.5])
@pytest.mark.parametrize("name", sorted(KERAS_CELLS))
def test_from_keras_computes_the_same_outputs_and_states(name, forget_bias):
    rng = np.random.default_rng(int(forget_bias * 10))
    depth = 4
    keras_cell = KERAS_CELLS[name]()
    keras_cell.build((None, depth))
    for weight in keras_cell.weights:
        weight.assign(rng.uniform(-0.8, 0.8, tuple(weight.shape)).astype("float32"))
    cell = tfrnn.from_keras(keras_cell, forget_bias=forget_bias)
    x = rng.normal(size=(2, 5, depth)).astype("float32")
    assert_same_numbers(cell, keras_cell, x, random_state(cell, 2, rng))


def test_from_keras_names_are_tf1_defaults_whatever_keras_called_the_cells():
    stacked = keras.layers.StackedRNNCells([keras.layers.LSTMCell(2, name="enc"), keras.layers.SimpleRNNCell(2)])
    stacked.build((None, 3))
    assert {n: tuple(v.shape) for n, v in tfrnn.tf1_variable_names(tfrnn.from_keras(stacked)).items()} == {
        "rnn/multi_rnn_cell/cell_0/lstm_cell/kernel": (5, 8), "rnn/multi_rnn_cell/cell_0/lstm_cell/bias": (8,),
        "rnn/multi_rnn_cell/cell_1/basic_rnn_cell/kernel": (4, 2), "rnn/multi_rnn_cell/cell_1/basic_rnn_cell/bias": (2,),
    }


def test_keras_one_cell_stack_returns_its_state_unnested():
    """A Keras quirk users meet after to_keras(MultiRNNCell([one cell])): re-nest by hand."""
    stacked = tfrnn.to_keras(built_random(tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(3)]), 2, np.random.default_rng(0)))
    state = stacked.get_initial_state(batch_size=2)
    _, new_state = stacked(np.ones((2, 2), "float32"), state)
    assert [len(state), len(state[0])] == [1, 2] and len(new_state) == 2  # [[h, c]] in, [h, c] out


def test_keras_lstm_bias_holds_tf1s_forget_bias():
    cell = built_random(tfrnn.BasicLSTMCell(2, forget_bias=1.5), 1, np.random.default_rng(0))
    cell.bias.assign(np.zeros(8, "float32"))
    # Keras blocks i, f, c, o: the forget block carries TF1's run-time forget_bias.
    np.testing.assert_array_equal(np.asarray(tfrnn.to_keras(cell).bias), [0, 0, 1.5, 1.5, 0, 0, 0, 0])


def test_converted_cells_share_no_variables():
    cell = built_random(tfrnn.GRUCell(2), 2, np.random.default_rng(0))
    keras_cell = tfrnn.to_keras(cell)
    before = np.asarray(cell.gates.kernel).copy()
    for weight in keras_cell.weights:
        weight.assign(np.zeros(weight.shape, "float32"))
    np.testing.assert_array_equal(np.asarray(cell.gates.kernel), before)


def test_keras_rnn_layer_with_the_converted_cell_reproduces_tf1_goldens():
    """TF1 wrote the checkpoint and the outputs: tfrnn loads it, Keras runs it."""
    golden = np.load(GOLDEN / "basic_lstm_fb2p5_relu.npz")
    cell = tfrnn.BasicLSTMCell(4, forget_bias=2.5, activation="relu")
    tfrnn.load_tf1_checkpoint(GOLDEN / "basic_lstm_fb2p5_relu", cell)
    layer = keras.layers.RNN(tfrnn.to_keras(cell), return_sequences=True, return_state=True)
    outputs, h, c = layer(golden["x"], initial_state=[golden["init_1"], golden["init_0"]])
    np.testing.assert_allclose(np.asarray(outputs), golden["outputs"], atol=ATOL)
    np.testing.assert_allclose(np.asarray(c), golden["final_0"], atol=ATOL)
    np.testing.assert_allclose(np.asarray(h), golden["final_1"], atol=ATOL)


def test_multi_golden_through_stacked_rnn_cells():
    golden = np.load(GOLDEN / "multi_same_class.npz")
    cell = tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(4), tfrnn.BasicLSTMCell(4)])
    tfrnn.load_tf1_checkpoint(GOLDEN / "multi_same_class", cell)
    init = [[golden["init_1"], golden["init_0"]], [golden["init_3"], golden["init_2"]]]
    outputs, *states = keras.layers.RNN(tfrnn.to_keras(cell), return_sequences=True, return_state=True)(
        golden["x"], initial_state=init
    )
    np.testing.assert_allclose(np.asarray(outputs), golden["outputs"], atol=ATOL)
    h0, c0, h1, c1 = [np.asarray(s) for s in keras.tree.flatten(states)]
    for got, key in ((c0, "final_0"), (h0, "final_1"), (c1, "final_2"), (h1, "final_3")):
        np.testing.assert_allclose(got, golden[key], atol=ATOL)


@pytest.mark.parametrize("kwargs, named", [
    (dict(use_peepholes=True), "use_peepholes=True"),
    (dict(cell_clip=0.5), "cell_clip=0.5"),
    (dict(num_proj=2), "num_proj=2"),
    (dict(use_peepholes=True, num_proj=2, cell_clip=1.0), "use_peepholes=True, cell_clip=1.0, num_proj=2"),
])
def test_lstm_features_without_keras_equivalent_are_refused(kwargs, named):
    cell = built_random(tfrnn.LSTMCell(4, **kwargs), 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match=f"'lstm_cell' with {named}: Keras 3's LSTMCell has no peepholes.*"
                                         r"Keep the tfrnn cell.*keras.layers.RNN\(cell\)"):
        tfrnn.to_keras(cell)


def test_refusal_inside_a_stack_names_the_layer():
    stack = built_random(tfrnn.MultiRNNCell([tfrnn.GRUCell(2), tfrnn.LSTMCell(3, num_proj=2)]), 2,
                         np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"'multi_rnn_cell' cells\[1\] \('lstm_cell'\) with num_proj=2"):
        tfrnn.to_keras(stack)


def test_unbuilt_cells_are_refused_both_ways():
    with pytest.raises(ValueError, match="needs a built cell.*'gru_cell' has no weights.*load_tf1_checkpoint"):
        tfrnn.to_keras(tfrnn.GRUCell(2))
    with pytest.raises(ValueError, match=r"needs a built Keras cell.*keras_cell.build\(\(None, input_depth\)\)"):
        tfrnn.from_keras(keras.layers.LSTMCell(2))


def test_keras_features_without_tf1_equivalent_are_refused():
    gru = keras.layers.GRUCell(2)  # reset_after=True: Keras 3's default
    gru.build((None, 3))
    with pytest.raises(ValueError, match=r"reset_after=True.*different function.*GRUCell\(units, reset_after=False\)"):
        tfrnn.from_keras(gru)
    hard = keras.layers.LSTMCell(2, recurrent_activation="hard_sigmoid")
    hard.build((None, 3))
    with pytest.raises(ValueError, match="recurrent_activation='hard_sigmoid': TF1's cells always use sigmoid"):
        tfrnn.from_keras(hard)
    dropout = keras.layers.SimpleRNNCell(2, dropout=0.2)
    dropout.build((None, 3))
    with pytest.raises(ValueError, match="dropout=0.2.*keras_cell.dropout = keras_cell.recurrent_dropout = 0.0"):
        tfrnn.from_keras(dropout)
    dropout.dropout = 0.0  # the fix the message gives
    assert isinstance(tfrnn.from_keras(dropout), tfrnn.BasicRNNCell)


@pytest.mark.parametrize("forget_bias, error, says", [
    ("1.0", TypeError, r"forget_bias='1.0' \(of type str\); it expects a number"),
    (True, TypeError, r"forget_bias=True \(of type bool\)"),
    (float("nan"), ValueError, r"forget_bias=nan; it expects a finite number"),
    (-np.inf, ValueError, r"forget_bias=-inf; it expects a finite number"),
])
def test_from_keras_refuses_a_forget_bias_that_is_not_a_finite_number(forget_bias, error, says):
    keras_cell = keras.layers.LSTMCell(2)
    keras_cell.build((None, 3))
    with pytest.raises(error, match=says):
        tfrnn.from_keras(keras_cell, forget_bias=forget_bias)
    assert isinstance(tfrnn.from_keras(keras_cell, forget_bias=np.float32(0.5)), tfrnn.LSTMCell)


def test_other_classes_are_a_type_error_saying_what_converts():
    with pytest.raises(TypeError, match=r"received the layer 'lstm'.*from_keras\(layer.cell\)"):
        tfrnn.from_keras(keras.layers.LSTM(2, name="lstm"))
    with pytest.raises(TypeError, match="of type Dense.*SimpleRNNCell, LSTMCell, GRUCell"):
        tfrnn.from_keras(keras.layers.Dense(2))

    class MyLSTM(tfrnn.BasicLSTMCell):
        pass

    with pytest.raises(TypeError, match="of type MyLSTM.*exact classes"):
        tfrnn.to_keras(built_random(MyLSTM(2), 2, np.random.default_rng(0)))
    with pytest.raises(TypeError, match=r"of type list\..*wrap a stack of cells in tfrnn.MultiRNNCell"):
        tfrnn.to_keras([built_random(tfrnn.GRUCell(2), 2, np.random.default_rng(0))])


def test_converted_keras_cell_saves_and_loads_without_tfrnn(tmp_path):
    cell = built_random(tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(3), tfrnn.GRUCell(2)]), 2, np.random.default_rng(4))
    inputs = keras.Input((None, 2))
    model = keras.Model(inputs, keras.layers.RNN(tfrnn.to_keras(cell), return_sequences=True)(inputs))
    model.save(tmp_path / "native.keras")
    x = np.random.default_rng(5).normal(size=(2, 3, 2)).astype("float32")
    reloaded = keras.models.load_model(tmp_path / "native.keras")  # native classes only: no custom_objects
    want, _ = tfrnn.dynamic_rnn(cell, x, dtype="float32")
    np.testing.assert_allclose(np.asarray(reloaded(x)), np.asarray(want), atol=ATOL)
