"""TF 1.15's own loop tests from its cell-test file, ported: `static_rnn`, `dynamic_rnn`,
the bidirectional loops and `raw_rnn` over TF1-style cells.

Origin: `tensorflow/python/kernel_tests/rnn_cell_test.py` of TensorFlow 1.15
(branch r1.15), Copyright 2015 The TensorFlow Authors, Apache License 2.0: its
classes `RNNTest`, `LSTMTest`, `BidirectionalRNNTest`, `MultiDimensionalLSTMTest`,
`NestedLSTMTest`, `StateSaverRNNTest`, `GRUTest`, `RawRNNTest` and
`TensorArrayOnCorrectDeviceTest` (until TF's commit a19d8a38b1, Feb 2019, they were
`tensorflow/contrib/rnn/python/kernel_tests/core_rnn_test.py`, which TF 1.15 no
longer has). Its cell tests are in tests/test_tf1_port_rnn_cell.py. Intent and
numbers are TF's; the code is ours.

Translation: TF1's graph sessions become eager calls; a placeholder with an
unknown dimension becomes a `tf.function` input signature with that dimension
None, where TF checked the static shapes it gave. TF fed one placeholder that
every step shared (`max_length * [placeholder]`): every step gets the same
input here too. TF's seeded `random_uniform_initializer(-0.01, 0.01, seed)`
becomes a seeded Keras `RandomUniform`, which gives cells made with it equal
weights, as TF's op seed did. `state_is_tuple=False` cells become tuple-state
cells (tfrnn has only those, by design); TF's concatenated states are compared
as `np.hstack` of the tuple. `LSTMCell(num_units, input_size, ...)` in TF passed
`input_size` into `use_peepholes` (a truthy 5): the ports say
`use_peepholes=True`. TF's graph-mode gradient comparisons are made with a
`tf.GradientTape`. The toy cells are TF's: they override `__call__`, as TF's did.

Left out:
- testScope, testBidirectionalRNNScope, testBidirectionalDynamicRNNScope,
  testDynamicScope, testRawRNNScope, testStateSaverRNNScope: which variable
  scope a loop creates its variables in (graph-only `variable_scope` mechanics;
  TF1 names are tested through `tf1_variable_names` in
  tests/test_tf1_port_rnn_cell.py).
- testSharingWeightsWithReuse, testSharingWeightsWithDifferentNamescope:
  `variable_scope(reuse=True)` and `name_scope` weight sharing (graph-only).
- testNoProjNoShardingSimpleStateSaver, testNoProjNoShardingTupleStateSaver,
  testNoProjNoShardingNestedTupleStateSaver, testStateSaverCallsSaveState:
  `static_state_saving_rnn`, which tfrnn does not implement (the last is also
  skipped in TF 1.15 itself, b/124196246). For the same reason the state-saving
  leg of testMultiDimensionalLSTMAllRNNContainers and
  testNestedIOLSTMAllRNNContainers is not ported; their other loops are.
- testProjSharding, testShardNoShardEquivalentOutput: `num_unit_shards` /
  `num_proj_shards` variable sharding, which tfrnn refuses by design (a
  `ValueError` that says to drop it). testDoubleInput and
  testDoubleInputWithDropoutAndDynamicCalculation pass shards incidentally;
  they are ported without them.
- _testStateTupleWithProjAndSequenceLength: disabled in TF (no `test` prefix).
- testRNNOnCPUCellOnGPU, testRNNOnCPUCellOnCPU, testInputOnGPUCellNotDeclared:
  TensorArray device placement read from `RunMetadata` step stats, GPU only.
"""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrnn
from tf1_port_support import TF1_CLOSE, keras_seed, trackable_children

SEED = 23489


class Plus1RNNCell(tfrnn.RNNCell):
    """RNN Cell generating (output, new_state) = (input + 1, state + 1)."""

    @property
    def output_size(self):
        return 5

    @property
    def state_size(self):
        return 5

    def __call__(self, input_, state, scope=None):
        return input_ + 1, state + 1


class DummyMultiDimensionalLSTM(tfrnn.RNNCell):
    """LSTM Cell generating (output, new_state) = (input + 1, state + 1).

    The input may have any number of dimensions after 'Time' and 'Batch'.
    """

    def __init__(self, dims):
        super().__init__()
        if not isinstance(dims, tuple):
            raise TypeError("The dimensions passed to DummyMultiDimensionalLSTM should be a tuple of ints.")
        self._dims = dims
        self._output_size = tf.TensorShape(self._dims)
        self._state_size = (tf.TensorShape(self._dims), tf.TensorShape(self._dims))

    @property
    def output_size(self):
        return self._output_size

    @property
    def state_size(self):
        return self._state_size

    def __call__(self, input_, state, scope=None):
        h, c = state
        return input_ + 1, (h + 1, c + 1)


