"""`tf.contrib.rnn`'s wrappers: `OutputProjectionWrapper`, `InputProjectionWrapper`
and `EmbeddingWrapper`, checked against TF 1.15.

Unlike the core wrappers, TF1's contrib wrappers open a variable scope: their
weights and the wrapped cell's sit under `output_projection_wrapper/` (and
`input_projection_wrapper/`, `embedding_wrapper/`), e.g.
`rnn/output_projection_wrapper/kernel` beside
`rnn/output_projection_wrapper/lstm_cell/kernel`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfrnn.base import Activation, Cell, Child, Initializer, Nested, Tensor, Weight, no_autograph
from tfrnn.checks import is_concrete
from tfrnn.cells import activation_arg, initializer_arg, linear, serialize_activation, size_arg
from tfrnn.wrappers import CellWrapper


@keras.saving.register_keras_serializable(package="tfrnn")
class OutputProjectionWrapper(CellWrapper):
    """Projects a cell's output with a dense layer. `tf.contrib.rnn.OutputProjectionWrapper`.

    Equations (O = the cell's output_size, P = `output_size`):

        y, s' = cell(x, s)
        output = activation(y @ kernel + bias)   # kernel [O, P]; no activation by default
        state = s'

    TF1 names: `output_projection_wrapper/kernel`, `output_projection_wrapper/bias`,
    and the wrapped cell under `output_projection_wrapper/<cell name>/`.

    Args:
        cell: the cell to wrap.
        output_size: int P >= 1; `ValueError` otherwise.
        activation: optional activation (name or callable).
        reuse: accepted for TF1 compatibility; no effect in TF2.
        **kwargs: other `RNNCell` arguments.

    Call arguments:
        inputs: `[B, D]`.
        state: the wrapped cell's state.

    Attributes:
        cell: the wrapped cell (also `wrapped_cell`, TF1's name).
        kernel: `[O, P]`, glorot-uniform.
        bias: `[P]`, zeros.

    Example:

    >>> import numpy as np
    >>> import tfrnn
    >>> cell = tfrnn.OutputProjectionWrapper(tfrnn.LSTMCell(4), 5)
    >>> output, state = cell(np.ones((2, 3), "float32"), cell.zero_state(2, "float32"))
    >>> tuple(output.shape), cell.state_size, tuple(cell.kernel.shape)
    ((2, 5), LSTMStateTuple(c=4, h=4), (4, 5))
    """

    def __init__(
        self, cell: Cell, output_size: int, activation: Activation = None, reuse: bool | None = None, **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        output_size = size_arg(
            owner, "output_size", output_size, "the depth of the projected output, e.g. the vocabulary size for logits"
        )
        activation_fn = activation_arg(owner, activation, default=None)
        super().__init__(cell, **kwargs)
        self.projection_size = output_size
        self.activation = activation_fn

    @property
    def output_size(self) -> int:
        return self.projection_size

    @classmethod
    def tf1_options(cls, shapes: Mapping[str, Sequence[int]], inner: Cell | None = None) -> dict[str, Any] | None:
        return {"output_size": shapes["bias"][-1]} if "bias" in shapes else None

    def tf1_layout(self, input_depth: int) -> list[Weight | Child]:
        # TF1 creates the projection after the wrapped cell ran: its names come after.
        return [
            Child(self.name, self.cell, input_depth),
            Weight("kernel", (self.cell.output_size, self.projection_size)),
            Weight("bias", (self.projection_size,), "zeros"),
        ]

    def step(self, inputs: Tensor, state: Nested) -> tuple[Tensor, Nested]:
        output, new_state = self.cell(inputs, state)
        return linear(output, self.kernel, self.bias, self.activation), new_state

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(output_size=self.projection_size, activation=serialize_activation(self.activation))
        return config


@keras.saving.register_keras_serializable(package="tfrnn")
class InputProjectionWrapper(CellWrapper):
    """Projects the inputs with a dense layer before the cell. `tf.contrib.rnn.InputProjectionWrapper`.

    Equations (D = input depth, P = `num_proj`):

        x' = activation(x @ kernel + bias)   # kernel [D, P]; no activation by default
        output, state = cell(x', s)

    TF1 names: `input_projection_wrapper/kernel`, `input_projection_wrapper/bias`,
    and the wrapped cell (built for depth P) under `input_projection_wrapper/<cell name>/`.

    Args:
        cell: the cell to wrap.
        num_proj: int P, the depth the inputs are projected to.
        activation: optional activation (name or callable).
        input_size: deprecated and unused, as in TF1.
        reuse: accepted for TF1 compatibility; no effect in TF2.
        **kwargs: other `RNNCell` arguments.

    Call arguments:
        inputs: `[B, D]`.
        state: the wrapped cell's state.

    Attributes:
        cell: the wrapped cell (also `wrapped_cell`, TF1's name).
        kernel: `[D, P]`, glorot-uniform.
        bias: `[P]`, zeros.

    Example:

    >>> import numpy as np
    >>> import tfrnn
    >>> cell = tfrnn.InputProjectionWrapper(tfrnn.GRUCell(3), num_proj=4)
    >>> output, state = cell(np.ones((2, 6), "float32"), cell.zero_state(2, "float32"))
    >>> tuple(cell.kernel.shape), tuple(cell.cell.gates.kernel.shape), tuple(output.shape)
    ((6, 4), (7, 6), (2, 3))
    """

    def __init__(
        self, cell: Cell, num_proj: int, activation: Activation = None, input_size: object = None,
        reuse: bool | None = None, **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        num_proj = size_arg(owner, "num_proj", num_proj, "the depth the inputs are projected to")
        activation_fn = activation_arg(owner, activation, default=None)
        super().__init__(cell, **kwargs)
        self.num_proj = num_proj
        self.activation = activation_fn

    @classmethod
    def tf1_options(cls, shapes: Mapping[str, Sequence[int]], inner: Cell | None = None) -> dict[str, Any] | None:
        return {"num_proj": shapes["bias"][-1]} if "bias" in shapes else None

    def tf1_layout(self, input_depth: int) -> list[Weight | Child]:
        return [
            Weight("kernel", (input_depth, self.num_proj)),
            Weight("bias", (self.num_proj,), "zeros"),
            Child(self.name, self.cell, self.num_proj),
        ]

    def step(self, inputs: Tensor, state: Nested) -> tuple[Tensor, Nested]:
        return self.cell(linear(inputs, self.kernel, self.bias, self.activation), state)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(num_proj=self.num_proj, activation=serialize_activation(self.activation))
        return config


@keras.saving.register_keras_serializable(package="tfrnn")
class EmbeddingWrapper(CellWrapper):
    """Embeds integer ids before the cell. `tf.contrib.rnn.EmbeddingWrapper`.

    Equations (C = `embedding_classes`, E = `embedding_size`):

        x' = embedding[ids]          # embedding [C, E]; ids [B, 1] or [B]
        output, state = cell(x', s)

    The inputs are integer ids, not features: `[B, 1]` (or `[B]`) per step,
    `[B, T, 1]` for a sequence. TF1 names: `embedding_wrapper/embedding`, and
    the wrapped cell (built for depth E) under `embedding_wrapper/<cell name>/`.
    TF1 pinned the embedding to `/cpu:0`; tfrnn leaves placement to TF.

    Ids outside `[0, C)` are refused before the lookup, on every device: a
    `ValueError` naming the ids and their rows when the ids are known (eager
    calls and loops), a `tf.errors.InvalidArgumentError` with the same
    message when a `tf.function` runs. The check matters on GPUs: there TF's
    gather does not raise for an out-of-range id but silently returns a row
    of zeros (on CPUs it raises an `InvalidArgumentError` of its own), and
    Keras' `take` reads a negative id from the end, as NumPy does. XLA
    (`jit_compile=True`) drops the check: there an id of C or more reads row
    C - 1 and a negative one is read from the end.

    Args:
        cell: the cell to wrap.
        embedding_classes: int C > 0, the number of ids.
        embedding_size: int E > 0, the embedding depth.
        initializer: optional initializer of the embedding; default
            `uniform(-sqrt(3), sqrt(3))` (variance 1), as in TF1.
        reuse: accepted for TF1 compatibility; no effect in TF2.
        **kwargs: other `RNNCell` arguments.

    Call arguments:
        inputs: integer ids `[B, 1]` or `[B]`, each in `[0, C)`.
        state: the wrapped cell's state.

    Attributes:
        cell: the wrapped cell (also `wrapped_cell`, TF1's name).
        embedding: `[C, E]`.

    Example:

    >>> import numpy as np
    >>> import tfrnn
    >>> cell = tfrnn.EmbeddingWrapper(tfrnn.BasicLSTMCell(3), embedding_classes=7, embedding_size=2)
    >>> ids = np.array([[4], [0]], "int32")
    >>> output, state = cell(ids, cell.zero_state(2, "float32"))
    >>> tuple(cell.embedding.shape), tuple(cell.cell.kernel.shape), tuple(output.shape)
    ((7, 2), (5, 12), (2, 3))
    """

    floating_point_inputs = False  # ids; checked by `_ids` instead

    def __init__(
        self, cell: Cell, embedding_classes: int, embedding_size: int, initializer: Initializer = None,
        reuse: bool | None = None, **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        embedding_classes = size_arg(owner, "embedding_classes", embedding_classes, "the number of ids")
        embedding_size = size_arg(owner, "embedding_size", embedding_size, "the embedding depth")
        sqrt3 = math.sqrt(3)  # U(-sqrt(3), sqrt(3)) has variance 1
        default = keras.initializers.RandomUniform(-sqrt3, sqrt3)
        initializer = initializer_arg(owner, "initializer", initializer, default)
        super().__init__(cell, **kwargs)
        self.embedding_classes, self.embedding_size = embedding_classes, embedding_size
        self.initializer = initializer

    @no_autograph
    def __call__(self, inputs: Tensor, state: Nested, *args: Any, **kwargs: Any) -> tuple[Tensor, Nested]:
        return super().__call__(self._ids(inputs), state, *args, **kwargs)

    @classmethod
    def tf1_options(cls, shapes: Mapping[str, Sequence[int]], inner: Cell | None = None) -> dict[str, Any] | None:
        if "embedding" not in shapes:
            return None
        classes, size = shapes["embedding"]
        return {"embedding_classes": classes, "embedding_size": size}

    def tf1_layout(self, input_depth: int) -> list[Weight | Child]:
        # The inputs are ids: no weight depends on their depth.
        return [
            Weight("embedding", (self.embedding_classes, self.embedding_size), self.initializer),
            Child(self.name, self.cell, self.embedding_size),
        ]

    @no_autograph
    def call(self, inputs: Tensor, state: Nested, training: bool | None = None) -> tuple[Tensor, Nested]:
        return super().call(self._ids(inputs), state, training=training)

    def step(self, ids: Tensor, state: Nested) -> tuple[Tensor, Nested]:
        embedded = ops.take(self.embedding, ops.reshape(ids, (-1,)), axis=0)  # [B, E]
        return self.cell(embedded, state)

    def _ids(self, inputs: Tensor) -> Tensor:
        """`[B, 1]` integer ids from `[B, 1]` or `[B]`; a `ValueError` for anything else."""
        ids = inputs if hasattr(inputs, "shape") and hasattr(inputs, "dtype") else ops.convert_to_tensor(inputs)
        dtype = _dtype_name(ids.dtype)
        if "int" not in dtype or len(ids.shape) not in (1, 2) or (len(ids.shape) == 2 and ids.shape[-1] != 1):
            raise ValueError(
                f"{self.name} expects integer ids of shape [batch_size, 1] or [batch_size], "
                f"but received {dtype} inputs of shape {tuple(ids.shape)}. Cast ids with "
                "tf.cast(ids, tf.int32); to feed features rather than ids, use the wrapped cell."
            )
        return self._in_range(ops.reshape(ids, (-1, 1)) if len(ids.shape) == 1 else ids)

    def _in_range(self, ids: Tensor) -> Tensor:
        """`ids` `[B, 1]`, checked to lie in `[0, embedding_classes)`: now if known, else when the graph runs."""
        classes = self.embedding_classes
        problem = (
            f"{self.name} expects ids in [0, {classes}) (embedding_classes={classes}); every id must "
            f"index a row of the embedding. Map unknown tokens to an id below {classes}, or give the "
            "wrapper a larger embedding_classes."
        )
        if is_concrete(ids):
            values = np.asarray(ids).reshape(-1)
            rows = np.flatnonzero((values < 0) | (values >= classes))
            if rows.size:
                raise ValueError(f"{problem} Received ids {values[rows].tolist()} at rows {rows.tolist()}.")
            return ids
        bad = tf.reshape((ids < 0) | (ids >= classes), [-1])  # [B]
        flat = tf.reshape(ids, [-1])
        check = tf.debugging.Assert(
            tf.logical_not(tf.reduce_any(bad)),
            [problem, "Received ids", tf.boolean_mask(flat, bad), "at rows", tf.reshape(tf.where(bad), [-1])],
            summarize=100,
        )
        with tf.control_dependencies([check]):
            return tf.identity(ids)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            embedding_classes=self.embedding_classes, embedding_size=self.embedding_size,
            initializer=keras.initializers.serialize(self.initializer),
        )
        return config


def _dtype_name(dtype: Any) -> str:
    """Keras' name of `dtype`, or what it prints as when Keras has none (strings: `<U1`)."""
    try:
        return str(keras.backend.standardize_dtype(dtype))
    except ValueError:
        return str(dtype)
