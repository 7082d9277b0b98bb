"""`sequence_loss` and `SequenceLoss`: TF 1.15's numbers, flags and quirks, and Keras use.

Oracles, in order:

* the TF 1.15 golden `tests/golden/tf115_seq2seq/sequence_loss.npz` (written by
  TF 1.15 itself, `generate.py` beside it): all 16 flag combinations, the 9
  accepted ones with their values and gradients w.r.t. logits and weights, the 7
  rejected ones with TF 1.15's error text; weights with non-binary values, an
  all-zero row and an all-zero step; a custom `softmax_loss_function`;
* the tests of TensorFlow 1.15's own suite, ported from TensorFlow 1.15
  tensorflow/contrib/seq2seq/python/kernel_tests/loss_test.py (Copyright 2016
  The TensorFlow Authors, Apache-2.0): `testSequenceLoss`,
  `testSequenceLossClass`, `testSumReduction`, `testWeightedSumReduction` and
  `testZeroWeights`, with their inputs and their hard-coded 1.60944;
* numbers TF 1.15 printed for the quirks below (`/opt/tf115/bin/python`, the
  TF1 code is quoted beside each).
"""

import json
import pathlib
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfrnn import seq2seq

GOLDEN = pathlib.Path(__file__).parent / "golden" / "tf115_seq2seq"
CASE = next(case for case in json.loads((GOLDEN / "MANIFEST.json").read_text())["cases"]
            if case["name"] == "sequence_loss")
with np.load(GOLDEN / "sequence_loss.npz") as _data:
    DATA = {key: _data[key] for key in _data.files}
LOGITS, TARGETS, WEIGHTS = DATA["in:logits"], DATA["in:targets"], DATA["in:weights"]  # [4, 5, 7], [4, 5], [4, 5]

FLAGS = ("average_across_timesteps", "average_across_batch", "sum_over_timesteps", "sum_over_batch")
COMBOS = [(aat, aab, sot, sob) for aat in (0, 1) for aab in (0, 1) for sot in (0, 1) for sob in (0, 1)]


def key(combo):
    return "aat%d_aab%d_sot%d_sob%d" % combo


def flags(combo):
    return dict(zip(FLAGS, (bool(flag) for flag in combo)))


ACCEPTED = [combo for combo in COMBOS if key(combo) not in CASE["errors"]]
REJECTED = [combo for combo in COMBOS if key(combo) in CASE["errors"]]
TOLERANCE = dict(rtol=1e-5, atol=1e-5)


def loss_and_gradients(logits, targets, weights, **kwargs):
    """The loss and d(sum of the loss)/d(logits, weights), as TF1's `tf.gradients(loss, x)`."""
    logits, weights = tf.constant(logits), tf.constant(weights)
    with tf.GradientTape() as tape:
        tape.watch([logits, weights])
        loss = seq2seq.sequence_loss(logits, targets, weights, **kwargs)
    grad_logits, grad_weights = tape.gradient(loss, [logits, weights])
    return loss.numpy(), grad_logits.numpy(), grad_weights.numpy()


def numpy_crossentropy(logits, targets):
    """`[B, T]` softmax cross-entropy, the NumPy way."""
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    return -np.take_along_axis(log_probs, targets[..., None], -1)[..., 0]


# ----- TF 1.15 golden -----------------------------------------------------------------------


def test_the_golden_holds_every_combination():
    assert len(ACCEPTED) == 9 and len(REJECTED) == 7
    assert all(f"out:loss.{key(combo)}" in DATA for combo in ACCEPTED)
    # The weights TF1 saw: non-binary, an all-zero row (2) and an all-zero step (3).
    assert not WEIGHTS[2].any() and not WEIGHTS[:, 3].any() and WEIGHTS.max() == 3.0


