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
from keras import ops

from tfrnn.base import Activation, Cell, Child, Initializer, Nested, Tensor, Weight
from tfrnn.cells import linear, serialize_activation
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
        cell: the wrapped cell.
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
        if output_size < 1:
            raise ValueError(
                f"Parameter output_size must be > 0: {output_size}. It is the depth of "
                "the projected output, e.g. the vocabulary size for logits."
            )
        super().__init__(cell, **kwargs)
        self.projection_size = int(output_size)
        self.activation = keras.activations.get(activation) if activation else None

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
        cell: the wrapped cell.
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
        if num_proj < 1:
            raise ValueError(f"Parameter num_proj must be > 0: {num_proj}. It is the depth the inputs are projected to.")
        super().__init__(cell, **kwargs)
        self.num_proj = int(num_proj)
        self.activation = keras.activations.get(activation) if activation else None

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
        cell: the wrapped cell.
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
        if embedding_classes <= 0 or embedding_size <= 0:
            raise ValueError(
                f"Both embedding_classes and embedding_size must be > 0: {embedding_classes}, "
                f"{embedding_size}. Pass the number of ids and the embedding depth."
            )
        super().__init__(cell, **kwargs)
        self.embedding_classes, self.embedding_size = int(embedding_classes), int(embedding_size)
        sqrt3 = math.sqrt(3)  # U(-sqrt(3), sqrt(3)) has variance 1
        self.initializer = keras.initializers.get(initializer or keras.initializers.RandomUniform(-sqrt3, sqrt3))

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

    def call(self, inputs: Tensor, state: Nested, training: bool | None = None) -> tuple[Tensor, Nested]:
        return super().call(self._ids(inputs), state, training=training)

    def step(self, ids: Tensor, state: Nested) -> tuple[Tensor, Nested]:
        embedded = ops.take(self.embedding, ops.reshape(ids, (-1,)), axis=0)  # [B, E]
        return self.cell(embedded, state)

    def _ids(self, inputs: Tensor) -> Tensor:
        """`[B, 1]` integer ids from `[B, 1]` or `[B]`; a `ValueError` for anything else."""
        ids = inputs if hasattr(inputs, "shape") and hasattr(inputs, "dtype") else ops.convert_to_tensor(inputs)
        dtype = keras.backend.standardize_dtype(ids.dtype)
        if "int" not in dtype or len(ids.shape) not in (1, 2) or (len(ids.shape) == 2 and ids.shape[-1] != 1):
            raise ValueError(
                f"{self.name} expects integer ids of shape [batch_size, 1] or [batch_size], "
                f"but received {dtype} inputs of shape {tuple(ids.shape)}. Cast ids with "
                "tf.cast(ids, tf.int32); to feed features rather than ids, use the wrapped cell."
            )
        return ops.reshape(ids, (-1, 1)) if len(ids.shape) == 1 else ids

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            embedding_classes=self.embedding_classes, embedding_size=self.embedding_size,
            initializer=keras.initializers.serialize(self.initializer),
        )
        return config
