"""The weighted sequence cross-entropy: TF1's `tf.contrib.seq2seq.sequence_loss`
and the Keras loss `SequenceLoss` (TF 1.15's and TF Addons' name).

Design decisions:

* One computation. `sequence_loss` is TF1's function, flags, defaults and
  positional order (1.15's: the two `sum_over_*` flags come before
  `softmax_loss_function`); `SequenceLoss` is a `keras.losses.Loss` whose
  `__call__` is that function with the Keras arguments mapped onto it
  (`y_true` = targets, `y_pred` = logits, `sample_weight` = weights), as in
  TF 1.15 and TF Addons. Its defaults are theirs too (`sum_over_*` on, the
  averages off), which differ from the function's.
* The per-token cross-entropy is `tf.nn.sparse_softmax_cross_entropy_with_logits`
  on `[batch * time, classes]`, TF1's op and layout, so a custom
  `softmax_loss_function(labels=..., logits=...)` receives exactly what TF1
  gave it (`[N]` labels, `[N, classes]` logits, by keyword).
* TF1's numbers, quirks included (TF 1.15 goldens check all 9 accepted flag
  combinations, values and gradients): see `sequence_loss`'s table. The
  weights are weights, not a mask: they multiply the cross-entropy, as TF1's
  did, so non-finite logits at a zero-weight position still give NaN (keep
  logits finite in the padding; tfrnn's loops do).
* Checks (ranks, dtypes, static shapes, flags) raise before any op runs, with
  TF1's sentence where TF1 had one, plus what was passed and how to fix it.
"""

from __future__ import annotations

from typing import Any, Callable

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfrnn.loop_kit import show

__all__ = ["SequenceLoss", "sequence_loss"]

_FLAGS = ("average_across_timesteps", "average_across_batch", "sum_over_timesteps", "sum_over_batch")


def sequence_loss(
    logits: Any,
    targets: Any,
    weights: Any,
    average_across_timesteps: bool = True,
    average_across_batch: bool = True,
    sum_over_timesteps: bool = False,
    sum_over_batch: bool = False,
    softmax_loss_function: Callable[..., Any] | None = None,
    name: str | None = None,
) -> Any:
    r"""Weighted cross-entropy of a sequence of logits, reduced as TF1's flags say.

    With `x[b, t] = xent(logits[b, t], targets[b, t])` (softmax cross-entropy,
    or `softmax_loss_function`) and `w = weights`, `nz(.)` = the number of
    non-zero weights, every division `div_no_nan` (0 where the denominator is 0):

    | flags set | result | shape |
    | --- | --- | --- |
    | `average_across_timesteps`, `average_across_batch` (default) | `sum(x w) / sum(w)` | `[]` |
    | `sum_over_timesteps`, `sum_over_batch` | `sum(x w) / nz(w)` | `[]` |
    | `average_across_timesteps` (± `sum_over_batch`, ignored) | `sum_t(x w) / sum_t(w)` | `[B]` |
    | `average_across_batch` (± `sum_over_timesteps`, ignored) | `sum_b(x w) / sum_b(w)` | `[T]` |
    | `sum_over_timesteps` | `sum_t(x w) / nz_t(w)` | `[B]` |
    | `sum_over_batch` | `sum_b(x w) / nz_b(w)` | `[T]` |
    | none | `x w` | `[B, T]` |

    TF1's quirks are kept: an average flag with the *other* axis' sum flag
    ignores the sum flag (rows 3 and 4); `average_across_batch` divides by the
    sum of the weights, not the batch size its docstring promised; the
    `sum_over_*` results are averages over the non-zero weights, not sums;
    the `nz` denominators have no gradient w.r.t. the weights. An average flag
    and the sum flag of the same axis together are an error.

    Args:
        logits: `[batch, time, classes]` float tensor.
        targets: `[batch, time]` integer tensor of class ids.
        weights: `[batch, time]` tensor of `logits`' dtype (e.g. a
            `tf.sequence_mask(lengths, dtype=logits.dtype)`).
        average_across_timesteps, average_across_batch, sum_over_timesteps,
            sum_over_batch: the reduction (table above).
        softmax_loss_function: called as `fn(labels=[N] ids, logits=[N, classes])`
            with `N = batch * time`, returning `[N]` losses; default softmax
            cross-entropy.
        name: unused (TF1's name scope).

    Returns:
        A tensor of `logits`' dtype, of rank 0, 1 or 2 (table above).

    Example:

    >>> import numpy as np
    >>> from tfrnn import seq2seq
    >>> logits = np.zeros([2, 3, 4], "float32")          # uniform: xent = log(4)
    >>> targets = np.zeros([2, 3], "int32")
    >>> weights = np.array([[1, 1, 0], [1, 0, 0]], "float32")
    >>> round(float(seq2seq.sequence_loss(logits, targets, weights)), 4)
    1.3863
    >>> per_row = seq2seq.sequence_loss(logits, targets, weights, average_across_timesteps=False,
    ...                                 average_across_batch=False, sum_over_timesteps=True)
    >>> [round(x, 4) for x in np.asarray(per_row).tolist()]           # [B]: per row, over non-zero weights
    [1.3863, 1.3863]
    """
    del name
    flags = _checked_flags(average_across_timesteps, average_across_batch, sum_over_timesteps, sum_over_batch)
    logits, targets, weights = _checked_tensors(logits, targets, weights)
    _check_loss_function(softmax_loss_function)
    crossent = token_crossentropy(targets, logits, softmax_loss_function) * weights  # [B, T]
    return _reduce(crossent, weights, *flags)


