"""TF1's sequence loops: `dynamic_rnn`, `static_rnn` and `raw_rnn`.

Each loop is written like Sonnet's `dynamic_unroll`: validate, go time-major,
loop, go back. TF1's padding semantics are kept exactly: past a row's
`sequence_length` the outputs are zeros and the state is copied through, so the
final state is the state after the row's last valid step (the initial state for
a zero-length row). Cells whose math tfrnn knows (LSTM and GRU cells, and an
LSTM attention wrapper's common configuration) take a fused fast path with a
hand-written gradient (`tfrnn/fused.py`, `tfrnn/seq2seq/fused_attention.py`);
every other cell runs the generic `tf.while_loop` below, which the fast paths
are tested against.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Union

import tensorflow as tf

from tfrnn import fused
from tfrnn.base import Cell, DType, Nested, Tensor, no_autograph, warn_at_caller
from tfrnn.checks import check_cell
from tfrnn.loop_kit import (
    StepFn, as_tensor, as_tensors, cell_step_fn, check_initial_state, check_numeric, check_sequence_inputs,
    check_sequence_length, clean_padding, copy_through, empty_rows, finished_steps, ids_hint, initial_state_for, leaf_shape,
    like, one_sequence, reads_floats, rnn_step, set_leading_shape, show, take_initial, transpose_batch_time, zero_where,
)

# static_rnn builds one copy of the cell per step; beyond this many steps the
# graph (and its compile time) grows large enough that dynamic_rnn is the tool.
STATIC_RNN_WARN_STEPS = 500

INPUTS_EXPECTED = "a [batch, time, depth] float tensor (or a nested structure of them)"

# What `prepare_dynamic` checked, for `run_dynamic`: `(inputs_tm, time_steps, lengths, state)`.
PreparedLoop = tuple[Nested, Union[int, Tensor], Union[Tensor, None], Nested]
# `loop_fn(time, cell_output, cell_state, loop_state) ->
#  (finished, next_input, next_cell_state, emit_output, next_loop_state)`, see `raw_rnn`.
LoopFn = Callable[[Tensor, Nested, Nested, Nested], tuple[Tensor, Nested, Nested, Nested, Nested]]


@no_autograph
def dynamic_rnn(
    cell: Cell, inputs: Nested, sequence_length: Tensor | Sequence[int] | None = None,
    initial_state: Nested | None = None, dtype: DType | None = None, parallel_iterations: int | None = None,
    swap_memory: bool = False, time_major: bool = False, scope: str | None = None, training: bool | None = None,
) -> tuple[Nested, Nested]:
    """Runs `cell` over a sequence; outputs past `sequence_length` are zeros (TF1).

    TF1 padding semantics: for row `b`, outputs at steps `t >= sequence_length[b]`
    are exactly zero and the state stops changing, so `final_state` is the state
    after step `sequence_length[b] - 1`, and a zero-length row returns its initial
    state. (Keras, Sonnet and Flax instead repeat the last output at padded steps;
    `keras.layers.RNN(..., zero_output_for_mask=True)` with a length mask is the
    Keras way to get TF1's numbers.) The padding is never read: NaN or inf past
    a row's length, or in the initial state of a zero-length row (which it
    returns as given), changes no output, state or gradient, where TF1's
    gradients turned NaN.

    The same cell is called once per step, `output, state = cell(x_t, state)`.
    BasicLSTMCell, LSTMCell (without peepholes, clipping or projection) and
    GRUCell with their default activation run a fused loop with a hand-written
    gradient, and so does an `AttentionWrapper` of such an LSTM with one
    Bahdanau or Luong mechanism and an `attention_layer_size` (see
    `tfrnn.seq2seq.fused_attention.eligible`); any other TF1-contract cell (a
    `tfrnn.RNNCell` subclass, a Keras cell) runs a generic `tf.while_loop`.
    Both give the same values and gradients.

    Args:
        cell: an RNN cell: anything with `state_size`, `output_size` and
            `__call__(inputs, state) -> (output, new_state)`.
        inputs: `[batch, time, depth]` (or `[time, batch, depth]` with
            `time_major=True`) floating tensor, or a nested structure of them
            sharing batch and time.
        sequence_length: optional integer vector `[batch]`, each in
            `[0, time]` (checked before the cast to int32; floats are refused,
            where TF1 truncated them).
        initial_state: optional state matching `cell.state_size`, of the
            inputs' dtype.
        dtype: dtype of the initial state when `initial_state` is not given;
            one of the two is required, as in TF1. It must be the inputs'
            dtype (TF 1.15 raised otherwise).
        parallel_iterations: passed to `tf.while_loop` (scheduling only).
        swap_memory: passed to `tf.while_loop` (memory only).
        time_major: whether `inputs` and outputs are `[time, batch, ...]`.
        scope: accepted for TF1 compatibility; TF2 has no variable scopes. The
            TF1 variable scope of this loop's cell is `scope or "rnn"`: pass it
            as `load_tf1_checkpoint(path, cell, scope=...)`.
        training: not in TF1 (where dropout always acted). True or False is
            passed to every step of a Keras-layer cell, so a `DropoutWrapper`
            drops only when it is True; None leaves it to the enclosing Keras
            layer call (on in `fit`, off in `predict`), or off outside one.
            With False, cells on the fused path also skip saving what their
            hand-written gradient needs, as they do when no gradient tape is
            active; a gradient asked for anyway recomputes it.

    Returns:
        `(outputs, final_state)`: outputs `[batch, time, output_size]` (or
        time-major), and the final state, structured like `cell.state_size`.
        Inputs with zero time steps give `[batch, 0, output_size]` outputs and
        the initial state, as in TF1 (the cell is still built). Where the time
        dimension is known only when the loop runs (`None` in a `tf.function`
        signature), it must be at least 1.

    Example:

    >>> import numpy as np
    >>> import tensorflow as tf
    >>> import tfrnn
    >>> cell = tfrnn.BasicLSTMCell(4)
    >>> x = np.random.rand(3, 5, 2).astype("float32")
    >>> outputs, state = tfrnn.dynamic_rnn(cell, x, sequence_length=[5, 2, 0], dtype=tf.float32)
    >>> outputs.shape, state.h.shape
    (TensorShape([3, 5, 4]), TensorShape([3, 4]))
    >>> bool(np.all(outputs[1, 2:] == 0)), bool(np.allclose(state.h[1], outputs[1, 1]))
    (True, True)
    >>> bool(np.all(state.c[2] == 0))  # zero-length row: the initial state
    True
    >>> outputs, after = tfrnn.dynamic_rnn(cell, x[:, :0], initial_state=state)  # no steps
    >>> outputs.shape, bool(np.array_equal(after.h, state.h))
    (TensorShape([3, 0, 4]), True)
    """
    loop = prepare_dynamic(cell, inputs, sequence_length, initial_state, dtype, time_major)
    return run_dynamic(cell, loop, training, parallel_iterations, swap_memory, time_major)


def prepare_dynamic(
    cell: Cell, inputs: Nested, sequence_length: Tensor | Sequence[int] | None, initial_state: Nested | None,
    dtype: DType | None, time_major: bool,
) -> PreparedLoop:
    """`dynamic_rnn`'s checks, in TF1's order, and its inputs made time-major.

    Nothing is built or run: the bidirectional loops check both directions
    before either runs, so a bad argument leaves no cell half-built.
    Returns `(inputs_tm, time_steps, lengths, state)` for `run_dynamic`.
    """
    check_cell(cell)
    flat_inputs = as_tensors(inputs, "inputs", INPUTS_EXPECTED)
    if isinstance(inputs, list) and all(x.shape.rank == 2 for x in flat_inputs):
        raise ValueError(
            f"dynamic_rnn expects [batch, time, depth] inputs, but received a list of {len(inputs)} tensors "
            f"of shape {tuple(flat_inputs[0].shape)}: static_rnn's inputs, one [batch, depth] tensor per step. "
            "Stack them for dynamic_rnn (tf.stack(steps, axis=1)) or call static_rnn."
        )
    time_steps, batch_size = check_sequence_inputs(flat_inputs, time_major, reads_floats(cell))
    if not time_major:
        flat_inputs = [transpose_batch_time(x) for x in flat_inputs]
    lengths = check_sequence_length(sequence_length, batch_size, time_steps)
    state = initial_state_for(cell, initial_state, batch_size, dtype, flat_inputs[0].dtype)
    return tf.nest.pack_sequence_as(inputs, flat_inputs), time_steps, lengths, state


def run_dynamic(
    cell: Cell, loop: PreparedLoop, training: bool | None = None, parallel_iterations: int | None = None,
    swap_memory: bool = False, time_major: bool = False,
) -> tuple[Nested, Nested]:
    """Runs a loop `prepare_dynamic` checked: the fused path for cells it knows, else the generic one.

    Either way the cell never sees unusable padding: non-finite values at
    finished steps and the state of zero-length rows are zeros, selected once
    before the loop, and those rows take their initial state back after it
    (see `tfrnn/loop_kit.py`).
    """
    inputs_tm, time_steps, lengths, initial_state = loop
    state = initial_state
    if lengths is not None:
        inputs_tm = clean_padding(finished_steps(lengths, time_steps), inputs_tm)  # one select over [T, B, ...]
        state = zero_where(empty_rows(lengths), initial_state)
    fast_loop = fused.loop_for(cell, inputs_tm) or _attention_loop_for(cell, inputs_tm)
    with one_sequence(cell):
        if isinstance(time_steps, int) and time_steps == 0:  # known from the shape
            outputs, final_state = _no_steps(cell_step_fn(cell, training), inputs_tm, state)
        elif fast_loop is not None:
            cell.prepare_step(inputs_tm[0], state)
            outputs, final_state = fast_loop(inputs_tm, state, lengths, training=training)
        else:
            loop_options = dict(parallel_iterations=parallel_iterations or 32, swap_memory=swap_memory)
            step_fn = cell_step_fn(cell, training)
            outputs, final_state = _dynamic_loop(step_fn, inputs_tm, state, lengths, time_steps, loop_options)
    if lengths is not None:
        final_state = take_initial(empty_rows(lengths), final_state, initial_state)
    # The static [time, batch] of the inputs, which a fused loop's runtime-sized arrays lose.
    time_batch = tf.nest.flatten(inputs_tm)[0].shape[:2]
    outputs = set_leading_shape(outputs, time_batch)
    final_state = set_leading_shape(final_state, time_batch[1:])
    if not time_major:
        outputs = tf.nest.map_structure(transpose_batch_time, outputs)
    return outputs, final_state


def _attention_loop_for(cell: Cell, inputs_tm: Nested) -> Callable[..., tuple[Nested, Nested]] | None:
    """The fused attention-decoder loop (`tfrnn.seq2seq.fused_attention`), chosen as `fused.loop_for` is."""
    from tfrnn.seq2seq import fused_attention  # seq2seq sits above the loops

    return fused_attention.loop_for(cell, inputs_tm)


def _no_steps(step_fn: StepFn, inputs: Nested, state: Nested) -> tuple[Nested, Nested]:
    """Zero time steps, as TF1 ran them: `[0, B, out]` outputs and the initial state.

    TF1's loop body still built the cell, so its variables exist: here one step
    on zeros (a zero state too: a NaN in the given one must not reach the
    weights' gradients) builds it and gives the outputs' structure, then is
    dropped. Both are taken from the inputs and that step, so gradients are
    TF1's: zeros for the weights, an empty one for the inputs, the identity
    for the state.
    """
    zeros = tf.nest.map_structure(lambda x: tf.reduce_sum(x, axis=0), inputs)  # [B, D]: a sum of no steps
    output, _ = step_fn(zeros, zero_where(tf.constant(True), state))
    return tf.nest.map_structure(lambda o: o[None][:0], output), state


def _dynamic_loop(
    step_fn: StepFn, inputs: Nested, state: Nested, lengths: Tensor | None, time_steps: int | Tensor,
    loop_options: dict[str, Any],
) -> tuple[Nested, Nested]:
    """The generic loop: step 0 outside (it may build the cell), then `tf.while_loop`.

    Steps past the longest sequence are skipped, as TF1's graph mode did; their
    outputs are zeros either way.
    """
    flat_inputs = tf.nest.flatten(inputs)
    input_tas = [tf.TensorArray(x.dtype, size=time_steps).unstack(x) for x in flat_inputs]
    num_steps = time_steps if lengths is None else tf.maximum(1, tf.minimum(time_steps, tf.reduce_max(lengths)))

    def step(t, state):
        x_t = tf.nest.pack_sequence_as(inputs, [ta.read(t) for ta in input_tas])
        return rnn_step(step_fn, x_t, state, t, lengths)

    output, state = step(0, state)
    output_tas = [
        tf.TensorArray(o.dtype, size=time_steps, element_shape=o.shape).write(0, o)
        for o in tf.nest.flatten(output)
    ]

    def body(t, state, output_tas):
        output, new_state = step(t, state)
        output_tas = [ta.write(t, o) for ta, o in zip(output_tas, tf.nest.flatten(output))]
        return t + 1, new_state, output_tas  # rnn_step returns it in `state`'s containers

    # maximum_iterations: XLA sizes the gradient's per-step accumulators by it; without
    # it, a gradient through this loop under jit_compile=True (as Keras' fit) fails.
    _, state, output_tas = tf.while_loop(
        lambda t, *_: t < num_steps, body, (tf.constant(1), state, output_tas),
        maximum_iterations=time_steps - 1, **loop_options,
    )
    # Unwritten steps (past the longest sequence) stack as zeros.
    outputs = tf.nest.pack_sequence_as(output, [ta.stack() for ta in output_tas])
    return outputs, state


@no_autograph
def static_rnn(
    cell: Cell, inputs: Sequence[Nested], initial_state: Nested | None = None, dtype: DType | None = None,
    sequence_length: Tensor | Sequence[int] | None = None, scope: str | None = None, training: bool | None = None,
) -> tuple[list[Nested], Nested]:
    """Runs `cell` over a Python list of steps, unrolled; outputs past `sequence_length` are zeros (TF1).

    Past a row's length the state is copied through, so the final state is the
    state after its last valid step, exactly as in `dynamic_rnn` (Keras, Sonnet
    and Flax repeat the last output instead). `dynamic_rnn` gives the same
    numbers without unrolling: prefer it for long sequences. Above
    `STATIC_RNN_WARN_STEPS` (500) steps a `UserWarning` says so, since an
    unrolled graph grows with every step.

    Args:
        cell: an RNN cell.
        inputs: a list of `[batch, depth]` tensors, one per time step.
        initial_state: optional state matching `cell.state_size`.
        dtype: dtype of the initial state when `initial_state` is not given.
        sequence_length: optional int vector `[batch]`.
        scope: accepted for TF1 compatibility; the TF1 variable scope of the
            cell is `scope or "rnn"`.
        training: optional bool for the cell's dropout, as in `dynamic_rnn`.

    Returns:
        `(outputs, final_state)`: a list of `[batch, output_size]` tensors, and
        the final state.

    Example:

    >>> import numpy as np
    >>> import tensorflow as tf
    >>> import tfrnn
    >>> steps = [np.ones((2, 3), "float32")] * 4
    >>> outputs, state = tfrnn.static_rnn(tfrnn.GRUCell(5), steps, dtype=tf.float32)
    >>> len(outputs), tuple(outputs[-1].shape), bool(np.allclose(outputs[-1], state))
    (4, (2, 5), True)
    """
    lengths, state = prepare_static(cell, inputs, initial_state, dtype, sequence_length)
    return run_static(cell, inputs, lengths, state, training)


def prepare_static(
    cell: Cell, inputs: Sequence[Nested], initial_state: Nested | None, dtype: DType | None,
    sequence_length: Tensor | Sequence[int] | None,
) -> tuple[Tensor | None, Nested]:
    """`static_rnn`'s checks, building and running nothing: returns `(lengths, state)`."""
    check_cell(cell)
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(
            f"Argument `inputs` must be a sequence (a list of [batch, depth] tensors, "
            f"one per step), but received {type(inputs).__name__}. For a "
            "[batch, time, depth] tensor, use dynamic_rnn or tf.unstack(x, axis=1)."
        )
    if not inputs:
        raise ValueError("Argument `inputs` must not be empty: static_rnn needs at least one step.")
    if len(inputs) > STATIC_RNN_WARN_STEPS:
        warn_at_caller(
            f"static_rnn unrolls {len(inputs)} steps into the graph (more than "
            f"{STATIC_RNN_WARN_STEPS}); dynamic_rnn gives the same results with a loop."
        )
    stacked = _stack_steps(inputs, reads_floats(cell))  # then validated like dynamic_rnn's
    time_steps, batch_size = check_sequence_inputs(stacked, True, reads_floats(cell))
    lengths = check_sequence_length(sequence_length, batch_size, time_steps)
    return lengths, initial_state_for(cell, initial_state, batch_size, dtype, stacked[0].dtype)


STEPS_EXPECTED = "a list of [batch, depth] float tensors, one per step"


def _stack_steps(inputs: Sequence[Nested], floating_point: bool) -> list[Tensor]:
    """Each leaf of the steps stacked `[time, batch, ...]`, once the steps agree in structure, dtype and shape."""
    _check_step_structures(inputs)
    flat_steps = [as_tensors(step, "static_rnn's inputs", STEPS_EXPECTED) for step in inputs]
    for leaf in zip(*flat_steps):
        for x in leaf:
            check_numeric(x, "static_rnn's inputs")
        _check_step_shapes(leaf, floating_point)
    return [tf.stack(leaf) for leaf in zip(*flat_steps)]


def _check_step_structures(inputs: Sequence[Nested]) -> None:
    structure = lambda step: tf.nest.map_structure(lambda _: "*", step)  # noqa: E731
    others = [t for t, step in enumerate(inputs) if not _same_structure(inputs[0], step)]
    if others:
        raise ValueError(
            f"static_rnn's steps must share one structure, but step 0 is {structure(inputs[0])!r:.80} "
            f"and steps {others} are not (step {others[0]} is {structure(inputs[others[0]])!r:.80}). "
            "Give every step the same nesting."
        )


def _check_step_shapes(leaf: Sequence[Tensor], floating_point: bool) -> None:
    """One leaf over all steps: each `[batch, depth]` or more, all of one shape (TF's `tf.stack` would say less)."""
    low = [t for t, x in enumerate(leaf) if x.shape.rank is not None and x.shape.rank < 2]
    if low:
        raise ValueError(
            f"static_rnn expects each step as a [batch, depth] tensor, but steps {low} have shape "
            f"{tuple(leaf[low[0]].shape)}. For one sequence of [time, depth], add a batch axis: "
            f"[x[None] for x in steps].{ids_hint(leaf[low[0]], 1) if floating_point else ''}"
        )
    shapes: dict[tuple[int | None, ...], list[int]] = {}
    for t, x in enumerate(leaf):
        if not x.shape.is_compatible_with(leaf[0].shape):
            shapes.setdefault(tuple(x.shape), []).append(t)
    if shapes:
        others = ", ".join(f"steps {steps} have shape {shape}" for shape, steps in shapes.items())
        raise ValueError(
            f"static_rnn's steps must share one shape, but step 0 has shape {tuple(leaf[0].shape)} and "
            f"{others}. Pad or slice them to one [batch, depth] shape."
        )


def _same_structure(a: Nested, b: Nested) -> bool:
    try:
        tf.nest.assert_same_structure(a, b, check_types=False)
    except (TypeError, ValueError):
        return False
    return True


def run_static(
    cell: Cell, inputs: Sequence[Nested], lengths: Tensor | None, initial_state: Nested,
    training: bool | None = None,
) -> tuple[list[Nested], Nested]:
    """The unrolled loop over the steps `prepare_static` checked.

    As in `run_dynamic`, the cell never sees unusable padding: non-finite
    values in a finished step's input and a zero-length row's state are
    selected to zeros, and those rows take their initial state back at the end
    (one select per step: the loop is unrolled anyway).
    """
    step_fn = cell_step_fn(cell, training)
    outputs = []
    state = initial_state if lengths is None else zero_where(empty_rows(lengths), initial_state)
    with one_sequence(cell):
        for t, step in enumerate(inputs):
            step = step if lengths is None else clean_padding(t >= lengths, step)
            output, state = rnn_step(step_fn, step, state, t, lengths)
            outputs.append(output)
    if lengths is not None:
        state = take_initial(empty_rows(lengths), state, initial_state)
    return outputs, state


@no_autograph
def raw_rnn(
    cell: Cell, loop_fn: LoopFn, parallel_iterations: int | None = None, swap_memory: bool = False,
    scope: str | None = None, training: bool | None = None,
) -> tuple[Nested, Nested, Nested | None]:
    """TF1's fully user-controlled loop: `loop_fn` picks every step's input; finished rows emit zeros.

    `loop_fn(time, cell_output, cell_state, loop_state)` returns
    `(finished, next_input, next_cell_state, emit_output, next_loop_state)`. It
    is called once with `cell_output = cell_state = loop_state = None` to
    initialise (its `next_cell_state` is then the initial state and its
    `emit_output`, if not None, the structure of what is emitted), then after
    every cell step. The loop runs until every row is finished; finished rows
    emit zeros and keep their state, as in TF1. The cell sees zeros in place of
    a finished row's input (often read past the row's end) and of the initial
    state of a row finished from the start, which that row returns as given:
    garbage there reaches no value and no gradient (`loop_fn` sees the output
    computed from those zeros for finished rows, where TF1 passed garbage). Not under `jit_compile=True`:
    the emitted `TensorArray` grows with the loop, which XLA cannot size, and
    comes back empty.

    Args:
        cell: an RNN cell.
        loop_fn: the callable described above. `finished` is a `[batch]` bool
            tensor; `emit_output=None` emits the cell output.
        parallel_iterations: passed to `tf.while_loop`.
        swap_memory: passed to `tf.while_loop`.
        scope: accepted for TF1 compatibility; the TF1 variable scope of the
            cell is `scope or "rnn"`.
        training: optional bool for the cell's dropout, as in `dynamic_rnn`.

    Returns:
        `(emit_ta, final_state, final_loop_state)`: `emit_ta` is a
        `tf.TensorArray` (or a structure of them) with one entry per step;
        `emit_ta.stack()` gives `[time, batch, ...]`.

    Example: `dynamic_rnn` over time-major inputs, written with `raw_rnn`.

    >>> import numpy as np
    >>> import tensorflow as tf
    >>> import tfrnn
    >>> x = tf.constant(np.random.rand(5, 2, 3).astype("float32"))  # [time, batch, depth]
    >>> lengths = tf.constant([5, 2])
    >>> cell = tfrnn.LSTMCell(4)
    >>> inputs_ta = tf.TensorArray(tf.float32, size=5).unstack(x)
    >>> def loop_fn(time, cell_output, cell_state, loop_state):
    ...     state = cell.zero_state(2, tf.float32) if cell_output is None else cell_state
    ...     finished = time >= lengths
    ...     next_input = tf.cond(tf.reduce_all(finished), lambda: tf.zeros([2, 3]),
    ...                          lambda: inputs_ta.read(tf.minimum(time, 4)))
    ...     return finished, next_input, state, None, None
    >>> emit_ta, final_state, _ = tfrnn.raw_rnn(cell, loop_fn)
    >>> outputs = emit_ta.stack()
    >>> tuple(outputs.shape), bool(np.all(outputs[2:, 1] == 0))
    ((5, 2, 4), True)
    """
    check_cell(cell)
    if not callable(loop_fn):
        raise TypeError(f"loop_fn must be a callable, but received {show(loop_fn)} ({type(loop_fn).__name__}).")
    step_fn = cell_step_fn(cell, training)
    time = tf.constant(0, dtype=tf.int32)
    finished, next_input, initial_state, emit_structure, loop_state = _call_loop_fn(loop_fn, time, None, None, None)
    finished, next_input, initial_state = _check_raw_start(cell, finished, next_input, initial_state)
    emit_zero = _emit_zeros(cell, next_input, emit_structure)
    emit_tas = tf.nest.map_structure(lambda z: tf.TensorArray(z.dtype, size=0, dynamic_size=True, element_shape=z.shape), emit_zero)
    no_loop_state = loop_state is None
    loop_state = tf.constant(0) if no_loop_state else loop_state  # while_loop needs a tensor

    def body(time, finished, current_input, emit_tas, state, loop_state):
        # A finished row's input may be garbage (padding read past its end): no NaN reaches the cell.
        output, cell_state = step_fn(clean_padding(finished, current_input), state)
        next_finished, next_input, next_state, emit, next_loop_state = _call_loop_fn(
            loop_fn, time + 1, output, cell_state, None if no_loop_state else loop_state
        )
        emit = _emitted(emit_zero, output if emit is None else emit, finished)
        next_state = tf.nest.map_structure(lambda old, new: copy_through(finished, old, new), state, like(state, next_state))
        emit_tas = tf.nest.map_structure(lambda ta, e: ta.write(time, e), emit_tas, emit)
        loop_state = loop_state if next_loop_state is None else next_loop_state
        return time + 1, tf.logical_or(finished, next_finished), next_input, emit_tas, next_state, loop_state

    # Rows finished from the start are never stepped: the cell sees a zero state for them,
    # and they return their initial state as given (TF1's copy-through, NaN included).
    state = zero_where(finished, initial_state)
    with one_sequence(cell):
        _, _, _, emit_tas, state, loop_state = tf.while_loop(
            lambda time, finished, *_: tf.logical_not(tf.reduce_all(finished)),
            body, (time, finished, next_input, emit_tas, state, loop_state),
            parallel_iterations=parallel_iterations or 32, swap_memory=swap_memory,
        )
    return emit_tas, take_initial(finished, state, initial_state), (None if no_loop_state else loop_state)


_LOOP_FN_RESULTS = (
    "loop_fn must return the 5 values TF1's raw_rnn expects, (finished, next_input, next_cell_state, "
    "emit_output, next_loop_state)"
)


def _call_loop_fn(
    loop_fn: LoopFn, time: Tensor, output: Nested, state: Nested, loop_state: Nested,
) -> tuple[Any, Any, Any, Any, Any]:
    """`loop_fn`'s five results, or an error saying what it returned instead."""
    results = loop_fn(time, output, state, loop_state)
    if not isinstance(results, (tuple, list)):
        raise TypeError(f"{_LOOP_FN_RESULTS}, but it returned {show(results)} ({type(results).__name__}).")
    if len(results) != 5:
        raise ValueError(f"{_LOOP_FN_RESULTS}, but it returned {len(results)} values. Return None for the ones you do not use.")
    finished, next_input, next_state, emit, next_loop_state = results
    return finished, next_input, next_state, emit, next_loop_state


def _check_raw_start(cell: Cell, finished: Any, next_input: Nested, state: Nested) -> tuple[Tensor, Nested, Nested]:
    """What `loop_fn` returned at time 0, checked: `(finished, next_input, initial state)` as tensors."""
    finished = as_tensor(finished, "loop_fn's finished", "a [batch] bool tensor")
    if finished.dtype != tf.bool or finished.shape.rank not in (None, 1):
        raise TypeError(
            f"loop_fn's finished must be a [batch] bool tensor (True for the rows that are done), but at "
            f"time 0 it returned a {finished.dtype.name} tensor of shape {tuple(finished.shape)}: e.g. time >= lengths."
        )
    flat_input = as_tensors(next_input, "loop_fn's next_input", "a [batch, depth] float tensor (or a nested structure of them)")
    for x in flat_input:
        check_numeric(x, "loop_fn's next_input")
        if x.shape.rank is not None and x.shape.rank < 2:
            raise ValueError(
                f"loop_fn's next_input must be [batch, depth] (the input of one step), but at time 0 it "
                f"returned shape {tuple(x.shape)}.{ids_hint(x, 1) if reads_floats(cell) else ''}"
            )
    if state is None:
        raise ValueError(
            "loop_fn must return the initial cell state as next_cell_state at time 0 (when cell_output "
            "is None), e.g. cell.zero_state(batch_size, tf.float32); it returned None."
        )
    batch = flat_input[0].shape[0]
    state = check_initial_state(cell, state, batch, None, flat_input[0].dtype)
    return finished, tf.nest.pack_sequence_as(next_input, flat_input), state


def _emit_zeros(cell: Cell, next_input: Nested, emit_structure: Nested) -> Nested:
    """Zeros `[batch] + size` for one step's emit, as TF1 read `emit_output` at time 0.

    Given, each leaf of `emit_structure` is a tensor whose shape is the size
    of one example's emit and whose dtype is the emit's (TF1: `emit.shape`, or
    `tf.shape(emit)` where not fully known), or a size (an int or a
    `TensorShape`) in the inputs' dtype. Not given, the cell's `output_size`.
    """
    flat_input = tf.nest.flatten(next_input)
    batch_size = tf.shape(flat_input[0])[0]

    def zeros(size: Any) -> Tensor:
        if isinstance(size, (int, tf.TensorShape)):
            return tf.zeros(leaf_shape(batch_size, size), flat_input[0].dtype)
        emit = tf.convert_to_tensor(size)
        zero = tf.zeros(tf.concat([[batch_size], tf.shape(emit)], 0), emit.dtype)
        zero.set_shape(flat_input[0].shape[:1].concatenate(emit.shape))
        return zero

    if emit_structure is None:
        return tf.nest.map_structure(zeros, cell.output_size)
    return tf.nest.map_structure(zeros, emit_structure)


def _emitted(emit_zero: Nested, emit: Nested, finished: Tensor) -> Nested:
    """One step's emit with finished rows zero; it must keep the structure it had at time 0."""
    if not _same_structure(emit_zero, emit):
        raise ValueError(
            f"loop_fn's emit_output must keep one structure (that of emit_output at time 0, or the "
            f"cell's output), but it was {show(emit_zero)} at time 0 and is {show(emit)} now."
        )
    return tf.nest.map_structure(lambda zero, e: copy_through(finished, zero, e), emit_zero, emit)
