"""Beam search: TF1's `tf.contrib.seq2seq` `tile_batch` and `gather_tree`
(the pieces a `BeamSearchDecoder` is built from; the decoder joins this module).

Design decisions:

* `tile_batch` repeats each batch entry `multiplier` times consecutively
  (`[a, b] -> [a, a, a, b, b, b]`: TF1's order, which beam search's
  `[batch, beam]` reshapes rely on; not `tf.tile`'s `[a, b, a, b, a, b]`),
  over any nested structure (`LSTMStateTuple`, tuples, dicts).
* `gather_tree` was a custom C++ kernel in TF1 (`GatherTree`, in contrib's
  `_beam_search_ops.so`); TF 2 has no such op (`tf.raw_ops` has no
  `GatherTree` in TF 2.16-2.21), so it is written here in `keras.ops`: one
  backward scan over time that follows each beam's parent pointer, then the
  end-token fill. It compiles under XLA and equals TF 1.15's kernel on the
  TF 1.15 golden and the ported kernel tests.
* Invalid parent ids: TF1's kernel raised `InvalidArgumentError` for a parent
  `< 0` or `> beam_width` met on a walked path, and read out of bounds for a
  parent equal to `beam_width`. Here any walked parent outside
  `[0, beam_width)` raises a `ValueError` when the values are concrete (eager),
  and a `tf.debugging` assertion in a graph; under XLA, where assertions
  are dropped, out-of-range pointers are clamped.
* Checks raise before anything is computed, with what was passed, what was
  expected and how to fix it. Shapes a traced graph does not know are checked
  when it runs (`tf.debugging` assertions, as TF1's kernel checked them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
from keras import ops

from tfrnn.checks import is_concrete
from tfrnn.loop_kit import show

__all__ = ["gather_tree", "tile_batch"]


def tile_batch(t: Any, multiplier: int, name: str | None = None) -> Any:
    """Repeats each batch entry of (a nested structure of) tensors `multiplier` times.

    A tensor `[batch_size, s0, s1, ...]` with entries `t[0], ..., t[batch_size - 1]`
    becomes `[batch_size * multiplier, s0, s1, ...]` with entries
    `t[0], t[0], ..., t[1], t[1], ...` (each `multiplier` times in a row):
    `tile_batch(t, m)[i] = t[i // m]`. Use it to give a `BeamSearchDecoder`
    the encoder memory, its lengths and the initial state, one copy per beam.

    Args:
        t: a tensor of rank >= 1 (statically known), or a nested structure of them.
        multiplier: a Python int >= 1 (the beam width); a float, bool or tensor is a
            `TypeError`, an int < 1 a `ValueError`.
        name: unused (TF1's name scope).

    Returns:
        The structure of `t` with every tensor tiled.

    Example:

    >>> import numpy as np
    >>> from tfrnn import seq2seq
    >>> np.asarray(seq2seq.tile_batch(np.array([[1, 2], [3, 4]]), 2)).tolist()
    [[1, 2], [1, 2], [3, 4], [3, 4]]
    """
    del name
    multiplier = _checked_multiplier(multiplier)
    flat = [_checked_tileable(tensor, index) for index, tensor in enumerate(tf.nest.flatten(t))]
    tiled = [ops.repeat(tensor, multiplier, axis=0) for tensor in flat]
    return tf.nest.pack_sequence_as(t, tiled)


def _checked_multiplier(multiplier: Any) -> int:
    message = (f"tile_batch: multiplier must be a Python int >= 1 (the beam width), but received {show(multiplier)} "
               f"({type(multiplier).__name__}). Pass e.g. beam_width=3 as an int.")
    if isinstance(multiplier, (bool, np.bool_)) or not isinstance(multiplier, (int, np.integer)):
        raise TypeError(message)
    if multiplier < 1:
        raise ValueError(message)
    return int(multiplier)


def _checked_tileable(tensor: Any, index: int) -> Any:
    try:
        tensor = tf.convert_to_tensor(tensor)
    except (TypeError, ValueError):
        raise TypeError(f"tile_batch: entry {index} of t (in tf.nest.flatten order) is not a tensor: "
                        f"{show(tensor)} ({type(tensor).__name__}). Pass tensors (or a structure of them) "
                        "shaped [batch_size, ...].") from None
    if tensor.shape.rank is None or tensor.shape.rank < 1:
        rank = "unknown" if tensor.shape.rank is None else tensor.shape.rank
        raise ValueError(f"t must have statically known rank: entry {index} of t has rank {rank}, but tile_batch "
                         "needs rank >= 1 with the batch first. Give it a static shape (tf.ensure_shape) or "
                         "a leading batch dimension.")
    return tensor


def gather_tree(step_ids: Any, parent_ids: Any, max_sequence_lengths: Any, end_token: Any,
                name: str | None = None) -> Any:
    """The full beams, from the ids chosen at each step and their parents' beam index.

    For batch entry `b`, beam `k` and `L = min(max_time, max_sequence_lengths[b])`:
    the walk starts at `p_{L-1} = k` and goes back through the parents,

        beams[t, b, k] = step_ids[t, b, p_t],   p_{t-1} = parent_ids[t, b, p_t],

    for `t = L-1, ..., 0`. Positions `t >= L`, and every position after the
    first `end_token` of a beam, are `end_token` (TF 1.15's kernel; earlier
    kernels wrote -1).

    Args:
        step_ids: `[max_time, batch_size, beam_width]` int32 ids (any integer
            dtype is accepted; the result has it).
        parent_ids: parent beam indices, the shape of `step_ids`, in
            `[0, beam_width)` wherever a walk reads them.
        max_sequence_lengths: `[batch_size]` integer lengths (values <= 0 give
            all `end_token`; values > max_time are max_time).
        end_token: a scalar id.
        name: unused (TF1's op name).

    Returns:
        `[max_time, batch_size, beam_width]` tensor of `step_ids`' dtype.

    Example:

    >>> import numpy as np
    >>> from tfrnn import seq2seq
    >>> step_ids = np.array([[[1, 2]], [[3, 4]], [[5, 6]]], "int32")     # [T=3, B=1, beam=2]
    >>> parent_ids = np.array([[[0, 0]], [[1, 0]], [[1, 1]]], "int32")
    >>> np.asarray(seq2seq.gather_tree(step_ids, parent_ids, [3], 9))[:, 0].T.tolist()
    [[1, 4, 5], [1, 4, 6]]
    """
    del name
    step_ids, parent_ids, lengths, end_token = _checked_tree(step_ids, parent_ids, max_sequence_lengths, end_token)
    beams, bad = _walk_parents(step_ids, parent_ids, lengths)
    _check_parents(bad, parent_ids, step_ids.shape[2])
    return _fill_after_end(beams, lengths, end_token)


def _walk_parents(step_ids: Any, parent_ids: Any, lengths: Any) -> tuple[Any, Any]:
    """`[T, B, W]` ids along each beam's parent chain (garbage where t >= L), and whether a
    walked pointer was out of range."""
    beam_width = ops.shape(step_ids)[2]
    own = ops.broadcast_to(ops.arange(beam_width, dtype=parent_ids.dtype)[None], ops.shape(step_ids)[1:])

    def step(carry: Any, slice_t: Any) -> tuple[Any, Any, Any]:
        pointer, bad, _ = carry  # pointer [B, W]: the beam each output slot reads at this step
        ids_t, parents_t, t = slice_t
        active = (t < lengths)[:, None]  # [B, 1]: the walk starts at t = L - 1
        in_range = (pointer >= 0) & (pointer < beam_width)
        safe = ops.clip(pointer, 0, beam_width - 1)
        ids = ops.take_along_axis(ids_t, safe, axis=1)
        parents = ops.take_along_axis(parents_t, safe, axis=1)
        # Before the walk starts (t >= L) each slot points at itself.
        return ops.where(active, parents, own), bad | ops.any(active & ~in_range), ids

    times = ops.arange(ops.shape(step_ids)[0], dtype=lengths.dtype)
    # tf.scan, not keras.ops.scan: Keras' TF scan cannot carry a structure unlike its outputs.
    _, bad, beams = tf.scan(step, (step_ids, parent_ids, times), (own, tf.constant(False), own), reverse=True)
    return beams, ops.any(bad)  # bad[0] holds the whole walk's flag; any() also covers max_time = 0


def _fill_after_end(beams: Any, lengths: Any, end_token: Any) -> Any:
    """`end_token` at t >= L and after each beam's first end token."""
    times = ops.arange(ops.shape(beams)[0], dtype=lengths.dtype)[:, None, None]
    beyond = times >= lengths[None, :, None]  # [T, B, 1]
    is_end = ops.cast((beams == end_token) & ~beyond, "int32")
    after_end = (ops.cumsum(is_end, axis=0) - is_end) > 0  # an end token at an earlier step
    return ops.where(beyond | after_end, ops.cast(end_token, beams.dtype), beams)


def _check_parents(bad: Any, parent_ids: Any, beam_width: Any) -> None:
    known = "" if beam_width is None else f" = [0, {beam_width})"
    message = (f"gather_tree: a beam's walk met a parent id outside [0, beam_width){known}. "
               "parent_ids must hold beam indices wherever t < max_sequence_lengths (as a "
               "BeamSearchDecoder's do); check that the lengths match the ids.")
    if is_concrete(bad):
        if bool(bad):
            values = np.asarray(parent_ids)
            raise ValueError(f"{message} parent_ids range from {values.min()} to {values.max()}.")
    else:
        tf.debugging.Assert(tf.logical_not(bad), [message])


def _checked_tree(step_ids: Any, parent_ids: Any, lengths: Any, end_token: Any) -> tuple[Any, Any, Any, Any]:
    step_ids = _integer_tensor(step_ids, "step_ids", "[max_time, batch_size, beam_width] ids")
    parent_ids = _integer_tensor(parent_ids, "parent_ids", "[max_time, batch_size, beam_width] beam indices")
    lengths = _integer_tensor(lengths, "max_sequence_lengths", "[batch_size] lengths")
    end_token = _integer_tensor(end_token, "end_token", "a scalar id")
    if step_ids.shape.rank != 3:
        raise ValueError(f"step_ids must be a 3-tensor, saw shape: {tuple(step_ids.shape)}. Pass time-major "
                         "[max_time, batch_size, beam_width] ids (a BeamSearchDecoder's predicted_ids, time-major).")
    if lengths.shape.rank != 1:
        raise ValueError(f"max_sequence_lengths must be a vector, saw shape: {tuple(lengths.shape)}. Pass one "
                         "length per batch entry.")
    if end_token.shape.rank != 0:
        raise ValueError(f"end_token must be a scalar, saw shape: {tuple(end_token.shape)} ({show(end_token)}). "
                         "Pass one id, e.g. end_token=eos_id.")
    if not step_ids.shape.is_compatible_with(parent_ids.shape):
        raise ValueError(f"step_ids.shape must match parent_ids.shape, but shapes are: {tuple(step_ids.shape)} "
                         f"and {tuple(parent_ids.shape)}. Pass the parents recorded with these ids.")
    if not step_ids.shape[1:2].is_compatible_with(lengths.shape):
        raise ValueError(f"batch size dimensions step_ids.shape[1] and max_sequence_lengths.shape[0] must match, "
                         f"but shapes are: {tuple(step_ids.shape)} and {tuple(lengths.shape)}. Pass one length "
                         "per batch entry.")
    _check_traced_shapes(step_ids, parent_ids, lengths)
    return (step_ids, ops.cast(parent_ids, step_ids.dtype), ops.cast(lengths, "int32"),
            ops.cast(end_token, step_ids.dtype))


def _check_traced_shapes(step_ids: Any, parent_ids: Any, lengths: Any) -> None:
    """The shape checks a traced graph must make when it runs (TF1's kernel made them too)."""
    if step_ids.shape.is_fully_defined() and parent_ids.shape.is_fully_defined() and lengths.shape.is_fully_defined():
        return  # checked above
    step_shape = tf.shape(step_ids)
    tf.debugging.assert_equal(step_shape, tf.shape(parent_ids), message=(
        "gather_tree: step_ids.shape must match parent_ids.shape; pass the parents recorded with these ids."))
    tf.debugging.assert_equal(step_shape[1:2], tf.shape(lengths), message=(
        "gather_tree: batch size dimensions step_ids.shape[1] and max_sequence_lengths.shape[0] must match; "
        "pass one length per batch entry."))


def _integer_tensor(value: Any, what: str, expected: str) -> Any:
    try:
        tensor = tf.convert_to_tensor(value)
    except (TypeError, ValueError):
        raise TypeError(f"gather_tree: {what} must be {expected}, but received {show(value)} "
                        f"({type(value).__name__}).") from None
    if not tensor.dtype.is_integer:
        raise TypeError(f"gather_tree: {what} must be {expected} of an integer dtype, but received dtype "
                        f"{tensor.dtype.name}. Cast it: tf.cast({what}, tf.int32).")
    return tensor
