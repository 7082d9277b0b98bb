"""TF 1.15's own cell tests, ported: `RNNCellTest` and `DropoutWrapperTest`.

Origin: `tensorflow/python/kernel_tests/rnn_cell_test.py` of TensorFlow 1.15
(branch r1.15), Copyright 2015 The TensorFlow Authors, Apache License 2.0. Since
TF's commit a19d8a38b1 ("Refactor RNN tests", Feb 2019) that file also holds the
core tests of `tensorflow/contrib/rnn/python/kernel_tests/core_rnn_cell_test.py`,
which TF 1.15 no longer has. The loop tests of the same file are ported in
tests/test_tf1_port_rnn_cell_loops.py. Intent and hard-coded numbers are TF's;
the code is ours.

Translation: `tf.nn.rnn_cell.X` -> `tfrnn.X`; a `variable_scope(...,
initializer=constant_initializer(0.5))` -> the cell built by its first call, then
the weights TF1 created without an initializer of their own set to 0.5
(`scope_initializer`: kernels, peepholes, projections; biases keep their
defaults, as in TF1); `sess.run` -> eager values. `state_is_tuple=False` states
(concatenated `[c, h]`) become `LSTMStateTuple`s / tuples of the same values:
tfrnn only has tuple states, by design. TF1's `DropoutWrapper` always dropped;
tfrnn's drops when `training=True`, which the ports pass. Variable names are
TF1's checkpoint names (`tfrnn.tf1_variable_names`, without TF1's `:0`). TF1's
private `_checkpoint_dependencies` become the children a `tf.train.Checkpoint`
records (`trackable_children`).

Left out:
- testDeviceWrapperDynamicExecutionNodesAreAllProperlyLocated: device placement
  read from `RunMetadata` step stats, GPU only (TF returns early without one).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrnn
from tf1_port_support import TF1_CLOSE, call_under_scope_initializer, trackable_children

LSTMStateTuple = tfrnn.LSTMStateTuple


def const(value, dtype=tf.float32):
    return tf.constant(value, dtype)


# RNNCellTest ----------------------------------------------------------------------------


def test_basic_rnn_cell():
    cell = tfrnn.BasicRNNCell(2)
    g, _ = call_under_scope_initializer(cell, const([[1.0, 1.0]]), const([[0.1, 0.1]]))
    names = tfrnn.tf1_variable_names(cell, scope="root")
    assert list(names) == ["root/basic_rnn_cell/kernel", "root/basic_rnn_cell/bias"]
    assert [id(v) for v in cell.trainable_variables] == [id(v) for v in names.values()]
    assert not cell.non_trainable_variables
    assert tuple(g.shape) == (1, 2)


def test_basic_rnn_cell_not_trainable():
    # TF1 made the variables non-trainable with a custom getter; the cell's own flag says it here.
    cell = tfrnn.BasicRNNCell(2, trainable=False)
    g, _ = call_under_scope_initializer(cell, const([[1.0, 1.0]]), const([[0.1, 0.1]]))
    assert not cell.trainable_variables
    names = tfrnn.tf1_variable_names(cell, scope="root")
    assert list(names) == ["root/basic_rnn_cell/kernel", "root/basic_rnn_cell/bias"]
    assert [id(v) for v in cell.non_trainable_variables] == [id(v) for v in names.values()]
    assert tuple(g.shape) == (1, 2)


def test_gru_cell():
    g, _ = call_under_scope_initializer(tfrnn.GRUCell(2), const([[1.0, 1.0]]), const([[0.1, 0.1]]))
    np.testing.assert_allclose(g, [[0.175991, 0.175991]], **TF1_CLOSE)
    # input_size != num_units
    g, _ = call_under_scope_initializer(tfrnn.GRUCell(2), const([[1.0, 1.0, 1.0]]), const([[0.1, 0.1]]))
    np.testing.assert_allclose(g, [[0.156736, 0.156736]], **TF1_CLOSE)


def lstm_state(values, units, dtype):
    """A concatenated TF1 `[c, h]` state, as the `LSTMStateTuple` tfrnn takes."""
    values = np.asarray(values, dtype.as_numpy_dtype)
    return LSTMStateTuple(const(values[:, :units], dtype), const(values[:, units:], dtype))


@pytest.mark.parametrize("dtype", [
    pytest.param(tf.float32, id="float32"),
    pytest.param(tf.float16, id="float16"),
])
def test_basic_lstm_cell(dtype):
    cell = tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(2) for _ in range(2)])
    cell.get_config()  # Should not throw an error
    m = 0.1 * np.ones([1, 8])
    state = (lstm_state(m[:, :4], 2, dtype), lstm_state(m[:, 4:], 2, dtype))
    g, out_m = call_under_scope_initializer(cell, const([[1.0, 1.0]], dtype), state)
    assert cell.dtype == dtype.name  # "Layer infers the input type."
    expected_names = [
        "root/multi_rnn_cell/cell_0/basic_lstm_cell/kernel",
        "root/multi_rnn_cell/cell_0/basic_lstm_cell/bias",
        "root/multi_rnn_cell/cell_1/basic_lstm_cell/kernel",
        "root/multi_rnn_cell/cell_1/basic_lstm_cell/bias",
    ]
    names = tfrnn.tf1_variable_names(cell, scope="root")
    assert list(names) == expected_names
    assert [id(v) for v in cell.trainable_variables] == [id(v) for v in names.values()]
    assert not cell.non_trainable_variables
    assert g.dtype == dtype
    # TF's comment: "The numbers in results were not calculated, this is just a smoke test."
    np.testing.assert_allclose(g, [[0.240, 0.240]], rtol=1e-2, atol=1e-6)
    expected_mem = [[0.689, 0.689, 0.448, 0.448, 0.398, 0.398, 0.240, 0.240]]
    np.testing.assert_allclose(np.concatenate(tf.nest.flatten(out_m), axis=1), expected_mem, rtol=1e-2, atol=1e-6)
    # BasicLSTMCell with input_size != num_units.
    single = tfrnn.BasicLSTMCell(2)
    state = lstm_state(0.1 * np.ones([1, 4]), 2, dtype)
    g, out_m = call_under_scope_initializer(single, const([[1.0, 1.0, 1.0]], dtype), state)
    assert tuple(g.shape) == (1, 2) and [tuple(s.shape) for s in out_m] == [(1, 2), (1, 2)]


def test_basic_lstm_cell_checkpoint_dependencies():
    # testBasicLSTMCell's `cell._checkpoint_dependencies[i].name == "cell-i"`.
    layers = [tfrnn.BasicLSTMCell(2) for _ in range(2)]
    children = trackable_children(tfrnn.MultiRNNCell(layers))
    assert children.get("cell-0") is layers[0] and children.get("cell-1") is layers[1]


def test_basic_lstm_cell_dimension0_error():
    # Dimension 0 of x and of the state must agree: batch 3 against a state of batch 2.
    cell = tfrnn.BasicLSTMCell(2)
    with pytest.raises(ValueError):
        cell(tf.zeros([3, 4]), LSTMStateTuple(tf.zeros([2, 2]), tf.zeros([2, 2])))


def test_basic_lstm_cell_state_size_error():
    # A state of 3 * num_units (here: c and h of 3 where 2 is expected) is refused.
    cell = tfrnn.BasicLSTMCell(2)
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError)):
        cell(tf.ones([3, 4]), LSTMStateTuple(0.1 * tf.ones([3, 3]), 0.1 * tf.ones([3, 3])))


def test_basic_lstm_cell_state_tuple_type():
    x = tf.zeros([1, 2])
    m0 = (tf.zeros([1, 2]),) * 2
    m1 = (tf.zeros([1, 2]),) * 2
    cell = tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(2) for _ in range(2)])
    assert isinstance(cell.state_size, tuple)
    assert isinstance(cell.state_size[0], LSTMStateTuple)
    assert isinstance(cell.state_size[1], LSTMStateTuple)
    # Pass in regular tuples
    _, (out_m0, out_m1) = cell(x, (m0, m1))
    assert isinstance(out_m0, LSTMStateTuple) and isinstance(out_m1, LSTMStateTuple)
    # Pass in LSTMStateTuples
    zero_state = cell.zero_state(1, tf.float32)
    assert isinstance(zero_state, tuple)
    assert isinstance(zero_state[0], LSTMStateTuple) and isinstance(zero_state[1], LSTMStateTuple)
    _, (out_m0, out_m1) = cell(x, zero_state)
    assert isinstance(out_m0, LSTMStateTuple) and isinstance(out_m1, LSTMStateTuple)


def test_basic_lstm_cell_with_state_tuple():
    cell = tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(2) for _ in range(2)])
    state = (lstm_state(0.1 * np.ones([1, 4]), 2, tf.float32),) * 2
    g, (out_m0, out_m1) = call_under_scope_initializer(cell, const([[1.0, 1.0]]), state)
    # "these values should match the original version having state_is_tuple=False."
    np.testing.assert_allclose(g, [[0.24024698, 0.24024698]], **TF1_CLOSE)
    expected_mem0 = [[0.68967271, 0.68967271, 0.44848421, 0.44848421]]
    expected_mem1 = [[0.39897051, 0.39897051, 0.24024698, 0.24024698]]
    np.testing.assert_allclose(np.concatenate(out_m0, 1), expected_mem0, **TF1_CLOSE)
    np.testing.assert_allclose(np.concatenate(out_m1, 1), expected_mem1, **TF1_CLOSE)


def test_lstm_cell():
    num_units, num_proj, batch_size = 8, 6, 3
    cell = tfrnn.LSTMCell(num_units=num_units, num_proj=num_proj, forget_bias=1.0)
    x = const([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    m = lstm_state(0.1 * np.ones((batch_size, num_units + num_proj)), num_units, tf.float32)
    output, state = call_under_scope_initializer(cell, x, m)
    assert tuple(output.shape) == (batch_size, num_proj)
    state = np.concatenate(state, axis=1)
    assert state.shape == (batch_size, num_units + num_proj)
    # Different inputs so different outputs and states
    for i in range(1, batch_size):
        assert float(np.linalg.norm(output[0] - output[i])) > 1e-6
        assert float(np.linalg.norm(state[0] - state[i])) > 1e-6


def test_lstm_cell_variables():
    cell = tfrnn.LSTMCell(num_units=8, num_proj=6, forget_bias=1.0)
    cell(tf.zeros([3, 2]), LSTMStateTuple(tf.zeros([3, 8]), tf.zeros([3, 6])))  # Execute to create variables
    assert list(tfrnn.tf1_variable_names(cell, scope="root")) == [
        "root/lstm_cell/kernel", "root/lstm_cell/bias", "root/lstm_cell/projection/kernel",
    ]


@pytest.mark.parametrize("wrapper_type", [
    tfrnn.DropoutWrapper,
    tfrnn.ResidualWrapper,
    pytest.param(lambda cell: tfrnn.MultiRNNCell([cell]), id="MultiRNNCell"),
])
def test_wrapper_checkpointing(wrapper_type, tmp_path):
    cell = tfrnn.BasicRNNCell(1)
    wrapper = wrapper_type(cell)
    wrapper(tf.ones([1, 1]), wrapper.zero_state(batch_size=1, dtype=tf.float32))
    checkpoint = tf.train.Checkpoint(wrapper=wrapper)
    cell.bias.assign([40.0])
    save_path = checkpoint.save(str(tmp_path / "ckpt"))
    cell.bias.assign([0.0])
    checkpoint.restore(save_path).assert_consumed()
    np.testing.assert_array_equal(cell.bias, [40.0])


def gru_const_half(units=3):
    return tfrnn.GRUCell(units, kernel_initializer=keras.initializers.Constant(0.5),
                         bias_initializer=keras.initializers.Constant(0.5))


def test_residual_wrapper():
    x = tf.convert_to_tensor(np.array([[1.0, 1.0, 1.0]]))  # float64, as in TF
    m = tf.convert_to_tensor(np.array([[0.1, 0.1, 0.1]]))
    base_cell = gru_const_half()
    g, m_new = base_cell(x, m)
    g_res, m_new_res = tfrnn.ResidualWrapper(base_cell)(x, m)
    assert g_res.dtype == tf.float64
    np.testing.assert_allclose(g_res, np.asarray(g) + [1.0, 1.0, 1.0], **TF1_CLOSE)  # residual connections
    np.testing.assert_allclose(m_new, m_new_res, **TF1_CLOSE)  # states are left untouched


def test_residual_wrapper_dependency():
    # testResidualWrapper's `(name, dep), = wrapper_object._checkpoint_dependencies`.
    base_cell = gru_const_half()
    assert list(trackable_children(tfrnn.ResidualWrapper(base_cell)).items()) == [("cell", base_cell)]


def test_residual_wrapper_get_config():
    # testResidualWrapper's `wrapper_object.get_config()  # Should not throw an error`.
    tfrnn.ResidualWrapper(gru_const_half()).get_config()


def test_residual_wrapper_with_slice():
    x = tf.convert_to_tensor(np.array([[1.0, 1.0, 1.0, 1.0, 1.0]]))  # float64, as in TF
    m = tf.convert_to_tensor(np.array([[0.1, 0.1, 0.1]]))
    base_cell = gru_const_half()
    g, m_new = base_cell(x, m)

    def residual_with_slice_fn(inp, out):
        return tf.slice(inp, [0, 0], [-1, 3]) + out

    g_res, m_new_res = tfrnn.ResidualWrapper(base_cell, residual_with_slice_fn)(x, m)
    assert g_res.dtype == tf.float64
    np.testing.assert_allclose(g_res, np.asarray(g) + [1.0, 1.0, 1.0], **TF1_CLOSE)
    np.testing.assert_allclose(m_new, m_new_res, **TF1_CLOSE)


def test_device_wrapper():
    cell = tfrnn.GRUCell(3)
    wrapped_cell = tfrnn.DeviceWrapper(cell, "/cpu:0")
    assert list(trackable_children(wrapped_cell).items()) == [("cell", cell)]
    wrapped_cell.get_config()  # Should not throw an error
    outputs, _ = wrapped_cell(tf.zeros([1, 3]), tf.zeros([1, 3]))
    assert "cpu:0" in outputs.device.lower()


def test_multi_rnn_cell():
    multi_rnn_cell = tfrnn.MultiRNNCell([tfrnn.GRUCell(2) for _ in range(2)])
    _, ml = call_under_scope_initializer(multi_rnn_cell, const([[1.0, 1.0]]), (const([[0.1, 0.1]]),) * 2)
    np.testing.assert_allclose(np.concatenate(ml, 1), [[0.175991, 0.175991, 0.13248, 0.13248]], **TF1_CLOSE)
    assert len(multi_rnn_cell.weights) == 2 * 4
    assert all(w.dtype == "float32" for w in multi_rnn_cell.weights)


def test_multi_rnn_cell_with_state_tuple():
    x = const([[1.0, 1.0]])
    m_good = (const([[0.1, 0.1]]), const([[0.1, 0.1]]))
    _, ml = call_under_scope_initializer(tfrnn.MultiRNNCell([tfrnn.GRUCell(2) for _ in range(2)]), x, m_good)
    # "these numbers should match those of the test testMultiRNNCell."
    np.testing.assert_allclose(ml[0], [[0.175991, 0.175991]], **TF1_CLOSE)
    np.testing.assert_allclose(ml[1], [[0.13248, 0.13248]], **TF1_CLOSE)


def test_multi_rnn_cell_with_state_tuple_error():
    # testMultiRNNCellWithStateTuple's "Test incorrectness of state".
    cell = tfrnn.MultiRNNCell([tfrnn.GRUCell(2) for _ in range(2)])
    with pytest.raises(ValueError, match="Expected state .* a tuple"):
        cell(tf.zeros([1, 2]), tf.zeros([1, 4]))


def round_trip(wrapper_cls, wrapper):
    """TF's `from_config(get_config())`; TF put a cell object into the config to work around
    a Keras import cycle, which tfrnn does not have."""
    config = wrapper.get_config()
    reconstructed_wrapper = wrapper_cls.from_config(config)
    assert isinstance(reconstructed_wrapper, wrapper_cls)
    return config, reconstructed_wrapper


def test_device_wrapper_serialization():
    config, reconstructed = round_trip(tfrnn.DeviceWrapper, tfrnn.DeviceWrapper(tfrnn.LSTMCell(10), "/cpu:0"))
    assert config == reconstructed.get_config()


def test_residual_wrapper_serialization():
    cell = tfrnn.LSTMCell(10)
    config, reconstructed = round_trip(tfrnn.ResidualWrapper, tfrnn.ResidualWrapper(cell))
    assert config == reconstructed.get_config()


def keras_round_trip(wrapper, **kwargs):
    """The wrapper through Keras' own (de)serialization, where `safe_mode` and `custom_objects` apply."""
    return keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(wrapper), **kwargs)


