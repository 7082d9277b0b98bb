"""TF1's `AttentionWrapper` on Keras 3: a cell that runs another cell and one or
more attention mechanisms at every step, its state `AttentionWrapperState`, and
the step function `_compute_attention` (TF1's extension point, which
tensorflow/nmt's GNMT cell calls). `tfrnn.seq2seq.attention_rnn.AttentionRNN`
is the Keras layer that feeds it the memory per call.

Design decisions:

* The wrapper is a tfrnn `RNNCell`: `tfrnn.dynamic_rnn`, the seq2seq decoders,
  `keras.layers.RNN` and `zero_state` drive it. Its state is TF1's six-field
  `AttentionWrapperState`; `alignment_history` is TF1's time-major
  `TensorArray` (`.stack()` gives `[time, batch, memory_time]`), carried by
  tfrnn's loops as TF1's were.
* The mechanisms own their memory (`setup_memory`, or TF1's `memory=`); the
  wrapper never holds a memory tensor. What depends on the memory (the
  attention depth without an attention layer, the alignments' size) is read
  from the mechanisms when asked. The memory depths the wrapper was built for
  are kept (in `get_build_config` too), so that a wrapper reloaded from a
  `.keras` file rebuilds before any memory is given.
* Keras 3's `RNN` has no `constants`, so a memory that is a `keras.Input`
  cannot reach the mechanisms through it: `AttentionRNN(wrapper)` is the layer
  for that (`layer(inputs, memory, memory_sequence_length)`), which sets the
  memory up and runs `dynamic_rnn` (TF1's numbers). `keras.layers.RNN(wrapper)`
  works too once the memory is set up outside the model, without
  `alignment_history` (Keras cannot carry a `TensorArray`).
* TF1 checkpoint names: the wrapper's `tf1_layout` puts its cell, each
  mechanism's scoring variables (numbered `bahdanau_attention`,
  `bahdanau_attention_1`, ... as TF1's variable scopes were) and its attention
  layers (`attention_layer`, `attention_layer_1`, or the user's layers' names)
  under its own scope `attention_wrapper`; the mechanisms' `memory_layer`s are
  named where they were built (`tf1_variable_names(mechanism)`).

Equations of one step, for mechanisms `M_i` with attention layers `L_i`:

    x'       = cell_input_fn(x, a_prev)            # default concat([x, a_prev], -1)
    o, s'    = cell(x', s)
    alpha_i  = M_i(o, state=prev_i)                # [batch, memory_time], and the next state
    c_i      = sum_t alpha_i[:, t] * values_i[:, t]  # the context, [batch, memory_depth]
    a_i      = L_i(concat([o, c_i], -1))  or  c_i  (no attention layer)
    a        = concat([a_1, ..., a_n], -1)
    output   = a if output_attention else o;  time' = time + 1
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfrnn.base import Cell, Child, DType, Nested, RNNCell, Sublayer, Tensor, Weight, new_sequence, no_autograph
from tfrnn.checks import check_batch_size, check_cell, check_floating, config_value, from_config_value, state_dtype
from tfrnn.seq2seq.attention import AttentionMechanism

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["AttentionWrapper", "AttentionWrapperState", "_compute_attention"]

_TILE_HINT = (
    "Are you using the BeamSearchDecoder? If so, tile the encoder output (and its lengths and final "
    "state) to beam_width with tfrnn.seq2seq.tile_batch (not tf.tile), and pass "
    "batch_size * beam_width to zero_state."
)


class AttentionWrapperState(
    collections.namedtuple(
        "AttentionWrapperState",
        ("cell_state", "attention", "time", "alignments", "alignment_history", "attention_state"),
    )
):
    """The state of an `AttentionWrapper`, TF1's namedtuple with its six fields.

    Attributes:
        cell_state: the wrapped cell's state after the previous step.
        attention: the attention emitted at the previous step, `[batch, attention_size]`.
        time: int32 scalar, the number of steps taken.
        alignments: the previous step's alignments, `[batch, memory_time]`
            (a tuple of them for a list of mechanisms).
        alignment_history: with `alignment_history=True`, a time-major
            `TensorArray` of every step's alignments (one per mechanism);
            `.stack()` gives `[time, batch, memory_time]`. Else `()`.
        attention_state: each mechanism's own state (its alignments, for
            tfrnn's mechanisms).

    Example:

    >>> import tensorflow as tf
    >>> from tfrnn import seq2seq
    >>> state = seq2seq.AttentionWrapperState(tf.zeros([2, 3]), tf.zeros([2, 4]), 0, tf.zeros([2, 5]), (), ())
    >>> float(state.clone(cell_state=tf.ones([2, 3])).cell_state.numpy().sum())
    6.0
    """

    __slots__ = ()

    def clone(self, **kwargs: Any) -> AttentionWrapperState:
        """This state with the fields in `kwargs` replaced; TF1's `clone`.

        As in TF1, every new tensor must have the shape of the one it replaces
        (`zero_state(...).clone(cell_state=encoder_state)`); a new tensor of
        a less known shape takes the old one's static shape.

        Raises:
            ValueError: an unknown field, a new field of another structure, or
                a tensor of another shape (TF1's message); nothing is changed.
        """
        unknown = sorted(set(kwargs) - set(self._fields))
        if unknown:
            raise ValueError(f"AttentionWrapperState.clone got unexpected field names {unknown}; the fields are "
                             f"{list(self._fields)}.")
        new = self._replace(**kwargs)
        for field in kwargs:
            try:
                tf.nest.assert_same_structure(getattr(self, field), getattr(new, field))
            except (ValueError, TypeError) as error:
                raise ValueError(f"AttentionWrapperState.clone({field}=...) received a value whose structure is not "
                                 f"the state's: {error}. Pass a value shaped like state.{field}.") from None
        return tf.nest.map_structure(_with_same_shape, self, new)


def _with_same_shape(old: Any, new: Any) -> Any:
    """`new`, checked to have `old`'s shape (and given its static shape when less known)."""
    if not tf.is_tensor(old) or isinstance(new, tf.TensorArray) or isinstance(old, tf.TensorArray):
        return new
    if not tf.is_tensor(new):  # an array or a number: its shape must be the field's too
        if old.shape != tf.TensorShape(np.shape(new)):
            raise ValueError(
                "The shape of the AttentionWrapperState is expected to be same as the one to clone. "
                f"self.shape: {old.shape}, input.shape: {np.shape(new)}. Pass a tensor of the replaced field's shape."
            )
        return new
    if not old.shape.is_compatible_with(new.shape) or (tf.executing_eagerly() and old.shape != new.shape):
        raise ValueError(
            "The shape of the AttentionWrapperState is expected to be same as the one to clone. "
            f"self.shape: {old.shape}, input.shape: {new.shape}. Pass a tensor of the replaced field's shape "
            "(under beam search, tile it with tile_batch)."
        )
    return new if new.shape.is_fully_defined() or not old.shape.is_fully_defined() else tf.ensure_shape(new, old.shape)


def _compute_attention(attention_mechanism: Any, cell_output: Tensor, attention_state: Nested,
                       attention_layer: Any) -> tuple[Tensor, Tensor, Nested]:
    """One mechanism's attention for one step; TF1's module-level function (GNMT calls it).

    `alignments, next_state = attention_mechanism(cell_output, state=attention_state)`,
    `context = sum_t alignments[:, t] * values[:, t]` and `attention =
    attention_layer(concat([cell_output, context], 1))` (or the context when
    `attention_layer` is None).

    Returns:
        `(attention, alignments, next_attention_state)`.
    """
    if not isinstance(attention_mechanism, AttentionMechanism):
        raise TypeError(f"_compute_attention: attention_mechanism must be an AttentionMechanism, saw type: "
                        f"{type(attention_mechanism).__name__}. Pass e.g. wrapper.attention_mechanisms[0].")
    if attention_layer is not None and not callable(attention_layer):
        raise TypeError(f"_compute_attention: attention_layer must be a Keras layer or None, saw type: "
                        f"{type(attention_layer).__name__}. Pass e.g. keras.layers.Dense(units, use_bias=False).")
    mechanism: Any = attention_mechanism  # a layer, called TF1's way
    alignments, next_attention_state = mechanism(cell_output, state=attention_state)
    # [batch, 1, memory_time] x [batch, memory_time, memory_depth] -> [batch, memory_depth]
    context = ops.squeeze(ops.matmul(ops.expand_dims(alignments, 1), mechanism.values), 1)
    if attention_layer is None:
        return context, alignments, next_attention_state
    attention = attention_layer(ops.concatenate([cell_output, ops.cast(context, cell_output.dtype)], 1))
    return attention, alignments, next_attention_state


def _in_xla_context() -> bool:
    from tfrnn.seq2seq.decoder import in_xla_context  # the decoders sit above the wrapper

    return in_xla_context()


def _concat_inputs(inputs: Tensor, attention: Tensor) -> Tensor:
    return ops.concatenate([inputs, ops.cast(attention, inputs.dtype)], -1)


@keras.saving.register_keras_serializable(package="tfrnn")
class AttentionWrapper(RNNCell):
    """Wraps a cell with attention: TF1's `tf.contrib.seq2seq.AttentionWrapper`.

    At every step (the module docstring has the equations): the inputs and
    the previous attention go through `cell_input_fn` into `cell`; the cell's
    output is the query of every mechanism; each context (the alignments'
    weighted sum of the memory's `values`) goes, with the cell output, through
    that mechanism's attention layer; the attentions are concatenated. The
    output is the attention (`output_attention=True`, Luong style) or the
    cell output (Bahdanau style); the attention is fed back through the state
    either way.

    Under beam search, tile the memory, its lengths and the encoder state with
    `tile_batch` and call `zero_state(batch_size * beam_width, dtype)`, then
    `.clone(cell_state=tiled_encoder_state)`.

    Args:
        cell: the cell to wrap (a tfrnn, TF1-style or Keras cell).
        attention_mechanism: a mechanism, or a list/tuple of them (then
            `alignments`, `alignment_history` and `attention_state` are tuples).
        attention_layer_size: an int, or one int per mechanism: the depth of a
            `Dense(size, use_bias=False)` attention layer each. None (the
            default): the attention is the context itself.
        alignment_history: keep every step's alignments in the state (a
            `TensorArray` of unknown size: refused under XLA, `jit_compile=True`).
        cell_input_fn: `fn(inputs, attention) -> cell inputs`; default concat.
        output_attention: output the attention (True) or the cell's output.
        initial_cell_state: the cell state `zero_state` starts from (TF1).
        name: the layer's name and TF1 scope, default `attention_wrapper`.
        attention_layer: a Keras layer, or one per mechanism, instead of
            `attention_layer_size` (not both).
        attention_fn: `fn(mechanism, cell_output, attention_state,
            attention_layer) -> (attention, alignments, next_state)`; default
            `_compute_attention`.
        dtype: the Keras dtype (policy) of the wrapper.

    Call arguments:
        inputs: `[batch, input_depth]`.
        state: an `AttentionWrapperState` (`zero_state(batch_size, dtype)`).

    Attributes (TF1 names below `<loop scope>/attention_wrapper/`): the
        cell's variables (`lstm_cell/kernel`, ...), `attention_layer/kernel
        [cell_output + memory_depth, size]` (then `attention_layer_1`, ...)
        and each mechanism's scoring variables (`bahdanau_attention/
        query_layer/kernel`, `attention_v`, ...).

    Example:

    >>> import numpy as np
    >>> import tfrnn
    >>> from tfrnn import seq2seq
    >>> memory = np.ones((2, 3, 4), "float32")
    >>> mechanism = seq2seq.LuongAttention(5, memory, memory_sequence_length=[3, 1])
    >>> cell = seq2seq.AttentionWrapper(tfrnn.GRUCell(5), mechanism, attention_layer_size=6, alignment_history=True)
    >>> outputs, state = tfrnn.dynamic_rnn(cell, np.ones((2, 4, 2), "float32"), dtype="float32")
    >>> tuple(outputs.shape), tuple(state.alignment_history.stack().shape), int(state.time)
    ((2, 4, 6), (4, 2, 3), 4)
    >>> state.alignments.numpy()[1].tolist()
    [1.0, 0.0, 0.0]
    """

    wraps_a_cell = True

    def __init__(
        self,
        cell: Cell,
        attention_mechanism: Any,
        attention_layer_size: int | Sequence[int] | None = None,
        alignment_history: bool = False,
        cell_input_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
        output_attention: bool = True,
        initial_cell_state: Nested | None = None,
        name: str | None = None,
        attention_layer: Any = None,
        attention_fn: Callable[..., tuple[Tensor, Tensor, Nested]] | None = None,
        dtype: DType | None = None,
        **kwargs: Any,
    ) -> None:
        check_cell(cell)
        mechanisms, is_multi = _checked_mechanisms(attention_mechanism)
        _check_callable(cell_input_fn, "cell_input_fn", "a function of (inputs, attention)")
        _check_callable(attention_fn, "attention_fn", "a function of (mechanism, cell_output, state, layer)")
        sizes, layers = _checked_attention_layers(attention_layer_size, attention_layer, len(mechanisms))
        check_floating(dtype, "AttentionWrapper(dtype=...)", "Pass a float dtype such as 'float32'.")
        _check_initial_cell_state(initial_cell_state, cell, mechanisms)
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.cell = cell
        self.attention_mechanisms = list(mechanisms)
        self._is_multi = is_multi
        self._attention_layer_sizes = sizes
        self._user_attention_layers = layers is not None
        if sizes is not None:  # TF1 numbered them attention_layer, attention_layer_1, ...
            layers = [keras.layers.Dense(size, use_bias=False, name="attention_layer" + (f"_{i}" if i else ""),
                                         dtype=_layer_dtype(mechanisms[i], dtype)) for i, size in enumerate(sizes)]
        self.attention_layers = list(layers) if layers is not None else None
        self._cell_input_fn = cell_input_fn
        self._attention_fn = attention_fn
        self._output_attention = bool(output_attention)
        self._alignment_history = bool(alignment_history)
        object.__setattr__(self, "_initial_cell_state", initial_cell_state)  # tensors: never tracked
        self._memory_depths: list[int | None] = [None] * len(mechanisms)

    # --- sizes -------------------------------------------------------------------------------

    @property
    def wrapped_cell(self) -> Cell:
        """The wrapped cell (also `cell`)."""
        return self.cell

    def _item_or_tuple(self, items: Any) -> Any:
        items = tuple(items)
        return items if self._is_multi else items[0]

    def memory_depths(self) -> list[int]:
        """The depth of each mechanism's memory (`values`), known once its memory is set up
        (or from the build config of a reloaded wrapper)."""
        for i, mechanism in enumerate(self.attention_mechanisms):
            if self._memory_depths[i] is None:
                self._memory_depths[i] = _memory_depth(mechanism, self.name, i)
        return [int(depth) for depth in self._memory_depths if depth is not None]

    def _attention_sizes(self) -> list[int]:
        if self._attention_layer_sizes is not None:
            return list(self._attention_layer_sizes)
        if self.attention_layers is None:
            return self.memory_depths()
        query = self.cell.output_size
        return [int(layer.compute_output_shape((None, query + depth))[-1])
                for layer, depth in zip(self.attention_layers, self.memory_depths())]

    @property
    def state_size(self) -> AttentionWrapperState:
        """`AttentionWrapperState` of sizes: `time` is `TensorShape([])`; `alignment_history` is
        the alignments' size when kept (its state is a `TensorArray`), else `()`."""
        mechanisms = self.attention_mechanisms
        return AttentionWrapperState(
            cell_state=self.cell.state_size,
            attention=sum(self._attention_sizes()),
            time=tf.TensorShape([]),
            alignments=self._item_or_tuple(_alignments_size(m) for m in mechanisms),
            alignment_history=self._item_or_tuple(_alignments_size(m) if self._alignment_history else ()
                                                  for m in mechanisms),
            attention_state=self._item_or_tuple(_alignments_size(m, "state_size") for m in mechanisms),
        )

    @property
    def output_size(self) -> int:
        return sum(self._attention_sizes()) if self._output_attention else self.cell.output_size

    # --- initial state -------------------------------------------------------------------------

    @no_autograph
    def zero_state(self, batch_size: int | Tensor, dtype: DType) -> AttentionWrapperState:
        """The state before the first step: TF1's `zero_state`.

        The cell's state is `initial_cell_state` if given, else the cell's
        zero state; attention and alignments are zeros (a mechanism's
        `initial_alignments`, which monotonic attention sets to `[1, 0, ...]`);
        `time` is 0; `alignment_history` an empty `TensorArray` when kept.

        Raises:
            ValueError: `batch_size` is not the memory's batch size (TF1's
                message, with the `tile_batch` hint); checked when the graph
                runs if either is only known then.
        """
        where = f"{self.name}.zero_state"
        batch_size = check_batch_size(batch_size, where)
        dtype = state_dtype(dtype, where)
        message = (f"When calling zero_state of AttentionWrapper {self.name}: Non-matching batch sizes between "
                   f"the memory (encoder output) and the requested batch size. {_TILE_HINT}")
        checks = self._batch_checks(batch_size, message)
        cell_state = self._initial_cell_state
        if cell_state is None:
            cell_state = _cell_zero_state(self.cell, batch_size, dtype)
        with tf.control_dependencies(checks):
            cell_state = tf.nest.map_structure(tf.identity, cell_state) if checks else cell_state
        alignments = [m.initial_alignments(batch_size, dtype) for m in self.attention_mechanisms]
        attention_size = sum(self._attention_sizes())
        attention = ops.zeros(ops.stack([batch_size, attention_size]) if tf.is_tensor(batch_size)
                              else (batch_size, attention_size), dtype=dtype)
        new_sequence(self)  # a zero state starts a sequence
        return AttentionWrapperState(
            cell_state=cell_state,
            attention=attention,
            time=tf.zeros([], tf.int32),
            alignments=self._item_or_tuple(alignments),
            alignment_history=self._item_or_tuple(
                tf.TensorArray(dtype, size=0, dynamic_size=True, element_shape=a.shape) if self._alignment_history
                else () for a in alignments),
            attention_state=self._item_or_tuple(m.initial_state(batch_size, dtype) for m in self.attention_mechanisms),
        )

    @no_autograph
    def get_initial_state(
        self, inputs: Tensor | None = None, batch_size: int | Tensor | None = None, dtype: DType | None = None,
    ) -> Nested:
        """`zero_state`, with `RNNCell.get_initial_state`'s arguments; asked Keras' way (by
        `keras.layers.RNN`) it is flat: one tensor per leaf, `alignment_history` left out."""
        keras_form = dtype is None and (inputs is None or not tf.is_tensor(inputs) or inputs.shape.rank == 0)
        if keras_form and self._alignment_history:
            raise ValueError(
                f"{self.name} keeps alignment_history, a TensorArray, which keras.layers.RNN cannot carry in its "
                "state. Run the wrapper with tfrnn.seq2seq.AttentionRNN(wrapper) or tfrnn.dynamic_rnn, or make it "
                "with alignment_history=False."
            )
        batch_size, dtype = self._initial_state_arguments(inputs, batch_size, dtype)
        state = self.zero_state(batch_size, dtype)
        return tf.nest.flatten(state) if keras_form else state

    def _batch_checks(self, batch_size: int | Tensor, message: str) -> list[Any]:
        """Raises when the static batch sizes differ; the graph's assertions when one is symbolic."""
        checks = []
        for mechanism in self.attention_mechanisms:
            expected = mechanism.batch_size
            if isinstance(batch_size, (int, np.integer)) and isinstance(expected, (int, np.integer)):
                if batch_size != expected:
                    raise ValueError(f"{message} (batch size {batch_size}, memory batch size {expected})")
            elif tf.executing_eagerly():
                if int(batch_size) != int(expected):
                    raise ValueError(f"{message} (batch size {int(batch_size)}, memory batch size {int(expected)})")
            else:
                checks.append(tf.debugging.assert_equal(tf.cast(batch_size, tf.int32), tf.cast(expected, tf.int32),
                                                        message=message))
        return checks

    # --- the step ---------------------------------------------------------------------------------

    @no_autograph
    def __call__(self, inputs: Tensor, state: Nested, *args: Any, **kwargs: Any) -> tuple[Tensor, Nested]:
        # keras.layers.RNN holds the state flat (see get_initial_state) and wants it back flat.
        flat = isinstance(state, (list, tuple)) and not isinstance(state, AttentionWrapperState)
        output, new_state = self._call_nested(inputs, self._unwrap_state(state), *args, **kwargs)
        return output, (tf.nest.flatten(new_state) if flat else new_state)

    def _unwrap_state(self, state: Nested) -> Nested:
        if isinstance(state, AttentionWrapperState) or not isinstance(state, (list, tuple)):
            return state
        template = self.state_size._replace(alignment_history=self._item_or_tuple(
            () for _ in self.attention_mechanisms))
        expected = len(tf.nest.flatten(template))
        if len(tf.nest.flatten(state)) != expected:
            raise TypeError(
                "Expected state to be instance of AttentionWrapperState. Received type "
                f"{type(state)} instead, of {len(tf.nest.flatten(state))} tensors where a flat state (as "
                f"keras.layers.RNN holds it) has {expected}. Pass wrapper.zero_state(batch_size, dtype)."
            )
        return tf.nest.pack_sequence_as(template, list(state))

    def _check_step(self, inputs: Tensor, state: Nested) -> None:
        if not isinstance(state, AttentionWrapperState):
            raise TypeError(
                "Expected state to be instance of AttentionWrapperState. Received type "
                f"{type(state)} instead. Pass wrapper.zero_state(batch_size, dtype) (or its .clone(...)), or the "
                "state the previous step returned."
            )
        shape = tuple(getattr(inputs, "shape", np.shape(inputs)))
        if len(shape) != 2:
            raise ValueError(
                f"{self.name} expects inputs of shape [batch_size, input_depth] for one time step, but received "
                f"shape {shape}. Run a [batch, time, depth] sequence with tfrnn.dynamic_rnn or AttentionRNN."
            )
        depth = getattr(self, "_built_input_depth", None)
        if depth is not None and shape[-1] != depth:
            raise ValueError(f"{self.name} was built for inputs of depth {depth}, but received inputs of shape "
                             f"{shape}. Create a new wrapper for inputs of another depth.")
        attention = tuple(getattr(state.attention, "shape", np.shape(state.attention)))
        if len(attention) != 2 or attention[-1] not in (None, sum(self._attention_sizes())):
            raise ValueError(f"{self.name} expects state.attention of shape [batch, {sum(self._attention_sizes())}], "
                             f"but received shape {attention}. Pass wrapper.zero_state(batch_size, dtype).")
        if None not in (shape[0], attention[0]) and shape[0] != attention[0]:
            raise ValueError(f"{self.name} received inputs of batch size {shape[0]} but a state of batch size "
                             f"{attention[0]} (inputs shape {shape}, state.attention shape {attention}).")
        query_depth = getattr(self.cell, "output_size", None)
        for mechanism in self.attention_mechanisms:  # Luong's num_units, refused before the cell builds
            if isinstance(query_depth, (int, np.integer)) and hasattr(mechanism, "_check_query_depth"):
                mechanism._check_query_depth(int(query_depth))
        if self._alignment_history and _in_xla_context():
            raise ValueError(
                f"{self.name} keeps alignment_history, a TensorArray of unknown size, which XLA "
                "(jit_compile=True) cannot grow: its stack would be empty. Make the wrapper with "
                "alignment_history=False under XLA, or run without jit_compile."
            )

    def step(self, inputs: Tensor, state: AttentionWrapperState,
             training: bool | None = None) -> tuple[Tensor, AttentionWrapperState]:
        """One step of the equations in the module docstring."""
        cell_input_fn = self._cell_input_fn or _concat_inputs
        extra = {} if training is None else {"training": training}
        cell_output, next_cell_state = self.cell(cell_input_fn(inputs, state.attention), state.cell_state, **extra)
        cell_output = self._checked_query(cell_output)
        previous = state.attention_state if self._is_multi else [state.attention_state]
        histories = state.alignment_history if self._is_multi else [state.alignment_history]
        attention_fn = self._attention_fn or _compute_attention
        attentions, alignments, next_states, next_histories = [], [], [], []
        for i, mechanism in enumerate(self.attention_mechanisms):
            layer = self.attention_layers[i] if self.attention_layers is not None else None
            attention, alignment, next_attention_state = attention_fn(mechanism, cell_output, previous[i], layer)
            attentions.append(attention)
            alignments.append(alignment)
            next_states.append(next_attention_state)
            next_histories.append(histories[i].write(state.time, alignment) if self._alignment_history else ())
        attention = ops.concatenate(attentions, 1)
        next_state = AttentionWrapperState(
            cell_state=next_cell_state, attention=attention, time=state.time + 1,
            alignments=self._item_or_tuple(alignments), alignment_history=self._item_or_tuple(next_histories),
            attention_state=self._item_or_tuple(next_states),
        )
        return (attention if self._output_attention else cell_output), next_state

    def _checked_query(self, cell_output: Tensor) -> Tensor:
        message = (f"When applying AttentionWrapper {self.name}: Non-matching batch sizes between the memory "
                   f"(encoder output) and the query (decoder output). {_TILE_HINT}")
        batch = cell_output.shape[0] if cell_output.shape[0] is not None else tf.shape(cell_output)[0]
        checks = self._batch_checks(batch, message)
        if not checks:
            return cell_output
        with tf.control_dependencies(checks):
            return tf.identity(cell_output)

    # --- weights and TF1 names ---------------------------------------------------------------------

    def tf1_layout(self, input_depth: int) -> list[Weight | Child | Sublayer]:
        """The cell (for `cell_input_fn`'s depth), each mechanism's scoring variables (queries
        of the cell's output size) and the attention layers, under the wrapper's scope."""
        query_depth = self.cell.output_size
        layout: list[Weight | Child | Sublayer] = [Child(self.name, self.cell, self._cell_input_depth(input_depth))]
        counts: dict[str, int] = {}
        for mechanism in self.attention_mechanisms:  # TF1 numbered the scopes: bahdanau_attention_1, ...
            if not hasattr(mechanism, "tf1_layout"):
                continue  # a mechanism of the user's own, without TF1 variables
            base = getattr(mechanism, "tf1_scope_name", mechanism.name)
            count = counts.get(base, 0)
            counts[base] = count + 1
            layout.append(Child(self.name, mechanism, query_depth, base + (f"_{count}" if count else "")))
        if self.attention_layers is not None:
            layout += [Sublayer(layer, query_depth + depth)
                       for layer, depth in zip(self.attention_layers, self.memory_depths())]
        return layout

    def _cell_input_depth(self, input_depth: int) -> int:
        attention_depth = sum(self._attention_sizes())
        if self._cell_input_fn is None:
            return input_depth + attention_depth
        # A user's cell_input_fn: its output depth, from zeros of one row.
        dtype = self.compute_dtype
        sample = self._cell_input_fn(tf.zeros((1, input_depth), dtype), tf.zeros((1, attention_depth), dtype))
        return int(sample.shape[-1])

    def _children(self) -> list[Cell]:
        return [self.cell]

    def get_build_config(self) -> dict[str, Any]:
        config = super().get_build_config()
        config["memory_depths"] = list(self._memory_depths)
        return config

    def build_from_config(self, config: dict[str, Any]) -> None:
        self._memory_depths = list(config.get("memory_depths") or self._memory_depths)
        if config.get("input_shape") is not None and not self.built:
            self.build(config["input_shape"])

    # --- Keras config -------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments; the cell, mechanisms and user attention layers serialized
        (functions too: a lambda loads only with `safe_mode=False`)."""
        if self._initial_cell_state is not None:
            raise TypeError(
                f"{self.name}.get_config(): initial_cell_state is a tensor, which has no config. Leave it out and "
                "start the loop from wrapper.zero_state(batch_size, dtype).clone(cell_state=encoder_state) instead."
            )
        config = keras.layers.Layer.get_config(self)
        mechanisms = [keras.saving.serialize_keras_object(m) for m in self.attention_mechanisms]
        user_layers = None
        if self._user_attention_layers and self.attention_layers is not None:
            user_layers = [keras.saving.serialize_keras_object(layer) for layer in self.attention_layers]
        config.update(
            cell=keras.saving.serialize_keras_object(self.cell),
            attention_mechanism=mechanisms if self._is_multi else mechanisms[0],
            attention_layer_size=self._attention_layer_sizes if self._is_multi or self._attention_layer_sizes is None
            else self._attention_layer_sizes[0],
            attention_layer=user_layers if self._is_multi or user_layers is None else user_layers[0],
            alignment_history=self._alignment_history,
            output_attention=self._output_attention,
        )
        for key in ("cell_input_fn", "attention_fn"):
            function = getattr(self, f"_{key}")
            config[key] = None if function is None else config_value(self, key, function)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Self:
        config = dict(config)
        for key in ("cell", "attention_mechanism", "attention_layer", "cell_input_fn", "attention_fn"):
            value = config.get(key)
            if isinstance(value, list):
                config[key] = [from_config_value(item, custom_objects) for item in value]
            else:
                config[key] = from_config_value(value, custom_objects)
        return cls(**config)


# --- construction checks ----------------------------------------------------------------------------


def _checked_mechanisms(attention_mechanism: Any) -> tuple[list[Any], bool]:
    is_multi = isinstance(attention_mechanism, (list, tuple))
    mechanisms = list(attention_mechanism) if is_multi else [attention_mechanism]
    if is_multi and not mechanisms:
        raise ValueError("attention_mechanism is an empty list. Pass one mechanism, or a list of at least one.")
    for position, mechanism in enumerate(mechanisms):
        if not isinstance(mechanism, AttentionMechanism):
            where = f"attention_mechanism[{position}]" if is_multi else "attention_mechanism"
            raise TypeError(
                f"{where} must be an AttentionMechanism (or a list of them), saw type: {type(mechanism).__name__}. "
                "Pass e.g. tfrnn.seq2seq.BahdanauAttention(num_units, memory), or a subclass of "
                "tfrnn.seq2seq.AttentionMechanism."
            )
    return mechanisms, is_multi


def _check_callable(function: Any, what: str, expected: str) -> None:
    if function is not None and not callable(function):
        raise TypeError(f"{what} must be callable, saw type: {type(function).__name__}. Pass {expected}, or None "
                        "for TF1's default.")


def _checked_attention_layers(sizes: Any, layers: Any, count: int) -> tuple[list[int] | None, list[Any] | None]:
    """`(sizes, user layers)`, checked against the number of mechanisms; at most one is set."""
    if sizes is not None and layers is not None:
        raise ValueError("Only one of attention_layer_size and attention_layer should be set: "
                         f"attention_layer_size={sizes!r}, attention_layer={layers!r}. Pass the sizes (TF1 makes "
                         "Dense(size, use_bias=False) layers) or your own layers, not both.")
    if sizes is not None:
        sizes = list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]
        if len(sizes) != count:
            raise ValueError("If provided, attention_layer_size must contain exactly one integer per "
                             f"attention_mechanism, saw: {len(sizes)} vs {count}. Pass a list of {count} sizes.")
        for size in sizes:
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
                raise ValueError(f"attention_layer_size must hold positive ints, saw {size!r} in {sizes!r}.")
        return [int(size) for size in sizes], None
    if layers is not None:
        layers = list(layers) if isinstance(layers, (list, tuple)) else [layers]
        if len(layers) != count:
            raise ValueError("If provided, attention_layer must contain exactly one layer per attention_mechanism, "
                             f"saw: {len(layers)} vs {count}. Pass a list of {count} layers.")
        for layer in layers:
            if not isinstance(layer, keras.layers.Layer):
                raise TypeError(f"attention_layer must hold Keras layers, saw type: {type(layer).__name__}. Pass "
                                "e.g. keras.layers.Dense(units, use_bias=False).")
        return None, layers
    return None, None


def _check_initial_cell_state(initial_cell_state: Nested | None, cell: Cell, mechanisms: list[Any]) -> None:
    """TF1's batch check of `initial_cell_state` against the memory (when both are static)."""
    if initial_cell_state is None:
        return
    last = tf.nest.flatten(initial_cell_state)[-1]
    batch = getattr(last, "shape", (None,))[0] if getattr(last, "shape", ()) else None
    for mechanism in mechanisms:
        memory = getattr(mechanism, "memory", None)
        expected = None if memory is None else memory.shape[0]
        if batch is not None and expected is not None and batch != expected:
            raise ValueError(
                "When constructing AttentionWrapper: Non-matching batch sizes between the memory (encoder output) "
                f"and initial_cell_state ({expected} vs {batch}). Are you using the BeamSearchDecoder? You may need "
                "to tile your initial state via the tfrnn.seq2seq.tile_batch function with argument "
                "multiplier=beam_width."
            )


def _layer_dtype(mechanism: Any, dtype: DType | None) -> Any:
    """TF1 gave the attention layers their mechanism's dtype."""
    policy = getattr(mechanism, "dtype_policy", None)
    return dtype if dtype is not None or policy is None else policy


def _memory_depth(mechanism: Any, wrapper: str, position: int) -> int | None:
    """The depth of a mechanism's `values`, read without preparing them when possible."""
    memory = getattr(mechanism, "memory", None)
    if memory is None:
        try:
            memory = mechanism.values
        except ValueError:
            memory = None
    if memory is None or memory.shape[-1] is None:
        raise ValueError(
            f"{wrapper}: attention_mechanism[{position}] ({getattr(mechanism, 'name', mechanism)}) has no memory "
            "yet, so the attention depth is unknown. Call mechanism.setup_memory(memory, memory_sequence_length) "
            "first, or run the wrapper with tfrnn.seq2seq.AttentionRNN(wrapper)(inputs, memory)."
        )
    return int(memory.shape[-1])


def _alignments_size(mechanism: Any, attribute: str = "alignments_size") -> Any:
    """A mechanism's `alignments_size` (or `state_size`); None while it has no memory."""
    if getattr(mechanism, "memory", True) is None:
        return None
    return getattr(mechanism, attribute)


def _cell_zero_state(cell: Cell, batch_size: int | Tensor, dtype: str) -> Nested:
    if hasattr(cell, "zero_state"):
        return cell.zero_state(batch_size, dtype)
    state = cell.get_initial_state(batch_size=batch_size)  # a Keras cell
    if not isinstance(cell.state_size, (list, tuple)) and isinstance(state, (list, tuple)):
        state = state[0]
    return tf.nest.map_structure(lambda s: tf.cast(s, dtype), state)