def token_crossentropy(targets: Any, logits: Any, softmax_loss_function: Callable[..., Any] | None = None) -> Any:
    """`[batch, time]` unweighted cross-entropies, computed on TF1's flat `[batch * time, classes]` layout."""
    batch_time = tf.shape(targets)
    labels = tf.reshape(targets, [-1])
    flat_logits = tf.reshape(logits, [-1, tf.shape(logits)[2]])
    if softmax_loss_function is None:
        crossent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=flat_logits)
    else:
        crossent = softmax_loss_function(labels=labels, logits=flat_logits)
    return tf.reshape(crossent, batch_time)


def _reduce(crossent: Any, weights: Any, aat: bool, aab: bool, sot: bool, sob: bool) -> Any:
    """TF1's branches, in TF1's order (the order makes the mixed-flag quirk)."""
    if aat and aab:
        return ops.divide_no_nan(ops.sum(crossent), ops.sum(weights))
    if sot and sob:
        return ops.divide_no_nan(ops.sum(crossent), _count_nonzero(weights, None, crossent.dtype))
    if aat or aab:
        axis = 0 if aab else 1
        return ops.divide_no_nan(ops.sum(crossent, axis=axis), ops.sum(weights, axis=axis))
    if sot or sob:
        axis = 0 if sob else 1
        return ops.divide_no_nan(ops.sum(crossent, axis=axis), _count_nonzero(weights, axis, crossent.dtype))
    return crossent


def _count_nonzero(weights: Any, axis: int | None, dtype: Any) -> Any:
    # A count: no gradient flows to the weights through it (TF1's count_nonzero).
    return ops.cast(ops.count_nonzero(weights, axis=axis), dtype)


def _checked_flags(*flags: Any) -> tuple[bool, ...]:
    for flag_name, flag in zip(_FLAGS, flags):
        if flag is None:  # TF1 read None as False (configs pass unset flags as None)
            continue
        if callable(flag):
            raise TypeError(f"sequence_loss: {flag_name} must be a bool, but received a callable {show(flag)}. "
                            "TF 1.15 put sum_over_timesteps and sum_over_batch before softmax_loss_function in the "
                            "signature; pass softmax_loss_function=... by keyword.")
        if not isinstance(flag, (bool, np.bool_, int, np.integer)) or flag not in (0, 1):
            raise TypeError(f"sequence_loss: {flag_name} must be a bool, but received {show(flag)} "
                            f"({type(flag).__name__}). Pass True or False.")
    aat, aab, sot, sob = (bool(flag) for flag in flags)
    if aat and sot:
        raise ValueError("average_across_timesteps and sum_over_timesteps cannot be set to True at same time. "
                         "Set one of them: the average divides by the sum of the weights, the sum by the number "
                         "of non-zero weights.")
    if aab and sob:
        raise ValueError("average_across_batch and sum_over_batch cannot be set to True at same time. "
                         "Set one of them: the average divides by the sum of the weights, the sum by the number "
                         "of non-zero weights.")
    return aat, aab, sot, sob


def _as_tensor(value: Any, what: str) -> Any:
    try:
        return tf.convert_to_tensor(value)
    except (TypeError, ValueError):
        raise TypeError(f"sequence_loss: {what} must be a tensor, but received {show(value)} "
                        f"({type(value).__name__}).") from None


