"""TF1's decoders: `Decoder`, `BasicDecoder`, `BasicDecoderOutput` and `dynamic_decode`.

`dynamic_decode` calls `decoder.initialize()` once and `decoder.step(...)`
until every row is finished (or `maximum_iterations`), stacks the emitted
outputs and returns TF1's `(final_outputs, final_state,
final_sequence_lengths)`. `BasicDecoder` is a cell, a `Helper` and an
optional output layer: per step

    cell_output, cell_state = cell(inputs, state)
    rnn_output = output_layer(cell_output)            (if given)
    sample_id = helper.sample(time, rnn_output, cell_state)
    finished, next_inputs, next_state = helper.next_inputs(time, rnn_output, cell_state, sample_id)

Design decisions:

* TF1's quirks are kept (they are its numbers): without `impute_finished`
  the outputs past a row's end are whatever the step computed (not zeros) and
  the final state is the state after the last loop step for every row; only
  `impute_finished=True` zeroes them (`sample_id` 0) and copies the state
  through. `final_sequence_lengths` (int32) count the step that finished a
  row; rows that never finish get the number of steps run.
* Under XLA (`jit_compile=True`) the outputs are kept in `TensorArray`s of
  size `maximum_iterations` (TF1's XLA path), so the time axis is
  `maximum_iterations` long and the steps never run are zeros; without
  `maximum_iterations` XLA cannot size them, and `dynamic_decode` says so.
* Fast path: with exactly a `BasicDecoder` over a `TrainingHelper` and a
  Keras `Dense` output layer, the layer's output never feeds back (the next
  input is read from the data), so the loop runs the cell alone and the layer
  is applied once, after the loop, to the cell outputs already in the layout
  asked for (`output_time_major`: the `[time, batch, units]` outputs are
  transposed, not the logits); the sample ids are its argmax. For an
  8,000-word projection this replaces `T` small GEMMs (and their gradients) by
  one large one. `impute_finished` keeps its meaning: the steps a row was
  already finished are selected to zero afterwards (a row is finished before
  step `t` exactly when `t >= final_sequence_length`), unless the layer maps
  the loop's zero outputs there to zero by itself (linear, no bias: nmt's
  projection).
  When the cell is an attention wrapper the fused attention loop computes
  (`tfrnn.seq2seq.fused_attention.eligible`), that loop runs the decode, with
  a hand-written gradient, with or without an output layer.
* The decoder calls the very objects it was given (cell, output layer), so
  their variables are theirs; `tf1_variable_names(decoder, scope="decoder")`
  gives TF1's names (`decoder/lstm_cell/kernel`, `decoder/output_projection/kernel`).
* `scope`, `parallel_iterations` and `swap_memory` are TF1's; `scope` names
  nothing (TF1 names come from `tf1_variable_names`' `scope`), the other two
  go to `tf.while_loop`.
"""

from __future__ import annotations

import abc
import collections
from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from tfrnn.aliases import Cell, Nested, Tensor
from tfrnn.base import new_sequence, no_autograph
from tfrnn.checks import check_cell
from tfrnn.loop_kit import copy_through, finished_steps, like, show, transpose_batch_time
from tfrnn.seq2seq import fused_attention
from tfrnn.seq2seq.helper import Helper, TrainingHelper

__all__ = ["BasicDecoder", "BasicDecoderOutput", "Decoder", "dynamic_decode"]


