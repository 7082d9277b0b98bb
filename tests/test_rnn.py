"""Loop semantics with toy cells, clear errors, and every place a user puts a loop."""

import contextlib
import functools
from unittest import mock

import keras
import numpy as np
import pytest
import tensorflow as tf

import test_rnn_golden as harness
import tfrnn
from tfrnn import fused
from toy_cells import CounterCell, GenericBasicLSTMCell, GenericGRUCell, GenericLSTMCell, PairCell, ramp


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


# --- lengths -------------------------------------------------------------------------
# Bad arguments (lengths, inputs, states) are rows of the bad-input table: tests/bad_input_rows_loops.py.


@pytest.mark.parametrize("lengths", [np.array([4, 1], "int64"), np.array([4, 1], "uint8"), tf.constant([4, 1], tf.int16)],
                         ids=["int64", "uint8", "int16"])
def test_lengths_of_any_integer_dtype_are_lengths(lengths):
    x = np.random.default_rng(7).normal(size=(2, 4, 3)).astype("float32")
    cell = tfrnn.GRUCell(2)
    want, want_state = tfrnn.dynamic_rnn(cell, x, sequence_length=[4, 1], dtype=tf.float32)
    got, state = tfrnn.dynamic_rnn(cell, x, sequence_length=lengths, dtype=tf.float32)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(state, want_state)


def test_symbolic_lengths_in_range_run_and_are_cast_after_the_check():
    cell = tfrnn.GRUCell(2)
    signature = [tf.TensorSpec([None, 4, 3]), tf.TensorSpec([None], tf.int64)]
    run = tf.function(
        lambda x, n: tfrnn.dynamic_rnn(cell, x, sequence_length=n, dtype=tf.float32)[0], input_signature=signature
    )
    x = np.random.default_rng(8).normal(size=(3, 4, 3)).astype("float32")
    got = run(x, tf.constant([0, 4, 1], tf.int64))
    np.testing.assert_allclose(got, tfrnn.dynamic_rnn(cell, x, sequence_length=[0, 4, 1], dtype=tf.float32)[0], atol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"\[but rows\] \[1\] \[exceed it\]"):
        run(x, tf.constant([0, 2**32 + 2, 1], tf.int64))  # not wrapped to 2 by the cast


# --- padding is never read --------------------------------------------------------------
# TF1's results do not depend on the values past a row's length, nor on the
# initial state a zero-length row only returns. So every TF1 golden with lengths,
# its padding and those initial states replaced by NaN or +-inf, must still give
# TF1's outputs, states (the garbage initial state for a zero-length row, as TF1
# returns it) and gradients: finite, with grad_x exactly 0 at padded steps.

FILLS = {"nan": np.nan, "+inf": np.inf, "-inf": -np.inf}


def padded_goldens():
    """`(name, (folder, case, scopes, init owners))` of every TF1 golden whose call has lengths."""
    for name, case in sorted(harness.CASES.items()):
        if case["lengths"] is not None and name != "dyn_len_longer_than_time":
            yield name, (harness.GOLDEN, case, case["scopes"], {k: harness.INIT_OWNERS[k] for k in case["inits"]})
    for name, case in sorted(harness.STACK_CASES.items()):
        static = case["call"].startswith("stack_bidirectional_rnn(")
        yield name, (harness.CONTRIB, case, {c: harness.stack_scope(c, static) for c in case["cells"]}, case["inits"])


PADDED = dict(padded_goldens())


def with_garbage(golden, case, init_owners, fill):
    """The golden with `fill` in x's padding and in the initial states of zero-length rows, and TF1's results for it."""
    golden = {key: golden[key].copy() for key in golden.keys()}
    lengths, x = golden["L"], golden["x"]
    time_major = case.get("x_layout") == "time_major" or "time_major=True" in case["call"]
    rows_steps = x.transpose(1, 0, 2) if time_major else x  # a view: [B, T, D]
    rows_steps[np.arange(rows_steps.shape[1])[None, :] >= lengths[:, None]] = fill
    empty = lengths == 0
    init_keys = [f"init:{name}:{i}" for name in init_owners for i in range(_leaves(golden, name))]
    # The final state's leaves end the result, in the order of the initial states.
    final_keys = [f"out_{k}" for k in range(case["result_leaves"] - len(init_keys), case["result_leaves"])]
    for key in init_keys + final_keys:
        golden[key][empty] = fill
    return golden


def _leaves(golden, init_name):
    return len([k for k in golden if k.startswith(f"init:{init_name}:")])