# TF1 serialized any function as bytecode, so lambdas and local functions came back. Keras 3
# brings a lambda back only outside safe mode, and a named function once it is registered
# (here: custom_objects); the ports pass what Keras asks for.


def test_residual_wrapper_serialization_residual_fn():
    cell = tfrnn.LSTMCell(10)
    reconstructed = keras_round_trip(tfrnn.ResidualWrapper(cell, residual_fn=lambda i, o: i + i + o), safe_mode=False)
    # Assert the reconstructed function will perform the math correctly.
    assert reconstructed.residual_fn(1, 2) == 4

    def residual_fn(inputs, outputs):
        return inputs * 3 + outputs

    wrapper = tfrnn.ResidualWrapper(cell, residual_fn=residual_fn)
    reconstructed = keras_round_trip(wrapper, custom_objects={"residual_fn": residual_fn})
    assert reconstructed.residual_fn(1, 2) == 5


def test_dropout_wrapper_serialization():
    config, reconstructed = round_trip(tfrnn.DropoutWrapper, tfrnn.DropoutWrapper(tfrnn.LSTMCell(10)))
    assert config == reconstructed.get_config()


def test_dropout_wrapper_serialization_filter_visitor():
    cell = tfrnn.LSTMCell(10)
    wrapper = tfrnn.DropoutWrapper(cell, dropout_state_filter_visitor=lambda s: True)
    assert keras_round_trip(wrapper, safe_mode=False).dropout_state_filter_visitor(None) is True

    def dropout_state_filter_visitor(unused_state):
        return False

    wrapper = tfrnn.DropoutWrapper(cell, dropout_state_filter_visitor=dropout_state_filter_visitor)
    custom_objects = {"dropout_state_filter_visitor": dropout_state_filter_visitor}
    assert keras_round_trip(wrapper, custom_objects=custom_objects).dropout_state_filter_visitor(None) is False