class NestedRNNCell(tfrnn.RNNCell):
    """(output, new_state) = (input + 1, state + 1); input, output and state are pairs."""

    @property
    def output_size(self):
        return (5, 5)

    @property
    def state_size(self):
        return (6, 6)

    def __call__(self, input_, state, scope=None):
        h, c = state
        x, y = input_
        return (x + 1, y + 1), (h + 1, c + 1)


def randn(*shape, seed=SEED):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# RNNTest --------------------------------------------------------------------------------


def test_invalid_sequence_length_shape():
    inputs = [tf.zeros((3, 4))]
    with pytest.raises(ValueError, match="must be a vector"):
        tfrnn.static_rnn(Plus1RNNCell(), inputs, dtype=tf.float32, sequence_length=4)


def test_rnn():
    batch_size, input_size, max_length = 2, 5, 8
    input_value = randn(batch_size, input_size)
    inputs = max_length * [tf.constant(input_value)]
    outputs, state = tfrnn.static_rnn(Plus1RNNCell(), inputs, dtype=tf.float32)
    assert len(outputs) == len(inputs)
    for out, inp in zip(outputs, inputs):
        assert out.shape == inp.shape and out.dtype == inp.dtype
    for v in outputs:
        np.testing.assert_allclose(v, input_value + 1.0, **TF1_CLOSE)
    np.testing.assert_allclose(state, max_length * np.ones((batch_size, input_size), np.float32), **TF1_CLOSE)


def test_dropout():
    cell = Plus1RNNCell()
    full_dropout_cell = tfrnn.DropoutWrapper(cell, input_keep_prob=1e-6, seed=0)
    assert trackable_children(full_dropout_cell)["cell"] is cell  # exactly one: test_dropout_dependencies
    batch_size, input_size, max_length = 2, 5, 8
    input_value = randn(batch_size, input_size)
    inputs = max_length * [tf.constant(input_value)]
    outputs, state = tfrnn.static_rnn(cell, inputs, dtype=tf.float32)
    dropped_outputs, _ = tfrnn.static_rnn(full_dropout_cell, inputs, dtype=tf.float32, training=True)
    assert len(outputs) == len(inputs)
    for out, inp in zip(outputs, inputs):
        assert out.shape.as_list() == inp.shape.as_list() and out.dtype == inp.dtype
    for v in outputs:
        np.testing.assert_allclose(v, input_value + 1.0, **TF1_CLOSE)
    for d_v in dropped_outputs[:-1]:  # Add 1.0 to dropped_out (all zeros)
        np.testing.assert_allclose(d_v, np.ones_like(input_value), **TF1_CLOSE)


def test_dropout_dependencies():
    # testDropout's `(name, dep), = full_dropout_cell._checkpoint_dependencies`: one, the cell.
    cell = Plus1RNNCell()
    full_dropout_cell = tfrnn.DropoutWrapper(cell, input_keep_prob=1e-6, seed=0)
    assert list(trackable_children(full_dropout_cell).items()) == [("cell", cell)]


def test_dynamic_calculation():
    batch_size, input_size, max_length = 2, 5, 8
    input_value = randn(batch_size, input_size)
    inputs = max_length * [tf.constant(input_value)]
    sequence_length = tf.constant([2, 3], tf.int64)
    dynamic_outputs, dynamic_state = tfrnn.static_rnn(
        Plus1RNNCell(), inputs, sequence_length=sequence_length, dtype=tf.float32
    )
    assert len(dynamic_outputs) == len(inputs)
    # outputs are fully calculated for t = 0, 1
    for v in dynamic_outputs[:2]:
        np.testing.assert_allclose(v, input_value + 1.0, **TF1_CLOSE)
    # outputs at t = 2 are zero for entry 0, calculated for entry 1
    np.testing.assert_allclose(
        dynamic_outputs[2], np.vstack((np.zeros(input_size), 1.0 + input_value[1, :])), **TF1_CLOSE
    )
    # outputs at t = 3+ are zero
    for v in dynamic_outputs[3:]:
        np.testing.assert_array_equal(v, np.zeros_like(input_value))
    # the final states are: entry 0 from the calculation at t=1, entry 1 at t=2
    np.testing.assert_array_equal(
        dynamic_state, np.vstack((1.0 * (1 + 1) * np.ones(input_size), 1.0 * (2 + 1) * np.ones(input_size)))
    )


# LSTMTest -------------------------------------------------------------------------------


