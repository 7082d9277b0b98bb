"""The fused LSTM/GRU loops equal the generic loop: values and every gradient."""

import contextlib
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

import tfrnn
from tfrnn import fused
from toy_cells import GenericBasicLSTMCell, GenericGRUCell, GenericLSTMCell

# Each fused cell with its generic twin (a subclass: same math, never fused).
PAIRS = {
    "basic_lstm": (lambda **kw: tfrnn.BasicLSTMCell(5, forget_bias=0.7, **kw), GenericBasicLSTMCell),
    "lstm": (lambda **kw: tfrnn.LSTMCell(4, **kw), GenericLSTMCell),
    "gru": (lambda **kw: tfrnn.GRUCell(5, **kw), GenericGRUCell),
}


def twin(fast):
    """A generic-loop copy of `fast` with the same configuration and weights."""
    config = fast.get_config()
    slow = {tfrnn.BasicLSTMCell: GenericBasicLSTMCell, tfrnn.LSTMCell: GenericLSTMCell, tfrnn.GRUCell: GenericGRUCell}[type(fast)].from_config(config)
    slow.build(fast.get_build_config()["input_shape"])
    for a, b in zip(slow.weights, fast.weights):
        a.assign(b)
    return slow


def run(cell, x, lengths, init, time_major, training=None):
    with tf.GradientTape() as tape:
        tape.watch([x, *tf.nest.flatten(init)])
        outputs, state = tfrnn.dynamic_rnn(
            cell, x, sequence_length=lengths, initial_state=init, time_major=time_major, training=training
        )
        leaves = [outputs, *tf.nest.flatten(state)]
        weights = [tf.cast(tf.reshape(tf.range(tf.size(v)), tf.shape(v)) % 7, v.dtype) - 3.0 for v in leaves]
        loss = sum(tf.reduce_sum(v * w) for v, w in zip(leaves, weights))
    grads = tape.gradient(loss, [x, tf.nest.flatten(init), cell.trainable_weights])
    return leaves, grads


def gate_products(per_gate):
    """Forces how a fused step multiplies: one GEMM per gate, or one for all gates (GRUs under 256 units)."""
    return mock.patch.object(fused, "PER_GATE_MIN_SIZE", 0 if per_gate else 10**9)


@pytest.fixture(params=[False, True], ids=["one_gemm", "per_gate"])
def per_gate(request):
    with gate_products(request.param):
        yield request.param


def assert_fast_equals_generic(name, batch, time, depth, with_lengths, time_major, seed, dtype="float32", training=None):
    rng = np.random.default_rng(seed)
    make, _ = PAIRS[name]
    fast = make(dtype=dtype)
    shape = (time, batch, depth) if time_major else (batch, time, depth)
    x = tf.constant(rng.normal(size=shape), dtype)
    lengths = rng.integers(0, time + 1, size=batch) if with_lengths else None
    init = tf.nest.map_structure(lambda s: tf.constant(rng.normal(size=(batch, s)), dtype), fast.state_size)
    fast(x[0] if time_major else x[:, 0], init)  # build
    for w in fast.weights:
        w.assign(rng.uniform(-0.5, 0.5, w.shape))
    slow = twin(fast)
    assert fused.loop_for(fast, x) is not None and fused.loop_for(slow, x) is None
    tol = {"float32": 1e-5, "float64": 1e-10, "float16": 2e-2, "bfloat16": 1e-1}[dtype]
    got_all = run(fast, x, lengths, init, time_major, training)
    for got, want in zip(tf.nest.flatten(got_all), tf.nest.flatten(run(slow, x, lengths, init, time_major))):
        np.testing.assert_allclose(got, want, atol=tol, rtol=tol)


# training=False saves nothing in the forward (the backward recomputes the gates); None saves them under a tape.
@pytest.mark.parametrize("training", [None, False])
@pytest.mark.parametrize("name", sorted(PAIRS))
@pytest.mark.parametrize("with_lengths", [False, True])
def test_fast_path_equals_generic_loop(name, with_lengths, training, per_gate):
    assert_fast_equals_generic(name, 4, 6, 3, with_lengths, time_major=False, seed=0, training=training)