@pytest.mark.parametrize("combo", ACCEPTED, ids=key)
def test_accepted_flags_equal_tf115_values_and_gradients(combo):
    loss, grad_logits, grad_weights = loss_and_gradients(LOGITS, TARGETS, WEIGHTS, **flags(combo))
    expected = DATA[f"out:loss.{key(combo)}"]
    assert loss.shape == expected.shape
    np.testing.assert_allclose(loss, expected, **TOLERANCE)
    np.testing.assert_allclose(grad_logits, DATA[f"out:grad_logits.{key(combo)}"], **TOLERANCE)
    np.testing.assert_allclose(grad_weights, DATA[f"out:grad_weights.{key(combo)}"], **TOLERANCE)


@pytest.mark.parametrize("combo", REJECTED, ids=key)
def test_rejected_flags_raise_tf115s_error(combo):
    error_type, message = CASE["errors"][key(combo)].split(": ", 1)
    assert error_type == "ValueError"
    with pytest.raises(ValueError, match=re.escape(message)):
        seq2seq.sequence_loss(LOGITS, TARGETS, WEIGHTS, **flags(combo))
    with pytest.raises(ValueError, match=re.escape(message)):  # the Keras loss checks when it is made
        seq2seq.SequenceLoss(**flags(combo))


def test_custom_softmax_loss_function_equals_tf115():
    def smoothed(labels, logits):  # the golden's: label smoothing 0.1 over 7 classes
        one_hot = tf.one_hot(labels, 7)
        return tf.nn.softmax_cross_entropy_with_logits(labels=0.9 * one_hot + 0.1 / 7, logits=logits)

    loss, grad_logits, _ = loss_and_gradients(LOGITS, TARGETS, WEIGHTS, softmax_loss_function=smoothed)
    np.testing.assert_allclose(loss, DATA["out:loss.custom_softmax_loss_function"], **TOLERANCE)
    np.testing.assert_allclose(grad_logits, DATA["out:grad_logits.custom_softmax_loss_function"], **TOLERANCE)


def test_weighted_sum_of_every_loss_has_tf115s_gradient():
    """The golden's own loss, sum_k sum(loss_k * r_k) over the 10 recorded losses, and its gradient."""
    logits, weights = tf.constant(LOGITS), tf.constant(WEIGHTS)
    smoothed = lambda labels, logits: tf.nn.softmax_cross_entropy_with_logits(  # noqa: E731
        labels=0.9 * tf.one_hot(labels, 7) + 0.1 / 7, logits=logits)
    with tf.GradientTape() as tape:
        tape.watch([logits, weights])
        total = sum(tf.reduce_sum(seq2seq.sequence_loss(logits, TARGETS, weights, **flags(combo))
                                  * DATA[f"r:loss.{key(combo)}"]) for combo in ACCEPTED)
        total += seq2seq.sequence_loss(logits, TARGETS, weights, softmax_loss_function=smoothed) * DATA[
            "r:loss.custom_softmax_loss_function"]
    grad_logits, grad_weights = tape.gradient(total, [logits, weights])
    np.testing.assert_allclose(grad_logits, DATA["grad_in:logits"], **TOLERANCE)
    np.testing.assert_allclose(grad_weights, DATA["grad_in:weights"], **TOLERANCE)


# ----- TF 1.15's quirks, kept -------------------------------------------------------------------


def test_an_average_flag_ignores_the_other_axis_sum_flag():
    """TF 1.15 (golden): (average_across_timesteps, sum_over_batch) is average_across_timesteps
    alone, [B]; (sum_over_timesteps, average_across_batch) is average_across_batch alone, [T]."""
    per_row = seq2seq.sequence_loss(LOGITS, TARGETS, WEIGHTS, True, False, False, True)
    per_step = seq2seq.sequence_loss(LOGITS, TARGETS, WEIGHTS, False, True, True, False)
    np.testing.assert_array_equal(per_row, seq2seq.sequence_loss(LOGITS, TARGETS, WEIGHTS, True, False))
    np.testing.assert_array_equal(per_step, seq2seq.sequence_loss(LOGITS, TARGETS, WEIGHTS, False, True))
    np.testing.assert_allclose(per_row, DATA["out:loss.aat1_aab0_sot0_sob0"], **TOLERANCE)
    np.testing.assert_allclose(per_step, DATA["out:loss.aat0_aab1_sot0_sob0"], **TOLERANCE)
    assert per_row.shape == (4,) and per_step.shape == (5,)