class Decoder(abc.ABC):
    """An RNN decoder for `dynamic_decode` (TF1's `tf.contrib.seq2seq.Decoder`), to subclass.

    `initialize()` gives `(finished, first_inputs, initial_state)`;
    `step(time, inputs, state)` gives `(outputs, next_state, next_inputs,
    finished)`; `finalize(outputs, final_state, sequence_lengths)`, if
    defined, post-processes the stacked outputs. `output_size` and
    `output_dtype` describe one step's outputs (without the batch axis).
    A decoder that reorders rows between steps (beam search) sets
    `tracks_own_finished` and reports its own `finished` each step.
    
    Example:

    >>> import numpy as np
    >>> import tensorflow as tf
    >>> import tfrnn
    >>> from tfrnn import seq2seq
    >>> helper = seq2seq.TrainingHelper(np.ones((2, 4, 5), "float32"), [4, 2])
    >>> decoder = seq2seq.BasicDecoder(tfrnn.GRUCell(3), helper, tf.zeros([2, 3]))
    >>> isinstance(decoder, seq2seq.Decoder), decoder.batch_size, decoder.output_size.rnn_output
    (True, 2, 3)
    """

    @property
    def batch_size(self) -> int | Tensor:
        """The batch size of the inputs."""
        raise NotImplementedError

    @property
    def output_size(self) -> Nested:
        """A (nested) size per output: ints or `TensorShape`s, without the batch axis."""
        raise NotImplementedError

    @property
    def output_dtype(self) -> Nested:
        """A (nested) dtype per output."""
        raise NotImplementedError

    @abc.abstractmethod
    def initialize(self, name: str | None = None) -> tuple[Tensor, Nested, Nested]:
        """Returns `(finished, initial_inputs, initial_state)`."""

    @abc.abstractmethod
    def step(self, time: Tensor, inputs: Nested, state: Nested, name: str | None = None) -> tuple[Nested, Nested, Nested, Tensor]:
        """Returns `(outputs, next_state, next_inputs, finished)`."""

    def finalize(self, outputs: Nested, final_state: Nested, sequence_lengths: Tensor) -> tuple[Nested, Nested]:
        """Returns `(final_outputs, final_state)`; by default not defined (outputs are kept)."""
        raise NotImplementedError

    @property
    def tracks_own_finished(self) -> bool:
        """Whether `step`'s `finished` is the whole truth (True), or is OR-ed with the previous one (False)."""
        return False


class BasicDecoderOutput(collections.namedtuple("BasicDecoderOutput", ("rnn_output", "sample_id"))):
    """One step's (or, stacked, every step's) outputs of a `BasicDecoder`: `(rnn_output, sample_id)`.

    Example:

    >>> import numpy as np
    >>> import tensorflow as tf
    >>> import tfrnn
    >>> from tfrnn import seq2seq
    >>> helper = seq2seq.TrainingHelper(np.ones((2, 4, 5), "float32"), [4, 2])
    >>> outputs, _, _ = seq2seq.dynamic_decode(seq2seq.BasicDecoder(tfrnn.GRUCell(3), helper, tf.zeros([2, 3])))
    >>> type(outputs).__name__, tuple(outputs.rnn_output.shape), outputs.sample_id.dtype.name
    ('BasicDecoderOutput', (2, 4, 3), 'int32')
    """


