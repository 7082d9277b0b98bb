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