@pytest.mark.parametrize("training", [None, False])
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_fast_path_equals_generic_loop_in_float64_time_major(name, training, per_gate):
    assert_fast_equals_generic(name, 3, 5, 2, True, True, seed=1, dtype="float64", training=training)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("training", [None, False])
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_fast_path_equals_generic_loop_in_half_precision(name, training, dtype, per_gate):
    # Loose tolerances: the two loops round in a different order (forget_bias is
    # folded into the bias; gradients sum over steps in one GEMM).
    assert_fast_equals_generic(name, 3, 5, 2, True, False, seed=3, dtype=dtype, training=training)


@settings(max_examples=10, deadline=None)
@given(
    name=st.sampled_from(sorted(PAIRS)), batch=st.integers(1, 4), time=st.integers(1, 7),
    depth=st.integers(1, 5), with_lengths=st.booleans(), time_major=st.booleans(), seed=st.integers(0, 999),
    training=st.sampled_from([None, False]), per_gate=st.booleans(),
)
def test_fast_path_equals_generic_loop_for_any_sizes(name, batch, time, depth, with_lengths, time_major, seed, training, per_gate):
    with gate_products(per_gate):
        assert_fast_equals_generic(name, batch, time, depth, with_lengths, time_major, seed, training=training)


def built_twins(name, seed):
    """A fused cell, its generic twin, inputs `[3, 5, 2]` and lengths with a full, a short and an empty row."""
    fast = PAIRS[name][0]()
    x = tf.constant(np.random.default_rng(seed).normal(size=(3, 5, 2)), tf.float32)
    fast(x[:, 0], fast.zero_state(3, tf.float32))
    return fast, twin(fast), x, tf.constant([5, 2, 0])


@pytest.mark.parametrize("training", [None, False])
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_fast_path_gradients_hold_under_xla(name, training, per_gate):
    fast, slow, x, lengths = built_twins(name, seed=2)

    def loss_and_grads(cell):
        with tf.GradientTape() as tape:
            outputs, state = tfrnn.dynamic_rnn(cell, x, sequence_length=lengths, dtype=tf.float32, training=training)
            loss = tf.reduce_sum(outputs * outputs) + sum(tf.reduce_sum(s) for s in tf.nest.flatten(state))
        return [loss, *tape.gradient(loss, cell.trainable_weights)]

    xla = tf.function(lambda: loss_and_grads(fast), jit_compile=True)()
    for got, want in zip(xla, loss_and_grads(slow)):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)


def test_cells_that_change_the_math_take_the_generic_loop():
    x = tf.zeros((2, 3, 4))
    for cell in (tfrnn.BasicLSTMCell(3, activation="relu"), tfrnn.LSTMCell(3, use_peepholes=True),
                 tfrnn.LSTMCell(3, num_proj=2), tfrnn.LSTMCell(3, cell_clip=1.0), tfrnn.GRUCell(3, activation="relu"),
                 tfrnn.BasicRNNCell(3), tfrnn.MultiRNNCell([tfrnn.GRUCell(3)])):
        assert fused.loop_for(cell, x) is None, cell
    assert fused.loop_for(tfrnn.GRUCell(3), (x, x)) is None  # nested inputs


def arrays_written(fn, x):
    """How many per-step arrays (TensorLists) `fn(x)` reserves when traced."""
    graph = tf.function(fn).get_concrete_function(x).graph
    return sum(op.type == "TensorListReserve" for op in graph.get_operations())


def matmuls_per_loop_body(fn, shape):
    """Sorted MatMul counts of the while-loop bodies in `fn` traced for inputs of `shape`."""
    graph = tf.function(fn).get_concrete_function(tf.TensorSpec(shape)).graph
    bodies = [f for f in graph.as_graph_def().library.function if "_body_" in f.signature.name]
    return sorted(sum(node.op == "MatMul" for node in body.node_def) for body in bodies)


def test_per_gate_products_from_a_batch_times_units_of_1024_or_an_unknown_batch():
    assert fused._per_gate(32, 256) and fused._per_gate(4, 256) and fused._per_gate(None, 8)
    assert not fused._per_gate(1, 128) and not fused._per_gate(4, 128) and not fused._per_gate(1, 512)