# DropoutWrapperTest ------------------------------------------------------------------

# TF's numbers for LSTMCell(3) with kernel 0.5 on x = [[2, 2, 2]], [[1, 1, 1]] from c = h = 0.1.
TRUE_FULL_OUTPUT = np.array([[[0.751109, 0.751109, 0.751109]], [[0.895509, 0.895509, 0.895509]]], np.float32)
TRUE_FULL_FINAL_C = np.array([[1.949385, 1.949385, 1.949385]], np.float32)


def dropout_wrapper_run(batch_size=None, time_steps=None, parallel_iterations=None, rng=None, **kwargs):
    """TF's `_testDropoutWrapper`: a wrapped LSTMCell(3) in a time-major dynamic_rnn; `(outputs, state)`."""
    if batch_size is None and time_steps is None:
        # 2 time steps, batch size 1, depth 3
        batch_size, time_steps = 1, 2
        x = const([[[2.0, 2.0, 2.0]], [[1.0, 1.0, 1.0]]])
        m = LSTMStateTuple(*[const([[0.1, 0.1, 0.1]])] * 2)
    else:
        rng = rng or np.random.default_rng(0)
        x = const(rng.standard_normal((time_steps, batch_size, 3)).astype(np.float32))
        m = LSTMStateTuple(*[const([[0.1, 0.1, 0.1]] * batch_size)] * 2)
    lstm = tfrnn.LSTMCell(3, initializer=keras.initializers.Constant(0.5))
    outputs, final_state = tfrnn.dynamic_rnn(
        cell=tfrnn.DropoutWrapper(lstm, dtype=x.dtype, **kwargs), time_major=True,
        parallel_iterations=parallel_iterations, inputs=x, initial_state=m, training=True,
    )
    assert tuple(outputs.shape) == (time_steps, batch_size, 3)
    assert tuple(final_state.c.shape) == (batch_size, 3) and tuple(final_state.h.shape) == (batch_size, 3)
    return np.asarray(outputs), LSTMStateTuple(np.asarray(final_state.c), np.asarray(final_state.h))


