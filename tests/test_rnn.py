"""Loop semantics with toy cells, clear errors, and every place a user puts a loop."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrnn
from toy_cells import CounterCell, PairCell, ramp


def test_padding_semantics_zeros_past_length_state_of_last_valid_step():
    outputs, state = tfrnn.dynamic_rnn(CounterCell(), ramp(3, 5), sequence_length=[5, 2, 0], dtype=tf.float32)
    cumulative = np.cumsum(np.arange(1, 6, dtype="float32"))  # 1, 3, 6, 10, 15
    np.testing.assert_array_equal(outputs[0, :, 0], cumulative)
    np.testing.assert_array_equal(outputs[1, :, 0], [1, 3, 0, 0, 0])
    np.testing.assert_array_equal(outputs[2, :, 0], [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(state[:, 0], [15, 3, 0])


def test_zero_length_row_returns_its_initial_state():
    init = tf.constant([[7.0, 7.0], [8.0, 8.0]])
    _, state = tfrnn.dynamic_rnn(CounterCell(), ramp(2, 3), sequence_length=[3, 0], initial_state=init)
    np.testing.assert_array_equal(state, [[13.0, 13.0], [8.0, 8.0]])


def test_time_major_equals_batch_major():
    x = np.random.default_rng(0).normal(size=(3, 4, 2)).astype("float32")
    cell = tfrnn.GRUCell(3)
    batch_major, state_a = tfrnn.dynamic_rnn(cell, x, sequence_length=[4, 1, 2], dtype=tf.float32)
    time_major, state_b = tfrnn.dynamic_rnn(cell, x.transpose(1, 0, 2), sequence_length=[4, 1, 2], dtype=tf.float32, time_major=True)
    np.testing.assert_allclose(batch_major, np.transpose(time_major, (1, 0, 2)), atol=1e-6)
    np.testing.assert_allclose(state_a, state_b, atol=1e-6)


def test_nested_inputs_reach_the_cell_as_a_tuple():
    outputs, _ = tfrnn.dynamic_rnn(PairCell(), (ramp(2, 3), ramp(2, 3)), dtype=tf.float32)
    np.testing.assert_array_equal(outputs[0, :, 0], [2, 6, 12])


def test_static_rnn_matches_dynamic_rnn():
    x = np.random.default_rng(1).normal(size=(3, 4, 2)).astype("float32")
    cell = tfrnn.BasicLSTMCell(3)
    dynamic, dynamic_state = tfrnn.dynamic_rnn(cell, x, sequence_length=[4, 0, 3], dtype=tf.float32)
    static, static_state = tfrnn.static_rnn(cell, tf.unstack(x, axis=1), sequence_length=[4, 0, 3], dtype=tf.float32)
    np.testing.assert_allclose(np.stack(static, 1), dynamic, atol=1e-6)
    np.testing.assert_allclose(static_state.c, dynamic_state.c, atol=1e-6)


def test_static_rnn_warns_past_the_documented_length():
    steps = [tf.zeros((1, 1))] * (tfrnn.rnn.STATIC_RNN_WARN_STEPS + 1)
    with pytest.warns(UserWarning, match="dynamic_rnn gives the same results") as record:
        tfrnn.static_rnn(CounterCell(1), steps, dtype=tf.float32)
    assert record[0].filename == __file__  # the user's line, not tfrnn's or TensorFlow's wrapper


@pytest.mark.parametrize(
    "make_cell",
    [lambda: keras.layers.LSTMCell(3), lambda: keras.layers.GRUCell(3), lambda: keras.layers.SimpleRNNCell(3),
     lambda: keras.layers.StackedRNNCells([keras.layers.LSTMCell(3), keras.layers.GRUCell(2)]), lambda: CounterCell(3)],
)
def test_keras_and_user_cells_run_in_the_loops_like_keras_rnn(make_cell):
    cell = make_cell()
    x = np.random.default_rng(2).normal(size=(2, 5, 3)).astype("float32")
    outputs, state = tfrnn.dynamic_rnn(cell, x, sequence_length=[5, 3], dtype=tf.float32)
    mask = tf.sequence_mask([5, 3], 5)
    want, *want_state = keras.layers.RNN(cell, return_sequences=True, return_state=True, zero_output_for_mask=True)(x, mask=mask)
    np.testing.assert_allclose(outputs, want, atol=1e-5)
    for got, expected in zip(tf.nest.flatten(state), tf.nest.flatten(want_state)):
        np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("make_cell", [lambda: tfrnn.BasicLSTMCell(4), lambda: tfrnn.LSTMCell(4, num_proj=2, use_peepholes=True), lambda: tfrnn.GRUCell(4)])
def test_unknown_batch_and_time_in_tf_function_without_retracing(make_cell):
    cell = make_cell()
    tfrnn.dynamic_rnn(cell, np.ones((1, 1, 3), "float32"), dtype=tf.float32)  # variables first: creating them retraces

    @tf.function(input_signature=[tf.TensorSpec([None, None, 3], tf.float32), tf.TensorSpec([None], tf.int32)])
    def run(x, lengths):
        return tfrnn.dynamic_rnn(cell, x, sequence_length=lengths, dtype=tf.float32)[0]

    for batch, time in ((2, 5), (3, 7), (1, 1)):
        x = np.ones((batch, time, 3), "float32")
        lengths = np.full(batch, time, "int32")
        np.testing.assert_allclose(run(x, lengths), tfrnn.dynamic_rnn(cell, x, dtype=tf.float32)[0], atol=1e-5)
    assert run.experimental_get_tracing_count() == 1


def test_new_batch_and_length_reuse_a_generalised_trace():
    """Without a signature, `reduce_retracing` traces once more with None dims, then reuses it."""
    cell = tfrnn.GRUCell(4)
    tfrnn.dynamic_rnn(cell, np.ones((1, 1, 3), "float32"), dtype=tf.float32)
    run = tf.function(lambda x: tfrnn.dynamic_rnn(cell, x, dtype=tf.float32)[0], reduce_retracing=True)
    for batch, time in ((2, 5), (3, 7), (4, 2), (1, 9)):
        x = np.random.default_rng(batch).normal(size=(batch, time, 3)).astype("float32")
        np.testing.assert_allclose(run(tf.constant(x)), tfrnn.dynamic_rnn(cell, x, dtype=tf.float32)[0], atol=1e-5)
    assert run.experimental_get_tracing_count() == 2


def test_xla_matches_eager_for_every_kind_of_loop():
    x = np.random.default_rng(3).normal(size=(2, 4, 3)).astype("float32")
    fw, bw = tfrnn.LSTMCell(3, use_peepholes=True), tfrnn.GRUCell(2)

    def loops():
        (a, b), _ = tfrnn.bidirectional_dynamic_rnn(fw, bw, x, sequence_length=[4, 2], dtype=tf.float32)
        c, _ = tfrnn.dynamic_rnn(fw, x, sequence_length=[1, 3], dtype=tf.float32)
        return a, b, c

    for got, want in zip(tf.function(loops, jit_compile=True)(), loops()):
        np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("make_cell", [lambda d: tfrnn.BasicLSTMCell(4, dtype=d), lambda d: tfrnn.GRUCell(4, dtype=d), lambda d: tfrnn.LSTMCell(4, num_proj=2, dtype=d)])
def test_low_precision_inputs(make_cell, dtype):
    """The same weights in half precision give the float32 numbers, to half precision's accuracy."""
    x = np.random.default_rng(4).normal(size=(2, 3, 3)).astype("float32")
    reference = make_cell("float32")
    want, want_state = tfrnn.dynamic_rnn(reference, x, sequence_length=[3, 2], dtype=tf.float32)
    cell = make_cell(dtype)
    tfrnn.dynamic_rnn(cell, tf.cast(x[:, :1], dtype), dtype=dtype)  # builds it
    cell.set_weights(reference.get_weights())
    outputs, state = tfrnn.dynamic_rnn(cell, tf.cast(x, dtype), sequence_length=[3, 2], dtype=dtype)
    assert outputs.dtype == dtype and all(s.dtype == dtype for s in tf.nest.flatten(state))
    atol = {"float16": 1e-2, "bfloat16": 5e-2}[dtype]  # measured: 2e-4 and 2e-3
    np.testing.assert_allclose(tf.cast(outputs, tf.float32), want, atol=atol)
    for got, expected in zip(tf.nest.flatten(state), tf.nest.flatten(want_state)):
        np.testing.assert_allclose(tf.cast(got, tf.float32), expected, atol=atol)


