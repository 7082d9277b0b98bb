"""TF1's bidirectional loops: `bidirectional_dynamic_rnn`, `static_bidirectional_rnn`,
and `tf.contrib.rnn`'s stacked versions.

The backward direction runs the ordinary forward loop on the inputs reversed
*within each row's length* (`tf.reverse_sequence`), then reverses its outputs
back, so padding stays at the end in both directions and padded outputs are
zeros (TF1 semantics). Without `sequence_length` the whole time axis is
reversed, so right-padding then reaches the backward cell first, as in TF1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf

from tfrnn.base import Cell, DType, Nested, Tensor, no_autograph
from tfrnn.checks import check_cell
from tfrnn.loop_kit import as_tensors, check_initial_state, check_sequence_inputs, reads_floats, show
from tfrnn.rnn import INPUTS_EXPECTED, prepare_dynamic, prepare_static, run_dynamic, run_static


@no_autograph
def bidirectional_dynamic_rnn(
    cell_fw: Cell, cell_bw: Cell, inputs: Nested, sequence_length: Tensor | Sequence[int] | None = None,
    initial_state_fw: Nested | None = None, initial_state_bw: Nested | None = None, dtype: DType | None = None,
    parallel_iterations: int | None = None, swap_memory: bool = False, time_major: bool = False,
    scope: str | None = None, training: bool | None = None,
) -> tuple[tuple[Nested, Nested], tuple[Nested, Nested]]:
    """Runs a forward and a backward cell over a sequence; outputs past `sequence_length` are zeros (TF1).

    Both directions follow `dynamic_rnn`: outputs past `sequence_length` are
    zeros (Keras, Sonnet and Flax repeat the last output instead) and each
    final state is the state after the row's last valid step.
    The backward cell reads each row reversed within its length, and its
    outputs are reversed back, so `output_bw[:, t]` belongs to input step `t`
    and `output_bw[b, 0]` is the backward cell's last output. Outputs are
    returned as a pair, not concatenated: `tf.concat(outputs, 2)` joins them.

    Args:
        cell_fw, cell_bw: RNN cells for the two directions.
        inputs: `[batch, time, depth]` (or time-major) tensor or nested tensors.
        sequence_length: optional int vector `[batch]`, each in `[0, time]`.
        initial_state_fw, initial_state_bw: optional initial states.
        dtype: dtype of the initial states when they are not given.
        parallel_iterations, swap_memory: passed to the loops.
        time_major: whether inputs and outputs are `[time, batch, ...]`.
        scope: accepted for TF1 compatibility. TF1 put the cells' variables
            under `<scope or "bidirectional_rnn">/fw` and `/bw`: load them with
            `load_tf1_checkpoint(path, cell_fw, scope="bidirectional_rnn/fw")`
            and likewise `/bw`.
        training: optional bool for the cells' dropout, as in `dynamic_rnn`.

    Returns:
        `((output_fw, output_bw), (state_fw, state_bw))`.

    Example:

    >>> import numpy as np
    >>> import tensorflow as tf
    >>> import tfrnn
    >>> x = np.random.rand(2, 4, 3).astype("float32")
    >>> (out_fw, out_bw), (state_fw, state_bw) = tfrnn.bidirectional_dynamic_rnn(
    ...     tfrnn.GRUCell(5), tfrnn.GRUCell(5), x, sequence_length=[4, 2], dtype=tf.float32)
    >>> tuple(tf.concat([out_fw, out_bw], 2).shape)
    (2, 4, 10)
    >>> bool(np.allclose(out_bw[1, 0], state_bw[1])), bool(np.all(out_bw[1, 2:] == 0))
    (True, True)
    """
    # Both directions are checked before either runs: a bad backward argument builds no forward cell.
    loop_fw = prepare_dynamic(cell_fw, inputs, sequence_length, initial_state_fw, dtype, time_major)
    time_axis, batch_axis = (0, 1) if time_major else (1, 0)
    reverse = _reverser(loop_fw[2], time_axis, batch_axis)  # the lengths as checked
    reversed_inputs = tf.nest.map_structure(reverse, inputs)
    loop_bw = prepare_dynamic(cell_bw, reversed_inputs, sequence_length, initial_state_bw, dtype, time_major)
    options: dict[str, Any] = dict(
        training=training, parallel_iterations=parallel_iterations, swap_memory=swap_memory, time_major=time_major
    )
    output_fw, state_fw = run_dynamic(cell_fw, loop_fw, **options)
    output_bw, state_bw = run_dynamic(cell_bw, loop_bw, **options)
    return (output_fw, tf.nest.map_structure(reverse, output_bw)), (state_fw, state_bw)


@no_autograph
def static_bidirectional_rnn(
    cell_fw: Cell, cell_bw: Cell, inputs: Sequence[Nested], initial_state_fw: Nested | None = None,
    initial_state_bw: Nested | None = None, dtype: DType | None = None,
    sequence_length: Tensor | Sequence[int] | None = None, scope: str | None = None, training: bool | None = None,
) -> tuple[list[Nested], Nested, Nested]:
    """`static_rnn` in both directions, outputs concatenated; outputs past `sequence_length` are zeros (TF1).

    TF1 padding semantics, as in `bidirectional_dynamic_rnn`: outputs past
    `sequence_length` are zeros in both directions (Keras, Sonnet and Flax
    repeat the last output instead), each final state is the state after the
    row's last valid step, and the backward cell reads each row reversed within
    its length. Returns TF1's 3-tuple.

    Args:
        cell_fw, cell_bw: RNN cells for the two directions.
        inputs: a list of `[batch, depth]` tensors, one per time step.
        initial_state_fw, initial_state_bw: optional initial states.
        dtype: dtype of the initial states when they are not given.
        sequence_length: optional int vector `[batch]`; padded outputs are zeros.
        scope: accepted for TF1 compatibility; the TF1 variable scopes are
            `<scope or "bidirectional_rnn">/fw` and `/bw`.
        training: optional bool for the cells' dropout, as in `dynamic_rnn`.

    Returns:
        `(outputs, state_fw, state_bw)`: `outputs` is a list with one
        `[batch, fw_size + bw_size]` tensor per step.

    Example:

    >>> import numpy as np
    >>> import tensorflow as tf
    >>> import tfrnn
    >>> steps = [np.ones((2, 3), "float32")] * 4
    >>> outputs, state_fw, state_bw = tfrnn.static_bidirectional_rnn(
    ...     tfrnn.BasicLSTMCell(3), tfrnn.GRUCell(2), steps, dtype=tf.float32)
    >>> len(outputs), tuple(outputs[0].shape)
    (4, (2, 5))
    """
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise TypeError(
            f"Argument `inputs` must be a non-empty list of [batch, depth] tensors, one per "
            f"step, but received {show(inputs)}."
        )
    lengths, init_fw = prepare_static(cell_fw, inputs, initial_state_fw, dtype, sequence_length)
    reverse = _reverser(lengths, time_axis=0, batch_axis=1)
    reversed_inputs = _unstack_like(tf.nest.map_structure(reverse, _stack(inputs)), inputs)  # each leaf
    _, init_bw = prepare_static(cell_bw, reversed_inputs, initial_state_bw, dtype, sequence_length)
    output_fw, state_fw = run_static(cell_fw, inputs, lengths, init_fw, training)
    output_bw, state_bw = run_static(cell_bw, reversed_inputs, lengths, init_bw, training)
    output_bw = _unstack_like(tf.nest.map_structure(reverse, _stack(output_bw)), output_bw)
    outputs = [
        tf.nest.map_structure(lambda fw, bw: tf.concat([fw, bw], 1), fw, bw)
        for fw, bw in zip(output_fw, output_bw)
    ]
    return outputs, state_fw, state_bw


@no_autograph
def stack_bidirectional_dynamic_rnn(
    cells_fw: Sequence[Cell], cells_bw: Sequence[Cell], inputs: Nested,
    initial_states_fw: Sequence[Nested] | None = None, initial_states_bw: Sequence[Nested] | None = None,
    dtype: DType | None = None, sequence_length: Tensor | Sequence[int] | None = None,
    parallel_iterations: int | None = None, time_major: bool = False, scope: str | None = None,
    swap_memory: bool = False, training: bool | None = None,
) -> tuple[Tensor, tuple[Nested, ...], tuple[Nested, ...]]:
    """Stacked bidirectional layers (`tf.contrib.rnn`); outputs past `sequence_length` are zeros (TF1).

    Layer `i` is `bidirectional_dynamic_rnn(cells_fw[i], cells_bw[i], ...)`; its
    input is `tf.concat([output_fw, output_bw], -1)` of layer `i - 1`. TF1
    padding semantics hold in every layer: zeros past each row's length (Keras,
    Sonnet and Flax repeat the last output instead), and states that stop at
    its last valid step.

    Args:
        cells_fw, cells_bw: lists of cells, one per layer, of the same length.
        inputs: `[batch, time, depth]` (or time-major) tensor.
        initial_states_fw, initial_states_bw: optional lists of initial states.
        dtype: dtype of the initial states when they are not given.
        sequence_length: optional int vector `[batch]`.
        parallel_iterations, swap_memory: passed to the loops.
        time_major: whether inputs and outputs are `[time, batch, ...]`.
        scope: accepted for TF1 compatibility. TF1 put layer `i`'s variables
            under `stack_bidirectional_rnn/cell_{i}/bidirectional_rnn/fw` and
            `/bw`.
        training: optional bool for the cells' dropout, as in `dynamic_rnn`.

    Returns:
        `(outputs, states_fw, states_bw)`: the last layer's concatenated outputs
        `[batch, time, fw_size + bw_size]`, and tuples of each layer's final
        states.

    Example:

    >>> import numpy as np
    >>> import tensorflow as tf
    >>> import tfrnn
    >>> x = np.random.rand(2, 4, 3).astype("float32")
    >>> outputs, states_fw, states_bw = tfrnn.stack_bidirectional_dynamic_rnn(
    ...     [tfrnn.GRUCell(3), tfrnn.GRUCell(2)], [tfrnn.GRUCell(3), tfrnn.GRUCell(2)],
    ...     x, sequence_length=[4, 1], dtype=tf.float32)
    >>> tuple(outputs.shape), len(states_fw)
    ((2, 4, 4), 2)
    """
    initial_states_fw, initial_states_bw = _check_stack(cells_fw, cells_bw, initial_states_fw, initial_states_bw)
    flat_inputs = as_tensors(inputs, "inputs", INPUTS_EXPECTED)
    floating = reads_floats(cells_fw[0]) and reads_floats(cells_bw[0])
    _, batch_size = check_sequence_inputs(flat_inputs, time_major, floating)
    _check_layers(cells_fw, cells_bw, initial_states_fw, initial_states_bw, batch_size, dtype, flat_inputs[0].dtype)
    states_fw, states_bw = [], []
    for cell_fw, cell_bw, init_fw, init_bw in zip(cells_fw, cells_bw, initial_states_fw, initial_states_bw):
        (output_fw, output_bw), (state_fw, state_bw) = bidirectional_dynamic_rnn(
            cell_fw, cell_bw, inputs, sequence_length, init_fw, init_bw, dtype,
            parallel_iterations, swap_memory, time_major, training=training,
        )
        inputs = tf.concat([output_fw, output_bw], -1)
        states_fw.append(state_fw)
        states_bw.append(state_bw)
    return inputs, tuple(states_fw), tuple(states_bw)


@no_autograph
def stack_bidirectional_rnn(
    cells_fw: Sequence[Cell], cells_bw: Sequence[Cell], inputs: Sequence[Nested],
    initial_states_fw: Sequence[Nested] | None = None, initial_states_bw: Sequence[Nested] | None = None,
    dtype: DType | None = None, sequence_length: Tensor | Sequence[int] | None = None, scope: str | None = None,
    training: bool | None = None,
) -> tuple[Sequence[Nested], tuple[Nested, ...], tuple[Nested, ...]]:
    """`stack_bidirectional_dynamic_rnn` over a list of steps; outputs past `sequence_length` are zeros (TF1).

    TF1 padding semantics hold in every layer: outputs past `sequence_length`
    are zeros (Keras, Sonnet and Flax repeat the last output instead) and
    states stop at each row's last valid step (`tf.contrib.rnn`'s function).

    Args:
        cells_fw, cells_bw: lists of cells, one per layer, of the same length.
        inputs: a list of `[batch, depth]` tensors, one per time step.
        initial_states_fw, initial_states_bw: optional lists of initial states.
        dtype: dtype of the initial states when they are not given.
        sequence_length: optional int vector `[batch]`.
        scope: accepted for TF1 compatibility; TF1's variable scopes are
            `stack_bidirectional_rnn/cell_{i}/bidirectional_rnn/fw` and `/bw`.
        training: optional bool for the cells' dropout, as in `dynamic_rnn`.

    Returns:
        `(outputs, states_fw, states_bw)`: a list of per-step concatenated
        outputs of the last layer, and tuples of each layer's final states.

    Example:

    >>> import numpy as np
    >>> import tensorflow as tf
    >>> import tfrnn
    >>> steps = [np.ones((2, 3), "float32")] * 4
    >>> outputs, _, _ = tfrnn.stack_bidirectional_rnn(
    ...     [tfrnn.GRUCell(2)], [tfrnn.GRUCell(2)], steps, dtype=tf.float32)
    >>> len(outputs), tuple(outputs[0].shape)
    (4, (2, 4))
    """
    initial_states_fw, initial_states_bw = _check_stack(cells_fw, cells_bw, initial_states_fw, initial_states_bw)
    if isinstance(inputs, (list, tuple)) and inputs:  # else layer 0 says what is wrong, building nothing
        first = tf.convert_to_tensor(tf.nest.flatten(inputs[0])[0])
        batch_size = first.shape[0] if first.shape.rank else None
        _check_layers(cells_fw, cells_bw, initial_states_fw, initial_states_bw, batch_size, dtype, first.dtype)
    states_fw, states_bw = [], []
    for cell_fw, cell_bw, init_fw, init_bw in zip(cells_fw, cells_bw, initial_states_fw, initial_states_bw):
        inputs, state_fw, state_bw = static_bidirectional_rnn(
            cell_fw, cell_bw, inputs, init_fw, init_bw, dtype, sequence_length, training=training
        )
        states_fw.append(state_fw)
        states_bw.append(state_bw)
    return inputs, tuple(states_fw), tuple(states_bw)


def _reverser(lengths: Tensor | None, time_axis: int, batch_axis: int) -> Callable[[Tensor], Tensor]:
    """Reverses each row within its length (TF1: `reverse_sequence`), or the whole time axis.

    `lengths` are the checked int32 ones (`check_sequence_length`): the padding
    stays where it was, past each row's length, for the loop to select away.
    """
    if lengths is None:
        return lambda x: tf.reverse(x, axis=[time_axis])

    def reverse(x: Tensor) -> Tensor:
        return tf.reverse_sequence(x, seq_lengths=lengths, seq_axis=time_axis, batch_axis=batch_axis)

    return reverse


def _stack(steps: Sequence[Nested]) -> Nested:
    return tf.nest.map_structure(lambda *xs: tf.stack(xs), *steps)


def _unstack_like(stacked: Nested, steps: Sequence[Nested]) -> list[Nested]:
    flat = [tf.unstack(x, num=len(steps)) for x in tf.nest.flatten(stacked)]
    return [tf.nest.pack_sequence_as(steps[0], [leaf[t] for leaf in flat]) for t in range(len(steps))]


def _check_stack(
    cells_fw: Sequence[Cell], cells_bw: Sequence[Cell], initial_states_fw: Sequence[Nested] | None,
    initial_states_bw: Sequence[Nested] | None,
) -> list[list[Nested]]:
    """TF1's checks, with its messages; returns per-layer initial states (None if absent)."""
    for name, cells in (("cells_fw", cells_fw), ("cells_bw", cells_bw)):
        if not cells or not isinstance(cells, (list, tuple)):
            raise ValueError(f"{name} must be a list of RNNCells (one per layer), but received {show(cells)}.")
    if len(cells_fw) != len(cells_bw):
        raise ValueError(
            f"Forward and Backward cells must have the same depth: {len(cells_fw)} "
            f"forward and {len(cells_bw)} backward cells."
        )
    states = []
    for name, given in (("initial_states_fw", initial_states_fw), ("initial_states_bw", initial_states_bw)):
        if given is not None and (not isinstance(given, (list, tuple)) or len(given) != len(cells_fw)):
            raise ValueError(f"{name} must be a list of state tensors (one per layer): {len(cells_fw)} expected.")
        states.append([None] * len(cells_fw) if given is None else list(given))
    return states


def _check_layers(
    cells_fw: Sequence[Cell], cells_bw: Sequence[Cell], states_fw: Sequence[Nested], states_bw: Sequence[Nested],
    batch_size: int | Tensor | None, dtype: DType | None, inputs_dtype: DType,
) -> None:
    """Every layer's cells and initial states, before layer 0 runs: a bad argument for a
    later layer must not leave the layers before it built."""
    for cells, states in ((cells_fw, states_fw), (cells_bw, states_bw)):
        for cell, state in zip(cells, states):
            check_cell(cell)
            check_initial_state(cell, state, batch_size, dtype, inputs_dtype)