def reproduce(folder, case, scopes, init_owners, golden, mode, tape=True):
    """Runs the case's call on `golden`'s x, L and initial states; asserts TF1's results and gradients.

    `mode` as in tests/test_rnn_golden.py. With `tape=False` (eager only) the call
    also runs once without a gradient tape, as inference does (the fused forward
    then saves nothing), and its values are checked.
    """
    names, cells, inits = harness.namespace(golden, folder, case, scopes, init_owners)
    variables = {}
    for name, cell in cells.items():
        variables.update(tfrnn.tf1_variable_names(cell, scopes[name]))
    weights = [golden[f"r_{k}"] for k in range(case["result_leaves"])]

    def call(x, init_leaves, lengths):
        given, at = dict(names, x=x, L=lengths), 0
        for init_name, leaves in inits.items():
            given[init_name] = tf.nest.pack_sequence_as(names[init_name], init_leaves[at:at + len(leaves)])
            at += len(leaves)
        return tf.nest.flatten(eval(case["call"], given))  # noqa: S307 - text from the golden's MANIFEST.json

    def run(x, init_leaves, lengths):
        with tf.GradientTape() as tape:
            tape.watch([x, *init_leaves])
            leaves = call(x, init_leaves, lengths)
            loss = sum(tf.reduce_sum(leaf * weight) for leaf, weight in zip(leaves, weights))
        return leaves, tape.gradient(loss, {"x": x, "init": init_leaves, "vars": variables})

    arguments = (names["x"], [leaf for leaves in inits.values() for leaf in leaves], names["L"])
    if mode != "eager":
        run = tf.function(run, input_signature=harness.signature(case, *arguments), jit_compile=mode == "xla")
    results = [run(*arguments)] + ([] if tape else [(call(*arguments), None)])
    for leaves, grads in results:
        for k, leaf in enumerate(leaves):
            np.testing.assert_allclose(leaf, golden[f"out_{k}"], atol=harness.ATOL, err_msg=f"result leaf {k}")
    leaves, grads = results[0]
    np.testing.assert_allclose(grads["x"], golden["grad_x"], atol=harness.ATOL)
    assert np.all(np.asarray(grads["x"])[~np.isfinite(golden["x"])] == 0.0)  # exactly, at every garbage step
    init_grads = [golden[f"grad_init:{name}:{i}"] for name, leaves in inits.items() for i in range(len(leaves))]
    for got, want in zip(grads["init"], init_grads, strict=True):
        np.testing.assert_allclose(got, want, atol=harness.ATOL)
    for tf1_name, grad in grads["vars"].items():
        np.testing.assert_allclose(grad, golden[f"grad:{tf1_name}"], atol=harness.ATOL, err_msg=tf1_name)


def padded_params():
    """Every padded golden, eagerly with every fill; in a tf.function and under XLA with one fill each, in turn."""
    for k, name in enumerate(sorted(PADDED)):
        for fill in FILLS:
            yield pytest.param(name, "eager", fill, id=f"{name}-eager-{fill}")
        for mode in ("tf.function", "xla"):
            if name != "raw_rnn_docstring":  # raw_rnn is checked eagerly (tests/test_rnn_golden.py says why)
                fill = list(FILLS)[k % 3]
                yield pytest.param(name, mode, fill, id=f"{name}-{mode}-{fill}")


@pytest.mark.parametrize(("name", "mode", "fill"), padded_params())
def test_garbage_in_padding_and_in_empty_rows_gives_tf1s_results(name, mode, fill):
    folder, case, scopes, init_owners = PADDED[name]
    golden = with_garbage(np.load(folder / f"{case['name']}.npz"), case, init_owners, FILLS[fill])
    reproduce(folder, case, scopes, init_owners, golden, mode, tape=mode != "eager")


def generic_twins():
    """The fused classes replaced by generic twins with their TF1 names: the generic loop runs."""
    twins = {"BasicLSTMCell": GenericBasicLSTMCell, "LSTMCell": GenericLSTMCell, "GRUCell": GenericGRUCell}
    return [
        mock.patch.object(tfrnn, name, functools.partial(twin, name=tfrnn.base.default_name(getattr(tfrnn, name))))
        for name, twin in twins.items()
    ]


def not_training():
    """Every loop with training=False: the fused forward saves nothing and the backward recomputes."""
    loops = ("dynamic_rnn", "static_rnn", "raw_rnn", "bidirectional_dynamic_rnn", "static_bidirectional_rnn",
             "stack_bidirectional_dynamic_rnn", "stack_bidirectional_rnn")
    return [mock.patch.object(tfrnn, name, functools.partial(getattr(tfrnn, name), training=False)) for name in loops]