class LengthClassifier(keras.Model):
    """N vs 1 with dynamic_rnn inside a Keras model: the last valid output feeds a Dense."""

    def __init__(self, cell):
        super().__init__()
        self.cell = cell
        self.head = keras.layers.Dense(1)

    def call(self, inputs):
        x, lengths = inputs
        _, state = tfrnn.dynamic_rnn(self.cell, x, sequence_length=lengths, dtype=tf.float32)
        return self.head(tf.nest.flatten(state)[-1])  # the (last layer's) h


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize(
    "make_cell",
    [lambda: tfrnn.GRUCell(8), lambda: tfrnn.MultiRNNCell([tfrnn.LSTMCell(8, use_peepholes=True), tfrnn.GRUCell(8)])],
    ids=["fused", "generic"],
)
def test_trained_by_fit_inside_a_keras_model(make_cell, jit_compile):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(64, 6, 2)).astype("float32")
    lengths = rng.integers(1, 7, size=64).astype("int32")
    y = (x[:, :, 0] * (np.arange(6) < lengths[:, None])).sum(1, keepdims=True)
    model = LengthClassifier(make_cell())
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse", jit_compile=jit_compile)
    history = model.fit((x, lengths), y, epochs=8, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_long_sequence_forward_and_backward_fits_in_memory():
    cell = tfrnn.BasicLSTMCell(256)
    x = tf.random.normal((8, 5000, 16))

    @tf.function
    def loss_and_grads():
        with tf.GradientTape() as tape:
            outputs, _ = tfrnn.dynamic_rnn(cell, x, dtype=tf.float32)
            loss = tf.reduce_mean(outputs)
        return loss, tape.gradient(loss, cell.trainable_weights)

    loss, grads = loss_and_grads()
    assert np.isfinite(loss) and all(np.all(np.isfinite(g)) for g in grads)


@pytest.mark.parametrize(
    "make_cell", [lambda: tfrnn.BasicLSTMCell(8), lambda: tfrnn.LSTMCell(8, use_peepholes=True)], ids=["fused", "generic"]
)
def test_graph_does_not_grow_with_the_sequence(make_cell):
    """dynamic_rnn's forward and backward graph is a loop: 5,000 steps trace what 10 do."""
    cell = make_cell()

    @tf.function
    def loss_and_grads(x):
        with tf.GradientTape() as tape:
            outputs, _ = tfrnn.dynamic_rnn(cell, x, dtype=tf.float32)
            loss = tf.reduce_mean(outputs)
        return loss, tape.gradient(loss, cell.trainable_weights)

    loss_and_grads(tf.zeros((2, 1, 4)))  # creates the variables

    def traced_ops(time):
        graph = loss_and_grads.get_concrete_function(tf.TensorSpec((2, time, 4))).graph
        nested = sum(len(f.definition.node_def) for f in graph._functions.values())  # loop bodies
        return len(graph.get_operations()) + nested

    short, long = traced_ops(10), traced_ops(5000)
    assert long <= short + 5 and long < 2000, (short, long)


# --- errors ---------------------------------------------------------------------------


def test_not_a_cell_gets_tf1s_message():
    with pytest.raises(TypeError, match="is not an RNNCell: 'output_size' property is missing, 'state_size' property is missing"):
        tfrnn.dynamic_rnn(object(), np.zeros((1, 2, 3), "float32"), dtype=tf.float32)


def test_rank_and_depth_and_dtype_errors():
    cell = tfrnn.GRUCell(2)
    with pytest.raises(ValueError, match=r"Shape \(5, 2\) must have rank at least 3"):
        tfrnn.dynamic_rnn(cell, np.zeros((5, 2), "float32"), dtype=tf.float32)
    with pytest.raises(ValueError, match="only supports floating point inputs.*int32"):
        tfrnn.dynamic_rnn(cell, np.zeros((1, 2, 3), "int32"), dtype=tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None])])
    def unknown_depth(x):
        return tfrnn.dynamic_rnn(cell, x, dtype=tf.float32)

    with pytest.raises(ValueError, match="Input size \\(depth of inputs\\) must be accessible via shape inference"):
        unknown_depth(tf.zeros((1, 2, 3)))
    assert not cell.built


