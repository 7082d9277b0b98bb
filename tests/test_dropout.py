"""DropoutWrapper: keep-probability semantics, the state filter, variational masks per
call of the loop, `training`, and its config.

Statistics use fixed seeds; an `EchoCell` (output = state = inputs) shows the masks
themselves: with inputs of ones, a kept value is exactly `1 / keep_prob`.
"""

import contextlib
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrnn
from cases import assert_config_round_trip
from toy_cells import EchoCell

DEPTH = 2000  # enough units for the kept fraction to be within ±0.04 of keep_prob


class DynamicRNNLayer(keras.layers.Layer):
    """A layer whose `call` runs `tfrnn.dynamic_rnn`: `training` reaches the cell."""

    def __init__(self, cell, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell

    def call(self, x, training=None):
        return tfrnn.dynamic_rnn(self.cell, x, dtype=tf.float32)[0]


@contextlib.contextmanager
def training_unset_warnings():
    """Collects the "training unset" warnings raised inside (all recorded: none hidden by a filter)."""
    caught = []
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        yield caught
    caught.extend(w for w in records if "training unset" in str(w.message))


def ones(batch, time, depth=DEPTH):
    return np.ones((batch, time, depth), "float32")


def kept(values):
    """Boolean kept-mask of echoed ones, after checking every value is 0 or 1/keep."""
    values = np.asarray(values)
    nonzero = values[values != 0]
    np.testing.assert_allclose(nonzero, nonzero.flat[0], rtol=1e-6)
    return values != 0


@pytest.mark.parametrize("keep", [0.3, 0.8])
def test_each_value_is_kept_with_keep_prob_and_scaled_by_its_inverse(keep):
    cell = tfrnn.DropoutWrapper(EchoCell(DEPTH), output_keep_prob=keep, seed=7)
    output, _ = cell(np.ones((8, DEPTH), "float32"), cell.zero_state(8, "float32"), training=True)
    mask = kept(output)
    assert abs(mask.mean() - keep) < 0.02
    np.testing.assert_allclose(np.asarray(output)[mask], 1.0 / keep, rtol=1e-6)
    assert 0.0 < mask.mean(axis=1).min() and mask.mean(axis=1).max() < 1.0  # per element, not per row


@pytest.mark.parametrize("training", [False, None])
def test_no_dropout_unless_training(training):
    inner = tfrnn.BasicLSTMCell(4)
    cell = tfrnn.DropoutWrapper(inner, input_keep_prob=0.5, output_keep_prob=0.5, state_keep_prob=0.5, seed=1)
    x, state = np.ones((3, 5), "float32"), inner.zero_state(3, "float32")
    with training_unset_warnings() as caught:
        output, new_state = cell(x, state, training=training)
    assert len(caught) == (training is None)
    want_output, want_state = inner(x, state)
    np.testing.assert_array_equal(np.asarray(output), np.asarray(want_output))
    np.testing.assert_array_equal(np.asarray(new_state.h), np.asarray(want_state.h))


def test_input_state_and_output_dropout_in_tf1_order():
    """Input dropout reaches the cell; then the new state and the output are dropped."""
    cell = tfrnn.DropoutWrapper(EchoCell(DEPTH), input_keep_prob=0.5, state_keep_prob=0.8, output_keep_prob=0.5, seed=3)
    output, state = cell(np.ones((4, DEPTH), "float32"), cell.zero_state(4, "float32"), training=True)
    state_mask, output_mask = kept(state), kept(output)
    assert abs(state_mask.mean() - 0.5 * 0.8) < 0.02 and abs(output_mask.mean() - 0.5 * 0.5) < 0.02
    assert abs((state_mask & output_mask).mean() - 0.5 * 0.8 * 0.5) < 0.02  # one input mask for both
    np.testing.assert_allclose(np.asarray(state)[state_mask], 1 / (0.5 * 0.8), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(output)[output_mask], 1 / (0.5 * 0.5), rtol=1e-6)


def test_state_filter_never_drops_an_lstm_c():
    rng = np.random.default_rng(0)
    inner = tfrnn.BasicLSTMCell(500)
    cell = tfrnn.DropoutWrapper(inner, state_keep_prob=0.5, seed=2)
    x = rng.normal(size=(4, 3)).astype("float32")
    state = tfrnn.LSTMStateTuple(*rng.normal(size=(2, 4, 500)).astype("float32"))
    _, (c, h) = cell(x, state, training=True)
    _, (want_c, want_h) = inner(x, state)
    np.testing.assert_array_equal(np.asarray(c), np.asarray(want_c))
    h, want_h = np.asarray(h), np.asarray(want_h)
    assert abs((h != 0).mean() - 0.5) < 0.03
    np.testing.assert_allclose(h[h != 0], 2 * want_h[h != 0], rtol=1e-6)


def drop_c_not_h(substate):
    """A state filter that inverts TF1's default for LSTM states."""
    if isinstance(substate, tfrnn.LSTMStateTuple):
        return tfrnn.LSTMStateTuple(c=True, h=False)
    return True


def test_state_filter_reaches_lstm_states_inside_a_multi_rnn_cell_and_can_be_replaced():
    stack = tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(300), tfrnn.GRUCell(300)])
    x, state = np.ones((2, 3), "float32"), stack.zero_state(2, "float32")
    default = tfrnn.DropoutWrapper(stack, state_keep_prob=0.5, seed=4)
    (_, ((c, h), gru)), (_, ((want_c, _), _)) = default(x, state, training=True), stack(x, state)
    np.testing.assert_array_equal(np.asarray(c), np.asarray(want_c))
    assert 0.4 < (np.asarray(h) == 0).mean() < 0.6 and 0.4 < (np.asarray(gru) == 0).mean() < 0.6
    only_c = tfrnn.DropoutWrapper(stack, state_keep_prob=0.5, seed=4, dropout_state_filter_visitor=drop_c_not_h)
    _, ((c, h), _) = only_c(x, state, training=True)
    _, ((_, want_h), _) = stack(x, state)
    np.testing.assert_array_equal(np.asarray(h), np.asarray(want_h))
    assert 0.4 < (np.asarray(c) == 0).mean() < 0.6