def test_dropout_wrapper_properties():
    cell = tfrnn.BasicRNNCell(10)
    wrapper = tfrnn.DropoutWrapper(cell)
    assert wrapper.wrapped_cell is cell
    assert wrapper.state_size == 10
    assert wrapper.output_size == 10


def test_dropout_wrapper_zero_state():
    class _Cell(tfrnn.BasicRNNCell):
        def zero_state(self, batch_size=None, dtype=None):
            return "wrapped_cell_zero_state"

    wrapper = tfrnn.DropoutWrapper(_Cell(10))
    assert wrapper.zero_state(10, tf.float32) == "wrapped_cell_zero_state"


def assert_keeps_all(res):
    np.testing.assert_allclose(res[0], TRUE_FULL_OUTPUT, **TF1_CLOSE)
    np.testing.assert_allclose(res[1].h, TRUE_FULL_OUTPUT[1], **TF1_CLOSE)
    np.testing.assert_allclose(res[1].c, TRUE_FULL_FINAL_C, **TF1_CLOSE)


def test_dropout_wrapper_keep_all_constant_input():
    keep = tf.ones([])
    assert_keeps_all(dropout_wrapper_run(input_keep_prob=keep, output_keep_prob=keep, state_keep_prob=keep))


def test_dropout_wrapper_keep_all():
    keep = tf.Variable(1.0, name="all")
    assert_keeps_all(dropout_wrapper_run(input_keep_prob=keep, output_keep_prob=keep, state_keep_prob=keep))


