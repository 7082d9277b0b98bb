"""The loop kit: what every sequence loop needs, written once.

`dynamic_rnn`, `static_rnn`, `raw_rnn`, the bidirectional loops, the fused
fast paths (and later `dynamic_decode`) share these (with the AutoGraph
opt-out and the warning at the user's line, which live in `base.py` because
cells need them too): time-major transposes, argument checks (inputs, `sequence_length`, initial
state), TF1's copy-through of finished rows (`copy_through`), TensorArray
accumulation (`scan`, `scan_backward`) and the start of a new sequence for a
cell's dropout masks (`one_sequence`).

Padding never reaches a result, nor a gradient. TF1's outputs do not depend
on the values past a row's length, and padding is often garbage: NaN, or
-inf from the log of zero-padded audio features. Selecting (`copy_through`,
`tf.where`) instead of multiplying keeps such a value out of the kept one,
but not out of the gradients: a cell that computes on padding passes
`0 * NaN = NaN` into its weight gradients, and the fused backward's
weight-gradient products (`X_all^T @ dZ_all`, `h_prev^T @ dZ`) read every
step and row. So no loop lets the cell see unusable padding: non-finite
values (and non-float ids) at finished steps and the state of zero-length rows
are selected to zeros before the loop (`clean_padding`, `zero_where`, with
`finished_steps` and `empty_rows`), and the zero-length
rows take their initial state back after it (`take_initial`, NaN included,
as TF1 returns it). Finite padding floats are left as they are
(`clean_padding`): TF1 fed them to the cell, whose results there are selected
away with a gradient of exactly zero, but a state written at every step (an
attention wrapper's alignment history) reads them, as in TF1. Over a `[time,
batch, depth]` input that is one select before the loop, not an op per step,
so the fused loops keep their speed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfrnn.base import Cell, DType, Nested, Tensor, new_sequence
from tfrnn.checks import check_state, single_state

# One step of a loop: `step_fn(inputs, state) -> (output, new_state)`, a cell or a wrapper of one.
StepFn = Callable[[Nested, Nested], tuple[Nested, Nested]]

@contextlib.contextmanager
def one_sequence(cell: Cell) -> Iterator[None]:
    """The loop inside runs one sequence: the cell's dropout masks are new.

    Reset again after the loop so that no mask a Keras cell cached during
    the loop (possibly a tensor of a traced graph) outlives it.
    """
    new_sequence(cell)
    yield
    new_sequence(cell)


def cell_step_fn(cell: Cell, training: bool | None) -> StepFn:
    """`(x, state) -> cell(x, state)`, with `training` for a Keras-layer cell when given."""
    if training is None or not isinstance(cell, keras.layers.Layer):
        return cell
    return lambda x, state: cell(x, state, training=training)


def rnn_step(
    step_fn: StepFn, x_t: Nested, state: Nested, t: int | Tensor, lengths: Tensor | None,
) -> tuple[Nested, Nested]:
    """One step with TF1's copy-through: rows with `t >= length` emit zeros, keep state."""
    output, new_state = step_fn(x_t, state)
    if lengths is None:
        return output, like(state, new_state)
    done = t >= lengths  # [batch]
    output = tf.nest.map_structure(lambda o: copy_through(done, tf.zeros_like(o), o), output)
    new_state = tf.nest.map_structure(lambda old, new: carry_state(done, old, new), state, like(state, new_state))
    return output, new_state


def carry_state(finished: Tensor, old: Tensor, new: Tensor) -> Tensor:
    """`copy_through` for one leaf of a state: `old` in finished rows, in `new`'s dtype.

    The cell may compute in another dtype than the given state (Keras casts to
    its compute dtype); the carried state follows the cell. A scalar or a
    `TensorArray` takes `new`, as `copy_through` says.
    """
    if isinstance(new, tf.TensorArray) or new.shape.rank == 0:
        return new
    return copy_through(finished, tf.cast(old, new.dtype), new)