def test_none_flags_are_false_as_in_tf1():
    """TF1 tested the flags for truth: None (an unset config value) is False."""
    per_row = seq2seq.sequence_loss(LOGITS, TARGETS, WEIGHTS, True, None, None, None)
    np.testing.assert_allclose(per_row, DATA["out:loss.aat1_aab0_sot0_sob0"], **TOLERANCE)


def test_average_divides_by_the_weight_sum_and_sum_by_the_nonzero_count():
    """TF1's docstring promised "divide by the batch size" (average) and sums; TF 1.15
    divides by sum(w) (average_across_*) and by count_nonzero(w) (sum_over_*), so with
    uniform logits (xent = log 5 everywhere) and weights 0.5 or 2 the average flags give
    log 5 and the sum flags 0.5 log 5 or 2 log 5."""
    logits, targets = np.zeros((2, 3, 5), "float32"), np.zeros((2, 3), "int32")
    log5 = np.log(5.0)
    for weight in (0.5, 2.0):
        weights = np.full((2, 3), weight, "float32")
        for combo, shape in (((1, 1, 0, 0), ()), ((1, 0, 0, 0), (2,)), ((0, 1, 0, 0), (3,))):
            np.testing.assert_allclose(seq2seq.sequence_loss(logits, targets, weights, **flags(combo)),
                                       np.full(shape, log5), rtol=1e-6)
        for combo, shape in (((0, 0, 1, 1), ()), ((0, 0, 1, 0), (2,)), ((0, 0, 0, 1), (3,))):
            np.testing.assert_allclose(seq2seq.sequence_loss(logits, targets, weights, **flags(combo)),
                                       np.full(shape, weight * log5), rtol=1e-6)


def test_sum_flags_count_nonzero_weights_without_a_gradient():
    """d/dw of sum(x w) / count_nonzero(w) is x / count (TF 1.15's golden): the count has no gradient."""
    _, _, grad_weights = loss_and_gradients(LOGITS, TARGETS, WEIGHTS, **flags((0, 0, 1, 1)))
    crossent = numpy_crossentropy(LOGITS, TARGETS)
    np.testing.assert_allclose(grad_weights, crossent / np.count_nonzero(WEIGHTS), **TOLERANCE)
    np.testing.assert_allclose(grad_weights, DATA["out:grad_weights.aat0_aab0_sot1_sob1"], **TOLERANCE)


def test_zero_weight_sums_give_zero_not_nan_with_finite_gradients():
    """`div_no_nan`: the golden's all-zero row 2 and step 3 reduce to 0 under every flag."""
    for combo in ACCEPTED:
        loss, grad_logits, grad_weights = loss_and_gradients(LOGITS, TARGETS, WEIGHTS, **flags(combo))
        assert np.isfinite(grad_logits).all() and np.isfinite(grad_weights).all(), key(combo)
        if loss.shape == (4,):  # per row
            assert loss[2] == 0.0 and (loss[[0, 1, 3]] > 0).all()
        if loss.shape == (5,):  # per step
            assert loss[3] == 0.0 and (loss[[0, 1, 2, 4]] > 0).all()
    weights = np.zeros_like(WEIGHTS)
    for combo in ACCEPTED:
        loss, grad_logits, _ = loss_and_gradients(LOGITS, TARGETS, weights, **flags(combo))
        np.testing.assert_array_equal(loss, np.zeros_like(loss))
        np.testing.assert_array_equal(grad_logits, np.zeros_like(grad_logits))