def test_d_type():
    # Test case for GitHub issue 16228: without a dtype the weights are float32.
    lstm = tfrnn.LSTMCell(10)
    lstm.build(tf.ones([10, 50]).shape)
    assert lstm.bias.dtype == "float32"
    for dtype in [tf.float16, tf.float32, tf.float64]:
        lstm = tfrnn.LSTMCell(10, dtype=dtype)
        lstm.build(tf.ones([10, 50]).shape)
        assert lstm.bias.dtype == dtype.name


def static_lstm(cell, batch_size=2, input_size=5, max_length=8, input_dtype=np.float32, **kwargs):
    """TF's `max_length * [placeholder]` fed with one random value, through static_rnn."""
    input_value = randn(batch_size, input_size).astype(input_dtype)
    inputs = max_length * [tf.constant(input_value)]
    return input_value, inputs, tfrnn.static_rnn(cell, inputs, **kwargs)


def test_no_proj_no_sharding():
    _, inputs, (outputs, _) = static_lstm(tfrnn.LSTMCell(3, initializer=keras_seed(SEED)), dtype=tf.float32)
    assert len(outputs) == len(inputs)
    for out in outputs:
        assert out.shape.as_list() == [2, 3]


def test_cell_clipping():
    cell = tfrnn.LSTMCell(3, use_peepholes=True, cell_clip=0.0, initializer=keras_seed(SEED))
    _, inputs, (outputs, _) = static_lstm(cell, dtype=tf.float32)
    assert len(outputs) == len(inputs)
    for value in outputs:
        assert value.shape.as_list() == [2, 3]
        # if cell c is clipped to 0, tanh(c) = 0 => m==0
        np.testing.assert_array_equal(value, np.zeros((2, 3)))


def test_proj_no_sharding():
    cell = tfrnn.LSTMCell(3, use_peepholes=True, num_proj=4, initializer=keras_seed(SEED))
    _, inputs, (outputs, _) = static_lstm(cell, dtype=tf.float32)
    assert len(outputs) == len(inputs)
    assert all(out.shape.as_list() == [2, 4] for out in outputs)


def test_double_input():
    cell = tfrnn.LSTMCell(3, use_peepholes=True, num_proj=4,
                          initializer=keras.initializers.RandomUniform(-1, 1, seed=SEED))
    input_value, inputs, (outputs, _) = static_lstm(
        cell, input_dtype=np.float64, initial_state=cell.zero_state(2, tf.float64)
    )
    assert len(outputs) == len(inputs)
    assert outputs[0].dtype == input_value.dtype


def test_double_input_with_dropout_and_dynamic_calculation():
    """Smoke test for using LSTM with doubles, dropout, dynamic calculation."""
    cell = tfrnn.LSTMCell(3, use_peepholes=True, num_proj=4, initializer=keras_seed(SEED))
    dropout_cell = tfrnn.DropoutWrapper(cell, 0.5, seed=0)
    input_value, inputs, (outputs, state) = static_lstm(
        dropout_cell, input_dtype=np.float64, sequence_length=tf.constant([2, 3], tf.int64),
        initial_state=cell.zero_state(2, tf.float64), training=True,
    )
    assert len(outputs) == len(inputs)
    assert outputs[0].dtype == input_value.dtype
    assert state.c.dtype == input_value.dtype and state.h.dtype == input_value.dtype


def test_dynamic_rnn_allows_unknown_time_dimension():
    cell = tfrnn.GRUCell(30)

    @tf.function(input_signature=[tf.TensorSpec([1, None, 20], tf.float32)])
    def run(inputs):
        return tfrnn.dynamic_rnn(cell, inputs, dtype=tf.float32)

    outputs, state = run.get_concrete_function().structured_outputs  # Smoke test: this should not raise.
    assert outputs.shape.as_list() == [1, None, 30] and state.shape.as_list() == [1, 30]


def static_and_dynamic(cell, sequence_length=(4, 6), batch_size=2, input_size=5, max_length=8):
    inputs = max_length * [tf.constant(randn(batch_size, input_size))]
    outputs_static, state_static = tfrnn.static_rnn(
        cell, inputs, dtype=tf.float32, sequence_length=list(sequence_length)
    )
    outputs_dynamic, state_dynamic = tfrnn.dynamic_rnn(
        cell, tf.stack(inputs), dtype=tf.float32, time_major=True, sequence_length=list(sequence_length)
    )
    return outputs_static, state_static, outputs_dynamic, state_dynamic


