"""TF1's sequence loops: `dynamic_rnn`, `static_rnn` and `raw_rnn`.

Each loop is written like Sonnet's `dynamic_unroll`: validate, go time-major,
loop, go back. TF1's padding semantics are kept exactly: past a row's
`sequence_length` the outputs are zeros and the state is copied through, so the
final state is the state after the row's last valid step (the initial state for
a zero-length row). Cells whose math tfrnn knows (LSTM and GRU cells) take a
fused fast path with a hand-written gradient (`tfrnn/fused.py`); every other
cell runs the generic `tf.while_loop` below, which the fast path is tested
against.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Union

import tensorflow as tf

from tfrnn import fused
from tfrnn.base import Cell, DType, Nested, Tensor, check_cell
from tfrnn.loop_kit import (
    StepFn, cell_step_fn, check_sequence_inputs, check_sequence_length, copy_through, initial_state_for,
    leaf_shape, like, no_autograph, one_sequence, reads_floats, rnn_step, transpose_batch_time,
    warn_at_caller,
)

# static_rnn builds one copy of the cell per step; beyond this many steps the
# graph (and its compile time) grows large enough that dynamic_rnn is the tool.
STATIC_RNN_WARN_STEPS = 500

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
    Keras way to get TF1's numbers.)

    The same cell is called once per step, `output, state = cell(x_t, state)`.
    BasicLSTMCell, LSTMCell (without peepholes, clipping or projection) and
    GRUCell with their default activation run a fused loop with a hand-written
    gradient; any other TF1-contract cell (a `tfrnn.RNNCell` subclass, a Keras
    cell) runs a generic `tf.while_loop`. Both give the same values and
    gradients.

    Args:
        cell: an RNN cell: anything with `state_size`, `output_size` and
            `__call__(inputs, state) -> (output, new_state)`.
        inputs: `[batch, time, depth]` (or `[time, batch, depth]` with
            `time_major=True`) floating tensor, or a nested structure of them
            sharing batch and time.
        sequence_length: optional int vector `[batch]`, each in `[0, time]`.
        initial_state: optional state matching `cell.state_size`.
        dtype: dtype of the initial state when `initial_state` is not given;
            one of the two is required, as in TF1.
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
    flat_inputs = [tf.convert_to_tensor(x) for x in tf.nest.flatten(inputs)]
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
    """Runs a loop `prepare_dynamic` checked: the fused path for cells it knows, else the generic one."""
    inputs_tm, time_steps, lengths, state = loop
    fast_loop = fused.loop_for(cell, inputs_tm)
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
    if not time_major:
        outputs = tf.nest.map_structure(transpose_batch_time, outputs)
    return outputs, final_state


def _no_steps(step_fn: StepFn, inputs: Nested, state: Nested) -> tuple[Nested, Nested]:
    """Zero time steps, as TF1 ran them: `[0, B, out]` outputs and the initial state.

    TF1's loop body still built the cell, so its variables exist: here one step
    on zeros builds it and gives the outputs' structure, then is dropped. Both
    are taken from the inputs and that step, so gradients are TF1's: zeros for
    the weights, an empty one for the inputs, the identity for the state.
    """
    zeros = tf.nest.map_structure(lambda x: tf.reduce_sum(x, axis=0), inputs)  # [B, D]: a sum of no steps
    output, _ = step_fn(zeros, state)
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
    flat_steps = [[tf.convert_to_tensor(x) for x in tf.nest.flatten(step)] for step in inputs]
    stacked = [tf.stack(xs) for xs in zip(*flat_steps)]  # validated like dynamic_rnn's
    time_steps, batch_size = check_sequence_inputs(stacked, True, reads_floats(cell))
    lengths = check_sequence_length(sequence_length, batch_size, time_steps)
    return lengths, initial_state_for(cell, initial_state, batch_size, dtype, stacked[0].dtype)


def run_static(
    cell: Cell, inputs: Sequence[Nested], lengths: Tensor | None, state: Nested, training: bool | None = None,
) -> tuple[list[Nested], Nested]:
    """The unrolled loop over the steps `prepare_static` checked."""
    step_fn = cell_step_fn(cell, training)
    outputs = []
    with one_sequence(cell):
        for t, step in enumerate(inputs):
            output, state = rnn_step(step_fn, step, state, t, lengths)
            outputs.append(output)
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
    emit zeros and keep their state, as in TF1. Not under `jit_compile=True`:
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
        raise TypeError(f"loop_fn must be a callable, but received {loop_fn!r}.")
    step_fn = cell_step_fn(cell, training)
    time = tf.constant(0, dtype=tf.int32)
    finished, next_input, state, emit_structure, loop_state = loop_fn(time, None, None, None)
    flat_input = tf.nest.flatten(next_input)
    batch_size = tf.shape(flat_input[0])[0]
    if emit_structure is None:
        emit_zero = tf.nest.map_structure(lambda size: tf.zeros(leaf_shape(batch_size, size), flat_input[0].dtype), cell.output_size)
    else:
        emit_zero = tf.nest.map_structure(tf.zeros_like, emit_structure)
    emit_tas = tf.nest.map_structure(lambda z: tf.TensorArray(z.dtype, size=0, dynamic_size=True, element_shape=z.shape), emit_zero)
    no_loop_state = loop_state is None
    loop_state = tf.constant(0) if no_loop_state else loop_state  # while_loop needs a tensor

    def body(time, finished, current_input, emit_tas, state, loop_state):
        output, cell_state = step_fn(current_input, state)
        next_finished, next_input, next_state, emit, next_loop_state = loop_fn(
            time + 1, output, cell_state, None if no_loop_state else loop_state
        )
        emit = output if emit is None else emit
        emit = tf.nest.map_structure(lambda zero, e: copy_through(finished, zero, e), emit_zero, emit)
        next_state = tf.nest.map_structure(lambda old, new: copy_through(finished, old, new), state, like(state, next_state))
        emit_tas = tf.nest.map_structure(lambda ta, e: ta.write(time, e), emit_tas, emit)
        loop_state = loop_state if next_loop_state is None else next_loop_state
        return time + 1, tf.logical_or(finished, next_finished), next_input, emit_tas, next_state, loop_state

    with one_sequence(cell):
        _, _, _, emit_tas, state, loop_state = tf.while_loop(
            lambda time, finished, *_: tf.logical_not(tf.reduce_all(finished)),
            body, (time, finished, next_input, emit_tas, state, loop_state),
            parallel_iterations=parallel_iterations or 32, swap_memory=swap_memory,
        )
    return emit_tas, state, (None if no_loop_state else loop_state)