# TF 1.15's numbers for non-finite logits at zero-weight positions (its multiply keeps NaN):
#   logits = np.sin(np.arange(24)).reshape(2, 3, 4).astype("float32")
#   logits[0, 2, :] = np.nan; logits[1, 1, 0] = np.inf      # both where the weight is 0
#   targets = [[0, 1, 2], [3, 0, 1]]; weights = [[1, 1, 0], [1, 0, 0]]
#   loss = tf.contrib.seq2seq.sequence_loss(logits, targets, weights, **flags)
#   sess.run([loss] + tf.gradients(loss, [logits, weights]))
NAN = np.nan
NAN_GRAD_ROWS = [[NAN] * 4, [0.0] * 4]  # [0, 2] and [1, 1] are NaN; [1, 2] (finite, weight 0) is 0
TF115_NONFINITE = {
    "default": dict(
        flags={}, loss=NAN,
        grad_logits=[[[-0.28539872, 0.11119761, 0.11900141, 0.05519972],
                      [0.04420657, -0.29721677, 0.07125467, 0.18175553], [NAN] * 4],
                     [[0.02902299, 0.07555253, 0.1336559, -0.23823142], [NAN] * 4, [0.0] * 4]],
        grad_weights=np.full((2, 3), NAN)),
    "unreduced": dict(
        flags=dict(average_across_timesteps=False, average_across_batch=False),
        loss=[[1.9393051, 2.2223914, NAN], [1.254194, NAN, 0.0]],
        grad_logits=[[[-0.85619617, 0.3335928, 0.35700423, 0.16559917],
                      [0.13261971, -0.8916503, 0.21376401, 0.54526657], [NAN] * 4],
                     [[0.08706897, 0.22665758, 0.4009677, -0.71469426], [NAN] * 4, [0.0] * 4]],
        grad_weights=[[1.9393051, 2.2223914, NAN], [1.254194, NAN, 0.99119544]]),
    "per_step": dict(  # div_no_nan(NaN, 0) is 0: a step whose weights are all 0 hides the NaN
        flags=dict(average_across_timesteps=False),
        loss=[1.5967495, NAN, 0.0],
        grad_logits=[[[-0.42809808, 0.1667964, 0.17850211, 0.08279958],
                      [0.13261971, -0.8916503, 0.21376401, 0.54526657], [NAN] * 4],
                     [[0.04353448, 0.11332879, 0.20048384, -0.35734713], [NAN] * 4, [0.0] * 4]],
        grad_weights=[[0.17127776, NAN, NAN], [-0.17127776, NAN, 0.0]]),
}


@pytest.mark.parametrize("case", sorted(TF115_NONFINITE))
def test_nonfinite_logits_at_zero_weights_stay_nan_as_in_tf115(case):
    expected = TF115_NONFINITE[case]
    logits = np.sin(np.arange(24)).reshape(2, 3, 4).astype("float32")
    logits[0, 2, :] = np.nan
    logits[1, 1, 0] = np.inf
    targets = np.array([[0, 1, 2], [3, 0, 1]], "int32")
    weights = np.array([[1, 1, 0], [1, 0, 0]], "float32")
    loss, grad_logits, grad_weights = loss_and_gradients(logits, targets, weights, **expected["flags"])
    np.testing.assert_allclose(loss, expected["loss"], **TOLERANCE)  # NaN where TF1 had NaN (equal_nan)
    np.testing.assert_allclose(grad_logits, expected["grad_logits"], **TOLERANCE)
    np.testing.assert_allclose(grad_weights, expected["grad_weights"], **TOLERANCE)


def test_compiled_loss_equals_eager():
    logits, weights = tf.constant(LOGITS), tf.constant(WEIGHTS)

    def value_and_gradient(logits, weights):
        with tf.GradientTape() as tape:
            tape.watch(logits)
            loss = seq2seq.sequence_loss(logits, TARGETS, weights, **flags((0, 0, 1, 1)))
        return loss, tape.gradient(loss, logits)

    eager = value_and_gradient(logits, weights)
    for compiled in (tf.function(value_and_gradient), tf.function(value_and_gradient, jit_compile=True)):
        for got, want in zip(compiled(logits, weights), eager):
            np.testing.assert_allclose(got, want, **TOLERANCE)
    np.testing.assert_allclose(eager[0], DATA["out:loss.aat0_aab0_sot1_sob1"], **TOLERANCE)