def copy_through(finished: Tensor, old: Tensor, new: Tensor) -> Tensor:
    """TF1's copy-through: `old` in finished rows, `new` in the others.

    `finished` is a bool tensor over the leading axes (`[batch]`, or
    `[batch, 1]`, `[time, batch, 1]`...) and broadcasts over the rest. It
    selects, never multiplies: a NaN or inf in the value not taken (padding
    of log-features is often -inf) cannot leak into the one taken, and the
    gradient of the value not taken is exactly zero. A scalar or a
    `TensorArray` in a state has no rows: it takes `new`, as in TF1.
    """
    if isinstance(new, tf.TensorArray) or new.shape.rank == 0:
        return new
    missing = new.shape.rank - finished.shape.rank
    if missing > 0:  # no op at all when the ranks agree (the fused loops' [B, 1] per step)
        finished = finished[(Ellipsis,) + (tf.newaxis,) * missing]
    return tf.where(finished, old, new)


def finished_steps(lengths: Tensor, time_steps: int | Tensor) -> Tensor:
    """`[time, batch]` bool: True at the steps past each row's length (TF1's `time >= sequence_length`)."""
    return tf.range(time_steps, dtype=lengths.dtype)[:, None] >= lengths[None, :]


def empty_rows(lengths: Tensor) -> Tensor:
    """`[batch]` bool: True for the rows of length zero, which TF1 never steps."""
    return tf.equal(lengths, 0)


def zero_where(finished: Tensor, values: Nested) -> Nested:
    """`values` with the finished steps or rows set to exactly zero, selected (see the module docstring).

    `finished` broadcasts over each leaf's trailing axes as in `copy_through`:
    `[time, batch]` for time-major inputs, `[batch]` for one step or a state.
    """
    def zero(value: Tensor) -> Tensor:
        value = value if isinstance(value, tf.TensorArray) else tf.convert_to_tensor(value)
        return copy_through(finished, tf.zeros([], value.dtype), value)

    return tf.nest.map_structure(zero, values)


def clean_padding(finished: Tensor, values: Nested) -> Nested:
    """`values` with the padding that could poison a result or a gradient set to zero.

    At the finished steps (`finished`, `[time, batch]`) a non-finite float
    (NaN, inf) becomes zero, and so does any non-float value (ids that may lie
    outside a vocabulary). Finite floats stay: TF1 fed them to the cell, and a
    state that is written at every step whatever the length (an attention
    wrapper's alignment history) reads them. Nothing else does: the outputs
    and state of finished steps are selected away, and the gradient they pass
    back is exactly zero, so `0 * finite` stays zero in every product.
    """
    def clean(value: Tensor) -> Tensor:
        value = tf.convert_to_tensor(value)
        mask = finished[(Ellipsis,) + (tf.newaxis,) * (value.shape.rank - finished.shape.rank)]
        if value.dtype.is_floating:
            mask = tf.logical_and(mask, tf.logical_not(tf.math.is_finite(value)))
        return tf.where(mask, tf.zeros([], value.dtype), value)

    return tf.nest.map_structure(clean, values)


def take_initial(rows: Tensor, final_state: Nested, initial_state: Nested) -> Nested:
    """`final_state` with `rows` (`[batch]` bool) taken from `initial_state`: TF1's state of a row it never stepped.

    The initial state is taken as given, NaN or inf included (in the loop's
    dtype, which may differ under mixed precision).
    """
    def take(final: Tensor, initial: Tensor) -> Tensor:
        if isinstance(final, tf.TensorArray) or final.shape.rank == 0:
            return final
        return copy_through(rows, tf.cast(initial, final.dtype), final)

    flat = [take(f, i) for f, i in zip(tf.nest.flatten(final_state), tf.nest.flatten(initial_state))]
    return tf.nest.pack_sequence_as(final_state, flat)