class BasicDecoder(Decoder):
    """A cell, a helper and an optional output layer (TF1's `tf.contrib.seq2seq.BasicDecoder`).

    Args:
        cell: an RNN cell (a tfrnn cell, an `AttentionWrapper`, any TF1-contract cell).
        helper: a `Helper` (e.g. `TrainingHelper`, `GreedyEmbeddingHelper`).
        initial_state: the cell's initial state (tensors, or a structure of them).
        output_layer: optional Keras layer applied to the cell output before
            sampling, e.g. `keras.layers.Dense(vocabulary, use_bias=False,
            name="output_projection")` where TF1 had `tf.layers.Dense`. It is
            called as given, so its weights are its own.

    Example: teacher forcing with an LSTM and a projection.

    >>> import numpy as np
    >>> import keras
    >>> import tfrnn
    >>> from tfrnn import seq2seq
    >>> cell = tfrnn.LSTMCell(4)
    >>> helper = seq2seq.TrainingHelper(np.ones((2, 3, 5), "float32"), [3, 1])
    >>> decoder = seq2seq.BasicDecoder(cell, helper, cell.zero_state(2, "float32"),
    ...                                output_layer=keras.layers.Dense(6, name="output_projection"))
    >>> outputs, state, lengths = seq2seq.dynamic_decode(decoder)
    >>> tuple(outputs.rnn_output.shape), tuple(outputs.sample_id.shape), lengths.numpy().tolist()
    ((2, 3, 6), (2, 3), [3, 1])
    >>> list(tfrnn.tf1_variable_names(decoder, scope="decoder"))
    ['decoder/lstm_cell/kernel', 'decoder/lstm_cell/bias', 'decoder/output_projection/kernel', 'decoder/output_projection/bias']
    """

    def __init__(self, cell: Cell, helper: Helper, initial_state: Nested, output_layer: keras.layers.Layer | None = None) -> None:
        check_cell(cell)
        if not isinstance(helper, Helper):
            raise TypeError(
                f"helper must be a Helper, received: {type(helper)}. Pass a tfrnn.seq2seq helper, e.g. "
                "TrainingHelper(inputs, lengths), or subclass tfrnn.seq2seq.Helper."
            )
        if output_layer is not None and not isinstance(output_layer, keras.layers.Layer):
            raise TypeError(
                f"output_layer must be a Layer, received: {type(output_layer)}. Pass a Keras 3 layer, e.g. "
                "keras.layers.Dense(vocabulary_size, use_bias=False) where TF1 had tf.layers.Dense."
            )
        if initial_state is None:
            raise ValueError("initial_state must be the cell's initial state, e.g. cell.zero_state(batch_size, tf.float32); received None.")
        self._cell = cell
        self._helper = helper
        self._initial_state = initial_state
        self._output_layer = output_layer

    def tf1_parts(self) -> list[Any]:
        """What holds this decoder's variables at the decode scope: the cell, then the output layer."""
        return [self._cell] + ([self._output_layer] if self._output_layer is not None else [])

    @property
    def batch_size(self) -> int | Tensor:
        return self._helper.batch_size

    def _rnn_output_size(self) -> Nested:
        size = self._cell.output_size
        if self._output_layer is None:
            return size
        # The layer's output shape from the cell's, with an unknown batch axis (TF1's way).
        shape = tf.nest.map_structure(lambda s: tf.TensorShape([None]).concatenate(s), size)
        layer_shape = self._output_layer.compute_output_shape(shape)
        return tf.nest.map_structure(lambda s: tf.TensorShape(s)[1:], layer_shape, check_types=False) \
            if isinstance(layer_shape, list) else tf.TensorShape(layer_shape)[1:]

    @property
    def output_size(self) -> BasicDecoderOutput:
        return BasicDecoderOutput(rnn_output=self._rnn_output_size(), sample_id=self._helper.sample_ids_shape)

    @property
    def output_dtype(self) -> BasicDecoderOutput:
        # TF1: the dtype of the initial state's first part, for every rnn_output part.
        dtype = tf.as_dtype(tf.nest.flatten(self._initial_state)[0].dtype)
        return BasicDecoderOutput(tf.nest.map_structure(lambda _: dtype, self._rnn_output_size()),
                                  self._helper.sample_ids_dtype)

    def initialize(self, name: str | None = None) -> tuple[Tensor, Nested, Nested]:
        new_sequence(self._cell)  # a decode is one sequence: the cell's dropout masks are new
        finished, first_inputs = self._helper.initialize()
        return finished, first_inputs, self._initial_state

    def step(self, time: Tensor, inputs: Nested, state: Nested, name: str | None = None) -> tuple[Nested, Nested, Nested, Tensor]:
        cell_outputs, cell_state = self._cell(inputs, state)
        if self._output_layer is not None:
            cell_outputs = self._output_layer(cell_outputs)
        sample_ids = self._helper.sample(time=time, outputs=cell_outputs, state=cell_state)
        finished, next_inputs, next_state = self._helper.next_inputs(
            time=time, outputs=cell_outputs, state=cell_state, sample_ids=sample_ids)
        return BasicDecoderOutput(cell_outputs, sample_ids), next_state, next_inputs, finished