def test_unknown_shapes_are_accepted_when_traced():
    run = tf.function(lambda l, t, w: seq2seq.sequence_loss(l, t, w, average_across_batch=False), input_signature=[
        tf.TensorSpec([None, None, None]), tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None])])
    np.testing.assert_allclose(run(LOGITS, TARGETS, WEIGHTS), DATA["out:loss.aat1_aab0_sot0_sob0"], **TOLERANCE)


def test_int64_targets_and_float64_logits():
    np.testing.assert_allclose(seq2seq.sequence_loss(LOGITS, TARGETS.astype("int64"), WEIGHTS),
                               DATA["out:loss.aat1_aab1_sot0_sob0"], **TOLERANCE)
    loss = seq2seq.sequence_loss(LOGITS.astype("float64"), TARGETS, WEIGHTS.astype("float64"))
    assert loss.dtype == tf.float64
    np.testing.assert_allclose(loss, DATA["out:loss.aat1_aab1_sot0_sob0"], **TOLERANCE)


# ----- Ported from TF 1.15's loss_test.py ------------------------------------------------------------

BATCH, TIME, CLASSES = 2, 3, 5
# logits[:, t] = t + 0.5 for every class; targets[:, t] = t; so every token's xent is log(5).
PORT_LOGITS = np.stack([np.full((BATCH, CLASSES), t + 0.5, "float32") for t in range(TIME)], axis=1)
PORT_TARGETS = np.stack([np.full(BATCH, t, "int32") for t in range(TIME)], axis=1)
PORT_WEIGHTS = np.ones((BATCH, TIME), "float32")
EXPECTED_LOSS = 1.60944  # TF's hard-coded value


def _port(loss, targets=PORT_TARGETS, weights=PORT_WEIGHTS):
    """A function loss(flags) -> value, over the port's inputs: `sequence_loss` or `SequenceLoss`."""
    if loss == "function":
        return lambda **kwargs: seq2seq.sequence_loss(PORT_LOGITS, targets, weights, **kwargs)
    return lambda **kwargs: seq2seq.SequenceLoss(**kwargs)(targets, PORT_LOGITS, weights)


@pytest.mark.parametrize("loss", ["function", "class"])
def test_tf_sequence_loss_and_sequence_loss_class(loss):
    """`testSequenceLoss` (the function) and `testSequenceLossClass` (the Keras loss)."""
    compute = _port(loss)
    off = dict(sum_over_timesteps=False, sum_over_batch=False)
    np.testing.assert_allclose(compute(average_across_timesteps=True, average_across_batch=True, **off),
                               EXPECTED_LOSS, rtol=1e-5)
    np.testing.assert_allclose(compute(average_across_timesteps=False, average_across_batch=True, **off),
                               np.full(TIME, EXPECTED_LOSS), rtol=1e-5)
    np.testing.assert_allclose(compute(average_across_timesteps=True, average_across_batch=False, **off),
                               np.full(BATCH, EXPECTED_LOSS), rtol=1e-5)
    np.testing.assert_allclose(compute(average_across_timesteps=False, average_across_batch=False, **off),
                               np.full((BATCH, TIME), EXPECTED_LOSS), rtol=1e-5)


@pytest.mark.parametrize("last_step_weight", [1.0, 0.0], ids=["testSumReduction", "testWeightedSumReduction"])
def test_tf_sum_reduction(last_step_weight):
    """`testSumReduction`, and `testWeightedSumReduction`, whose last step has weight 0 (filtered)."""
    weights = PORT_WEIGHTS.copy()
    weights[:, -1] = last_step_weight
    compute = _port("class", weights=weights)
    off = dict(average_across_timesteps=False, average_across_batch=False)
    np.testing.assert_allclose(compute(sum_over_timesteps=True, sum_over_batch=True, **off), EXPECTED_LOSS, rtol=1e-5)
    per_step = np.full(TIME, EXPECTED_LOSS)
    per_step[-1] *= last_step_weight
    np.testing.assert_allclose(compute(sum_over_timesteps=False, sum_over_batch=True, **off), per_step, rtol=1e-5)
    np.testing.assert_allclose(compute(sum_over_timesteps=True, sum_over_batch=False, **off),
                               np.full(BATCH, EXPECTED_LOSS), rtol=1e-5)
    total = np.full((BATCH, TIME), EXPECTED_LOSS)
    total[:, -1] *= last_step_weight
    np.testing.assert_allclose(compute(sum_over_timesteps=False, sum_over_batch=False, **off), total, rtol=1e-5)
    # The default SequenceLoss is the sum flags: the same as the first line.
    np.testing.assert_allclose(seq2seq.SequenceLoss()(PORT_TARGETS, PORT_LOGITS, weights), EXPECTED_LOSS, rtol=1e-5)