def test_dropout_wrapper_with_seed():
    keep_some = 0.5
    runs = []
    for _ in range(2):
        tf.random.set_seed(2)
        runs.append(dropout_wrapper_run(
            input_keep_prob=keep_some, output_keep_prob=keep_some, state_keep_prob=keep_some, seed=10,
            parallel_iterations=1,
        ))
    (out_1, state_1), (out_2, state_2) = runs
    np.testing.assert_allclose(out_1, out_2, **TF1_CLOSE)
    np.testing.assert_allclose(state_1.c, state_2.c, **TF1_CLOSE)
    np.testing.assert_allclose(state_1.h, state_2.h, **TF1_CLOSE)


def test_dropout_wrapper_keep_no_output():
    keep_all, keep_none = tf.Variable(1.0, name="all"), tf.Variable(1e-6, name="none")
    res = dropout_wrapper_run(input_keep_prob=keep_all, output_keep_prob=keep_none, state_keep_prob=keep_all)
    np.testing.assert_allclose(res[0], np.zeros(res[0].shape), **TF1_CLOSE)
    np.testing.assert_allclose(res[1].h, TRUE_FULL_OUTPUT[1], **TF1_CLOSE)
    np.testing.assert_allclose(res[1].c, TRUE_FULL_FINAL_C, **TF1_CLOSE)