@no_autograph
def dynamic_decode(
    decoder: Decoder, output_time_major: bool = False, impute_finished: bool = False,
    maximum_iterations: int | Tensor | None = None, parallel_iterations: int = 32, swap_memory: bool = False,
    scope: str | None = None,
) -> tuple[Nested, Nested, Tensor]:
    """Runs `decoder` until every row is finished (TF1's `tf.contrib.seq2seq.dynamic_decode`).

    Step `t` runs `decoder.step(t, inputs, state)` while some row is not
    finished (and `t < maximum_iterations`). Row `b`'s length is the step
    that finished it, plus one: `length[b] = 1 + min{t : finished_t[b]}`, or
    the number of steps run if it never finishes.

    TF1's semantics, kept: with `impute_finished=False` (the default) the
    outputs of a row past its end are not zeroed, and its final state is the
    one after the last step run (not after its own last step): unlike
    `dynamic_rnn`. With `impute_finished=True` a finished row emits zeros
    (`sample_id` 0, not the end token) and keeps its state. With
    `maximum_iterations <= 0` nothing runs: the outputs have 0 steps, the
    state is the initial one and the lengths are 0.

    Args:
        decoder: a `Decoder` (e.g. `BasicDecoder`, or a user subclass).
        output_time_major: return outputs `[time, batch, ...]` instead of `[batch, time, ...]`.
        impute_finished: zero finished rows' outputs and copy their state through.
        maximum_iterations: optional int32 scalar, the most steps to run;
            required under XLA (`jit_compile=True`), where the outputs have
            exactly `maximum_iterations` steps (zeros past the last step run).
        parallel_iterations, swap_memory: passed to `tf.while_loop`.
        scope: accepted for TF1 compatibility; names nothing (give
            `tf1_variable_names` the scope, `"decoder"` by default in TF1).

    Returns:
        `(final_outputs, final_state, final_sequence_lengths)`, the lengths int32 `[batch]`.

    Raises:
        TypeError: `decoder` is not a `Decoder`.
        ValueError: `maximum_iterations` is not a scalar, or is None under XLA.

    Example: greedy decoding that stops at the end token or after 3 steps.

    >>> import numpy as np
    >>> import tfrnn
    >>> from tfrnn import seq2seq
    >>> cell = tfrnn.GRUCell(3)
    >>> helper = seq2seq.GreedyEmbeddingHelper(np.eye(3, dtype="float32"), [0, 1], end_token=2)
    >>> decoder = seq2seq.BasicDecoder(cell, helper, cell.zero_state(2, "float32"))
    >>> outputs, state, lengths = seq2seq.dynamic_decode(decoder, maximum_iterations=3)
    >>> outputs.sample_id.shape[0], outputs.sample_id.dtype.name, lengths.dtype.name
    (2, 'int32', 'int32')
    """
    if not isinstance(decoder, Decoder):
        raise TypeError(
            f"Expected decoder to be type Decoder, but saw: {type(decoder)}. Pass a tfrnn.seq2seq.BasicDecoder "
            "(or a subclass of tfrnn.seq2seq.Decoder)."
        )
    maximum_iterations = _maximum_iterations(maximum_iterations)
    fixed_size = in_xla_context()
    if fixed_size and maximum_iterations is None:
        raise ValueError(
            "maximum_iterations is required for XLA compilation: under jit_compile=True the loop and its "
            "outputs need a bound. Pass maximum_iterations (e.g. twice the longest source length)."
        )
    options = dict(parallel_iterations=parallel_iterations, swap_memory=swap_memory)
    hoisted = _hoistable(decoder)
    if isinstance(decoder, BasicDecoder) and _fusable(decoder):
        outputs, state, lengths, steps = _fused_loop(decoder, impute_finished, maximum_iterations, fixed_size)
        hoisted = True
    else:
        loop_decoder = _CellSteps(decoder) if isinstance(decoder, BasicDecoder) and hoisted else decoder
        outputs, state, lengths, steps = _decode_loop(loop_decoder, impute_finished, maximum_iterations, fixed_size,
                                                      options)
    if isinstance(decoder, BasicDecoder) and hoisted:
        # Exactly a BasicDecoder (no finalize): projected in the layout asked for, so that the
        # [time, batch, units] outputs are transposed, not the [time, batch, vocabulary] logits.
        outputs = _project_after_loop(decoder, outputs, lengths, steps, impute_finished, fixed_size, output_time_major)
        return outputs, state, lengths
    try:
        outputs, state = decoder.finalize(outputs, state, lengths)
    except NotImplementedError:
        pass
    if not output_time_major:
        outputs = tf.nest.map_structure(transpose_batch_time, outputs)
    return outputs, state, lengths