def test_standard_masks_change_at_every_step():
    layer = keras.layers.RNN(tfrnn.DropoutWrapper(EchoCell(DEPTH), output_keep_prob=0.5, seed=5), return_sequences=True)
    masks = kept(layer(ones(2, 3), training=True))
    assert 0.4 < (masks[:, 0] == masks[:, 1]).mean() < 0.6


def variational(keep=0.5, seed=11, **kwargs):
    return tfrnn.DropoutWrapper(
        EchoCell(DEPTH), output_keep_prob=keep, variational_recurrent=True, seed=seed, **kwargs
    )


def assert_one_mask_per_call(first, second, keep=0.5):
    """Same mask at every step and row of a call; a fresh one for the next call."""
    first, second = kept(first), kept(second)
    for masks in (first, second):
        assert abs(masks.mean() - keep) < 0.04
        assert np.all(masks == masks[:1, :1])  # every row, every step: TF1's [1, depth] noise
    assert 0.4 < (first[0, 0] == second[0, 0]).mean() < 0.6


@pytest.mark.parametrize("loop", ["keras_rnn", "dynamic_rnn"])
def test_variational_mask_is_one_per_call_of_the_loop(loop):
    cell = variational()
    layer = keras.layers.RNN(cell, return_sequences=True) if loop == "keras_rnn" else DynamicRNNLayer(cell)
    assert_one_mask_per_call(layer(ones(3, 4), training=True), layer(ones(3, 4), training=True))
    np.testing.assert_array_equal(np.asarray(layer(ones(3, 4), training=False)), ones(3, 4))