def test_dropout_wrapper_keep_no_state_except_lstm_cell_memory():
    keep_all, keep_none = tf.Variable(1.0, name="all"), tf.Variable(1e-6, name="none")
    # Even though we dropout state, by default DropoutWrapper never drops out the memory ("c").
    res = dropout_wrapper_run(input_keep_prob=keep_all, output_keep_prob=keep_all, state_keep_prob=keep_none)
    true_c_state = np.array([[1.713925, 1.713925, 1.713925]], np.float32)
    np.testing.assert_allclose(res[0][0], TRUE_FULL_OUTPUT[0], **TF1_CLOSE)
    # Second output is modified by zero input state
    assert np.linalg.norm(TRUE_FULL_OUTPUT[1] - res[0][1]) > 1e-4
    # h state has been set to zero
    np.testing.assert_allclose(res[1].h, np.zeros(res[1].h.shape), **TF1_CLOSE)
    # c state of an LSTMStateTuple is NEVER modified.
    np.testing.assert_allclose(res[1].c, true_c_state, **TF1_CLOSE)


def test_dropout_wrapper_keep_no_input():
    keep_all, keep_none = tf.Variable(1.0, name="all"), tf.Variable(1e-6, name="none")
    # All outputs are different because inputs are zeroed out
    res = dropout_wrapper_run(input_keep_prob=keep_none, output_keep_prob=keep_all, state_keep_prob=keep_all)
    assert np.linalg.norm(res[0] - TRUE_FULL_OUTPUT) > 1e-4
    assert np.linalg.norm(res[1].h - TRUE_FULL_OUTPUT[1]) > 1e-4
    assert np.linalg.norm(res[1].c - TRUE_FULL_FINAL_C) > 1e-4