def test_dynamic_rnn_with_tuple_states():
    cell = tfrnn.LSTMCell(3, use_peepholes=True, num_proj=4, initializer=keras_seed(SEED))
    outputs_static, state_static, outputs_dynamic, state_dynamic = static_and_dynamic(cell)
    assert isinstance(state_static, tfrnn.LSTMStateTuple)
    assert isinstance(state_dynamic, tfrnn.LSTMStateTuple)
    assert state_static[0] is state_static.c and state_static[1] is state_static.h
    assert state_dynamic[0] is state_dynamic.c and state_dynamic[1] is state_dynamic.h
    np.testing.assert_array_equal(tf.stack(outputs_static), outputs_dynamic)
    np.testing.assert_array_equal(np.hstack(state_static), np.hstack(state_dynamic))


def test_dynamic_rnn_with_nested_tuple_states():
    def _cell(i):
        return tfrnn.LSTMCell(3 + i, use_peepholes=True, num_proj=4 + i, initializer=keras_seed(SEED))

    # This creates a state tuple which has 4 sub-tuples of length 2 each.
    cell = tfrnn.MultiRNNCell([_cell(i) for i in range(4)])
    assert len(cell.state_size) == 4
    assert all(len(cell.state_size[i]) == 2 for i in range(4))
    test_zero = cell.zero_state(1, tf.float32)
    assert len(test_zero) == 4
    for i in range(4):
        assert test_zero[i][0].shape[1] == cell.state_size[i][0]
        assert test_zero[i][1].shape[1] == cell.state_size[i][1]
    outputs_static, state_static, outputs_dynamic, state_dynamic = static_and_dynamic(cell)
    np.testing.assert_array_equal(tf.stack(outputs_static), outputs_dynamic)
    np.testing.assert_array_equal(np.hstack(tf.nest.flatten(state_static)), np.hstack(tf.nest.flatten(state_dynamic)))


@pytest.mark.parametrize("use_sequence_length", [False, True], ids=["without_sequence_length", "with_sequence_length"])
def test_dynamic_equivalent_to_static_rnn(use_sequence_length):
    time_steps, num_units, num_proj, input_size, batch_size = 8, 3, 4, 5, 2
    rng = np.random.default_rng(SEED)
    input_values = rng.standard_normal((time_steps, batch_size, input_size)).astype(np.float32)
    sequence_length = rng.integers(0, time_steps, size=batch_size) if use_sequence_length else None
    # One cell for both loops, as TF's eager leg did (b/68017812): the same weights.
    cell = tfrnn.LSTMCell(num_units, use_peepholes=True, initializer=keras_seed(SEED), num_proj=num_proj)
    concat_inputs = tf.constant(input_values)

    def readouts(run):
        """Outputs, state, and the gradients TF's graph leg compared."""
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(concat_inputs)
            outputs, state = run()
        variables = cell.trainable_variables
        assert len(variables) > 1, f"Count of trainable variables: {len(variables)}"
        picked = [outputs[0], outputs[-1], state]
        return dict(
            values=outputs, state=state,
            # gradients of sum of outputs w.r.t. inputs
            grad=tape.gradient(outputs + [state], concat_inputs),
            # gradients of individual outputs w.r.t. inputs
            individual=[tape.gradient(y, concat_inputs) for y in picked],
            # gradients of individual outputs w.r.t. variables
            variables=[tape.gradient(y, variables) for y in picked],
        )

    def static():
        return tfrnn.static_rnn(cell, tf.unstack(concat_inputs), sequence_length=sequence_length, dtype=tf.float32)

    def dynamic():
        outputs, state = tfrnn.dynamic_rnn(
            cell, inputs=concat_inputs, sequence_length=sequence_length, time_major=True, dtype=tf.float32
        )
        return tf.unstack(outputs, time_steps), state

    static_values, dynamic_values = readouts(static), readouts(dynamic)
    assert len(static_values["values"]) == len(dynamic_values["values"])
    for value_static, value_dynamic in zip(static_values["values"], dynamic_values["values"]):
        np.testing.assert_allclose(value_static, value_dynamic, **TF1_CLOSE)
    np.testing.assert_allclose(np.hstack(static_values["state"]), np.hstack(dynamic_values["state"]), **TF1_CLOSE)
    np.testing.assert_allclose(static_values["grad"], dynamic_values["grad"], **TF1_CLOSE)
    for a, b in zip(static_values["individual"], dynamic_values["individual"]):
        np.testing.assert_allclose(a, b, **TF1_CLOSE)
    for a_list, b_list in zip(static_values["variables"], dynamic_values["variables"]):
        for a, b in zip(a_list, b_list):
            np.testing.assert_allclose(a, b, **TF1_CLOSE)