def test_dtype_or_initial_state_is_required():
    with pytest.raises(ValueError, match="If no initial_state is provided, argument `dtype` must be specified"):
        tfrnn.dynamic_rnn(tfrnn.GRUCell(2), np.zeros((1, 2, 3), "float32"))


@pytest.mark.parametrize(
    "lengths, match",
    [([[1, 2]], "must be a vector of length batch_size.*shape: \\(1, 2\\)"),
     ([1, 2, 3], "must be a vector of length batch_size \\(2\\), but it has 3 entries"),
     ([-1, 2], "rows \\[0\\] are negative"),
     ([2, 7], "rows \\[\\] are negative and rows \\[1\\] exceed it")],
)
def test_sequence_length_errors_name_the_rows(lengths, match):
    cell = tfrnn.GRUCell(2)
    with pytest.raises(ValueError, match=match):
        tfrnn.dynamic_rnn(cell, np.zeros((2, 4, 3), "float32"), sequence_length=lengths, dtype=tf.float32)
    assert not cell.built


def test_symbolic_lengths_are_checked_at_run_time():
    cell = tfrnn.GRUCell(2)
    signature = [tf.TensorSpec([None, 4, 3]), tf.TensorSpec([None], tf.int32)]
    run = tf.function(
        lambda x, n: tfrnn.dynamic_rnn(cell, x, sequence_length=n, dtype=tf.float32)[0], input_signature=signature
    )
    rows = r"time\] \[4\] \[but rows\] \[2\] \[are negative and rows\] \[1\] \[exceed it"
    with pytest.raises(tf.errors.InvalidArgumentError, match=rows) as error:
        run(tf.zeros((3, 4, 3)), tf.constant([2, 9, -1]))
    assert "[2 9 -1]" in str(error.value)
    with pytest.raises(tf.errors.InvalidArgumentError, match="one entry per batch row"):
        run(tf.zeros((3, 4, 3)), tf.constant([2, 3]))
    assert run(tf.zeros((3, 4, 3)), tf.constant([0, 4, 1])).shape == (3, 4, 2)


def test_state_errors():
    x = np.zeros((2, 4, 3), "float32")
    lstm, gru = tfrnn.BasicLSTMCell(2), tfrnn.GRUCell(2)
    with pytest.raises(ValueError, match="a single tensor where a tuple of 2 was expected"):
        tfrnn.dynamic_rnn(lstm, x, initial_state=tf.zeros((2, 2)))
    with pytest.raises(ValueError, match="batch size 3 but the inputs' batch size is 2"):
        tfrnn.dynamic_rnn(gru, x, initial_state=tf.zeros((3, 2)))
    mixed = tfrnn.LSTMStateTuple(tf.zeros((2, 2)), tf.zeros((2, 2), tf.float64))
    with pytest.raises(ValueError, match="one dtype, but received \\['float32', 'float64'\\]"):
        tfrnn.dynamic_rnn(lstm, x, initial_state=mixed)
    with pytest.raises(ValueError, match="argument `dtype` must be specified"):
        tfrnn.static_rnn(gru, list(x.transpose(1, 0, 2)))
    assert not lstm.built and not gru.built  # each error came before the cell was built


