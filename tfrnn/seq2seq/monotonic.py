"""Monotonic attention (Raffel et al., 2017, "Online and Linear-Time Attention
by Enforcing Monotonic Alignments"), TF1's `tf.contrib.seq2seq` functions
`safe_cumprod`, `monotonic_attention` and the mechanisms
`BahdanauMonotonicAttention`, `LuongMonotonicAttention` (TF1's `hardmax`, a
probability function, is `tfrnn.seq2seq.attention.hardmax`).

Design decisions:

* The mechanisms are `attention.BahdanauAttention` / `LuongAttention` with a
  learned scalar `attention_score_bias` added to the score and TF1's
  monotonic probability function in place of softmax; memory, masking,
  names and configs are theirs (see `tfrnn.seq2seq.attention`).
* An unknown `mode` is refused by the constructor (TF1 raised at the first
  call, deep inside the decoder's loop), with TF1's sentence.
* The numbers are TF1's, quirks included: the alignments are not normalised
  (their sums fall below 1), padded positions get `p = sigmoid(-inf) = 0`,
  `"parallel"` clips the exclusive cumulative product at 1e-10 before
  dividing (so it differs from the exact `"recursive"` where `p` is near 1),
  and `"hard"` gives the score's variables no gradient.
* `sigmoid_noise` is drawn by `tf.random.normal` with TF1's op seed at every
  call, in training and inference alike, as TF1 did (set it to 0 for
  inference).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfrnn.base import Child, Sublayer, Weight
from tfrnn.loop_kit import show
from tfrnn.seq2seq.attention import BahdanauAttention, LuongAttention, bahdanau_score, checked_numbers, luong_score
from tfrnn.seq2seq.attention import hardmax  # noqa: F401  (importable from here too, beside the other functions)

__all__ = [
    "BahdanauMonotonicAttention", "LuongMonotonicAttention", "monotonic_attention", "safe_cumprod",
]

_MODES = ("recursive", "parallel", "hard")


def safe_cumprod(x: Any, *args: Any, **kwargs: Any) -> Any:
    """`cumprod(x)` computed as `exp(cumsum(log(x)))`, with `x` clipped to `[tiny, 1]`.

    For probabilities-like `x` in `[0, 1]`: the log-space product neither
    underflows nor has cumprod's unstable gradient at zeros. Zeros become the
    smallest normal float (`np.finfo(dtype).tiny`). Arguments after `x` are
    `tf.math.cumsum`'s (`axis`, `exclusive`, `reverse`), as in TF1.

    Example:

    >>> import numpy as np
    >>> from tfrnn import seq2seq
    >>> x = np.array([[0.5, 0.5, 0.5]], "float32")
    >>> np.asarray(seq2seq.safe_cumprod(x, axis=1, exclusive=True), "float64").round(4).tolist()
    [[1.0, 0.5, 0.25]]
    """
    x = checked_numbers(x, "safe_cumprod", "x", "float tensor of probabilities")
    tiny = np.finfo(x.dtype.as_numpy_dtype).tiny
    return tf.exp(tf.math.cumsum(tf.math.log(tf.clip_by_value(x, tiny, 1)), *args, **kwargs))


def monotonic_attention(p_choose_i: Any, previous_attention: Any, mode: str) -> Any:
    """The monotonic attention distribution from choosing probabilities.

    With `p = p_choose_i` and `a' = previous_attention` (both `[batch, time]`):

        q[i] = (1 - p[i - 1]) q[i - 1] + a'[i],   q[0] = a'[0]
        a[i] = p[i] q[i]

    Modes: `"recursive"` (a scan over `i`, exact), `"parallel"` (closed form
    `a = p * cumprod'(1 - p) * cumsum(a' / clip(cumprod'(1 - p), 1e-10, 1))`
    with the exclusive cumprod of `safe_cumprod`: fast, inexact where `p` is
    near 1), `"hard"` (for `p` in {0, 1}: the first chosen index at or after
    the previous one).

    Args:
        p_choose_i: `[batch, time]` probabilities of choosing each memory step.
        previous_attention: `[batch, time]` attention of the previous output
            step (`[1, 0, ..., 0]` for the first).
        mode: `"recursive"`, `"parallel"` or `"hard"`.

    Returns:
        `[batch, time]` attention (not normalised: rows may sum below 1).

    Raises:
        TypeError: inputs that are not float tensors.
        ValueError: an unknown `mode`; inputs not `[batch, time]`, or of two shapes.

    Example:

    >>> import numpy as np
    >>> from tfrnn import seq2seq
    >>> p = np.array([[0.5, 0.5, 0.5]], "float32")
    >>> start = np.array([[1.0, 0.0, 0.0]], "float32")
    >>> np.asarray(seq2seq.monotonic_attention(p, start, "recursive"), "float64").round(4).tolist()
    [[0.5, 0.25, 0.125]]
    """
    _check_mode(mode)
    p_choose_i = checked_numbers(p_choose_i, "monotonic_attention", "p_choose_i", "[batch, time] float tensor")
    previous_attention = checked_numbers(previous_attention, "monotonic_attention", "previous_attention",
                                          "[batch, time] float tensor")
    for what, x in (("p_choose_i", p_choose_i), ("previous_attention", previous_attention)):
        if x.shape.rank != 2:
            raise ValueError(f"monotonic_attention: {what} must be [batch, time], but received shape "
                             f"{tuple(x.shape) if x.shape.rank is not None else 'unknown'}.")
    if not p_choose_i.shape.is_compatible_with(previous_attention.shape):
        raise ValueError(f"monotonic_attention: p_choose_i and previous_attention must have one shape [batch, time], "
                         f"but received {tuple(p_choose_i.shape)} and {tuple(previous_attention.shape)}.")
    previous_attention = tf.cast(previous_attention, p_choose_i.dtype)
    if mode == "recursive":
        return _recursive(p_choose_i, previous_attention)
    if mode == "parallel":
        return _parallel(p_choose_i, previous_attention)
    return _hard(p_choose_i, previous_attention)


def _recursive(p: Any, previous: Any) -> Any:
    batch = p.shape[0] if p.shape[0] is not None else tf.shape(p)[0]
    # [1, 1 - p[0], ..., 1 - p[-2]]: the chance of moving on past the step before
    shifted = tf.concat([tf.ones((batch, 1), p.dtype), 1 - p[:, :-1]], 1)
    q = tf.scan(lambda q_before, step: step[0] * q_before + step[1],
                [tf.transpose(shifted), tf.transpose(previous)], initializer=tf.zeros((batch,), p.dtype))
    return p * tf.transpose(q)


def _parallel(p: Any, previous: Any) -> Any:
    cumprod = safe_cumprod(1 - p, axis=1, exclusive=True)
    # The clip keeps the division finite; it is also why this mode is inexact near p = 1.
    return p * cumprod * tf.math.cumsum(previous / tf.clip_by_value(cumprod, 1e-10, 1.0), axis=1)


def _hard(p: Any, previous: Any) -> Any:
    p = p * tf.math.cumsum(previous, axis=1)  # nothing before the index chosen last step
    # [0, 0, 1, 1, 0, 1] -> exclusive cumprod(1 - p) = [1, 1, 1, 0, 0, 0]: the first chosen index only
    return p * tf.math.cumprod(1 - p, axis=1, exclusive=True)


def _check_mode(mode: Any) -> None:
    if mode not in _MODES:
        raise ValueError(f"mode must be 'recursive', 'parallel', or 'hard'. Received mode={show(mode)}; "
                         "'parallel' is the default, 'recursive' the exact one.")


def monotonic_probability(score: Any, previous_alignments: Any, sigmoid_noise: float, mode: str,
                          seed: int | None = None) -> Any:
    """TF1's monotonic probability function: optional pre-sigmoid noise, then
    `p = sigmoid(score)` (`score > 0` in hard mode), then `monotonic_attention`."""
    if sigmoid_noise > 0:
        score += sigmoid_noise * tf.random.normal(tf.shape(score), dtype=score.dtype, seed=seed)
    p_choose_i = ops.cast(score > 0, score.dtype) if mode == "hard" else ops.sigmoid(score)
    return monotonic_attention(p_choose_i, previous_alignments, mode)


class _MonotonicMixin:
    """The monotonic pieces shared by both mechanisms: options, dirac initial
    alignments, the score bias and the config."""

    _num_units: int

    def _set_monotonic(self, sigmoid_noise: float, sigmoid_noise_seed: int | None, score_bias_init: float,
                       mode: str) -> Any:
        _check_mode(mode)
        owner = type(self).__name__
        for what, value in (("sigmoid_noise", sigmoid_noise), ("score_bias_init", score_bias_init)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise TypeError(f"{owner}({what}={show(value)}): {what} must be a number, e.g. 1.0.")
        if sigmoid_noise < 0:
            raise ValueError(f"{owner}(sigmoid_noise={sigmoid_noise}): the noise's standard deviation must be >= 0 "
                             "(0 for none).")
        if sigmoid_noise_seed is not None and (isinstance(sigmoid_noise_seed, bool)
                                               or not isinstance(sigmoid_noise_seed, (int, np.integer))):
            raise TypeError(f"{owner}(sigmoid_noise_seed={show(sigmoid_noise_seed)}): the seed must be an int or "
                            "None.")
        self._sigmoid_noise = float(sigmoid_noise)
        self._sigmoid_noise_seed = sigmoid_noise_seed
        self._score_bias_init = float(score_bias_init)
        self._mode = mode
        return functools.partial(monotonic_probability, sigmoid_noise=self._sigmoid_noise, mode=mode,
                                 seed=sigmoid_noise_seed)

    def initial_alignments(self, batch_size: Any, dtype: Any) -> Any:
        """Dirac alignments `[1, 0, ..., 0]` per row: all attention on the first memory step."""
        batch_size, dtype = self._initial_arguments(batch_size, dtype)  # type: ignore[attr-defined]
        self._prepare()  # type: ignore[attr-defined]
        return tf.one_hot(tf.zeros((batch_size,), tf.int32), self.alignments_size,  # type: ignore[attr-defined]
                          dtype=tf.as_dtype(keras.backend.standardize_dtype(dtype)))

    def _biased(self, score: Any) -> Any:
        return score + ops.cast(self.attention_score_bias, score.dtype)  # type: ignore[attr-defined]

    def _monotonic_config(self, config: dict[str, Any]) -> dict[str, Any]:
        for key in ("probability_fn", "custom_key_value_fn"):
            config.pop(key, None)
        config.update(sigmoid_noise=self._sigmoid_noise, sigmoid_noise_seed=self._sigmoid_noise_seed,
                      score_bias_init=self._score_bias_init, mode=self._mode)
        return config

    def _score_bias(self) -> Weight:
        return Weight("attention_score_bias", (), keras.initializers.Constant(self._score_bias_init))


@keras.saving.register_keras_serializable(package="tfrnn")
class BahdanauMonotonicAttention(_MonotonicMixin, BahdanauAttention):
    """Monotonic attention with Bahdanau's score, TF1's
    `tf.contrib.seq2seq.BahdanauMonotonicAttention`.

        score = bahdanau_score(query_layer(query), keys) + r      (r: attention_score_bias)
        p     = sigmoid(score + sigmoid_noise * N(0, 1))          (score > 0 in "hard" mode)
        alignments = monotonic_attention(p, previous_alignments, mode)

    Padded positions get `score_mask_value` (default `-inf`, so `p = 0`).
    The initial alignments are `[1, 0, ..., 0]`.

    Args:
        num_units: the depth of the query and memory layers.
        memory: `[batch, max_time, depth]` memory, or None (then `setup_memory`).
        memory_sequence_length: `[batch]` int lengths, each at least 1, or None.
        normalize: whether to use Bahdanau's normalised score.
        score_mask_value: the score of padded positions (default `-inf`).
        sigmoid_noise: standard deviation of the pre-sigmoid noise (0: none).
        sigmoid_noise_seed: the noise's op seed.
        score_bias_init: the initial value of `attention_score_bias`.
        mode: `"parallel"` (default), `"recursive"` or `"hard"`.
        dtype: the Keras dtype (policy) of the layers.
        name: the layer's name (TF1 named only a name scope with it).

    Attributes: those of `BahdanauAttention`, then `attention_score_bias []`,
    under `<wrapper scope>/bahdanau_monotonic_attention/`.

    Example:

    >>> import numpy as np
    >>> from tfrnn import seq2seq
    >>> mechanism = seq2seq.BahdanauMonotonicAttention(2, np.zeros((1, 3, 4), "float32"), mode="recursive")
    >>> alignments, _ = mechanism(np.zeros((1, 5), "float32"), state=mechanism.initial_alignments(1, "float32"))
    >>> np.asarray(alignments, "float64").round(4).tolist()
    [[0.5, 0.25, 0.125]]
    """

    tf1_scope_name = "bahdanau_monotonic_attention"
    tf1_default_name = "BahdanauMonotonicAttention"

    def __init__(self, num_units: int, memory: Any = None, memory_sequence_length: Any = None,
                 normalize: bool = False, score_mask_value: float | None = None, sigmoid_noise: float = 0.0,
                 sigmoid_noise_seed: int | None = None, score_bias_init: float = 0.0, mode: str = "parallel",
                 dtype: Any = None, name: str = "BahdanauMonotonicAttention", **kwargs: Any) -> None:
        probability = self._set_monotonic(sigmoid_noise, sigmoid_noise_seed, score_bias_init, mode)
        super().__init__(num_units, memory, memory_sequence_length, normalize=normalize,
                         score_mask_value=score_mask_value, dtype=dtype, name=name, **kwargs)
        self._probability = probability

    def _scoring_weights(self) -> Sequence[Weight | Child | Sublayer]:
        return [*super()._scoring_weights(), self._score_bias()]

    def call(self, query: Any, state: Any = None) -> tuple[Any, Any]:
        score = bahdanau_score(self._query_of(query), self.keys, self.attention_v,
                               *((self.attention_g, self.attention_b) if self._normalize else ()))
        alignments = self._alignments(self._biased(score), state)
        return alignments, alignments

    def get_config(self) -> dict[str, Any]:
        return self._monotonic_config(super().get_config())


@keras.saving.register_keras_serializable(package="tfrnn")
class LuongMonotonicAttention(_MonotonicMixin, LuongAttention):
    """Monotonic attention with Luong's score, TF1's
    `tf.contrib.seq2seq.LuongMonotonicAttention`.

        score = luong_score(query, keys) + r      (times g first if scale; r: attention_score_bias)
        p     = sigmoid(score + sigmoid_noise * N(0, 1))      (score > 0 in "hard" mode)
        alignments = monotonic_attention(p, previous_alignments, mode)

    Args:
        num_units: the depth of the memory layer, equal to the query depth.
        memory: `[batch, max_time, depth]` memory, or None (then `setup_memory`).
        memory_sequence_length: `[batch]` int lengths, each at least 1, or None.
        scale: whether to multiply the score by a learned scalar `attention_g`.
        score_mask_value: the score of padded positions (default `-inf`).
        sigmoid_noise: standard deviation of the pre-sigmoid noise (0: none).
        sigmoid_noise_seed: the noise's op seed.
        score_bias_init: the initial value of `attention_score_bias`.
        mode: `"parallel"` (default), `"recursive"` or `"hard"`.
        dtype: the Keras dtype (policy) of the memory layer.
        name: the layer's name (TF1 named only a name scope with it).

    Attributes: `memory_layer/kernel`; `attention_g []` with `scale`, then
    `attention_score_bias []`, under `<wrapper scope>/luong_monotonic_attention/`.

    Example:

    >>> import numpy as np
    >>> from tfrnn import seq2seq
    >>> mechanism = seq2seq.LuongMonotonicAttention(2, np.zeros((1, 3, 4), "float32"), mode="hard",
    ...                                             score_bias_init=1.0)
    >>> alignments, _ = mechanism(np.zeros((1, 2), "float32"), state=mechanism.initial_alignments(1, "float32"))
    >>> np.asarray(alignments).tolist()
    [[1.0, 0.0, 0.0]]
    """

    tf1_scope_name = "luong_monotonic_attention"
    tf1_default_name = "LuongMonotonicAttention"

    def __init__(self, num_units: int, memory: Any = None, memory_sequence_length: Any = None, scale: bool = False,
                 score_mask_value: float | None = None, sigmoid_noise: float = 0.0,
                 sigmoid_noise_seed: int | None = None, score_bias_init: float = 0.0, mode: str = "parallel",
                 dtype: Any = None, name: str = "LuongMonotonicAttention", **kwargs: Any) -> None:
        probability = self._set_monotonic(sigmoid_noise, sigmoid_noise_seed, score_bias_init, mode)
        super().__init__(num_units, memory, memory_sequence_length, scale=scale,
                         score_mask_value=score_mask_value, dtype=dtype, name=name, **kwargs)
        self._probability = probability

    def _scoring_weights(self) -> Sequence[Weight | Child | Sublayer]:
        return [*super()._scoring_weights(), self._score_bias()]

    def call(self, query: Any, state: Any = None) -> tuple[Any, Any]:
        score = luong_score(query, self.keys, self.attention_g if self._scale else None)
        alignments = self._alignments(self._biased(score), state)
        return alignments, alignments

    def get_config(self) -> dict[str, Any]:
        return self._monotonic_config(super().get_config())