def scan(
    step: Callable[..., tuple[Sequence[Tensor], Sequence[Tensor]]], time_steps: int | Tensor,
    state: Sequence[Tensor], num_written: int,
) -> tuple[list[Tensor], Sequence[Tensor]]:
    """Runs `step(t, *state) -> (written, new_state)` for t = 0 .. time_steps - 1.

    Returns `(stacked written values, final state)`: `num_written` tensors
    `[time, ...]` of `state[0]`'s dtype. Stacking copies every step, and the
    backward loops read most of them one step at a time, but a SavedModel
    cannot save a gradient that captures a TensorArray.
    """
    arrays = [tf.TensorArray(state[0].dtype, size=time_steps) for _ in range(num_written)]

    def body(t, state, arrays):
        written, state = step(t, *state)
        return t + 1, tuple(state), [a.write(t, w) for a, w in zip(arrays, written)]

    # No maximum_iterations: its extra loop counter costs ~10 us per step at batch 32.
    _, state, arrays = tf.while_loop(lambda t, *_: t < time_steps, body, (tf.constant(0), tuple(state), arrays))
    return [a.stack() for a in arrays], state


def scan_backward(
    step: Callable[..., tuple[Tensor, Sequence[Tensor]]], time_steps: int | Tensor, carry: Sequence[Tensor],
) -> tuple[Tensor, Sequence[Tensor]]:
    """Runs `step(t, *carry) -> (written, new_carry)` from the last step to the first.

    Returns `(written stacked [time, ...], final carry)`.
    """
    written = tf.TensorArray(carry[0].dtype, size=time_steps)

    def body(t, carry, written):
        value, carry = step(t, *carry)
        return t - 1, tuple(carry), written.write(t, value)

    _, carry, written = tf.while_loop(lambda t, *_: t >= 0, body, (time_steps - 1, tuple(carry), written))
    return written.stack(), carry


def like(state: Nested, new_state: Nested) -> Nested:
    """`new_state` in `state`'s containers: cells may return a tuple for a list."""
    return tf.nest.pack_sequence_as(state, tf.nest.flatten(new_state))


def leaf_shape(batch_size: int | Tensor, size: int | Sequence[int]) -> Tensor:
    """`[batch_size, *size]` as a shape tensor: the shape of one batched leaf of a size structure."""
    return tf.concat([[batch_size], tf.TensorShape(size).as_list()], 0)


def transpose_batch_time(x: Tensor) -> Tensor:
    """Swaps the first two axes (TF1's `_transpose_batch_time`); rank >= 3 was checked."""
    return tf.transpose(x, [1, 0] + list(range(2, x.shape.rank)))


def set_leading_shape(values: Nested, leading: Sequence[int | None]) -> Nested:
    """`values` with the static sizes of their leading axes set (`[time, batch]`, or `[batch]` for a state).

    What the loop knows from its inputs' static shape, given back to results
    whose shape a loop lost (a fused loop sizes its `TensorArray`s by the
    runtime length): a static fact, no op. Scalars, `TensorArray`s and leaves
    whose sizes disagree are left as they are.
    """
    known = tf.TensorShape(leading)

    def set_shape(value: Tensor) -> Tensor:
        if isinstance(value, tf.TensorArray) or value.shape.rank is None or value.shape.rank < known.rank:
            return value
        shape = known.concatenate([None] * (value.shape.rank - known.rank))
        if value.shape.is_compatible_with(shape):
            value.set_shape(shape)
        return value

    return tf.nest.map_structure(set_shape, values)


def reads_floats(cell: Cell) -> bool:
    """False for cells that read integer ids (EmbeddingWrapper); they check their own inputs."""
    return getattr(cell, "floating_point_inputs", True)


def show(value: Any, limit: int = 80) -> str:
    """`value` for an error message: a concrete tensor as its values, anything else as its repr, cut at `limit`."""
    if isinstance(value, (tf.Tensor, tf.Variable)) and _is_concrete(value):
        value = np.asarray(value).tolist()
    elif isinstance(value, tf.Tensor):
        return f"a symbolic {value.dtype.name} tensor of shape {tuple(value.shape)}"
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def as_tensor(value: Any, what: str, expected: str) -> Tensor:
    """`value` as a tensor; one TensorFlow cannot convert is a `TypeError` naming it.

    `what` names the argument (`"sequence_length"`), `expected` says what it should be.
    """
    try:
        return tf.convert_to_tensor(value)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be {expected}, but received {show(value)} ({type(value).__name__}).") from None