def _maximum_iterations(maximum_iterations: Any) -> Tensor | None:
    if maximum_iterations is None:
        return None
    try:
        value = tf.convert_to_tensor(maximum_iterations, dtype=tf.int32)
    except (TypeError, ValueError):
        raise TypeError(
            f"maximum_iterations must be an int32 scalar (or None), but received {show(maximum_iterations)}."
        ) from None
    if value.shape.rank != 0:
        raise ValueError(
            f"maximum_iterations must be a scalar, but received shape {tuple(value.shape)}: pass one number, e.g. 50."
        )
    return value


def in_xla_context() -> bool:
    """Whether the code being traced will be compiled by XLA (`tf.function(jit_compile=True)`).

    TensorFlow has no public test for it: this walks the graphs being traced,
    as TF's own `control_flow_util.GraphOrParentsInXlaContext` does.
    """
    if tf.executing_eagerly():
        return False
    graph = tf.compat.v1.get_default_graph()
    while graph is not None:
        context = graph._get_control_flow_context()  # noqa: SLF001  (no public equivalent)
        while context is not None:
            if context.IsXLAContext():
                return True
            context = context.outer_context
        graph = getattr(graph, "outer_graph", None)
    return False


def _decode_loop(
    decoder: Decoder, impute_finished: bool, maximum_iterations: Tensor | None, fixed_size: bool,
    options: dict[str, Any],
) -> tuple[Nested, Nested, Tensor, Tensor]:
    """TF1's decode loop: `(outputs [time, batch, ...], final state, lengths, steps run)`."""
    finished, inputs, state = decoder.initialize()
    finished = tf.convert_to_tensor(finished, tf.bool)
    zero_outputs = _zero_outputs(decoder.output_size, decoder.output_dtype, decoder.batch_size)
    if maximum_iterations is not None:
        finished = tf.logical_or(finished, maximum_iterations <= 0)
    size = maximum_iterations if fixed_size else 0
    output_tas = tf.nest.map_structure(
        lambda zero: tf.TensorArray(zero.dtype, size=size, dynamic_size=not fixed_size, element_shape=zero.shape),
        zero_outputs)

    def body(time, output_tas, state, inputs, finished, lengths):
        outputs, next_state, next_inputs, step_finished = decoder.step(time, inputs, state)
        next_state, next_inputs = _same_structures(state, next_state, inputs, next_inputs, zero_outputs, outputs)
        step_finished = tf.convert_to_tensor(step_finished, tf.bool)
        next_finished = step_finished if decoder.tracks_own_finished else tf.logical_or(step_finished, finished)
        lengths = tf.where(finished, lengths, time + 1)
        if impute_finished:
            outputs = tf.nest.map_structure(lambda out, zero: copy_through(finished, zero, out), outputs, zero_outputs)
            next_state = tf.nest.map_structure(lambda new, old: _keep_finished(finished, old, new), next_state, state)
        output_tas = tf.nest.map_structure(lambda ta, out: ta.write(time, out), output_tas, outputs)
        return time + 1, output_tas, next_state, next_inputs, next_finished, lengths

    loop_vars = (tf.constant(0), output_tas, state, inputs, finished, tf.zeros_like(finished, tf.int32))
    steps, output_tas, state, _, _, lengths = tf.while_loop(
        lambda *loop: tf.logical_not(tf.reduce_all(loop[4])), body, loop_vars,
        maximum_iterations=maximum_iterations, **options)
    return tf.nest.map_structure(lambda ta: ta.stack(), output_tas), state, lengths, steps