PATHS = {  # each a list of patches
    "one_gemm": lambda: [mock.patch.object(fused, "PER_GATE_MIN_SIZE", 10**9), mock.patch.object(fused, "GRU_SPLIT_MIN_UNITS", 10**9)],
    "per_gate": lambda: [mock.patch.object(fused, "PER_GATE_MIN_SIZE", 0)],  # GRUs split too
    "recompute": not_training,
    "generic": generic_twins,
}


@pytest.mark.parametrize("mode", ["eager", "tf.function", "xla"])
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", ["dyn_lstm_len", "bidi_len", "bidi_time_major_init"])
def test_garbage_never_reaches_any_loop_or_fast_path(name, path, mode):
    """LSTM and GRU cells, fused (one product or one per gate; saving or recomputing) and generic."""
    folder, case, scopes, init_owners = PADDED[name]
    fill = list(FILLS)[(len(path) + len(mode)) % 3]
    golden = with_garbage(np.load(folder / f"{case['name']}.npz"), case, init_owners, FILLS[fill])
    with contextlib.ExitStack() as stack:
        for patch in PATHS[path]():
            stack.enter_context(patch)
        reproduce(folder, case, scopes, init_owners, golden, mode)


@pytest.mark.parametrize("fill", FILLS)
def test_raw_rnn_never_feeds_finished_rows_garbage(fill):
    """A loop_fn that reads past each row's end, and garbage in the state of rows finished at time 0."""
    rng = np.random.default_rng(9)
    lengths = tf.constant([4, 2, 0])
    x = rng.normal(size=(4, 3, 2)).astype("float32")  # [T, B, D]
    padding = (np.arange(4)[:, None] >= lengths.numpy()[None, :])[..., None]
    clean, garbage = np.where(padding, 0.0, x), np.where(padding, FILLS[fill], x).astype("float32")
    init = tfrnn.LSTMStateTuple(*rng.normal(size=(2, 3, 3)).astype("float32"))
    garbage_init = tfrnn.LSTMStateTuple(*[np.where([[0], [0], [1]], FILLS[fill], s).astype("float32") for s in init])
    cell = tfrnn.LSTMCell(3)

    def raw(x, init):
        def loop_fn(time, cell_output, cell_state, loop_state):
            next_input = x[tf.minimum(time, 3)]  # past the end for finished rows: garbage
            return time >= lengths, next_input, init if cell_output is None else cell_state, None, None

        emit_ta, state, _ = tfrnn.raw_rnn(cell, loop_fn)
        return [emit_ta.stack(), *state]

    def dynamic(x, init):
        outputs, state = tfrnn.dynamic_rnn(cell, x, sequence_length=lengths, initial_state=init, time_major=True)
        return [outputs, *state]

    def leaves_and_grads(loop, x, init):
        with tf.GradientTape() as tape:
            x, init = tf.constant(x), tf.nest.map_structure(tf.constant, init)
            tape.watch([x, init])
            leaves = loop(x, init)
            loss = sum(tf.reduce_sum(leaf * (k + 1.0)) for k, leaf in enumerate(leaves))
        return leaves, tape.gradient(loss, [x, init, cell.trainable_weights])

    got, got_grads = leaves_and_grads(raw, garbage, garbage_init)
    want, want_grads = leaves_and_grads(dynamic, clean, init)
    np.testing.assert_allclose(got[0], want[0], atol=1e-6)
    for got_state, want_state, given in zip(got[1:], want[1:], garbage_init):
        np.testing.assert_allclose(got_state, np.where([[0], [0], [1]], given, want_state), atol=1e-6)
    for a, b in zip(tf.nest.flatten(got_grads), tf.nest.flatten(want_grads), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


# Issue #24: what TF 1.15's own tests pin about the loops (tests/test_tf1_port_*.py hold the ports).

STATIC_SHAPE_CELLS = {  # name: (cell, whether dynamic_rnn fuses it)
    "BasicLSTMCell": (lambda: tfrnn.BasicLSTMCell(3), True), "LSTMCell": (lambda: tfrnn.LSTMCell(3), True),
    "GRUCell": (lambda: tfrnn.GRUCell(3), True), "BasicRNNCell": (lambda: tfrnn.BasicRNNCell(3), False),
    "peephole LSTMCell": (lambda: tfrnn.LSTMCell(3, use_peepholes=True), False),
    "keras SimpleRNNCell": (lambda: keras.layers.SimpleRNNCell(3), False),
}


@pytest.mark.parametrize("time_major", [False, True], ids=["batch_major", "time_major"])
@pytest.mark.parametrize("with_lengths", [False, True], ids=["no_lengths", "lengths"])
@pytest.mark.parametrize("name", STATIC_SHAPE_CELLS)
def test_static_shapes_survive_every_path_in_a_tf_function(name, with_lengths, time_major):
    """TF1's graphs had `[2, 8, H]` outputs for `[2, 8, 5]` inputs: the fused loops' runtime-sized arrays lose none of it."""
    make_cell, fused_path = STATIC_SHAPE_CELLS[name]
    cell, cell_bw = make_cell(), make_cell()
    assert (fused.loop_for(cell, tf.zeros((8, 2, 5))) is not None) == fused_path
    shape = [8, 2, 5] if time_major else [2, 8, 5]
    lengths = tf.constant([8, 3]) if with_lengths else None
    options = dict(sequence_length=lengths, dtype=tf.float32, time_major=time_major)
    loops = {
        "dynamic_rnn": lambda x: tfrnn.dynamic_rnn(cell, x, **options),
        "bidirectional_dynamic_rnn": lambda x: tfrnn.bidirectional_dynamic_rnn(cell, cell_bw, x, **options),
        "stack_bidirectional_dynamic_rnn": lambda x: tfrnn.stack_bidirectional_dynamic_rnn([cell], [cell_bw], x, **options),
    }
    for loop, run in loops.items():
        outputs, *states = tf.function(run).get_concrete_function(tf.TensorSpec(shape)).structured_outputs
        depth = 6 if loop.startswith("stack") else 3
        for output in tf.nest.flatten(outputs):
            assert output.shape.as_list() == shape[:2] + [depth], loop
        for state in tf.nest.flatten(states):
            assert state.shape.as_list() == [2, 3], loop


class AnyStateCell:
    """A TF1-contract cell (not a Keras layer) with every kind of state leaf TF1 accepted.

    State `(count, h, seen)`: an int32 scalar step counter (`state_size` `TensorShape([])`),
    `h` of `TensorShape([3, 2])` (`[batch, 3, 2]`) that sums the inputs, and a TensorArray
    of the inputs read (`state_size` `()`). Output: the input. Its own `zero_state`:
    `RNNCell.zero_state` is the contract's, tested with the cells.
    """

    output_size = 1
    state_size = (tf.TensorShape([]), tf.TensorShape([3, 2]), ())

    def zero_state(self, batch_size, dtype):
        seen = tf.TensorArray(dtype, size=0, dynamic_size=True, element_shape=[batch_size, 1])
        return tf.zeros([], tf.int32), tf.zeros([batch_size, 3, 2], dtype), seen

    def __call__(self, inputs, state):
        count, h, seen = state
        return inputs, (count + 1, h + inputs[:, :, None], seen.write(count, inputs))


ANY_STATE_LOOPS = {  # name: run(cell, x [B, T, 1], lengths) -> (outputs [B, T, 1], final state)
    "dynamic_rnn": lambda cell, x, lengths: tfrnn.dynamic_rnn(cell, x, sequence_length=lengths, dtype=tf.float32),
    "static_rnn": lambda cell, x, lengths: (lambda out, s: (tf.stack(out, 1), s))(
        *tfrnn.static_rnn(cell, tf.unstack(x, axis=1), sequence_length=lengths, dtype=tf.float32)),
    "bidirectional_dynamic_rnn (fw)": lambda cell, x, lengths: (lambda o, s: (o[0], s[0]))(
        *tfrnn.bidirectional_dynamic_rnn(cell, AnyStateCell(), x, sequence_length=lengths, dtype=tf.float32)),
    "static_bidirectional_rnn (fw)": lambda cell, x, lengths: (lambda out, fw, _: (tf.stack(out, 1)[:, :, :1], fw))(
        *tfrnn.static_bidirectional_rnn(cell, AnyStateCell(), tf.unstack(x, axis=1), sequence_length=lengths, dtype=tf.float32)),
}


@pytest.mark.parametrize("in_function", [False, True], ids=["eager", "tf_function"])
@pytest.mark.parametrize("loop", ANY_STATE_LOOPS)
def test_scalar_multi_dimensional_and_tensor_array_states_in_every_loop(loop, in_function):
    """TF1's testScalarStateIsAccepted, testTensorArrayStateIsAccepted and multi-dimensional states, in one cell.

    A scalar has no rows: it takes each step's value (4 steps run: the longest row). `h`
    is copied through per row at rank 3. The TensorArray passes through, as in TF1, and
    holds what the cell read: past a row's end, the (finite) padding TF1 fed it too.
    """
    x = ramp(2, 4, depth=1)
    lengths = tf.constant([4, 2])
    run = lambda x: ANY_STATE_LOOPS[loop](AnyStateCell(), x, lengths)  # noqa: E731
    outputs, (count, h, seen) = tf.function(run)(x) if in_function else run(x)
    if in_function:  # a TensorArray does not leave a tf.function: check it inside
        outputs, (count, h, seen) = run(x)
    padding = np.arange(4)[None, :] >= lengths.numpy()[:, None]  # [B, T]
    want_outputs = np.where(padding[..., None], 0.0, x)
    np.testing.assert_array_equal(outputs, want_outputs)
    assert count.shape == () and int(count) == 4
    assert h.shape == (2, 3, 2)
    np.testing.assert_array_equal(h, np.broadcast_to(np.array([10.0, 3.0])[:, None, None], (2, 3, 2)))
    np.testing.assert_array_equal(seen.stack(), np.transpose(x, (1, 0, 2)))


KERAS_SINGLE_STATE_LOOPS = {  # name: run(cell, x) -> final state
    "dynamic_rnn": lambda cell, x: tfrnn.dynamic_rnn(cell, x, sequence_length=[4, 2], dtype=tf.float32)[1],
    "static_rnn": lambda cell, x: tfrnn.static_rnn(cell, tf.unstack(x, axis=1), sequence_length=[4, 2], dtype=tf.float32)[1],
    "bidirectional_dynamic_rnn": lambda cell, x: tfrnn.bidirectional_dynamic_rnn(
        cell, cell, x, sequence_length=[4, 2], dtype=tf.float32)[1][0],
    "static_bidirectional_rnn": lambda cell, x: tfrnn.static_bidirectional_rnn(
        cell, cell, tf.unstack(x, axis=1), sequence_length=[4, 2], dtype=tf.float32)[1],
    "stack_bidirectional_dynamic_rnn": lambda cell, x: tfrnn.stack_bidirectional_dynamic_rnn(
        [cell], [cell], x, sequence_length=[4, 2], dtype=tf.float32)[1][0],
}


@pytest.mark.parametrize("make_cell", [lambda: keras.layers.SimpleRNNCell(5), lambda: keras.layers.GRUCell(5)],
                         ids=["SimpleRNNCell", "GRUCell"])
@pytest.mark.parametrize("loop", KERAS_SINGLE_STATE_LOOPS)
def test_keras_cell_with_one_state_tensor_returns_that_tensor(loop, make_cell):
    """TF1's testRNNWithKerasSimpleRNNCell / GRUCell: the final state is `h`, not Keras' `[h]`, and it is Keras' `h`."""
    cell = make_cell()
    x = np.random.default_rng(7).normal(size=(2, 4, 3)).astype("float32")
    state = KERAS_SINGLE_STATE_LOOPS[loop](cell, x)
    assert isinstance(state, tf.Tensor) and state.shape == (2, 5)
    _, want = keras.layers.RNN(cell, return_state=True)(x, mask=tf.sequence_mask([4, 2], 4))
    np.testing.assert_allclose(state, want, atol=1e-5)


def test_raw_rnn_reads_emit_output_at_time_0_as_per_example_sizes():
    """TF1's testEmitDifferentStructureThanCellOutput: at time 0, `emit_output`'s shapes are one example's.

    The emitted structure differs from the cell's output, in structure, dtype and shape;
    rows finished emit zeros.
    """
    lengths = tf.constant([3, 1])
    cell = tfrnn.LSTMCell(3)

    def loop_fn(time, cell_output, cell_state, loop_state):
        if cell_output is None:
            emit = (tf.zeros([2, 3], tf.int32), tf.zeros([], tf.float32))  # one example's sizes
            state = cell.zero_state(2, tf.float32)
        else:
            emit, state = (tf.ones([2, 2, 3], tf.int32), tf.fill([2], tf.cast(time, tf.float32))), cell_state
        return time >= lengths, tf.ones([2, 4]), state, emit, None

    for run in (lambda: tfrnn.raw_rnn(cell, loop_fn)[0], tf.function(lambda: [ta.stack() for ta in tfrnn.raw_rnn(cell, loop_fn)[0]])):
        grid, steps = (ta.stack() if isinstance(ta, tf.TensorArray) else ta for ta in run())
        assert grid.dtype == tf.int32 and steps.dtype == tf.float32
        np.testing.assert_array_equal(grid, np.ones((3, 2, 2, 3)) * np.array([[1, 1], [1, 0], [1, 0]])[..., None, None])
        np.testing.assert_array_equal(steps, [[1, 1], [2, 0], [3, 0]])
