"""TF 1.15's own tests of the RNN loops, ported: `RNNTest` of its rnn module tests.

Origin: `tensorflow/python/kernel_tests/rnn_test.py` of TensorFlow 1.15 (branch
r1.15), Copyright 2015 The TensorFlow Authors, Apache License 2.0. Intent and
numbers are TF's; the code is ours.

Translation: TF1's graph sessions become eager calls; a placeholder with an
unknown batch becomes a `tf.function` whose concrete function is traced for that
shape, where TF checked the static shapes it gave. TF's `GradientDescentOptimizer
(0.001).minimize(loss)` is one `v -= 0.001 * grad` step; `losses.softmax_cross_entropy`
is Keras' categorical cross-entropy from logits; `testing_utils.get_test_data` is
seeded NumPy data of the same shapes. A `tf.train.Saver` checkpoint is written as
`Saver` writes it (`SaveV2` of the TF1 names) and read with `load_tf1_checkpoint`.
The toy cells are TF's: they define `call`, as TF's did.

Left out:
- testRNNCellActsLikeKerasRNNCellInProperScope: `base_layers.keras_style_scope`
  and the variable-scope names of cells inside a Keras `Network` (graph-only
  variable-scope mechanics; Keras 3 has neither).
- The module's benchmarks (`BenchmarkRNN`): not tests.
"""

import gc

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrnn
from tf1_port_support import TF1_CLOSE

SEED = 23489


class Plus1RNNCell(tfrnn.RNNCell):
    """RNN Cell generating (output, new_state) = (input + 1, state + 1)."""

    @property
    def output_size(self):
        return 5

    @property
    def state_size(self):
        return 5

    def call(self, input_, state, scope=None):
        return input_ + 1, state + 1


class ScalarStateRNNCell(tfrnn.RNNCell):
    """(output, new_state) = (input, state + 1), the state an int32 scalar."""

    @property
    def output_size(self):
        return 1

    @property
    def state_size(self):
        return tf.TensorShape([])

    def zero_state(self, batch_size, dtype):
        return tf.zeros([], dtype=tf.int32)

    def call(self, input_, state, scope=None):
        return input_, state + 1


class UnbalancedOutputRNNCell(tfrnn.RNNCell):
    """Outputs a pair of different depths; the state an int32 scalar."""

    @property
    def output_size(self):
        return tf.TensorShape(1), tf.TensorShape(2)

    @property
    def state_size(self):
        return tf.TensorShape([])

    def zero_state(self, batch_size, dtype):
        return tf.zeros([], dtype=tf.int32)

    def call(self, input_, state, scope=None):
        concatenated = tf.concat((input_, input_), axis=-1)
        return (input_, concatenated), state + 1


class TensorArrayStateRNNCell(tfrnn.RNNCell):
    """RNN Cell its state as a TensorArray."""

    @property
    def output_size(self):
        return 1

    @property
    def state_size(self):
        return (tf.TensorShape([]), ())

    def zero_state(self, batch_size, dtype):
        return (tf.zeros([], dtype=tf.int32), tf.TensorArray(dtype=dtype, size=0, dynamic_size=True))

    def call(self, input_, state, scope=None):
        new_array = state[1].write(state[0], input_)
        return input_, (state[0] + 1, new_array)


def test_invalid_sequence_length_shape():
    inputs = [tf.constant(np.ones((3, 4)), tf.float32)]
    with pytest.raises(ValueError, match="must be a vector"):
        tfrnn.dynamic_rnn(Plus1RNNCell(), tf.stack(inputs), dtype=tf.float32, sequence_length=[[4]])


@pytest.mark.parametrize("cell_cls", [tfrnn.BasicRNNCell, tfrnn.GRUCell, tfrnn.BasicLSTMCell, tfrnn.LSTMCell])
def test_invalid_dtype(cell_cls):
    inputs = np.zeros((3, 4, 5), dtype=np.int32)
    with pytest.raises(ValueError, match="RNN cell only supports floating"):
        cell = cell_cls(2, dtype=tf.int32)
        tfrnn.dynamic_rnn(cell, inputs, dtype=tf.int32)


def test_batch_size_from_input():
    cell = Plus1RNNCell()
    # With static batch size
    inputs = np.zeros((3, 4, 5), dtype=np.float32)
    initial_state = np.zeros((3, 5), dtype=np.float32)
    # - Without initial_state
    outputs, state = tfrnn.dynamic_rnn(cell, inputs, dtype=tf.float32)
    assert outputs.shape[0] == 3 and state.shape[0] == 3
    # - With initial_state
    outputs, state = tfrnn.dynamic_rnn(cell, inputs, initial_state=initial_state)
    assert outputs.shape[0] == 3 and state.shape[0] == 3
    # Without static batch size (TF ran this leg in graph mode only)
    without_state = tf.function(lambda x: tfrnn.dynamic_rnn(cell, x, dtype=tf.float32))
    outputs, state = without_state.get_concrete_function(tf.TensorSpec((None, 4, 5))).structured_outputs
    assert outputs.shape[0] is None and state.shape[0] is None
    with_state = tf.function(lambda x, s: tfrnn.dynamic_rnn(cell, x, initial_state=s))
    outputs, state = with_state.get_concrete_function(
        tf.TensorSpec((None, 4, 5)), tf.TensorSpec((None, 5))
    ).structured_outputs
    assert outputs.shape[0] is None and state.shape[0] is None