def as_tensors(values: Nested, what: str, expected: str) -> list[Tensor]:
    """The leaves of `values` (a tensor or a nested structure of them) as tensors, see `as_tensor`."""
    return [as_tensor(leaf, what, expected) for leaf in tf.nest.flatten(values)]


def check_numeric(x: Tensor, what: str) -> None:
    """A `TypeError` if `x` holds no numbers (strings, bools): a value passed in the wrong place."""
    if not (x.dtype.is_floating or x.dtype.is_complex or x.dtype.is_integer):
        raise TypeError(
            f"{what} must be a float tensor, but received a {x.dtype.name} tensor of shape "
            f"{tuple(x.shape)}: {show(x)}. Pass the numbers themselves (e.g. tf.constant(x, tf.float32))."
        )


def check_sequence_inputs(
    flat_inputs: Sequence[Tensor], time_major: bool, floating_point: bool = True,
) -> tuple[int | Tensor, int | Tensor]:
    """Validates the loop inputs; returns `(time_steps, batch_size)`, static where known."""
    for x in flat_inputs:
        check_numeric(x, "The loop's inputs")
        if x.shape.rank is None or x.shape.rank < 3:
            raise ValueError(
                f"Shape {tuple(x.shape) if x.shape.rank is not None else None} must have "
                "rank at least 3: the loops expect [batch, time, depth] inputs (or "
                f"[time, batch, depth] with time_major=True).{ids_hint(x, 2) if floating_point else ''}"
            )
        if x.shape[-1] is None:
            raise ValueError(
                "Input size (depth of inputs) must be accessible via shape inference, "
                f"but saw value None for input of shape {tuple(x.shape)}. Give the "
                "inputs a static last dimension, e.g. tf.ensure_shape(x, [None, None, depth])."
            )
        if floating_point and not (x.dtype.is_floating or x.dtype.is_complex):
            raise ValueError(
                f"RNN cell only supports floating point inputs, but received dtype: {x.dtype}. "
                "Cast the inputs (tf.cast(x, tf.float32)) or embed integer ids first."
            )
    first = flat_inputs[0]
    for x in flat_inputs[1:]:
        if not first.shape[:2].is_compatible_with(x.shape[:2]):
            raise ValueError(
                f"Nested inputs must share time and batch, but received shapes "
                f"{tuple(first.shape)} and {tuple(x.shape)}."
            )
    time_axis, batch_axis = (0, 1) if time_major else (1, 0)
    return _dim(first, time_axis), _dim(first, batch_axis)


def ids_hint(x: Tensor, ids_rank: int) -> str:
    """For integer inputs of the rank ids have here (`[batch, time]`, a step's `[batch]`): embed them first."""
    if not x.dtype.is_integer or x.shape.rank != ids_rank:
        return ""
    return (
        f" These look like integer ids ({x.dtype.name}): embed your ids first, e.g. "
        "keras.layers.Embedding(vocabulary_size, depth)(ids), or wrap the cell in "
        "EmbeddingWrapper and pass the ids with a depth of 1 (ids[..., None])."
    )


def _dim(x: Tensor, axis: int) -> int | Tensor:
    return x.shape[axis] if x.shape[axis] is not None else tf.shape(x)[axis]


_LENGTHS_FIX = "TF1 let this pass silently; it is a bug in the lengths or in the padding of the inputs."


def check_sequence_length(
    sequence_length: Tensor | Sequence[int] | None, batch_size: int | Tensor, time_steps: int | Tensor,
) -> Tensor | None:
    """Validates `sequence_length` as a `[batch]` integer vector in `[0, time]`; returns int32.

    Only integers are lengths (TF1 truncated floats silently), and the range is
    checked in the given dtype, before the cast to int32, so that an int64
    `2**32 + 2` is refused rather than wrapped to 2.
    """
    if sequence_length is None:
        return None
    lengths = _integer_lengths(sequence_length)
    if lengths.shape.rank != 1:
        raise ValueError(
            "Argument sequence_length must be a vector of length batch_size. Received "
            f"sequence_length={show(sequence_length)} of shape: {tuple(lengths.shape)}."
        )
    if isinstance(batch_size, int) and lengths.shape[0] not in (None, batch_size):
        raise ValueError(
            f"Argument sequence_length must be a vector of length batch_size ({batch_size}), "
            f"but it has {lengths.shape[0]} entries."
        )
    if _is_concrete(lengths) and isinstance(time_steps, int):
        _check_length_values(lengths.numpy(), time_steps)
        return tf.cast(lengths, tf.int32)
    return _with_length_assertions(lengths, batch_size, time_steps)


