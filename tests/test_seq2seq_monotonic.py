"""`tfrnn.seq2seq.monotonic`: `monotonic_attention` and `safe_cumprod` (and `hardmax`, from
`attention.py`, which hard mode feeds) against the TF 1.15 golden `monotonic_attention_fn`
(values and gradients) and the recurrence
itself; the monotonic mechanisms against NumPy references in every mode.

`test_safe_cumprod`, `test_monotonic_attention` (its explicit recurrence, parallel,
hard and sampling checks), `testBahdanauMonotonicHard` and `testLuongMonotonicHard`
are ported from TF 1.15's
`tensorflow/contrib/seq2seq/python/kernel_tests/attention_wrapper_test.py`
(Copyright 2017 The TensorFlow Authors, Apache License 2.0), with seeded inputs.
"""

import json
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from reference import attention_memory, bahdanau_score, luong_score, masked_score, sigmoid
from reference import monotonic_attention as recurrence
from tfrnn import seq2seq

GOLDEN = pathlib.Path(__file__).parent / "golden" / "tf115_seq2seq"


def test_functions_equal_the_tf115_golden_with_gradients():
    """Values to 1e-5 and gradients of TF1's loss (sum of result * r) w.r.t. both inputs."""
    with np.load(GOLDEN / "monotonic_attention_fn.npz") as data:
        data = {key: data[key] for key in data.files}
    p, previous = tf.constant(data["in:p_choose_i"]), tf.constant(data["in:previous_attention"])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([p, previous])
        results = {
            "monotonic_attention.parallel": seq2seq.monotonic_attention(p, previous, "parallel"),
            "monotonic_attention.recursive": seq2seq.monotonic_attention(p, previous, "recursive"),
            "safe_cumprod.exclusive": seq2seq.safe_cumprod(1.0 - p, axis=1, exclusive=True),
            "safe_cumprod.inclusive": seq2seq.safe_cumprod(1.0 - p, axis=1),
            "hardmax": seq2seq.hardmax(previous),
        }
        loss = sum(tf.reduce_sum(value * data[f"r:{key}"]) for key, value in results.items())
    results["monotonic_attention.hard"] = seq2seq.monotonic_attention(data["in:p_hard"], data["in:previous_hard"], "hard")
    for key, value in results.items():
        np.testing.assert_allclose(value, data[f"out:{key}"], rtol=1e-5, atol=1e-5, err_msg=key)
        assert value.dtype == tf.float32
    grad_p, grad_previous = tape.gradient(loss, [p, previous])
    np.testing.assert_allclose(grad_p, data["grad_in:p_choose_i"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grad_previous, data["grad_in:previous_attention"], rtol=1e-5, atol=1e-5)
    # The golden's point: parallel is inexact where p is near 1, recursive is exact.
    exact = recurrence(data["in:p_choose_i"].astype("float64"), data["in:previous_attention"].astype("float64"))
    np.testing.assert_allclose(results["monotonic_attention.recursive"], exact, rtol=1e-5, atol=1e-6)
    assert np.abs(np.asarray(results["monotonic_attention.parallel"]) - exact).max() > 0.1


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("exclusive", [True, False])
def test_safe_cumprod(axis, exclusive):
    """Ported: safe_cumprod equals cumprod on inputs in (0, 1)."""
    x = np.random.default_rng(0).uniform(size=(10, 20))
    expected = tf.math.cumprod(x, axis=axis, exclusive=exclusive)
    np.testing.assert_allclose(seq2seq.safe_cumprod(x, axis=axis, exclusive=exclusive), expected, atol=1e-5)


def test_monotonic_attention_modes_equal_the_recurrence():
    """Ported: recursive (any p), parallel (p < 0.9) and hard (0/1 p) against the explicit recurrence."""
    rng = np.random.default_rng(1)
    previous = rng.uniform(size=(10, 20)).astype("float32")
    previous /= previous.sum(axis=1, keepdims=True)
    p = rng.uniform(size=(10, 20)).astype("float32")
    np.testing.assert_allclose(seq2seq.monotonic_attention(p, previous, "recursive"), recurrence(p, previous), atol=1e-5)
    p = rng.uniform(0, 0.9, size=(10, 20)).astype("float32")
    np.testing.assert_allclose(seq2seq.monotonic_attention(p, previous, "parallel"), recurrence(p, previous), atol=1e-5)
    p = rng.choice(np.array([0, 1], "float32"), (10, 20))
    hard_previous = np.eye(20, dtype="float32")[rng.integers(0, 20, 10)]
    hard = np.asarray(seq2seq.monotonic_attention(tf.constant(p), tf.constant(hard_previous), "hard"))
    np.testing.assert_allclose(hard, recurrence(p, hard_previous), atol=1e-5)
    assert set(np.unique(hard)) == {0.0, 1.0}


def test_recursive_attention_equals_sampled_emit_ingest_decisions():
    """Ported: the expected attention is the average of sampled left-to-right choices."""
    rng = np.random.default_rng(2)
    p = rng.uniform(size=(4, 5)).astype("float32")
    samples = 100_000
    chosen = np.zeros((samples, 4, 5))
    start = np.zeros(samples, int)  # each sample's position so far
    for i in range(4):
        accept = rng.uniform(size=(samples, 5)) <= p[i]
        accept &= np.arange(5)[None] >= start[:, None]
        first = np.where(accept.any(1), accept.argmax(1), 5)
        hit = first < 5
        chosen[np.flatnonzero(hit), i, first[hit]] = 1
        start = first  # 5 (past the end) once nothing was chosen
    attention, expected = [np.eye(5, dtype="float32")[0]], chosen.mean(0)
    for i in range(4):
        attention.append(np.asarray(seq2seq.monotonic_attention(p[i][None], attention[-1][None], "recursive"))[0])
    np.testing.assert_allclose(np.array(attention[1:]), expected, atol=0.01)


def test_mode_errors():
    with pytest.raises(ValueError, match="mode must be 'recursive', 'parallel', or 'hard'. Received mode='soft'"):
        seq2seq.monotonic_attention([[0.5]], [[1.0]], "soft")
    with pytest.raises(ValueError, match="mode must be 'recursive', 'parallel', or 'hard'"):
        seq2seq.BahdanauMonotonicAttention(4, mode="soft")  # TF1 raised only at the first call


# --- the mechanisms ----------------------------------------------------------------------------


def inputs(seed, mode="parallel"):
    rng = np.random.default_rng(seed)
    memory = rng.normal(size=(3, 5, 4)).astype("float32")
    query = rng.normal(size=(3, 6)).astype("float32")
    previous = rng.uniform(size=(3, 5)).astype("float32")
    if mode == "hard":  # hard mode is defined for one-hot previous attention (its own output)
        previous = np.eye(5, dtype="float32")[[1, 0, 0]]
    return rng, memory, query, np.array([5, 2, 1], "int32"), previous / previous.sum(1, keepdims=True)


def randomize(mechanism, rng):
    for weight in mechanism.weights:
        weight.assign(rng.uniform(-0.8, 0.8, weight.shape).astype("float32"))


def expected_alignments(score, lengths, previous, mode):
    score = masked_score(score, lengths)
    p = (score > 0).astype("float32") if mode == "hard" else sigmoid(score)
    return recurrence(p, previous)


@pytest.mark.parametrize("mode", ["parallel", "recursive", "hard"])
@pytest.mark.parametrize("normalize", [False, True])
def test_bahdanau_monotonic_equals_reference(mode, normalize):
    rng, memory, query, lengths, previous = inputs(3, mode)
    mechanism = seq2seq.BahdanauMonotonicAttention(4, memory, lengths, normalize=normalize, score_bias_init=0.5,
                                                   mode=mode)
    mechanism(query, state=previous)
    assert float(mechanism.attention_score_bias) == 0.5
    randomize(mechanism, rng)
    alignments, state = mechanism(query, state=previous)
    keys, _ = attention_memory(memory, lengths, np.asarray(mechanism.memory_layer.kernel))
    extra = (np.asarray(mechanism.attention_g), np.asarray(mechanism.attention_b)) if normalize else ()
    score = bahdanau_score(query, keys, np.asarray(mechanism.query_layer.kernel), np.asarray(mechanism.attention_v),
                           *extra) + np.asarray(mechanism.attention_score_bias)
    expected = expected_alignments(score, lengths, previous, mode)
    np.testing.assert_allclose(alignments, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(state, alignments)
    assert not np.any(np.asarray(alignments)[1, 2:]) and not np.any(np.asarray(alignments)[2, 1:])  # p = 0 in padding


@pytest.mark.parametrize("mode", ["parallel", "recursive", "hard"])
@pytest.mark.parametrize("scale", [False, True])
def test_luong_monotonic_equals_reference(mode, scale):
    rng, memory, query, lengths, previous = inputs(4, mode)
    mechanism = seq2seq.LuongMonotonicAttention(6, memory, lengths, scale=scale, score_bias_init=-0.5, mode=mode)
    mechanism(query, state=previous)
    randomize(mechanism, rng)
    alignments, _ = mechanism(query, state=previous)
    keys, _ = attention_memory(memory, lengths, np.asarray(mechanism.memory_layer.kernel))
    g = np.asarray(mechanism.attention_g) if scale else None
    score = luong_score(query, keys, g) + np.asarray(mechanism.attention_score_bias)
    np.testing.assert_allclose(alignments, expected_alignments(score, lengths, previous, mode), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls", [seq2seq.BahdanauMonotonicAttention, seq2seq.LuongMonotonicAttention])
def test_hard_mode_gives_hard_alignments(cls):
    """Ported testBahdanauMonotonicHard / testLuongMonotonicHard: every value is 0 or 1 and
    every row sums to 0 or 1."""
    rng = np.random.default_rng(5)
    b, t, u, d = 10, 20, 30, 40
    mechanism = cls(d, rng.normal(size=(b, t, u)).astype("float32"), mode="hard")
    attention, _ = mechanism(rng.normal(size=(b, d)).astype("float32"), state=tf.one_hot([0] * b, t))
    attention = np.asarray(attention)
    assert np.all((attention == 0) | (attention == 1))
    assert np.all((attention.sum(1) == 0) | (attention.sum(1) == 1)) and attention.sum() > 0


def test_initial_alignments_are_dirac_and_hard_mode_has_no_score_gradient():
    _, memory, query, lengths, _ = inputs(6)
    mechanism = seq2seq.BahdanauMonotonicAttention(4, memory, lengths, mode="hard", score_bias_init=1.0)
    np.testing.assert_array_equal(mechanism.initial_alignments(3, "float32"), np.eye(5)[[0, 0, 0]])
    np.testing.assert_array_equal(mechanism.initial_state(2, tf.float64), np.eye(5)[[0, 0]])
    with tf.GradientTape() as tape:
        alignments, _ = mechanism(query, state=mechanism.initial_alignments(3, "float32"))
    grads = tape.gradient(alignments, mechanism.trainable_weights)
    assert all(g is None or not np.any(np.asarray(g)) for g in grads)  # TF1's None gradients


def test_sigmoid_noise_is_seeded():
    _, memory, query, lengths, previous = inputs(7)
    noisy = seq2seq.LuongMonotonicAttention(6, memory, lengths, sigmoid_noise=1.0, sigmoid_noise_seed=3)
    clean = seq2seq.LuongMonotonicAttention(6, memory, lengths)
    noisy(query, state=previous), clean(query, state=previous)
    clean.memory_layer.kernel.assign(noisy.memory_layer.kernel)
    runs = []
    for _ in range(2):
        tf.random.set_seed(11)
        runs.append(np.asarray(noisy(query, state=previous)[0]))
    np.testing.assert_array_equal(runs[0], runs[1])
    assert np.abs(runs[0] - np.asarray(clean(query, state=previous)[0])).max() > 1e-3


def test_get_config_round_trip_and_names():
    _, memory, query, lengths, previous = inputs(8)
    mechanism = seq2seq.BahdanauMonotonicAttention(4, memory, lengths, normalize=True, sigmoid_noise=0.5,
                                                   sigmoid_noise_seed=2, score_bias_init=-1.5, mode="recursive")
    config = mechanism.get_config()
    assert {key: config[key] for key in ("sigmoid_noise", "sigmoid_noise_seed", "score_bias_init", "mode")} == {
        "sigmoid_noise": 0.5, "sigmoid_noise_seed": 2, "score_bias_init": -1.5, "mode": "recursive"}
    assert "probability_fn" not in config and "memory" not in config
    copy = seq2seq.BahdanauMonotonicAttention.from_config(json.loads(json.dumps(config)))
    assert copy.get_config() == config
    luong = seq2seq.LuongMonotonicAttention(6, memory, scale=True, mode="hard")
    assert seq2seq.LuongMonotonicAttention.from_config(luong.get_config()).get_config() == luong.get_config()
    luong(query, state=previous)
    assert sorted(weight.path.split("/")[-1] for weight in luong.weights) == [
        "attention_g", "attention_score_bias", "kernel"]