def test_tf_zero_weights():
    """`testZeroWeights` (average flags), extended to the sum flags: zeros, not NaN."""
    compute = _port("function", weights=np.zeros((BATCH, TIME), "float32"))
    for aat, aab, sot, sob, shape in ((1, 1, 0, 0, ()), (0, 1, 0, 0, (TIME,)), (1, 0, 0, 0, (BATCH,)),
                                      (0, 0, 0, 0, (BATCH, TIME)), (0, 0, 1, 1, ()), (0, 0, 1, 0, (BATCH,)),
                                      (0, 0, 0, 1, (TIME,))):
        np.testing.assert_array_equal(compute(**flags((aat, aab, sot, sob))), np.zeros(shape))


# ----- SequenceLoss, the Keras loss -------------------------------------------------------------------------


def test_sequence_loss_class_defaults_are_the_sum_flags():
    loss = seq2seq.SequenceLoss()
    assert (loss.average_across_timesteps, loss.average_across_batch, loss.sum_over_timesteps,
            loss.sum_over_batch) == (False, False, True, True)
    assert loss.name == "sequence_loss"
    np.testing.assert_allclose(loss(TARGETS, LOGITS, WEIGHTS), DATA["out:loss.aat0_aab0_sot1_sob1"], **TOLERANCE)
    np.testing.assert_allclose(seq2seq.SequenceLoss(True, True, False, False)(TARGETS, LOGITS, WEIGHTS),
                               DATA["out:loss.aat1_aab1_sot0_sob0"], **TOLERANCE)
    # call(): the unweighted, unreduced cross-entropies.
    np.testing.assert_allclose(loss.call(TARGETS, LOGITS), numpy_crossentropy(LOGITS, TARGETS), **TOLERANCE)


def test_sequence_loss_class_sample_weight_forms():
    """Beyond TF 1.15 (which raised for them): no sample_weight is all ones, a [B] one is per
    sequence, float targets are ids; a Keras mask on y_pred zeroes the masked weights."""
    loss = seq2seq.SequenceLoss(True, True, False, False)
    ones = np.ones_like(WEIGHTS)
    np.testing.assert_allclose(loss(TARGETS, LOGITS), seq2seq.sequence_loss(LOGITS, TARGETS, ones), **TOLERANCE)
    per_row = np.array([1.0, 0.5, 0.0, 2.0], "float32")
    np.testing.assert_allclose(loss(TARGETS, LOGITS, per_row),
                               seq2seq.sequence_loss(LOGITS, TARGETS, ones * per_row[:, None]), **TOLERANCE)
    np.testing.assert_allclose(loss(TARGETS.astype("float32"), LOGITS, WEIGHTS),
                               DATA["out:loss.aat1_aab1_sot0_sob0"], **TOLERANCE)
    ids = np.array([[1, 2, 0], [3, 0, 0]], "int32")
    logits = keras.layers.Embedding(4, 5, mask_zero=True)(ids)  # masked where ids == 0
    targets = np.array([[0, 1, 2], [3, 4, 0]], "int32")
    np.testing.assert_allclose(loss(targets, logits), seq2seq.sequence_loss(
        logits, targets, (ids != 0).astype("float32")), **TOLERANCE)


def _tiny_model(mask_zero=False, scale=None):
    """ids [B, 5] -> logits [B, 5, 7]; `scale`: N(0, scale) embeddings, for logits far from uniform."""
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input([5], dtype="int32"), keras.layers.Embedding(6, 7, mask_zero=mask_zero)])
    if scale is not None:
        model.layers[0].embeddings.assign(np.random.default_rng(5).normal(0, scale, (6, 7)).astype("float32"))
    return model


