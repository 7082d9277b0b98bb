"""The RNNCell contract: zero_state, get_initial_state, LSTMStateTuple, TF1 names, unknown batch."""

import importlib
import inspect
import os
import pkgutil
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrnn


def test_zero_state_structure_dtype_and_tensor_batch():
    cell = tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(4), tfrnn.GRUCell(3), tfrnn.LSTMCell(5, num_proj=2)])
    state = cell.zero_state(tf.constant(7), tf.float64)
    assert isinstance(state, tuple) and isinstance(state[0], tfrnn.LSTMStateTuple)
    assert [tuple(s.shape) for s in keras.tree.flatten(state)] == [(7, 4), (7, 4), (7, 3), (7, 5), (7, 2)]
    assert all(s.dtype == tf.float64 and not np.any(np.asarray(s)) for s in keras.tree.flatten(state))


def test_get_initial_state_forms():
    cell = tfrnn.BasicLSTMCell(4)
    assert tuple(cell.get_initial_state(batch_size=3).c.shape) == (3, 4)
    from_inputs = cell.get_initial_state(inputs=tf.zeros((5, 2), tf.float64))
    assert tuple(from_inputs.h.shape) == (5, 4) and from_inputs.h.dtype == tf.float64
    assert cell.get_initial_state(inputs=None, batch_size=2, dtype=tf.float32).c.dtype == tf.float32
    with pytest.raises(ValueError, match="batch size from input tensor is different"):
        cell.get_initial_state(inputs=tf.zeros((5, 2)), batch_size=3)
    with pytest.raises(ValueError, match="needs batch_size"):
        cell.get_initial_state()


def test_lstm_state_tuple_is_c_then_h_with_dtype():
    state = tfrnn.LSTMStateTuple(tf.zeros((1, 2)), tf.ones((1, 2)))
    c, h = state
    assert not np.any(np.asarray(c)) and np.all(np.asarray(h) == 1)
    assert state.dtype == tf.float32
    with pytest.raises(TypeError, match="Inconsistent dtypes"):
        tfrnn.LSTMStateTuple(tf.zeros((1, 2)), tf.zeros((1, 2), tf.float64)).dtype


def test_cells_are_keras_layers_named_like_tf1_scopes():
    names = {
        tfrnn.BasicRNNCell(2): "basic_rnn_cell", tfrnn.BasicLSTMCell(2): "basic_lstm_cell",
        tfrnn.LSTMCell(2): "lstm_cell", tfrnn.GRUCell(2): "gru_cell",
        tfrnn.MultiRNNCell([tfrnn.GRUCell(2)]): "multi_rnn_cell", tfrnn.GRUCell(2, name="enc"): "enc",
    }
    for cell, name in names.items():
        assert isinstance(cell, keras.layers.Layer) and cell.name == name


def test_unknown_batch_in_tf_function_works():
    cell = tfrnn.LSTMCell(3, num_proj=2)
    cell(np.zeros((1, 4), "float32"), cell.zero_state(1, "float32"))

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
    def step(x):
        return cell(x, cell.get_initial_state(inputs=x))[0]

    assert tuple(step(tf.ones((5, 4))).shape) == (5, 2)
    assert tuple(step(tf.ones((2, 4))).shape) == (2, 2)


def tfrnn_function_names():
    """The names of every function and method defined in tfrnn's modules."""
    names = set()
    for module_info in pkgutil.walk_packages(tfrnn.__path__, "tfrnn."):
        if module_info.name.endswith("__main__"):  # the command lines: importing runs them
            continue
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if getattr(value, "__module__", None) != module.__name__:
                continue
            members = vars(value).values() if isinstance(value, type) else [value]
            members = [getattr(m, "__func__", m) for m in members]  # classmethods, staticmethods
            names.update(m.__name__ for m in members if inspect.isfunction(m))
    return names


def public_cells():
    return [
        tfrnn.BasicRNNCell(3), tfrnn.BasicLSTMCell(3), tfrnn.LSTMCell(3, num_proj=2), tfrnn.GRUCell(3),
        tfrnn.LayerNormBasicLSTMCell(3, dropout_keep_prob=0.5), tfrnn.GRUBlockCell(3), tfrnn.LSTMBlockCell(3),
        tfrnn.MultiRNNCell([tfrnn.GRUCell(3), tfrnn.BasicLSTMCell(3)]),
        tfrnn.DropoutWrapper(tfrnn.BasicLSTMCell(3), output_keep_prob=0.5, variational_recurrent=True),
        tfrnn.ResidualWrapper(tfrnn.GRUCell(2)), tfrnn.DeviceWrapper(tfrnn.GRUCell(3), "/cpu:0"),
        tfrnn.OutputProjectionWrapper(tfrnn.GRUCell(3), 4), tfrnn.InputProjectionWrapper(tfrnn.GRUCell(3), 2),
        tfrnn.EmbeddingWrapper(tfrnn.GRUCell(3), 5, 2),
    ]