def test_scalar_state_is_accepted():
    inputs = np.array([[[1], [2], [3], [4]]], dtype=np.float32)
    outputs, state = tfrnn.dynamic_rnn(ScalarStateRNNCell(), inputs, dtype=tf.float32, sequence_length=[4])
    np.testing.assert_array_equal(outputs, [[[1], [2], [3], [4]]])
    np.testing.assert_array_equal(state, 4)


def test_unbalanced_output_is_accepted():
    inputs = np.array([[[1], [2], [3], [4]]], dtype=np.float32)
    outputs, state = tfrnn.dynamic_rnn(UnbalancedOutputRNNCell(), inputs, dtype=tf.float32, sequence_length=[4])
    assert isinstance(outputs, tuple)
    np.testing.assert_array_equal(outputs[0], [[[1], [2], [3], [4]]])
    np.testing.assert_array_equal(outputs[1], [[[1, 1], [2, 2], [3, 3], [4, 4]]])
    np.testing.assert_array_equal(state, 4)


def no_new_pyobjects(f):
    """TF's `assert_no_new_pyobjects_executing_eagerly`: after two warm-up runs, three
    more runs leave no more Python objects behind than there were."""
    gc.disable()
    try:
        f()
        f()
        gc.collect()
        previous_count = len(gc.get_objects())
        for _ in range(3):
            f()
        gc.collect()
        assert len(gc.get_objects()) <= previous_count
    finally:
        gc.enable()


def test_eager_memory():
    inputs = np.array([[[1], [2], [3], [4]]], dtype=np.float32)
    no_new_pyobjects(lambda: tfrnn.dynamic_rnn(
        TensorArrayStateRNNCell(), inputs, dtype=tf.float32, sequence_length=[4]
    ))


def test_tensor_array_state_is_accepted():
    inputs = np.array([[[1], [2], [3], [4]]], dtype=np.float32)
    outputs, state = tfrnn.dynamic_rnn(TensorArrayStateRNNCell(), inputs, dtype=tf.float32, sequence_length=[4])
    state = (state[0], state[1].stack())
    np.testing.assert_array_equal(outputs, [[[1], [2], [3], [4]]])
    np.testing.assert_array_equal(state[0], 4)
    np.testing.assert_array_equal(state[1], [[[1]], [[2]], [[3]], [[4]]])


def test_cell_get_initial_state():
    cell = tfrnn.BasicRNNCell(5)
    with pytest.raises(ValueError, match="batch_size and dtype cannot be None"):
        cell.get_initial_state(None, None, None)

    @tf.function
    def traced(inputs):
        with pytest.raises(ValueError, match="batch size from input tensor is different from"):
            cell.get_initial_state(inputs=inputs, batch_size=50, dtype=None)
        with pytest.raises(ValueError, match="batch size from input tensor is different from"):
            cell.get_initial_state(inputs=inputs, batch_size=tf.constant(50), dtype=None)
        with pytest.raises(ValueError, match="dtype from input tensor is different from"):
            cell.get_initial_state(inputs=inputs, batch_size=None, dtype=tf.int16)
        from_inputs = cell.get_initial_state(inputs=inputs, batch_size=None, dtype=None)
        # TF1's positional order: (inputs, batch_size, dtype).
        positional = cell.get_initial_state(None, tf.shape(inputs)[0], inputs.dtype)
        return from_inputs, positional

    for initial_state in traced.get_concrete_function(tf.TensorSpec((None, 4, 1))).structured_outputs:
        assert initial_state.shape.as_list() == [None, 5]
        assert initial_state.dtype == tf.float32


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("cell_class", [tfrnn.BasicRNNCell, tfrnn.BasicLSTMCell, tfrnn.GRUCell, tfrnn.LSTMCell])
def test_cells_build(cell_class, dtype):
    batch_size, in_size, out_size = 5, 7, 3
    cell = cell_class(out_size, dtype=dtype)
    in_shape = tf.TensorShape((batch_size, in_size))
    cell.build(in_shape)
    state_output = cell.get_initial_state(inputs=None, batch_size=batch_size, dtype=dtype)
    cell_output, _ = cell(tf.zeros(in_shape, dtype), state_output)
    assert cell_output.shape.as_list() == [batch_size, out_size]