def test_sequence_loss_class_in_compile_and_fit():
    """`model.compile(loss=SequenceLoss(...))`: fit reports `sequence_loss` of the model's logits
    (learning rate 0, so the weights fit saw are the ones measured), for the scalar default, a
    per-row [B] loss (Keras averages it) and a Keras mask (Embedding(mask_zero=True))."""
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 6, size=(4, 5)).astype("int32")
    ids[1, 3:] = 0
    ids[2, 1:] = 0
    targets = rng.integers(0, 7, size=(4, 5)).astype("int32")
    weights = rng.uniform(0, 2, size=(4, 5)).astype("float32")
    weights[0, 2] = 0.0
    masked = weights * (ids != 0)
    for loss_flags, mask_zero in (({}, False), (dict(sum_over_batch=False), False),
                                  (dict(sum_over_timesteps=False, sum_over_batch=False,
                                        average_across_timesteps=True, average_across_batch=True), True)):
        model = _tiny_model(mask_zero, scale=2.0)
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss=seq2seq.SequenceLoss(**loss_flags))
        history = model.fit(ids, targets, sample_weight=weights, batch_size=4, epochs=1, verbose=0, shuffle=False)
        defaults = dict(average_across_timesteps=False, average_across_batch=False, sum_over_timesteps=True,
                        sum_over_batch=True)
        expected = np.mean(seq2seq.sequence_loss(model(ids), targets, masked if mask_zero else weights,
                                                 **{**defaults, **loss_flags}))  # Keras averages a [B] loss
        np.testing.assert_allclose(history.history["loss"][0], expected, rtol=1e-5)
    unmasked = seq2seq.sequence_loss(model(ids), targets, weights)
    assert abs(float(unmasked) - expected) > 0.1  # the mask changed the number


def test_sequence_loss_class_trains():
    rng = np.random.default_rng(4)
    ids = rng.integers(0, 6, size=(8, 5)).astype("int32")
    model = _tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss=seq2seq.SequenceLoss())
    history = model.fit(ids, ids, batch_size=8, epochs=15, verbose=0)  # learn to copy the ids
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    np.testing.assert_allclose(losses[0], np.log(7.0), atol=0.05)  # near uniform at the start


@keras.saving.register_keras_serializable(package="tfrnn_tests")
def smoothed_crossentropy(labels, logits):
    return tf.nn.softmax_cross_entropy_with_logits(labels=0.9 * tf.one_hot(labels, 7) + 0.1 / 7, logits=logits)


def test_sequence_loss_class_serialization_round_trip(tmp_path):
    """Keras serialization keeps the flags and the loss function (TF 1.15's get_config kept only
    `reduction` and `name`: its flags were lost)."""
    loss = seq2seq.SequenceLoss(average_across_timesteps=True, sum_over_batch=True, sum_over_timesteps=False,
                                softmax_loss_function=smoothed_crossentropy, name="smoothed")
    config = loss.get_config()
    assert config["average_across_timesteps"] and config["sum_over_batch"] and not config["sum_over_timesteps"]
    for restored in (seq2seq.SequenceLoss.from_config(config),
                     keras.losses.deserialize(keras.losses.serialize(loss)),
                     keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))):
        assert isinstance(restored, seq2seq.SequenceLoss) and restored.name == "smoothed"
        assert restored.get_config() == config
        np.testing.assert_array_equal(restored(TARGETS, LOGITS, WEIGHTS), loss(TARGETS, LOGITS, WEIGHTS))
    # Through a saved model's compile config.
    model = _tiny_model()
    model.compile(optimizer="sgd", loss=seq2seq.SequenceLoss(sum_over_batch=False))
    model.save(tmp_path / "model.keras")
    restored = keras.models.load_model(tmp_path / "model.keras")
    ids = np.array([[1, 2, 3, 4, 5]], "int32")
    assert restored.evaluate(ids, ids, verbose=0) == pytest.approx(model.evaluate(ids, ids, verbose=0), rel=1e-6)