@pytest.mark.parametrize("training", [None, False])
@pytest.mark.parametrize(("batch", "products"), [(1, 1), (32, 4), (None, 4)])
def test_lstm_steps_run_one_product_per_gate_where_chosen(batch, products, training):
    """Forward and backward loop bodies hold 4 MatMuls per step, or 1 (`fused._per_gate`)."""
    cell = tfrnn.BasicLSTMCell(256)
    cell.build((None, 8))

    def grad(x):  # training=False: a forward that saves nothing, and a backward that recomputes
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs, _ = tfrnn.dynamic_rnn(cell, x, dtype=tf.float32, training=training)
        return tape.gradient(outputs, x)

    assert matmuls_per_loop_body(grad, [batch, 3, 8]) == [products, products]


def test_gru_splits_from_256_units_or_a_batch_times_units_of_4096_or_an_unknown_batch():
    assert fused._gru_split(1, 256) and fused._gru_split(32, 128) and fused._gru_split(None, 8)
    assert not fused._gru_split(1, 128) and not fused._gru_split(16, 128) and not fused._gru_split(32, 64)


@pytest.mark.parametrize(("batch", "units", "forward", "backward"), [(1, 128, 2, 2), (1, 256, 7, 4), (32, 128, 7, 4), (None, 8, 7, 4)])
def test_gru_steps_split_their_products_where_chosen(batch, units, forward, backward):
    """Split: x_t and h products for r and u, x_t for c, two candidate halves; the backward's four apart."""
    cell = tfrnn.GRUCell(units)
    cell.build((None, 8))

    def grad(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs, _ = tfrnn.dynamic_rnn(cell, x, dtype=tf.float32)
        return tape.gradient(outputs, x)

    assert matmuls_per_loop_body(grad, [batch, 3, 8]) == sorted([forward, backward])


# Arrays written without a tape, and under one: LSTM h and the incoming c, then
# z (one [B, 4H] array at this size); GRU h, then r, u and c.
@pytest.mark.parametrize(("make", "without", "under"), [(tfrnn.BasicLSTMCell, 2, 3), (tfrnn.GRUCell, 1, 4)])
def test_forward_saves_its_gates_only_under_a_tape(make, without, under):
    cell = make(3)
    x = tf.zeros((4, 2, 5))  # time-major
    state = cell.zero_state(2, tf.float32)
    cell(x[0], state)

    def forward(x, training=None):
        return fused.loop_for(cell, x)(x, state, None, training=training)

    def under_tape(x, training=None):
        with tf.GradientTape():
            return forward(x, training)

    assert arrays_written(forward, x) == without and arrays_written(under_tape, x) == under
    assert arrays_written(lambda x: under_tape(x, training=False), x) == without


def test_unsplit_gru_projects_inputs_with_one_product_unless_it_saves():
    """Without a tape the GRU's input projection is one [T*B, D] x [D, 3H] GEMM; a forward that saves keeps two."""
    cell = tfrnn.GRUCell(4)
    x = tf.zeros((6, 2, 3))  # time-major; 2 x 4 is far below the split sizes
    state = cell.zero_state(2, tf.float32)
    cell(x[0], state)

    def projections(training):
        def forward(x):
            with tf.GradientTape():
                return fused.loop_for(cell, x)(x, state, None, training=training)

        graph = tf.function(forward).get_concrete_function(x).graph
        return sum(op.type == "MatMul" for op in graph.get_operations())  # outside the loop body

    assert (projections(training=False), projections(training=None)) == (1, 2)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_gradients_through_a_function_traced_without_a_tape(name, per_gate):
    """A tape around a tf.function traced without one: the backward recomputes the gates."""
    fast, slow, x, lengths = built_twins(name, seed=4)
    forward = tf.function(lambda cell, x: tfrnn.dynamic_rnn(cell, x, sequence_length=lengths, dtype=tf.float32))
    forward(fast, x)  # traced here, with no tape

    def loss_and_grads(cell):
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs, state = forward(cell, x)
            loss = tf.reduce_sum(outputs * tf.cos(outputs)) + sum(tf.reduce_sum(s * s) for s in tf.nest.flatten(state))
        return [loss, *tape.gradient(loss, [x, *cell.trainable_weights])]

    for got, want in zip(loss_and_grads(fast), loss_and_grads(slow)):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)