# BidirectionalRNNTest ----------------------------------------------------------------


def same_lstm_pair(num_units=3):
    """Forward and backward LSTMCells with the same weights (one seeded initializer)."""
    return [tfrnn.LSTMCell(num_units, use_peepholes=True, initializer=keras_seed(SEED)) for _ in range(2)]


def traced_unless(use_shape, run, specs):
    """`(run, symbolic outputs or None)`: TF's placeholder of unknown batch is a `tf.function`
    traced for it; with `use_shape` every shape is known and `run` stays eager."""
    if use_shape:
        return run, None
    run = tf.function(run, autograph=False, input_signature=specs)
    return run, run.get_concrete_function().structured_outputs


def static_bidirectional(use_shape, use_sequence_length):
    """TF's `_createBidirectionalRNN`, run: `(out [T, B, 6], state_fw, state_bw)`."""
    num_units, input_size, batch_size, max_length = 3, 5, 2, 8
    cell_fw, cell_bw = same_lstm_pair(num_units)

    def run(x, sequence_length):
        return tfrnn.static_bidirectional_rnn(
            cell_fw, cell_bw, max_length * [x], dtype=tf.float32,
            sequence_length=sequence_length if use_sequence_length else None,
        )

    specs = [tf.TensorSpec((None, input_size), tf.float32), tf.TensorSpec([None], tf.int64)]
    run, symbolic = traced_unless(use_shape, run, specs)
    outputs, state_fw, state_bw = run(tf.constant(randn(batch_size, input_size)), tf.constant([2, 3], tf.int64))
    outputs_shapes = [out.shape.as_list() for out in (symbolic[0] if symbolic else outputs)]
    assert outputs_shapes == max_length * [[batch_size if use_shape else None, 2 * num_units]]
    return np.stack(outputs), state_fw, state_bw


@pytest.mark.parametrize("use_shape", [False, True])
def test_bidirectional_rnn(use_shape):
    out, s_fw, s_bw = static_bidirectional(use_shape, use_sequence_length=True)
    # Forward and backward cells have the same parameters, so the forward and backward
    # outputs are the same, reversed in time: out[time][batch][depth], forward in
    # depth 0..2, backward in 3..5. First sequence: length 2; second: length 3.
    for t_fw, t_bw in [(0, 1), (1, 0)]:
        np.testing.assert_allclose(out[t_fw][0][0:3], out[t_bw][0][3:6], **TF1_CLOSE)
    for t_fw, t_bw in [(0, 2), (1, 1), (2, 0)]:
        np.testing.assert_allclose(out[t_fw][1][0:3], out[t_bw][1][3:6], **TF1_CLOSE)
    # Via the reasoning above, the forward and backward final state should be exactly the same
    np.testing.assert_allclose(np.hstack(s_fw), np.hstack(s_bw), **TF1_CLOSE)


@pytest.mark.parametrize("use_shape", [False, True])
def test_bidirectional_rnn_without_sequence_length(use_shape):
    out, s_fw, s_bw = static_bidirectional(use_shape, use_sequence_length=False)
    # Both sequences are of length 8: forward output at time i equals backward output at 8 - 1 - i.
    for i in range(8):
        np.testing.assert_allclose(out[i][0][0:3], out[8 - 1 - i][0][3:6], **TF1_CLOSE)
        np.testing.assert_allclose(out[i][1][0:3], out[8 - 1 - i][1][3:6], **TF1_CLOSE)
    np.testing.assert_allclose(np.hstack(s_fw), np.hstack(s_bw), **TF1_CLOSE)