@pytest.mark.parametrize("jit_compile", [False, True])
def test_variational_mask_is_one_per_call_inside_tf_function_and_xla(jit_compile):
    """Nested in a MultiRNNCell (no `training` argument): it comes from the Keras call."""
    layer = keras.layers.RNN(tfrnn.MultiRNNCell([variational(), EchoCell(DEPTH)]), return_sequences=True)
    run = tf.function(lambda x: layer(x, training=True), jit_compile=jit_compile)
    assert_one_mask_per_call(run(ones(2, 5)), run(ones(2, 5)))
    np.testing.assert_array_equal(np.asarray(tf.function(layer, jit_compile=jit_compile)(ones(2, 5))), ones(2, 5))


class RawRNNLayer(keras.layers.Layer):
    """`tfrnn.raw_rnn` over `[B, T, D]` inputs: its first cell step is inside the loop."""

    def __init__(self, cell, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell

    def call(self, x, training=None):
        batch, time, depth = x.shape
        steps = tf.TensorArray(tf.float32, size=time).unstack(tf.transpose(x, [1, 0, 2]))

        def loop_fn(t, output, state, loop_state):
            state = self.cell.zero_state(batch, tf.float32) if output is None else state
            next_input = tf.cond(t < time, lambda: steps.read(tf.minimum(t, time - 1)), lambda: tf.zeros([batch, depth]))
            return tf.fill([batch], t >= time), next_input, state, None, None

        return tf.transpose(tfrnn.raw_rnn(self.cell, loop_fn)[0].stack(), [1, 0, 2])


@pytest.mark.parametrize("traced", [False, True])
def test_variational_masks_in_raw_rnn_are_one_per_call_even_where_the_loop_is_traced(traced):
    layer = RawRNNLayer(variational())
    run = lambda x: layer(x, training=True)  # noqa: E731
    run = tf.function(run) if traced else run  # (raw_rnn's growing TensorArray rules out XLA)
    assert_one_mask_per_call(run(ones(2, 4)), run(ones(2, 4)))


LOOPS = {
    "dynamic_rnn": lambda cell, x, **kw: tfrnn.dynamic_rnn(cell, x, dtype=tf.float32, **kw)[0],
    "static_rnn": lambda cell, x, **kw: tf.stack(
        tfrnn.static_rnn(cell, tf.unstack(x, axis=1), dtype=tf.float32, **kw)[0], 1
    ),
    "bidirectional_dynamic_rnn": lambda cell, x, **kw: tfrnn.bidirectional_dynamic_rnn(
        cell, EchoCell(DEPTH), x, dtype=tf.float32, **kw
    )[0][0],
    "stack_bidirectional_dynamic_rnn": lambda cell, x, **kw: tfrnn.stack_bidirectional_dynamic_rnn(
        [cell], [EchoCell(DEPTH)], x, dtype=tf.float32, **kw
    )[0][..., :DEPTH],
    "stack_bidirectional_rnn": lambda cell, x, **kw: tf.stack(
        tfrnn.stack_bidirectional_rnn([cell], [EchoCell(DEPTH)], tf.unstack(x, axis=1), dtype=tf.float32, **kw)[0], 1
    )[..., :DEPTH],
}


@pytest.mark.parametrize("loop", sorted(LOOPS))
def test_loops_outside_keras_drop_only_with_training_true_and_draw_masks_per_call(loop):
    """A GradientTape training loop (no Keras layer around) passes `training` to the loop."""
    run = LOOPS[loop]
    cell = variational()
    with pytest.warns(UserWarning, match="training unset"):
        np.testing.assert_array_equal(np.asarray(run(cell, ones(2, 3))), ones(2, 3))  # TF1 always dropped
    np.testing.assert_array_equal(np.asarray(run(cell, ones(2, 3), training=False)), ones(2, 3))
    assert_one_mask_per_call(run(cell, ones(2, 3), training=True), run(cell, ones(2, 3), training=True))
    standard = tfrnn.DropoutWrapper(EchoCell(DEPTH), output_keep_prob=0.5, seed=3)
    masks = kept(run(standard, ones(2, 3), training=True))
    assert abs(masks.mean() - 0.5) < 0.04 and 0.4 < (masks[:, 0] == masks[:, 1]).mean() < 0.6


def test_training_false_turns_dropout_off_inside_a_training_keras_call():
    layer = DynamicRNNLayer(variational())
    layer.call = lambda x, training=None: tfrnn.dynamic_rnn(layer.cell, x, dtype=tf.float32, training=False)[0]
    np.testing.assert_array_equal(np.asarray(layer(ones(2, 3), training=True)), ones(2, 3))


def test_a_gradient_tape_loop_gets_dropout_gradients_through_the_kept_values():
    cell = tfrnn.DropoutWrapper(tfrnn.BasicRNNCell(DEPTH), input_keep_prob=0.5, variational_recurrent=True, seed=4)
    x = tf.constant(ones(2, 3, 8))
    with tf.GradientTape() as tape:
        tape.watch(x)
        outputs, _ = tfrnn.dynamic_rnn(cell, x, dtype=tf.float32, training=True)
    grad = tape.gradient(outputs, x).numpy()
    dropped = grad == 0  # a dropped input feature has no gradient, at every step and row
    assert np.all(dropped == dropped[:1, :1]) and 0 < dropped[0, 0].sum() < 8


def test_a_hand_written_step_loop_starts_its_sequence_with_zero_state_or_reset_dropout_mask():
    cell = variational()

    def sequence(state=None):
        state = cell.zero_state(2, "float32") if state is None else state
        return np.stack([np.asarray(cell(ones(2, 1)[:, 0], state, training=True)[0]) for _ in range(3)], 1)

    assert_one_mask_per_call(sequence(), sequence())
    given = tf.zeros([2, DEPTH])
    first = sequence(given)
    np.testing.assert_array_equal(sequence(given), first)  # no new sequence was started
    cell.reset_dropout_mask()
    assert_one_mask_per_call(first, sequence(given))


@pytest.mark.parametrize("mode", ["eager", "tf.function", "xla"])
def test_keras_rnn_with_an_explicit_initial_state_draws_masks_per_call(mode):
    """Keras resets its cells' masks after each call; tfrnn cells take part in that.

    With an `initial_state`, `keras.layers.RNN` never asks the cell for a state,
    so this is the one case that rests on Keras' reset after the call
    (`tfrnn.base._KerasDropoutCell`). If it fails after a Keras upgrade, Keras
    moved that mixin: look for its new home before changing anything else.
    """
    cell = tfrnn.MultiRNNCell([variational(), EchoCell(DEPTH)])
    layer = keras.layers.RNN(cell, return_sequences=True)
    state = [tf.zeros([2, DEPTH]), tf.zeros([2, DEPTH])]
    run = lambda x: layer(x, initial_state=state, training=True)  # noqa: E731
    if mode != "eager":
        run = tf.function(run, jit_compile=mode == "xla")
    first, second = run(ones(2, 3)), run(ones(2, 3))
    assert_one_mask_per_call(first, second)
    assert_one_mask_per_call(second, run(ones(2, 3)))


def test_bidirectional_keras_rnn_with_initial_states_draws_masks_per_call():
    layer = keras.layers.Bidirectional(keras.layers.RNN(variational(), return_sequences=True), merge_mode=None)
    states = [tf.zeros([2, DEPTH])] * 2
    forward = [np.asarray(layer(ones(2, 3), initial_state=states, training=True)[0]) for _ in range(2)]
    assert_one_mask_per_call(*forward)


def test_reset_dropout_mask_reaches_wrappers_inside_stacks_and_wrappers():
    inner = variational()
    cell = tfrnn.MultiRNNCell([tfrnn.ResidualWrapper(inner), EchoCell(DEPTH)])
    before = inner.seed_generator.state.numpy().copy()
    cell.reset_dropout_mask()
    assert not np.array_equal(inner.seed_generator.state.numpy(), before)


def test_variational_masks_are_drawn_per_component_and_reproducible_by_seed():
    def masks(seed):
        cell = tfrnn.DropoutWrapper(
            EchoCell(DEPTH), input_keep_prob=0.5, state_keep_prob=0.5, output_keep_prob=0.5,
            variational_recurrent=True, seed=seed,
        )
        output, state = cell(np.ones((2, DEPTH), "float32"), cell.zero_state(2, "float32"), training=True)
        return kept(state), kept(output)

    state_mask, output_mask = masks(21)
    assert 0.2 < state_mask.mean() < 0.3 and 0.2 < output_mask.mean() < 0.3  # input mask times own
    assert 0.7 < (state_mask == output_mask).mean() < 0.8  # independent masks: 0.5 + 0.5 * 0.5
    again = masks(21)
    np.testing.assert_array_equal(again[0], state_mask)
    np.testing.assert_array_equal(again[1], output_mask)


def test_fit_drops_and_predict_and_evaluate_do_not():
    keras.utils.set_random_seed(0)
    cell = tfrnn.DropoutWrapper(tfrnn.BasicRNNCell(64), output_keep_prob=0.5, seed=8)
    model = keras.Sequential([keras.Input((4, 3)), keras.layers.RNN(cell)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    x, y = np.ones((16, 4, 3), "float32"), np.zeros((16, 64), "float32")
    want = np.asarray(keras.layers.RNN(cell.cell)(x))  # the same weights, no dropout
    np.testing.assert_allclose(model.predict(x, verbose=0), want, atol=1e-6)
    eval_loss = model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(eval_loss, np.mean(want**2), rtol=1e-5)
    fit_loss = model.fit(x, y, epochs=1, batch_size=16, verbose=0).history["loss"][0]
    np.testing.assert_allclose(fit_loss, 2 * eval_loss, rtol=0.2)  # E[(m h / 0.5)^2] = 2 h^2


def test_keep_probabilities_are_checked_with_tf1_messages_before_anything_changes():
    inner = tfrnn.GRUCell(2)
    with pytest.raises(ValueError, match=r"Parameter output_keep_prob must be between 0 and 1\. Received 1\.5"):
        tfrnn.DropoutWrapper(inner, output_keep_prob=1.5)
    with pytest.raises(ValueError, match=r"Parameter input_keep_prob must be between 0 and 1\. Received -0\.1"):
        tfrnn.DropoutWrapper(inner, input_keep_prob=-0.1)
    with pytest.raises(TypeError, match="state_keep_prob must be a float.*training=False"):
        tfrnn.DropoutWrapper(inner, state_keep_prob="half")
    with pytest.raises(TypeError, match="dropout_state_filter_visitor must be callable"):
        tfrnn.DropoutWrapper(inner, dropout_state_filter_visitor=True)
    with pytest.raises(TypeError, match="The argument 'cell'.*is not an RNNCell"):
        tfrnn.DropoutWrapper("lstm")
    with pytest.raises(ValueError, match=r"dropout_keep_prob must be between 0 and 1\. Received 2"):
        tfrnn.LayerNormBasicLSTMCell(3, dropout_keep_prob=2)
    assert not inner.built
    assert tfrnn.DropoutWrapper(inner, output_keep_prob=tf.constant(0.25)).output_keep_prob == 0.25


def test_keep_prob_one_is_the_identity_and_draws_nothing():
    inner = tfrnn.LSTMCell(3)
    cell = tfrnn.DropoutWrapper(inner, input_keep_prob=1.0, output_keep_prob=1.0)
    x, state = np.ones((2, 4), "float32"), inner.zero_state(2, "float32")
    output, _ = cell(x, state, training=True)
    np.testing.assert_array_equal(np.asarray(output), np.asarray(inner(x, state)[0]))
    assert cell.seed_generator is None and len(cell.weights) == 2


@pytest.mark.parametrize("jit_compile", [None, False, True])
def test_keras_cells_with_dropout_get_new_masks_per_call_of_a_tfrnn_loop(jit_compile):
    """Keras cells cache their masks on the layer; the loops reset them around each sequence."""
    cell = keras.layers.SimpleRNNCell(
        DEPTH, dropout=0.5, recurrent_dropout=0.5, kernel_initializer="identity",
        recurrent_initializer="identity", use_bias=False, activation=None,
    )
    run = lambda x: tfrnn.dynamic_rnn(cell, x, dtype=tf.float32, training=True)[0]  # noqa: E731
    run = run if jit_compile is None else tf.function(run, jit_compile=jit_compile)

    def masks():
        # h1 = m_in * 2, h2 = m_in * 2 + m_rec * 2 * h1: the two masks, read off the outputs.
        outputs = np.asarray(run(ones(2, 2)))
        input_mask = outputs[:, 0] != 0
        recurrent_mask = outputs[:, 1] > 2 * input_mask + 1
        return input_mask, recurrent_mask

    (input_a, recurrent_a), (input_b, recurrent_b) = masks(), masks()
    both = input_a & input_b  # where both recurrent masks can be read
    for first, second in ((input_a, input_b), (recurrent_a[both], recurrent_b[both])):
        assert abs(first.mean() - 0.5) < 0.05
        assert 0.4 < (first == second).mean() < 0.6
    keras.layers.RNN(cell)(ones(2, 2), training=True)  # no mask of a traced loop is left behind


@pytest.mark.parametrize("name", ["dropout_variational_output"])
def test_config_round_trip_rebuilds_the_same_cell(name):
    assert_config_round_trip(name)


# ------------------------------------------ dropout off because `training` is unset: a warning
# TF1 always dropped; Keras drops only where `training` is True. A TF1 training loop moved to
# a GradientTape without `training=True` would train without dropout: it warns, once per cell.

DROPOUT_CELLS = {
    "dropout_wrapper": lambda: tfrnn.DropoutWrapper(tfrnn.GRUCell(8), output_keep_prob=0.5, seed=1),
    "layer_norm_lstm": lambda: tfrnn.LayerNormBasicLSTMCell(8, dropout_keep_prob=0.5, dropout_prob_seed=1),
}


def assert_warned_once_here(caught, cell):
    assert len(caught) == 1, [str(w.message) for w in caught]
    warning, message = caught[0], str(caught[0].message)
    assert warning.category is UserWarning and warning.filename == __file__  # the user's line
    assert f"{cell.name} ({type(cell).__name__})" in message and "training unset (None)" in message
    assert "training=True" in message and "training=False" in message  # both fixes


@pytest.mark.parametrize("kind", sorted(DROPOUT_CELLS))
def test_a_tf1_style_gradient_tape_loop_without_training_warns_once(kind):
    cell, optimizer = DROPOUT_CELLS[kind](), keras.optimizers.SGD(0.1)
    x = ones(2, 3, 4)
    with training_unset_warnings() as caught:
        for _ in range(3):  # three training steps of three loop steps each: one warning
            with tf.GradientTape() as tape:
                outputs, _ = tfrnn.dynamic_rnn(cell, x, dtype=tf.float32)
                loss = tf.reduce_sum(outputs)
            optimizer.apply(tape.gradient(loss, cell.trainable_variables), cell.trainable_variables)
    assert_warned_once_here(caught, cell)
    with training_unset_warnings() as caught:
        tfrnn.dynamic_rnn(DROPOUT_CELLS[kind](), x, dtype=tf.float32)
    assert len(caught) == 1  # once per cell: a new cell warns again


def test_a_traced_train_step_without_training_warns_once_at_the_users_line():
    cell = DROPOUT_CELLS["dropout_wrapper"]()

    @tf.function
    def train_step(x):
        with tf.GradientTape() as tape:
            outputs, _ = tfrnn.dynamic_rnn(cell, x, dtype=tf.float32)
        return tape.gradient(tf.reduce_sum(outputs), cell.trainable_variables)

    with training_unset_warnings() as caught:
        for batch in (2, 3, 3):  # two traces, three runs
            train_step(ones(batch, 3, 4))
    assert_warned_once_here(caught, cell)


@pytest.mark.parametrize("kind", sorted(DROPOUT_CELLS))
@pytest.mark.parametrize("training", [True, False])
def test_training_given_to_the_loop_or_the_step_never_warns(kind, training):
    cell = DROPOUT_CELLS[kind]()
    with training_unset_warnings() as caught:
        tfrnn.dynamic_rnn(cell, ones(2, 3, 4), dtype=tf.float32, training=training)
        cell(np.ones((2, 4), "float32"), cell.zero_state(2, "float32"), training=training)
    assert caught == []


def test_keep_probability_one_never_warns():
    cells = [tfrnn.DropoutWrapper(tfrnn.GRUCell(8), output_keep_prob=1.0), tfrnn.LayerNormBasicLSTMCell(8)]
    with training_unset_warnings() as caught:
        for cell in cells:
            tfrnn.dynamic_rnn(cell, ones(2, 3, 4), dtype=tf.float32)
    assert caught == []


class TrainingLayer(keras.layers.Layer):
    """A layer that passes its `training` on to `tfrnn.dynamic_rnn`, as the warning asks."""

    def __init__(self, cell, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell

    def call(self, x, training=None):
        return tfrnn.dynamic_rnn(self.cell, x, dtype=tf.float32, training=training)[0]


SEQUENCE_LAYERS = {
    "keras_rnn": lambda cell: keras.layers.RNN(cell, return_sequences=True),
    "passes_training": TrainingLayer,
    "inherits_training": DynamicRNNLayer,
}


@pytest.mark.parametrize("layer", sorted(SEQUENCE_LAYERS))
def test_fit_predict_and_evaluate_never_warn_and_a_direct_model_call_does(layer):
    """Keras' own rule stands: `fit` drops, `predict`/`evaluate` do not, and nothing warns.

    A direct `model(x)` leaves `training` unset, and warns, except through
    `keras.layers.RNN`: its `call` defaults to `training=False`, so the cell is
    told it is inference, as in `predict` (Keras has no public way to tell the two apart).
    """
    cell = DROPOUT_CELLS["dropout_wrapper"]()
    x, y = ones(4, 3, 4), np.zeros((4, 3, 8), "float32")
    with training_unset_warnings() as caught:
        model = keras.Sequential([keras.Input((3, 4)), SEQUENCE_LAYERS[layer](cell)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, y, epochs=2, batch_size=2, verbose=0)
        model.predict(x, verbose=0)
        model.evaluate(x, y, verbose=0)
    assert caught == []
    with training_unset_warnings() as caught:
        model(x)
        model(x)
    assert len(caught) == (0 if layer == "keras_rnn" else 1)


def test_fit_of_a_model_whose_call_takes_no_training_warns_as_nothing_drops():
    """Keras passes `training=True` only to a `call` that takes it: this model trains without dropout."""

    class NoTrainingArgument(keras.Model):
        def __init__(self):
            super().__init__()
            self.cell = DROPOUT_CELLS["dropout_wrapper"]()

        def call(self, x):
            return tfrnn.dynamic_rnn(self.cell, x, dtype=tf.float32)[0]

    model = NoTrainingArgument()
    model.compile(optimizer="sgd", loss="mse")
    with training_unset_warnings() as caught:
        model.fit(ones(4, 3, 4), np.zeros((4, 3, 8), "float32"), epochs=1, verbose=0)
    assert len(caught) == 1 and "give your own Keras call a training argument" in str(caught[0].message)