_FLOAT_LENGTHS = (
    " (TF1 truncated floats silently); lengths computed as floats can be rounded: tf.cast(tf.round(lengths), tf.int32)"
)


def _integer_lengths(sequence_length: Tensor | Sequence[int]) -> Tensor:
    """`sequence_length` as a tensor of its own integer dtype; a `TypeError` for anything else."""
    lengths = as_tensor(sequence_length, "sequence_length", "a [batch] vector of int32 lengths (e.g. [6, 3, 0])")
    if not lengths.dtype.is_integer:
        raise TypeError(
            f"sequence_length must hold integers, but received sequence_length={show(sequence_length)} "
            f"of dtype {lengths.dtype.name}. Pass int32 lengths, one per row{_FLOAT_LENGTHS * lengths.dtype.is_floating}."
        )
    return lengths


def _length_problems(negative: Any, too_long: Any) -> str:
    """The rows that are wrong, and only those: `rows [0] are negative and rows [2] exceed it`."""
    problems = [f"rows {rows} {what}" for rows, what in ((negative, "are negative"), (too_long, "exceed it")) if rows]
    return " and ".join(problems)


def _check_length_values(values: np.ndarray, time_steps: int) -> None:
    negative = np.flatnonzero(values < 0).tolist()
    too_long = np.flatnonzero(values > time_steps).tolist()
    if negative or too_long:
        raise ValueError(
            f"sequence_length must lie in [0, {time_steps}] (the time dimension), but "
            f"{_length_problems(negative, too_long)} (sequence_length={values.tolist()}). {_LENGTHS_FIX}"
        )


def _with_length_assertions(lengths: Tensor, batch_size: int | Tensor, time_steps: int | Tensor) -> Tensor:
    """Checks symbolic lengths when the loop runs, in the eager check's words, then casts them to int32.

    Three exclusive assertions, so the one that fails names only what is wrong.
    The values print in TensorFlow's own format (`[2 9 -1]`): formatting them
    as the eager message does takes string ops, which XLA cannot compile. XLA
    drops these assertions (`jit_compile=True` runs unchecked).
    """
    time = tf.cast(time_steps, lengths.dtype)
    negative = lengths < 0 if lengths.dtype.min < 0 else tf.zeros_like(lengths, tf.bool)
    too_long = lengths > time
    any_negative, any_too_long = tf.reduce_any(negative), tf.reduce_any(too_long)
    rows = lambda bad: tf.reshape(tf.where(bad), [-1])  # noqa: E731
    cases = [
        (any_negative & ~any_too_long, ["but rows", rows(negative), "are negative"]),
        (any_too_long & ~any_negative, ["but rows", rows(too_long), "exceed it"]),
        (any_negative & any_too_long, ["but rows", rows(negative), "are negative and rows", rows(too_long), "exceed it"]),
    ]
    intro = ["sequence_length must lie in [0, time] (the time dimension) with time", time]
    outro = ["(sequence_length:", lengths, f"). {_LENGTHS_FIX}"]
    checks = [tf.debugging.Assert(~wrong, intro + parts + outro, summarize=1000) for wrong, parts in cases]
    checks.append(tf.debugging.assert_equal(
        tf.size(lengths), tf.cast(batch_size, tf.int32),
        message="sequence_length must have one entry per batch row (batch_size entries)",
    ))
    with tf.control_dependencies(checks):
        return tf.cast(tf.identity(lengths), tf.int32)