def _zero_outputs(size: Nested, dtype: Nested, batch_size: int | Tensor) -> Nested:
    """Zeros `[batch] + size` for each output (TF1's `_create_zero_outputs`)."""
    def zeros(s: Any, d: Any) -> Tensor:
        shape = tf.TensorShape(s)
        if isinstance(batch_size, int) and shape.is_fully_defined():
            return tf.zeros([batch_size] + shape.as_list(), d)
        return tf.zeros(tf.concat([tf.reshape(batch_size, [1]), tf.shape(tf.zeros(shape.as_list()))], 0), d)

    return tf.nest.map_structure(zeros, size, dtype, check_types=False) if _nested(size) else zeros(size, dtype)


def _nested(size: Nested) -> bool:
    return isinstance(size, (tuple, list, dict)) and not isinstance(size, tf.TensorShape)


def _keep_finished(finished: Tensor, old: Any, new: Any) -> Any:
    """TF1's copy-through of a state leaf under `impute_finished`: `TensorArray`s and scalars pass."""
    if isinstance(old, tf.TensorArray):
        return new
    return copy_through(finished, old, new)


def _same_structures(
    state: Nested, next_state: Nested, inputs: Nested, next_inputs: Nested, zero_outputs: Nested, outputs: Nested,
) -> tuple[Nested, Nested]:
    """TF1's structure checks on a step's results (as a `ValueError` saying which); returns the
    state and inputs in the containers the loop started with (a cell may give a list for a tuple)."""
    for what, before, after in (("state", state, next_state), ("outputs", zero_outputs, outputs),
                                ("inputs", inputs, next_inputs)):
        try:
            tf.nest.assert_same_structure(before, after, check_types=False)
        except (ValueError, TypeError):
            raise ValueError(
                f"decoder.step must return {what} with the structure of the loop's: expected {show(before, 200)}, "
                f"but it returned {show(after, 200)} (output_size and the state must describe what step returns)."
            ) from None
    return like(state, next_state), like(inputs, next_inputs)


# ----- The fast path: a TrainingHelper's output layer applied once, after the loop. -----


def _teacher_forced(decoder: Decoder) -> bool:
    """Exactly a BasicDecoder over exactly a TrainingHelper: no output ever feeds back."""
    return type(decoder) is BasicDecoder and type(decoder._helper) is TrainingHelper


def _hoistable(decoder: Decoder) -> bool:
    """A `_teacher_forced` decoder with a plain Keras Dense output layer."""
    return _teacher_forced(decoder) and _plain_dense(getattr(decoder, "_output_layer", None))


def _plain_dense(layer: Any) -> bool:
    return isinstance(layer, keras.layers.Dense) and type(layer).call is keras.layers.Dense.call


def _fusable(decoder: BasicDecoder) -> bool:
    """A TrainingHelper decode whose cell runs the fused attention loop: exactly a BasicDecoder and a
    TrainingHelper over one tensor with a static time of at least 1, no output layer or a plain Dense."""
    if not _teacher_forced(decoder):
        return False
    helper: Any = decoder._helper  # a TrainingHelper: just checked
    inputs = helper.inputs
    time_axis = 0 if helper._time_major else 1
    if not isinstance(inputs, tf.Tensor) or inputs.dtype != tf.float32 or not (inputs.shape[time_axis] or 0) >= 1:
        return False
    layer = decoder._output_layer
    return (layer is None or _plain_dense(layer)) and fused_attention.eligible(decoder._cell)


def _fused_loop(
    decoder: BasicDecoder, impute_finished: bool, maximum_iterations: Tensor | None, fixed_size: bool,
) -> tuple[Tensor, Nested, Tensor, Tensor]:
    """`_decode_loop`'s results for a `_fusable` decoder, from the fused attention loop: the cell outputs."""
    _, first_inputs, state = decoder.initialize()
    helper: Any = decoder._helper  # a TrainingHelper: `_fusable` checked
    decoder._cell.prepare_step(first_inputs, state)  # checks the step and builds the cell, as its first call would
    return fused_attention.decode(decoder._cell, helper._steps, helper.sequence_length, state, impute_finished,
                                  maximum_iterations, fixed_size)