def test_a_users_tf_function_converts_no_tfrnn_function_and_autograph_warns_nothing(capsys):
    """AutoGraph leaves tfrnn alone: `zero_state`, `get_initial_state`, `__call__`, `call`, ...

    Before, a user's `tf.function` converted them and everything they call, and
    `reset_recurrent_dropout_mask` (a docstring-only body, which AutoGraph cannot
    parse) printed its "Please report this to the TensorFlow team" warning. Every
    converted call is logged at verbosity 3 as `tf__<name>`, cached or not.
    """
    cells = public_cells()

    def user_function(x, ids):
        outputs = []
        for cell in cells:
            depth = 2 if isinstance(cell, tfrnn.ResidualWrapper) else 4
            inputs = ids if isinstance(cell, tfrnn.EmbeddingWrapper) else x[:, :depth]
            state = cell.zero_state(2, tf.float32)
            cell.get_initial_state(batch_size=2, dtype=tf.float32)
            cell.reset_dropout_mask()
            outputs.append(cell(inputs, state, training=True)[0])
            outputs.append(cell.call(inputs, state, training=True)[0])
        return outputs

    tf.autograph.set_verbosity(3, alsologtostdout=True)
    try:
        tf.function(user_function)(tf.ones([2, 4]), tf.constant([[1], [2]]))
    finally:
        tf.autograph.set_verbosity(int(os.environ.get("AUTOGRAPH_VERBOSITY", 0)), alsologtostdout=False)
    log = capsys.readouterr().out
    assert "tf__user_function" in log  # the log was on: the user's function was converted
    converted = set(re.findall(r"\btf__(\w+)", log)) - {"user_function"}
    assert not converted & tfrnn_function_names()
    assert "could not transform" not in log and "Please report this" not in log


# Issue 24: TF1's get_initial_state order, dtype from inputs, configs, error phrases, state across batches.


def test_get_initial_state_takes_tf1_order_keras_int_first_and_tf1_errors():
    cell = tfrnn.BasicRNNCell(5)
    x = tf.zeros((3, 2), tf.float64)
    assert cell.get_initial_state(None, 4, tf.float64).dtype == tf.float64  # TF1: (inputs, batch_size, dtype)
    assert tuple(cell.get_initial_state(x).shape) == (3, 5) and cell.get_initial_state(x).dtype == tf.float64
    assert tuple(cell.get_initial_state(32).shape) == (32, 5)  # Keras' habit: a batch size first
    assert cell.get_initial_state(tf.constant(2), tf.float16).dtype == tf.float16
    with pytest.raises(ValueError, match="batch_size and dtype cannot be None"):
        cell.get_initial_state(None, None, None)
    with pytest.raises(ValueError, match="batch size from input tensor is different from"):
        cell.get_initial_state(x, 4)

    @tf.function(input_signature=[tf.TensorSpec((None, 2))])
    def unknown_batch(inputs):  # TF1: an unknown static batch differs from 50
        return cell.get_initial_state(inputs=inputs, batch_size=50)

    with pytest.raises(ValueError, match="batch size from input tensor is different from"):
        unknown_batch.get_concrete_function()


def test_cell_takes_float64_and_float16_from_tensor_inputs_as_tf1_did():
    cell = tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(2), tfrnn.GRUCell(3)])
    output, state = cell(tf.ones((1, 4), tf.float64), cell.zero_state(1, tf.float64))
    assert cell.dtype == "float64" and output.dtype == tf.float64
    assert {w.dtype for w in cell.weights} == {"float64"}  # the layers too
    half = tfrnn.BasicRNNCell(2)
    assert half(tf.ones((1, 3), tf.float16), tf.zeros((1, 2), tf.float16))[0].dtype == tf.float16
    outputs, _ = tfrnn.dynamic_rnn(tfrnn.GRUCell(3), tf.ones((2, 4, 5), tf.float64), dtype=tf.float64)
    assert outputs.dtype == tf.float64