def _is_concrete(tensor: Tensor) -> bool:
    return hasattr(tensor, "numpy") and tf.executing_eagerly()


def initial_state_for(
    cell: Cell, initial_state: Nested | None, batch_size: int | Tensor, dtype: DType | None, inputs_dtype: DType,
) -> Nested:
    """The given initial state (checked), or the cell's zero state of `dtype`."""
    state = check_initial_state(cell, initial_state, batch_size, dtype, inputs_dtype)
    if state is not None:
        return state
    if hasattr(cell, "zero_state"):
        return cell.zero_state(batch_size, dtype)
    # Keras 3 cells: get_initial_state(batch_size) in the layer's dtype. A cell
    # whose state_size is one size returns `[h]`; TF1's loops carried (and
    # returned) `h`, and Keras' cells take either.
    state = cell.get_initial_state(batch_size=batch_size)
    if not isinstance(cell.state_size, (list, tuple)):
        state = single_state(state)
    return tf.nest.map_structure(lambda s: tf.cast(s, dtype), state)


def check_initial_state(
    cell: Cell, initial_state: Nested | None, batch_size: int | Tensor | None, dtype: DType | None,
    inputs_dtype: DType,
) -> Nested | None:
    """Checks a given initial state against the cell (returns it as tensors), or that `dtype` is there.

    The state's dtype (given, or `dtype`) must be the inputs' when they are
    floats: in TF1 the two met inside the cell and TF 1.15 raised. Scalars and
    `TensorArray`s in a state (TF1's step counters and accumulators) have no
    rows and keep their own dtype: only the other parts are checked.
    """
    if initial_state is None:
        if dtype is None:
            raise ValueError(
                "If no initial_state is provided, argument `dtype` must be specified: pass "
                "dtype=tf.float32 (the inputs' dtype) or an initial_state."
            )
        name = _dtype_name(dtype)
        _check_state_dtype(name, inputs_dtype, f"dtype={name}", "pass dtype=tf.{inputs}")
        return None
    expected = "a tensor or a (nested) tuple of tensors matching cell.state_size"
    flat = [  # a TensorArray in a state (TF1 allowed them) stays one
        leaf if isinstance(leaf, tf.TensorArray) else as_tensor(leaf, "initial_state", expected)
        for leaf in tf.nest.flatten(initial_state)
    ]
    tensors = [leaf for leaf in flat if not isinstance(leaf, tf.TensorArray)]
    for leaf in tensors:
        check_numeric(leaf, "initial_state")
    rows = [leaf for leaf in tensors if leaf.shape.rank != 0]  # the parts with a batch axis
    dtypes = {s.dtype for s in rows}
    if len(dtypes) > 1:
        raise ValueError(
            f"All parts of initial_state must have one dtype, but received "
            f"{sorted(d.name for d in dtypes)}. Cast them to the inputs' dtype ({tf.as_dtype(inputs_dtype).name})."
        )
    state = tf.nest.pack_sequence_as(initial_state, flat)
    check_state(cell, state, batch_size if isinstance(batch_size, int) else None)
    if rows:
        name = rows[0].dtype.name
        _check_state_dtype(name, inputs_dtype, f"initial_state has dtype {name}", "cast the state to {inputs}")
    return state


def _dtype_name(dtype: DType) -> str:
    try:
        return tf.as_dtype(dtype).name
    except TypeError:  # a Keras dtype policy or its name
        return str(keras.backend.standardize_dtype(getattr(dtype, "compute_dtype", dtype)))


def _check_state_dtype(state_dtype: str, inputs_dtype: DType, given: str, fix: str) -> None:
    inputs = tf.as_dtype(inputs_dtype)
    if (inputs.is_floating or inputs.is_complex) and state_dtype != inputs.name:
        raise ValueError(
            f"{given}, but the inputs are {inputs.name}: {inputs.name} inputs would meet a "
            f"{state_dtype} state inside the cell (TF 1.15 raised here; returning {inputs.name} "
            f"silently would hide it). Either {fix.format(inputs=inputs.name)}, or cast the inputs: "
            f"tf.cast(x, tf.{state_dtype})."
        )