def _checked_tensors(logits: Any, targets: Any, weights: Any) -> tuple[Any, Any, Any]:
    logits, targets, weights = (_as_tensor(logits, "logits"), _as_tensor(targets, "targets"),
                                _as_tensor(weights, "weights"))
    if not logits.dtype.is_floating:
        raise TypeError(f"sequence_loss: logits must be floats, but have dtype {logits.dtype.name}. Pass the "
                        "output layer's logits (unnormalized log-probabilities), e.g. tf.cast(logits, tf.float32).")
    if not targets.dtype.is_integer:
        raise TypeError(f"sequence_loss: targets must be integer class ids, but have dtype {targets.dtype.name}. "
                        "Cast them: tf.cast(targets, tf.int32).")
    if weights.dtype != logits.dtype:
        raise TypeError(f"sequence_loss: weights must have logits' dtype {logits.dtype.name}, but have dtype "
                        f"{weights.dtype.name}. Cast them: tf.cast(weights, logits.dtype) (a boolean mask too).")
    _check_rank(logits, 3, "Logits must be a [batch_size x sequence_length x logits] tensor")
    _check_rank(targets, 2, "Targets must be a [batch_size x sequence_length] tensor")
    _check_rank(weights, 2, "Weights must be a [batch_size x sequence_length] tensor")
    for other, what in ((targets, "targets"), (weights, "weights")):
        if not logits.shape[:2].is_compatible_with(other.shape):
            raise ValueError(f"sequence_loss: {what} has shape {tuple(other.shape)}, but logits' "
                             f"[batch_size, sequence_length] is {tuple(logits.shape[:2])}. Pass one {what[:-1]} "
                             "per (batch, time) position of logits.")
    return logits, targets, weights


def _check_rank(tensor: Any, rank: int, tf1_sentence: str) -> None:
    if tensor.shape.rank != rank:
        raise ValueError(f"{tf1_sentence}, but received shape {tuple(tensor.shape) if tensor.shape.rank is not None else '<unknown rank>'}. "
                         "Pass batch-major tensors (transpose time-major ones with tf.transpose).")


def _check_loss_function(function: Any) -> None:
    if function is not None and not callable(function):
        raise TypeError(f"softmax_loss_function must be callable as fn(labels=..., logits=...) or None, but "
                        f"received {show(function)} ({type(function).__name__}).")