@pytest.mark.parametrize(
    "use_shape, use_time_major, use_sequence_length",
    list(itertools.product([True, False], repeat=3)),
    ids=lambda flag: "T" if flag else "F",  # [use_shape-use_time_major-use_sequence_length]
)
def test_bidirectional_dynamic_rnn(use_shape, use_time_major, use_sequence_length):
    # TF's 2^4 options; its use_state_tuple=False half (concatenated LSTM states) has no
    # tfrnn equivalent.
    num_units, input_size, batch_size, max_length = 3, 5, 2, 8
    cell_fw, cell_bw = same_lstm_pair(num_units)

    def run(x, sequence_length):
        inputs_c = tf.stack(max_length * [x])
        if not use_time_major:
            inputs_c = tf.transpose(inputs_c, [1, 0, 2])
        outputs, (state_fw, state_bw) = tfrnn.bidirectional_dynamic_rnn(
            cell_fw, cell_bw, inputs_c, sequence_length if use_sequence_length else None,
            dtype=tf.float32, time_major=use_time_major,
        )
        return tf.concat(outputs, 2), state_fw, state_bw

    specs = [tf.TensorSpec((None, input_size), tf.float32), tf.TensorSpec([None], tf.int64)]
    run, symbolic = traced_unless(use_shape, run, specs)
    out, s_fw, s_bw = run(tf.constant(randn(batch_size, input_size)), tf.constant([2, 3], tf.int64))
    outputs_shape = [batch_size if use_shape else None, max_length, 2 * num_units]
    if use_time_major:
        outputs_shape[0], outputs_shape[1] = outputs_shape[1], outputs_shape[0]
    assert (symbolic[0] if symbolic else out).shape.as_list() == outputs_shape
    out = np.asarray(out) if use_time_major else np.swapaxes(out, 0, 1)
    if use_sequence_length:
        # Forward at t equals backward at length - 1 - t, exactly (TF: assertEqual).
        for t_fw, t_bw in [(0, 1), (1, 0)]:
            np.testing.assert_array_equal(out[t_fw][0][0:3], out[t_bw][0][3:6])
        for t_fw, t_bw in [(0, 2), (1, 1), (2, 0)]:
            np.testing.assert_array_equal(out[t_fw][1][0:3], out[t_bw][1][3:6])
    else:
        for t in range(max_length):
            np.testing.assert_array_equal(out[t, :, 0:3], out[max_length - t - 1, :, 3:6])
    np.testing.assert_allclose(np.hstack(s_fw), np.hstack(s_bw), **TF1_CLOSE)


# MultiDimensionalLSTMTest, NestedLSTMTest --------------------------------------------


def test_multi_dimensional_lstm_all_rnn_containers():
    feature_dims = (3, 4, 5)
    batch_size, max_length, sequence_length = 2, 8, [4, 6]
    input_value = randn(batch_size, *feature_dims)
    inputs = max_length * [tf.constant(input_value)]
    inputs_c = tf.stack(inputs)
    # One cell for the whole test. This is fine because the cell has no variables.
    cell = DummyMultiDimensionalLSTM(feature_dims)
    outputs_static, state_static = tfrnn.static_rnn(cell, inputs, dtype=tf.float32, sequence_length=sequence_length)
    outputs_dynamic, state_dynamic = tfrnn.dynamic_rnn(
        cell, inputs_c, dtype=tf.float32, time_major=True, sequence_length=sequence_length
    )
    outputs_bid, state_fw, state_bw = tfrnn.static_bidirectional_rnn(
        cell, cell, inputs, dtype=tf.float32, sequence_length=sequence_length
    )
    assert outputs_dynamic.shape.as_list() == inputs_c.shape.as_list()
    for out, inp in zip(outputs_static, inputs):
        assert out.shape.as_list() == inp.shape.as_list()
    for out, inp in zip(outputs_bid, inputs):
        input_shape_list = inp.shape.as_list()
        input_shape_list[1] *= 2  # fwd and bwd activations are concatenated along the second dim.
        assert out.shape.as_list() == input_shape_list
    np.testing.assert_array_equal(np.array(outputs_static), outputs_dynamic)
    outputs_static_array = np.array(outputs_static)
    np.testing.assert_array_equal(np.concatenate((outputs_static_array,) * 2, axis=2), np.array(outputs_bid))
    for state in (state_dynamic, state_fw, state_bw):
        np.testing.assert_array_equal(np.hstack(state_static), np.hstack(state))


def test_nested_io_lstm_all_rnn_containers():
    input_size, batch_size, max_length, sequence_length = 5, 2, 8, [4, 6]
    input_value = (randn(batch_size, input_size), randn(batch_size, input_size, seed=SEED + 1))
    single_input = (tf.constant(input_value[0]), tf.constant(input_value[1]))
    inputs = max_length * [single_input]
    inputs_c = (tf.stack([input_[0] for input_ in inputs]), tf.stack([input_[1] for input_ in inputs]))
    # One cell for the whole test. This is fine because the cell has no variables.
    cell = NestedRNNCell()
    outputs_dynamic, state_dynamic = tfrnn.dynamic_rnn(
        cell, inputs_c, dtype=tf.float32, time_major=True, sequence_length=sequence_length
    )
    outputs_static, state_static = tfrnn.static_rnn(cell, inputs, dtype=tf.float32, sequence_length=sequence_length)
    outputs_bid, state_fw, state_bw = tfrnn.static_bidirectional_rnn(
        cell, cell, inputs, dtype=tf.float32, sequence_length=sequence_length
    )

    def _assert_same_shape(input1, input2, double=False):
        for inp1, inp2 in zip(tf.nest.flatten(input1), tf.nest.flatten(input2)):
            input_shape = inp1.shape.as_list()
            if double:
                input_shape[1] *= 2
            assert input_shape == inp2.shape.as_list()

    _assert_same_shape(inputs_c, outputs_dynamic)
    _assert_same_shape(inputs, outputs_static)
    _assert_same_shape(inputs, outputs_bid, double=True)
    np.testing.assert_array_equal(np.array(outputs_static), np.transpose(np.array(outputs_dynamic), (1, 0, 2, 3)))
    outputs_static_array = np.array(outputs_static)
    np.testing.assert_array_equal(np.concatenate((outputs_static_array,) * 2, axis=3), np.array(outputs_bid))
    for state in (state_dynamic, state_fw, state_bw):
        np.testing.assert_array_equal(np.hstack(state_static), np.hstack(state))