def test_dtype_from_inputs_only_without_a_chosen_dtype_and_not_for_numpy_or_keras_rnn():
    given = tfrnn.BasicRNNCell(2, dtype="float32")
    assert given(tf.ones((1, 3), tf.float64), tf.zeros((1, 2), tf.float64))[0].dtype == tf.float32
    numpy_inputs = tfrnn.BasicRNNCell(2)  # NumPy's float64 default: Keras casts, as for its own layers
    assert numpy_inputs(np.ones((1, 3)), np.zeros((1, 2), "float32"))[0].dtype == tf.float32
    in_keras = tfrnn.GRUCell(3)
    assert keras.layers.RNN(in_keras)(tf.ones((2, 4, 5), tf.float64)).dtype == tf.float32
    assert in_keras.dtype == "float32"
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        mixed = tfrnn.GRUCell(3)
        mixed(tf.ones((1, 5), tf.float64), tf.zeros((1, 3), tf.float16))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert mixed.variable_dtype == "float32" and mixed.compute_dtype == "float16"


@pytest.mark.parametrize("make", [
    lambda: tfrnn.BasicRNNCell(3, activation=tf.nn.relu, dtype=tf.float32),
    lambda: tfrnn.BasicLSTMCell(3, dtype=tf.float64),
    lambda: tfrnn.LSTMCell(3, initializer=keras.initializers.Constant(0.5), num_proj=2, dtype=np.float32),
    lambda: tfrnn.GRUCell(3, kernel_initializer=keras.initializers.Constant(0.5), bias_initializer="ones"),
    lambda: tfrnn.LSTMBlockCell(3, dtype=tf.float32),
    lambda: tfrnn.ResidualWrapper(tfrnn.GRUCell(3, kernel_initializer=keras.initializers.Orthogonal(seed=1))),
])
def test_config_round_trips_with_initializer_and_dtype_objects(make):
    cell = make()
    config = cell.get_config()
    clone = type(cell).from_config(config)
    assert clone.get_config() == config and clone.dtype_policy.name == cell.dtype_policy.name
    x = tf.ones((2, 3), cell.compute_dtype)
    state = cell.zero_state(2, cell.compute_dtype)
    cell(x, state), clone(x, state)
    clone.set_weights(cell.get_weights())
    np.testing.assert_allclose(np.asarray(clone(x, state)[0]), np.asarray(cell(x, state)[0]), atol=1e-6)


def test_config_of_a_cell_following_its_inputs_keeps_following():
    clone = tfrnn.GRUCell.from_config(tfrnn.GRUCell(3).get_config())
    assert clone(tf.ones((1, 2), tf.float64), tf.zeros((1, 3), tf.float64))[0].dtype == tf.float64


def test_state_errors_keep_tf1_phrase():
    cell = tfrnn.MultiRNNCell([tfrnn.GRUCell(2), tfrnn.GRUCell(2)])
    with pytest.raises(ValueError, match=r"Expected state to be a tuple of length 2.*zero_state"):
        cell(tf.zeros([1, 2]), tf.zeros([1, 4]))


def test_state_carried_across_batches_in_a_gradient_tape_loop():
    """MIGRATION.md's recipe (TF1's language model): the final state of a batch starts the next one."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    batch, steps, depth = 4, 6, 3
    x = rng.normal(size=(batch, 2 * steps, depth)).astype("float32")
    y = rng.normal(size=(batch, 2 * steps, 1)).astype("float32")
    cell = tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(8), tfrnn.BasicLSTMCell(8)])
    head = keras.layers.Dense(1)
    optimizer = keras.optimizers.Adam(learning_rate=0.01)

    @tf.function
    def train_step(inputs, targets, state):
        with tf.GradientTape() as tape:
            outputs, final_state = tfrnn.dynamic_rnn(cell, inputs, initial_state=state, training=True)
            loss = tf.reduce_mean((head(outputs) - targets) ** 2)
        variables = cell.trainable_variables + head.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss, final_state

    # Forward only: two chunks carrying the state equal the whole sequence at once.
    whole, _ = tfrnn.dynamic_rnn(cell, x, dtype=tf.float32)
    first, state = tfrnn.dynamic_rnn(cell, x[:, :steps], initial_state=cell.zero_state(batch, tf.float32))
    second, _ = tfrnn.dynamic_rnn(cell, x[:, steps:], initial_state=state)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, atol=1e-5)

    losses, traces = [], []
    for epoch in range(5):
        state = cell.zero_state(batch, tf.float32)  # each epoch starts the sequence anew
        for start in (0, steps):  # batches in order: batch i + 1 continues batch i
            loss, state = train_step(x[:, start:start + steps], y[:, start:start + steps], state)
            losses.append(float(loss))
        traces.append(train_step.experimental_get_tracing_count())
    assert isinstance(state[0], tfrnn.LSTMStateTuple)  # the carried state keeps its TF1 structure
    assert traces[-1] == traces[0]  # no retracing: the state is an argument, not a captured value
    assert losses[-2] + losses[-1] < losses[0] + losses[1]  # the last epoch against the first