@keras.saving.register_keras_serializable(package="tfrnn")
class SequenceLoss(keras.losses.Loss):
    r"""`sequence_loss` as a Keras loss, for `model.compile(loss=SequenceLoss())`.

    `loss(y_true, y_pred, sample_weight)` is `sequence_loss(logits=y_pred,
    targets=y_true, weights=sample_weight, <flags>)`: TF1's (TF 1.15's and TF
    Addons') `SequenceLoss`. The defaults are theirs, `sum_over_timesteps` and
    `sum_over_batch`, so the loss is the mean cross-entropy over the tokens
    whose weight is not zero:

    $$ L = \frac{\sum_{b,t} w_{bt}\, \mathrm{xent}_{bt}}{\#\{(b,t): w_{bt} \ne 0\}} $$

    (`sequence_loss`'s default, `average_across_*`, divides by `sum(w)`
    instead; the two agree for 0/1 weights). Other flags give a per-row `[B]`
    or per-step `[T]` loss, which Keras' `fit` then averages.

    How the Keras arguments arrive: `y_true` `[B, T]` ids (a float `y_true`,
    as some pipelines deliver, is cast to int32); `y_pred` `[B, T, classes]`
    logits, computed in the loss' `dtype` (float32 under a mixed-precision
    policy, as every Keras loss); `sample_weight` `[B, T]`, a per-sequence
    `[B]` (broadcast over time) or `None` (all ones); a Keras mask on `y_pred`
    (e.g. from `Embedding(mask_zero=True)`) selects: masked tokens get weight 0.

    Where Keras differs: this loss ignores Keras' `reduction` (the flags are
    the reduction). Keras' `SparseCategoricalCrossentropy(from_logits=True)`
    with `[B, T]` sample weights and its default `"sum_over_batch_size"`
    divides by `B * T`, counting zero-weight tokens; with
    `reduction="mean_with_sample_weight"` it divides by `sum(w)` (this
    function's `average_across_*` default).

    Args:
        average_across_timesteps, average_across_batch, sum_over_timesteps,
            sum_over_batch: as in `sequence_loss` (same checks, made here).
        softmax_loss_function: `fn(labels=, logits=)`, as in `sequence_loss`;
            serialized by Keras (register it with
            `keras.saving.register_keras_serializable` to save the model).
        name: the loss' name (default `"sequence_loss"`).
        dtype: the computation dtype (Keras'; default `keras.backend.floatx()`).

    Example:

    >>> import numpy as np, keras
    >>> from tfrnn import seq2seq
    >>> loss = seq2seq.SequenceLoss()
    >>> logits = np.zeros([2, 3, 4], "float32")
    >>> targets = np.zeros([2, 3], "int32")
    >>> mask = np.array([[1, 1, 0], [1, 0, 0]], "float32")
    >>> round(float(loss(targets, logits, mask)), 4)                  # log(4)
    1.3863
    >>> model = keras.Sequential([keras.Input([3], dtype="int32"), keras.layers.Embedding(4, 4)])
    >>> model.compile(optimizer="sgd", loss=seq2seq.SequenceLoss())
    >>> seq2seq.SequenceLoss.from_config(loss.get_config()).sum_over_batch
    True
    """

    def __init__(
        self,
        average_across_timesteps: bool = False,
        average_across_batch: bool = False,
        sum_over_timesteps: bool = True,
        sum_over_batch: bool = True,
        softmax_loss_function: Callable[..., Any] | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        flags = _checked_flags(average_across_timesteps, average_across_batch, sum_over_timesteps, sum_over_batch)
        _check_loss_function(softmax_loss_function)
        super().__init__(name=name or "sequence_loss", dtype=dtype)
        self.average_across_timesteps, self.average_across_batch, self.sum_over_timesteps, self.sum_over_batch = flags
        self.softmax_loss_function = softmax_loss_function

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        """The reduced loss (see the class docstring); Keras' `reduction` is not applied."""
        mask = getattr(y_pred, "_keras_mask", None)  # where Keras 3 keeps a layer's output mask
        logits = _keras_logits(y_pred, self.dtype)
        targets = _keras_targets(y_true)
        weights = _keras_weights(sample_weight, mask, logits)
        return sequence_loss(logits, targets, weights, self.average_across_timesteps, self.average_across_batch,
                             self.sum_over_timesteps, self.sum_over_batch, self.softmax_loss_function)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        """The unweighted, unreduced `[batch, time]` cross-entropies."""
        return token_crossentropy(_keras_targets(y_true), _keras_logits(y_pred, self.dtype), self.softmax_loss_function)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {flag: getattr(self, flag) for flag in _FLAGS}
        config["softmax_loss_function"] = (None if self.softmax_loss_function is None
                                           else keras.saving.serialize_keras_object(self.softmax_loss_function))
        config.update(name=self.name, dtype=self._dtype_policy.name)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SequenceLoss:
        config = dict(config)
        if config.get("softmax_loss_function") is not None:
            config["softmax_loss_function"] = keras.saving.deserialize_keras_object(config["softmax_loss_function"])
        return cls(**config)


def _keras_tensor(value: Any, what: str, expected: str) -> Any:
    """`value` as a tensor of a real (integer or float) dtype, else a `TypeError` naming it."""
    try:
        tensor = tf.convert_to_tensor(value)
    except (TypeError, ValueError):
        tensor = None
    if tensor is None or not (tensor.dtype.is_integer or tensor.dtype.is_floating or tensor.dtype == tf.bool):
        received = f"dtype {tensor.dtype.name}" if tensor is not None else f"{show(value)} ({type(value).__name__})"
        raise TypeError(f"SequenceLoss: {what} must be {expected}, but received {received}.")
    return tensor


def _keras_logits(y_pred: Any, dtype: Any) -> Any:
    logits = _keras_tensor(y_pred, "y_pred", "[batch_size, sequence_length, classes] float logits")
    return ops.cast(logits, dtype)


def _keras_targets(y_true: Any) -> Any:
    targets = _keras_tensor(y_true, "y_true", "[batch_size, sequence_length] integer class ids")
    return targets if targets.dtype.is_integer else ops.cast(targets, "int32")


def _keras_weights(sample_weight: Any, mask: Any, logits: Any) -> Any:
    """`[B, T]` weights in logits' dtype from Keras' sample_weight (`[B, T]`, `[B]` or None) and mask."""
    batch_time = ops.shape(logits)[:2]
    if sample_weight is None:
        weights = ops.ones(batch_time, dtype=logits.dtype)
    else:
        weights = ops.cast(_keras_tensor(sample_weight, "sample_weight", "[batch_size, sequence_length] or "
                                         "[batch_size] float weights, or None"), logits.dtype)
        if len(weights.shape) == 1:
            if not weights.shape.is_compatible_with(logits.shape[:1]):
                raise ValueError(f"SequenceLoss: a per-sequence sample_weight must have one weight per batch entry "
                                 f"({logits.shape[0]}), but has shape {tuple(weights.shape)}. Pass [batch_size] or "
                                 "[batch_size, sequence_length] weights.")
            weights = ops.broadcast_to(weights[:, None], batch_time)
    if mask is not None:
        weights = ops.where(ops.cast(mask, "bool"), weights, ops.zeros_like(weights))
    return weights