def test_dropout_wrapper_recurrent_output():
    keep_all = tf.Variable(1.0, name="all")
    res = dropout_wrapper_run(
        input_keep_prob=keep_all, output_keep_prob=0.8, state_keep_prob=keep_all, variational_recurrent=True,
        input_size=3, batch_size=5, time_steps=7,
    )
    # Ensure the same dropout pattern for all time steps
    output_mask = np.abs(res[0]) > 1e-6
    for m in output_mask[1:]:
        np.testing.assert_array_equal(m, output_mask[0])


def assert_variational_masks(res):
    """One output mask for every step and batch row; one state mask for every row."""
    output_mask = np.abs(res[0]) > 1e-6
    for time_step in output_mask:
        np.testing.assert_array_equal(time_step, output_mask[0])  # the same pattern at every step
        for batch_entry in time_step:
            np.testing.assert_array_equal(batch_entry, time_step[0])  # every row gets the same mask
    for part in (res[1].c, res[1].h):
        state_mask = np.abs(part) > 1e-6
        for batch_entry in state_mask:
            np.testing.assert_array_equal(batch_entry, state_mask[0])


def test_dropout_wrapper_recurrent_state_input_and_output():
    keep_some = 0.9
    res = dropout_wrapper_run(
        input_keep_prob=keep_some, output_keep_prob=keep_some, state_keep_prob=keep_some,
        variational_recurrent=True, input_size=3, batch_size=5, time_steps=7,
    )
    assert_variational_masks(res)


def test_dropout_wrapper_recurrent_state_input_and_output_with_seed():
    keep_some = 0.9
    runs = []
    for _ in range(2):
        tf.random.set_seed(2347)
        runs.append(dropout_wrapper_run(
            input_keep_prob=keep_some, output_keep_prob=keep_some, state_keep_prob=keep_some,
            variational_recurrent=True, input_size=3, batch_size=5, time_steps=7, seed=-234987,
            rng=np.random.default_rng(23487),
        ))
    (res0, res1) = runs
    assert_variational_masks(res0)
    # Ensure seeded calculation is identical.
    np.testing.assert_allclose(res0[0], res1[0], **TF1_CLOSE)
    np.testing.assert_allclose(res0[1].c, res1[1].c, **TF1_CLOSE)
    np.testing.assert_allclose(res0[1].h, res1[1].h, **TF1_CLOSE)