# GRUTest --------------------------------------------------------------------------------


def test_dynamic():
    # A smoke test in TF; what it pins is the graph TF built: from inputs of known shape,
    # outputs and state of known shape.
    time_steps, num_units, input_size, batch_size = 8, 3, 5, 2
    rng = np.random.default_rng(SEED)
    input_values = rng.standard_normal((time_steps, batch_size, input_size)).astype(np.float32)
    sequence_length = rng.integers(0, time_steps, size=batch_size)
    cell = tfrnn.GRUCell(num_units=num_units)

    @tf.function(input_signature=[tf.TensorSpec((time_steps, batch_size, input_size), tf.float32)])
    def run(concat_inputs):
        return tfrnn.dynamic_rnn(
            cell, inputs=concat_inputs, sequence_length=sequence_length, time_major=True, dtype=tf.float32
        )

    outputs_dynamic, state_dynamic = run(tf.constant(input_values))
    outputs, state = run.get_concrete_function().structured_outputs
    assert outputs.shape.as_list() == [time_steps, batch_size, num_units] == list(outputs_dynamic.shape)
    assert state.shape.as_list() == [batch_size, num_units] == list(state_dynamic.shape)


# RawRNNTest -----------------------------------------------------------------------------


def raw_rnn_readouts(max_time, batch_size=16, input_depth=4, num_units=3):
    """TF's `_testRawRNN`: raw_rnn and dynamic_rnn over one cell, with their gradients."""
    rng = np.random.default_rng(SEED)
    inputs = tf.constant(rng.standard_normal((max_time, batch_size, input_depth)).astype(np.float32))
    rand_seq_len = np.zeros(batch_size, np.int32) if max_time == 0 else rng.integers(max_time, size=batch_size)
    rand_seq_len[0] = max_time  # To ensure same output lengths for dynamic_rnn and raw_rnn
    sequence_length = tf.constant(rand_seq_len, tf.int32)
    cell = tfrnn.LSTMCell(num_units)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(inputs)
        inputs_ta = tf.TensorArray(dtype=tf.float32, size=tf.shape(inputs)[0]).unstack(inputs)

        def loop_fn(time_, cell_output, cell_state, unused_loop_state):
            emit_output = cell_output  # == None for time == 0
            next_state = cell.zero_state(batch_size, tf.float32) if cell_output is None else cell_state
            elements_finished = time_ >= sequence_length
            finished = tf.reduce_all(elements_finished)
            # For the very final iteration, we must emit a dummy input
            next_input = tf.cond(
                finished, lambda: tf.zeros([batch_size, input_depth], dtype=tf.float32), lambda: inputs_ta.read(time_)
            )
            return elements_finished, next_input, next_state, emit_output, None

        outputs_ta, final_state, _ = tfrnn.raw_rnn(cell, loop_fn)
        outputs = outputs_ta.stack()
        outputs_dynamic_rnn, final_state_dynamic_rnn = tfrnn.dynamic_rnn(
            cell, inputs, time_major=True, dtype=tf.float32, sequence_length=sequence_length
        )
    sources = [inputs] + cell.trainable_variables
    return dict(
        raw=(outputs, final_state), dynamic=(outputs_dynamic_rnn, final_state_dynamic_rnn),
        raw_grads=tape.gradient([outputs, final_state], sources),
        dynamic_grads=tape.gradient([outputs_dynamic_rnn, final_state_dynamic_rnn], sources),
    )


def test_raw_rnn_zero_length():
    # With 0 time steps TF could not compare gradients (no shape information); values only.
    run = raw_rnn_readouts(max_time=0)
    np.testing.assert_allclose(run["dynamic"][0], run["raw"][0], **TF1_CLOSE)
    np.testing.assert_allclose(np.hstack(run["dynamic"][1]), np.hstack(run["raw"][1]), **TF1_CLOSE)