def get_test_data(batch, timestep, input_shape, num_classes, seed=SEED):
    """Like Keras' `testing_utils.get_test_data`: class-dependent Gaussian inputs, one-hot labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, size=batch)
    templates = 2 * num_classes * rng.random((num_classes, timestep, input_shape))
    x = (templates[labels] + rng.standard_normal((batch, timestep, input_shape))).astype(np.float32)
    return x, keras.utils.to_categorical(labels, num_classes).astype(np.float32)


def train_one_step(cell, run_loop, state_for_loss, input_spec, output_shape=5):
    """Traces TF's graph (the loop, a softmax cross-entropy on part of the state, one SGD
    step of 0.001) for an unknown batch; returns its concrete function."""
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(inputs, predict):
        with tf.GradientTape() as tape:
            outputs, state = run_loop(inputs)
            loss = loss_fn(predict, state_for_loss(state))
        variables = cell.trainable_variables
        for variable, grad in zip(variables, tape.gradient(loss, variables)):
            variable.assign_sub(0.001 * grad)
        return outputs, state

    return step.get_concrete_function(input_spec, tf.TensorSpec((None, output_shape)))


def keras_cell_in_dynamic_rnn(cell, state_for_loss, timestep=4, input_shape=10, batch=100):
    x_train, y_train = get_test_data(batch, timestep, input_shape, 5)
    step = train_one_step(
        cell, lambda inputs: tfrnn.dynamic_rnn(cell, inputs, dtype=tf.float32), state_for_loss,
        tf.TensorSpec((None, timestep, input_shape)),
    )
    symbolic = step.structured_outputs
    assert symbolic[0].shape.as_list() == [None, timestep, 5]
    values = step(tf.constant(x_train), tf.constant(y_train))
    assert len(values[0]) == batch
    return symbolic[1], values[1]


def test_rnn_with_keras_simple_rnn_cell():
    state, value = keras_cell_in_dynamic_rnn(keras.layers.SimpleRNNCell(5), lambda s: s)
    assert state.shape.as_list() == [None, 5]
    assert len(value) == 100


def test_rnn_with_keras_gru_cell():
    state, value = keras_cell_in_dynamic_rnn(keras.layers.GRUCell(5), lambda s: s)
    assert state.shape.as_list() == [None, 5]
    assert len(value) == 100


def test_rnn_with_keras_lstm_cell():
    state, value = keras_cell_in_dynamic_rnn(keras.layers.LSTMCell(5), lambda s: s[0])
    assert len(state) == 2
    assert state[0].shape.as_list() == [None, 5] and state[1].shape.as_list() == [None, 5]
    assert len(value) == 2 and len(value[0]) == 100 and len(value[1]) == 100


def test_rnn_with_stack_keras_cell():
    cell = keras.layers.StackedRNNCells([keras.layers.LSTMCell(2 * 5), keras.layers.LSTMCell(5)])
    state, value = keras_cell_in_dynamic_rnn(cell, lambda s: tf.nest.flatten(s)[2])
    assert len(state) == 2
    state = tf.nest.flatten(state)
    assert len(state) == 4
    assert [s.shape.as_list() for s in state] == [[None, 10], [None, 10], [None, 5], [None, 5]]
    assert len(tf.nest.flatten(value)) == 4
    assert all(len(s) == 100 for s in tf.nest.flatten(value))


def test_static_rnn_with_keras_simple_rnn_cell():
    input_shape, timestep, batch = 10, 4, 100
    x_train, y_train = get_test_data(batch, timestep, input_shape, 5)
    cell = keras.layers.SimpleRNNCell(5)
    step = train_one_step(
        cell, lambda inputs: tfrnn.static_rnn(cell, tf.unstack(inputs, timestep, axis=1), dtype=tf.float32),
        lambda s: s, tf.TensorSpec((None, timestep, input_shape)),
    )
    outputs, state = step.structured_outputs
    assert len(outputs) == timestep
    assert outputs[0].shape.as_list() == [None, 5]
    assert state.shape.as_list() == [None, 5]
    outputs, state = step(tf.constant(x_train), tf.constant(y_train))
    assert len(outputs) == timestep and len(outputs[0]) == batch
    assert len(state) == batch


def test_keras_and_tf_rnn_layer_output_comparison():
    input_shape, output_shape, timestep, batch = 10, 5, 4, 20
    x_train, _ = get_test_data(batch, timestep, input_shape, output_shape)
    fix_weights_generator = keras.layers.SimpleRNNCell(output_shape)
    fix_weights_generator.build((None, input_shape))
    weights = fix_weights_generator.get_weights()
    cell = keras.layers.SimpleRNNCell(output_shape)
    cell.build((None, input_shape))
    cell.set_weights(weights)
    tf_out, tf_state = tfrnn.dynamic_rnn(cell, x_train, dtype=tf.float32)
    cell = keras.layers.SimpleRNNCell(output_shape)
    layer = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    layer.build((None, timestep, input_shape))
    cell.set_weights(weights)
    k_out, k_state = layer(x_train)
    np.testing.assert_allclose(tf_out, k_out, **TF1_CLOSE)
    np.testing.assert_allclose(tf_state, k_state, **TF1_CLOSE)


def test_simple_rnn_cell_and_basic_rnn_cell_comparison():
    input_shape, output_shape, timestep, batch = 10, 5, 4, 20
    x_train, _ = get_test_data(batch, timestep, input_shape, output_shape)
    fix_weights_generator = keras.layers.SimpleRNNCell(output_shape)
    fix_weights_generator.build((None, input_shape))
    # SimpleRNNCell has kernel, recurrent_kernel and bias; BasicRNNCell has kernel and bias,
    # its kernel being [kernel; recurrent_kernel].
    keras_weights = fix_weights_generator.get_weights()
    kernel, recurrent_kernel, bias = keras_weights
    tf_weights = [np.concatenate((kernel, recurrent_kernel)), bias]
    cell = keras.layers.SimpleRNNCell(output_shape)
    cell.build((None, input_shape))
    cell.set_weights(keras_weights)
    k_out, k_state = tfrnn.dynamic_rnn(cell, x_train, dtype=tf.float32)
    cell = tfrnn.BasicRNNCell(output_shape)
    cell.build((None, input_shape))
    cell.set_weights(tf_weights)
    tf_out, tf_state = tfrnn.dynamic_rnn(cell, x_train, dtype=tf.float32)
    np.testing.assert_allclose(tf_out, k_out, atol=1e-5, rtol=1e-6)
    np.testing.assert_allclose(tf_state, k_state, atol=1e-5, rtol=1e-6)


def test_basic_lstm_cell_interchange_with_lstm_cell(tmp_path):
    basic_cell = tfrnn.BasicLSTMCell(1)
    basic_cell(tf.ones([1, 1]), state=basic_cell.get_initial_state(inputs=None, batch_size=1, dtype=tf.float32))
    basic_cell.bias.assign([10.0] * 4)
    # tf.train.Saver().save: every variable under its TF1 name (no scope: the cell was called directly).
    values = {name: np.asarray(v) for name, v in tfrnn.tf1_variable_names(basic_cell, scope="").items()}
    prefix = str(tmp_path / "ckpt")
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=list(values), shape_and_slices=[""] * len(values),
                      tensors=list(values.values()))
    lstm_cell = tfrnn.LSTMCell(1, name="basic_lstm_cell")
    lstm_cell(tf.ones([1, 1]), state=lstm_cell.get_initial_state(inputs=None, batch_size=1, dtype=tf.float32))
    tfrnn.load_tf1_checkpoint(prefix, lstm_cell, scope="")  # tf.train.Saver().restore
    np.testing.assert_array_equal(lstm_cell.bias, [10.0] * 4)


@pytest.mark.parametrize("make_cell", [
    pytest.param(lambda: tfrnn.LSTMCell(32, use_peepholes=True, cell_clip=True), id="LSTMCell"),
    pytest.param(lambda: tfrnn.BasicLSTMCell(32, dtype=tf.float32), id="BasicLSTMCell"),
    pytest.param(lambda: tfrnn.BasicRNNCell(32, activation="relu", dtype=tf.float32), id="BasicRNNCell"),
    pytest.param(lambda: tfrnn.GRUCell(32, dtype=tf.float32), id="GRUCell"),
])
def test_rnn_cell_serialization(make_cell):
    x = keras.Input((None, 5))
    layer = keras.layers.RNN(make_cell())
    model = keras.models.Model(x, layer(x))
    model.compile(optimizer="rmsprop", loss="mse")
    x_np = np.random.default_rng(SEED).random((6, 5, 5)).astype(np.float32)
    y_np = model(x_np)
    weights = model.get_weights()
    config = layer.get_config()
    # TF passed its cells as custom objects: rnn_cell_impl was not visible to Keras, and its
    # names clash with keras.LSTMCell and GRUCell.
    layer = keras.layers.RNN.from_config(config, custom_objects={
        "BasicRNNCell": tfrnn.BasicRNNCell, "GRUCell": tfrnn.GRUCell,
        "LSTMCell": tfrnn.LSTMCell, "BasicLSTMCell": tfrnn.BasicLSTMCell,
    })
    model = keras.models.Model(x, layer(x))
    model.set_weights(weights)
    np.testing.assert_allclose(y_np, model(x_np), atol=1e-4, rtol=1e-6)