class _CellSteps(Decoder):
    """A `BasicDecoder`'s loop without its output layer and sampling: the cell steps and the helper's inputs."""

    def __init__(self, decoder: BasicDecoder) -> None:
        self._decoder = decoder
        self._cell = decoder._cell

    @property
    def batch_size(self) -> int | Tensor:
        return self._decoder.batch_size

    @property
    def output_size(self) -> Nested:
        return self._cell.output_size

    @property
    def output_dtype(self) -> Nested:
        return self._decoder.output_dtype.rnn_output

    def initialize(self, name: str | None = None) -> tuple[Tensor, Nested, Nested]:
        return self._decoder.initialize()

    def step(self, time: Tensor, inputs: Nested, state: Nested, name: str | None = None) -> tuple[Nested, Nested, Nested, Tensor]:
        cell_outputs, cell_state = self._cell(inputs, state)
        finished, next_inputs, next_state = self._decoder._helper.next_inputs(
            time=time, outputs=cell_outputs, state=cell_state, sample_ids=None)
        return cell_outputs, next_state, next_inputs, finished


def _project_after_loop(
    decoder: BasicDecoder, cell_outputs: Tensor, lengths: Tensor, steps: Tensor, impute_finished: bool,
    fixed_size: bool, time_major: bool,
) -> BasicDecoderOutput:
    """`BasicDecoderOutput` from the stacked cell outputs `[time, batch, depth]`: one projection, then TF1's
    zeros; time-major, or batch-major (`[batch, time, ...]`) when not `time_major`."""
    layer: keras.layers.Layer | None = decoder._output_layer
    time_steps = tf.shape(cell_outputs)[0]
    zero = _zero_steps(lengths, steps, time_steps, impute_finished, fixed_size)
    if not time_major:
        cell_outputs = transpose_batch_time(cell_outputs)
        zero = None if zero is None else tf.transpose(zero)
    rnn_output = cell_outputs if layer is None else layer(cell_outputs)  # one GEMM for every step
    sample_id = tf.argmax(rnn_output, axis=-1, output_type=tf.int32)
    if zero is None:
        return BasicDecoderOutput(rnn_output, sample_id)
    if not _keeps_zeros(layer):
        rnn_output = copy_through(zero, tf.zeros([], rnn_output.dtype), rnn_output)
    return BasicDecoderOutput(rnn_output, tf.where(zero, 0, sample_id))


def _keeps_zeros(layer: keras.layers.Layer | None) -> bool:
    """Whether the layer maps the zero cell outputs of the steps to zero (none, or linear without
    bias: both loops already emit zeros there, `_decode_loop` by selecting them and the fused
    one by `zero_where`, so selecting the `[time, batch, vocabulary]` logits again, forward and
    backward, would only cost time). Exact for a finite kernel; a kernel holding inf or NaN,
    which the select would have hidden at those steps, gives NaN there."""
    return layer is None or (not layer.use_bias and layer.activation is keras.activations.linear)


def _zero_steps(
    lengths: Tensor, steps: Tensor, time_steps: Tensor, impute_finished: bool, fixed_size: bool,
) -> Tensor | None:
    """`[time, batch]` bool: where the per-step path emitted zeros, or None for nowhere.

    With `impute_finished`, the steps a row was already finished (`t >= length`);
    under XLA, the steps never run (`t >= steps`), which TF1's fixed-size arrays hold as zeros.
    """
    masks: Sequence[Tensor] = []
    if impute_finished:
        masks = [finished_steps(lengths, time_steps)]
    if fixed_size:
        never_run = tf.range(time_steps)[:, None] >= steps
        masks = [tf.logical_or(masks[0], never_run)] if masks else [tf.broadcast_to(never_run, tf.shape(
            finished_steps(lengths, time_steps)))]
    return masks[0] if masks else None