def test_raw_rnn():
    run = raw_rnn_readouts(max_time=10)
    np.testing.assert_allclose(run["dynamic"][0], run["raw"][0], **TF1_CLOSE)
    np.testing.assert_allclose(np.hstack(run["dynamic"][1]), np.hstack(run["raw"][1]), **TF1_CLOSE)
    assert len(run["raw_grads"]) == len(run["dynamic_grads"])
    for raw, dynamic in zip(run["raw_grads"], run["dynamic_grads"]):
        # TF's default tolerance held because TF ran the same ops both ways. tfrnn's dynamic_rnn
        # runs this LSTMCell on its fused path (hand-written gradient, other summation order):
        # float32 round-off of weight gradients summed over 10 steps x 16 rows is about 1e-7 of
        # their largest value (up to ~8e-6 for values up to ~70), which 1e-6 absolute can miss.
        np.testing.assert_allclose(dynamic, raw, rtol=1e-6, atol=1e-6 * max(1.0, np.max(np.abs(raw))))


def time_major_inputs_loop_fn(cell, max_time, batch_size, input_depth, loop_state_fn, emit_fn=None):
    """TF's loop_fn for testLoopState & co: all rows finish at max_time; `loop_state_fn` steps the loop state."""
    inputs = randn(max_time, batch_size, input_depth)
    inputs_ta = tf.TensorArray(dtype=tf.float32, size=tf.shape(inputs)[0]).unstack(inputs)

    def loop_fn(time_, cell_output, cell_state, loop_state):
        next_state = cell.zero_state(batch_size, tf.float32) if cell_output is None else cell_state
        loop_state = loop_state_fn(time_, cell_output, loop_state)
        emit_output = cell_output if emit_fn is None else emit_fn(cell_output)  # == None for time == 0
        elements_finished = tf.tile([time_ >= max_time], [batch_size])
        finished = tf.reduce_all(elements_finished)
        # For the very final iteration, we must emit a dummy input
        next_input = tf.cond(
            finished, lambda: tf.zeros([batch_size, input_depth], dtype=tf.float32), lambda: inputs_ta.read(time_)
        )
        return elements_finished, next_input, next_state, emit_output, loop_state

    return loop_fn


def test_loop_state():
    def count(time_, cell_output, loop_state):
        if cell_output is None:
            return tf.constant([0])
        return tf.stack([tf.squeeze(loop_state) + 1])

    cell = tfrnn.LSTMCell(3)
    r = tfrnn.raw_rnn(cell, time_major_inputs_loop_fn(cell, 10, 16, 4, count))
    np.testing.assert_array_equal(r[-1], [10])


def test_loop_state_with_tensor_array():
    def accumulate(time_, cell_output, loop_state):
        if cell_output is None:
            loop_state = tf.TensorArray(dynamic_size=True, size=0, dtype=tf.int32, clear_after_read=False)
            return loop_state.write(0, 1)
        return loop_state.write(time_, loop_state.read(time_ - 1) + time_)

    cell = tfrnn.LSTMCell(3)
    r = tfrnn.raw_rnn(cell, time_major_inputs_loop_fn(cell, 4, 16, 4, accumulate))
    np.testing.assert_array_equal(r[-1].stack(), [1, 2, 2 + 2, 4 + 3, 7 + 4])


def test_emit_different_structure_than_cell_output():
    max_time, batch_size, input_depth, num_units = 10, 16, 4, 3
    cell = tfrnn.LSTMCell(num_units)
    seen = {}

    # Verify emit shapes may be unknown: unknown_dim is only known when the function runs.
    @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
    def run(unknown_dim):
        def emit(cell_output):
            if cell_output is None:
                return tf.zeros([2, 3], dtype=tf.int32), tf.zeros([unknown_dim], dtype=tf.int64)
            return tf.ones([batch_size, 2, 3], dtype=tf.int32), tf.ones([batch_size, unknown_dim], dtype=tf.int64)

        loop_fn = time_major_inputs_loop_fn(cell, max_time, batch_size, input_depth, lambda *_: None, emit)
        output_ta = tfrnn.raw_rnn(cell, loop_fn)[0]
        seen.update(count=len(output_ta), dtypes=[ta.dtype for ta in output_ta])
        return [ta.stack() for ta in output_ta]

    output_vals = run(tf.constant(1))
    assert seen == dict(count=2, dtypes=[tf.int32, tf.int64])
    np.testing.assert_array_equal(output_vals[0], np.ones((max_time, batch_size, 2, 3), np.int32))
    np.testing.assert_array_equal(output_vals[1], np.ones((max_time, batch_size, 1), np.int64))
