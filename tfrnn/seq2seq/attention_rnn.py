"""`AttentionRNN`: the Keras layer that runs an attention cell over a sequence
with its memory given per call.

Keras 3's `keras.layers.RNN` has no `constants`, so a memory that is a
`keras.Input` (an encoder's outputs inside a functional model) cannot reach
the attention mechanisms through it. `AttentionRNN(wrapper)` takes the memory
as a call argument, sets it up on every mechanism inside the cell at each
call (`setup_memory`, nothing data-dependent kept in the config), and runs
`tfrnn.dynamic_rnn`: TF1's numbers, TF1's padding, the fused attention loop
when the cell is eligible. Keras masks on the inputs and on the memory stand
for `sequence_length` and `memory_sequence_length`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
import tensorflow as tf
from keras import ops

from tfrnn.base import Cell, Nested, Tensor
from tfrnn.rnn import dynamic_rnn
from tfrnn.seq2seq.attention_wrapper import AttentionWrapper

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["AttentionRNN"]


@keras.saving.register_keras_serializable(package="tfrnn")
class AttentionRNN(keras.layers.Layer):
    """Runs an attention cell over a sequence, its memory given per call: the Keras layer for
    functional models whose memory is a `keras.Input` (Keras 3's `RNN` has no `constants`).

    `layer(inputs, memory, memory_sequence_length)` sets the memory up on every
    attention mechanism inside `cell` (an `AttentionWrapper`, or a cell holding
    wrappers, e.g. a `MultiRNNCell`), then runs `tfrnn.dynamic_rnn`: TF1's
    numbers, outputs past `sequence_length` are zeros. A Keras mask on the
    inputs (`Embedding(mask_zero=True)`) gives `sequence_length`, and one on
    the memory (an encoder `RNN` over a masked embedding) gives
    `memory_sequence_length`, when they are not passed.

    Args:
        cell: the attention cell.
        return_sequences: return every step's output `[batch, time, output_size]`
            (default), else the output of each row's last step `[batch, output_size]`.
        return_state: also return the final `AttentionWrapperState` (its
            `alignment_history`, when kept, stacked: `[time, batch, memory_time]`).
        **kwargs: Keras layer arguments (`name`, `dtype`).

    Call arguments:
        inputs: `[batch, time, depth]`.
        memory: `[batch, memory_time, memory_depth]`, e.g. an encoder's outputs.
        memory_sequence_length: optional `[batch]` int lengths of the memory.
        sequence_length: optional `[batch]` int lengths of the inputs.
        initial_state: optional state of `cell` (default its `zero_state`).
        training: passed to the cell.
        inputs_mask, memory_mask: the Keras masks of `inputs` and `memory`
            (`[batch, time]` booleans), which Keras fills in; a layer called
            with several tensors gets one `<argument>_mask` each, not `mask`.

    Example:

    >>> import keras
    >>> import tfrnn
    >>> from tfrnn import seq2seq
    >>> inputs, memory = keras.Input((None, 3)), keras.Input((7, 4))
    >>> wrapper = seq2seq.AttentionWrapper(tfrnn.LSTMCell(5), seq2seq.BahdanauAttention(4), attention_layer_size=6)
    >>> model = keras.Model([inputs, memory], seq2seq.AttentionRNN(wrapper)(inputs, memory))
    >>> model.output_shape
    (None, None, 6)
    """

    def __init__(self, cell: Cell, return_sequences: bool = True, return_state: bool = False, **kwargs: Any) -> None:
        if not _attention_wrappers(cell):
            raise TypeError(f"AttentionRNN needs a cell with attention, but received {type(cell).__name__}. Pass an "
                            "AttentionWrapper (or a cell holding one); run other cells with keras.layers.RNN.")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.supports_masking = True

    def build(self, inputs_shape: Any, memory_shape: Any = None, **shapes: Any) -> None:
        """Builds the cell for inputs of `inputs_shape[-1]` and memory of `memory_shape[-1]`."""
        if memory_shape is None or memory_shape[-1] is None:
            raise ValueError(f"{self.name} needs a memory of static depth, but saw shape {memory_shape}.")
        depth = int(memory_shape[-1])
        for wrapper in _attention_wrappers(self.cell):
            wrapper._memory_depths = [depth] * len(wrapper.attention_mechanisms)
            for mechanism in wrapper.attention_mechanisms:
                if hasattr(mechanism, "build_from_config") and not mechanism.built:
                    mechanism.build_from_config({"memory_depth": depth})
        if not self.cell.built:
            self.cell.build((None, inputs_shape[-1]))
        self.built = True

    def call(self, inputs: Tensor, memory: Tensor, memory_sequence_length: Tensor | None = None,
             sequence_length: Tensor | None = None, initial_state: Nested | None = None,
             training: bool | None = None, mask: Tensor | None = None, inputs_mask: Tensor | None = None,
             memory_mask: Tensor | None = None) -> Any:
        mask = inputs_mask if mask is None else mask
        if memory_sequence_length is None and memory_mask is not None:
            memory_sequence_length = ops.sum(ops.cast(memory_mask, "int32"), axis=1)
        for wrapper in _attention_wrappers(self.cell):
            for mechanism in wrapper.attention_mechanisms:
                mechanism.setup_memory(memory, memory_sequence_length)
        if sequence_length is None and mask is not None:
            sequence_length = ops.sum(ops.cast(mask, "int32"), axis=1)
        outputs, state = dynamic_rnn(self.cell, inputs, sequence_length=sequence_length,
                                     initial_state=initial_state, dtype=inputs.dtype, training=training)
        if not self.return_sequences:
            outputs = _last_outputs(outputs, sequence_length)
        if not self.return_state:
            return outputs
        state = tf.nest.map_structure(lambda s: s.stack() if isinstance(s, tf.TensorArray) else s, state)
        return outputs, state

    def compute_mask(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        return None

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(cell=keras.saving.serialize_keras_object(self.cell), return_sequences=self.return_sequences,
                      return_state=self.return_state)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Self:
        config = dict(config)
        config["cell"] = keras.saving.deserialize_keras_object(config["cell"], custom_objects)
        return cls(**config)


def _attention_wrappers(cell: Any) -> list[AttentionWrapper]:
    """The attention wrappers in a cell: itself, or inside the cells it holds."""
    if isinstance(cell, AttentionWrapper):
        return [cell]
    inner = list(getattr(cell, "cells", None) or []) + [getattr(cell, "cell", None)]
    return [wrapper for child in inner if child is not None for wrapper in _attention_wrappers(child)]


def _last_outputs(outputs: Tensor, sequence_length: Tensor | None) -> Tensor:
    """Each row's output at its last step (zeros for an empty row, as TF1's final outputs)."""
    if sequence_length is None:
        return outputs[:, -1]
    last = ops.maximum(ops.cast(sequence_length, "int32") - 1, 0)
    picked = tf.gather(outputs, last, axis=1, batch_dims=1)
    return ops.where(ops.expand_dims(sequence_length > 0, -1), picked, ops.zeros_like(picked))