# --- garbage in the padding ---------------------------------------------------------------
# What TF1 never reads (inputs past a row's length, the initial state of a zero-length
# row, which it only returns) must not change a value or a gradient: the same call on
# clean data (zero padding, a finite initial state) is the oracle. The goldens check the
# same against TF1 itself (tests/test_rnn.py); here any size, both layouts, both products.

def garbage_run(cell, x, lengths, init, fill, time_major, training):
    """`run` on `x` and `init` as given, and on a copy with `fill` in the padding and the empty rows' initial state."""
    batch_axis = 1 if time_major else 0
    steps = np.arange(x.shape[1 - batch_axis])
    padding = steps[None, :] >= lengths[:, None]  # [B, T]
    mask = (padding.T if time_major else padding)[..., None]
    empty = (lengths == 0)[:, None]
    garbage_init = tf.nest.map_structure(lambda s: tf.where(empty, tf.cast(fill, s.dtype), s), init)
    clean = run(cell, tf.where(mask, tf.zeros_like(x), x), lengths, init, time_major, training)
    garbage = run(cell, tf.where(mask, tf.cast(fill, x.dtype), x), lengths, garbage_init, time_major, training)
    return clean, garbage, empty


@settings(max_examples=12, deadline=None)
@given(
    name=st.sampled_from(sorted(PAIRS)), batch=st.integers(1, 4), time=st.integers(1, 6), depth=st.integers(1, 4),
    time_major=st.booleans(), seed=st.integers(0, 999), training=st.sampled_from([None, False]),
    per_gate=st.booleans(), fill=st.sampled_from([np.nan, np.inf, -np.inf]), generic=st.booleans(),
)
def test_garbage_in_padding_changes_no_value_or_gradient(name, batch, time, depth, time_major, seed, training, per_gate, fill, generic):
    rng = np.random.default_rng(seed)
    fast = PAIRS[name][0]()
    shape = (time, batch, depth) if time_major else (batch, time, depth)
    x = tf.constant(rng.normal(size=shape), tf.float32)
    lengths = np.concatenate([[0], rng.integers(0, time + 1, size=batch - 1)])  # a zero-length row at least
    init = tf.nest.map_structure(lambda s: tf.constant(rng.normal(size=(batch, s)), tf.float32), fast.state_size)
    fast(x[0] if time_major else x[:, 0], init)  # build
    cell = twin(fast) if generic else fast
    with gate_products(per_gate):
        (want, want_grads), (got, got_grads), empty = garbage_run(cell, x, lengths, init, fill, time_major, training)
    final_states = len(got) - 1  # outputs, then the final state's leaves
    for k, (a, b) in enumerate(zip(got, want)):
        expected = np.where(empty, fill, b) if k >= len(got) - final_states else b  # an empty row returns its init
        np.testing.assert_allclose(a, expected, atol=1e-6, rtol=1e-6)
    for a, b in zip(tf.nest.flatten(got_grads), tf.nest.flatten(want_grads), strict=True):
        assert np.all(np.isfinite(a))
        np.testing.assert_allclose(a, b, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("training", [None, False])
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_garbage_in_padding_under_xla(name, training, per_gate):
    fast, _, x, lengths = built_twins(name, seed=5)
    init = tf.nest.map_structure(lambda s: tf.fill([3, s], 0.5), fast.state_size)
    xla = tf.function(lambda x, init: garbage_run(fast, x, lengths.numpy(), init, np.nan, False, training), jit_compile=True)
    (want, want_grads), (got, got_grads), empty = xla(x, init)
    for a, b in zip(got[:1], want[:1]):
        np.testing.assert_allclose(a, b, atol=1e-5)
    for a, b in zip(got[1:], want[1:]):
        np.testing.assert_allclose(a, np.where(empty, np.nan, b), atol=1e-5)
    for a, b in zip(tf.nest.flatten(got_grads), tf.nest.flatten(want_grads), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
