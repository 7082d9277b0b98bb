"""TF1's core cells on Keras 3: BasicRNNCell, BasicLSTMCell, LSTMCell, GRUCell.

Weights are TF1's, exactly (names, shapes, gate order), so a TF1 checkpoint
loads by renaming. Each cell's math is a module-level function over tensors,
shared with the sequence loops; `call` fetches the weights and delegates.
"""

from __future__ import annotations

import math
import numbers
import operator
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from types import FrameType
from typing import Any

import keras
import numpy as np
from keras import ops

from tfrnn.base import Activation, Cell, DType, Initializer, LSTMStateTuple, RNNCell, Tensor, Weight, warn_at_caller
from tfrnn.checks import built_input_depth


def basic_rnn_step(gate_inputs: Tensor, activation: Callable[[Tensor], Tensor]) -> Tensor:
    """`h' = act([x, h] @ kernel + bias)`, given the affine part `gate_inputs`."""
    return activation(gate_inputs)


def lstm_step(
    gate_inputs: Tensor | Sequence[Tensor], c: Tensor, forget_bias: float, activation: Callable[[Tensor], Tensor],
    peepholes: tuple[Tensor, Tensor, Tensor] | None = None, cell_clip: float | None = None,
    clip_passes_gradient: bool = False,
) -> tuple[Tensor, Tensor]:
    """One LSTM step from the pre-activations `[x, h] @ kernel + bias`.

    Args:
        gate_inputs: `[B, 4 * num_units]`, gate blocks in TF1's order i, j, f, o;
            or those four blocks already apart, as a tuple or list.
        c: `[B, num_units]` previous cell state.
        forget_bias: float added to the forget gate pre-activation.
        activation: used for the candidate `j` and for `c'` before the output gate.
        peepholes: None or `(w_i_diag, w_f_diag, w_o_diag)`, each `[num_units]`.
        cell_clip: None or a float; `c'` is clipped to `[-cell_clip, cell_clip]`.
        clip_passes_gradient: where the clip binds, pass the gradient through
            unchanged (TF1's fused LSTM kernel) instead of stopping it
            (`clip_by_value`, TF1's `LSTMCell`).

    Returns:
        `(new_c, new_h)`, both `[B, num_units]`.
    """
    # i = input gate, j = candidate, f = forget gate, o = output gate.
    i, j, f, o = gate_inputs if isinstance(gate_inputs, (list, tuple)) else ops.split(gate_inputs, 4, axis=-1)
    if forget_bias:  # skipped when zero: the fused loop folds it into the bias
        f = f + forget_bias
    if peepholes is not None:
        w_i, w_f, w_o = peepholes
        i, f = i + w_i * c, f + w_f * c
    new_c = c * ops.sigmoid(f) + ops.sigmoid(i) * activation(j)
    if cell_clip is not None:
        clipped = ops.clip(new_c, -cell_clip, cell_clip)
        new_c = new_c + ops.stop_gradient(clipped - new_c) if clip_passes_gradient else clipped
    if peepholes is not None:
        o = o + w_o * new_c  # the output-gate peephole reads the *new* cell state
    new_h = activation(new_c) * ops.sigmoid(o)
    return new_c, new_h


def project(h: Tensor, kernel: Tensor, proj_clip: float | None = None) -> Tensor:
    """LSTMCell's output projection `m = h @ kernel`, clipped to `±proj_clip` if given."""
    m = ops.matmul(h, kernel)
    if proj_clip is not None:
        m = ops.clip(m, -proj_clip, proj_clip)
    return m


def gru_gates(
    x_gates: Tensor | tuple[Tensor, Tensor], x_candidate: Tensor, h: Tensor,
    gates_recurrent: Tensor | tuple[Tensor, Tensor], candidate_recurrent: Tensor | tuple[Tensor, ...],
    activation: Callable[[Tensor], Tensor],
) -> tuple[Tensor, Tensor, Tensor]:
    """The gates and candidate of one GRU step, given the input halves of both affine maps.

    The fast loops pass their weights pre-split into column blocks (tuples),
    so that independent products can run side by side; the math is the same.

    Args:
        x_gates: `[B, 2 * num_units]`, `x @ gates_kernel[:D] + gates_bias`;
            or its r and u blocks apart, as a tuple.
        x_candidate: `[B, num_units]`, `x @ candidate_kernel[:D] + candidate_bias`.
        h: `[B, num_units]` previous state.
        gates_recurrent: `gates_kernel[D:]`, `[num_units, 2 * num_units]`; or
            its r and u column blocks, as a tuple (with `x_gates` a tuple).
        candidate_recurrent: `candidate_kernel[D:]`, `[num_units, num_units]`;
            or column blocks of it, as a tuple.
        activation: the candidate activation.

    Returns:
        `(r, u, c)`: reset gate, update gate and candidate, each `[B, num_units]`.
    """
    # r = reset gate, u = update gate: TF1 orders them r first.
    if isinstance(gates_recurrent, tuple):
        r, u = (ops.sigmoid(x + ops.matmul(h, w)) for x, w in zip(x_gates, gates_recurrent))
    else:
        r, u = ops.split(ops.sigmoid(x_gates + ops.matmul(h, gates_recurrent)), 2, axis=-1)
    # The reset gate scales h *before* the candidate matmul (TF1, not Keras' reset_after).
    c = activation(x_candidate + matmul_blocks(r * h, candidate_recurrent))
    return r, u, c


def matmul_blocks(x: Tensor, kernel: Tensor | tuple[Tensor, ...]) -> Tensor:
    """`x @ kernel`, for a kernel given whole or as a tuple of column blocks."""
    if isinstance(kernel, tuple):
        return ops.concatenate([ops.matmul(x, block) for block in kernel], axis=-1)
    return ops.matmul(x, kernel)


def gru_update(h: Tensor, u: Tensor, c: Tensor) -> Tensor:
    """`h' = u * h + (1 - u) * c`: the new state (which is also the output)."""
    return u * h + (1.0 - u) * c


def gru_cell_step(
    inputs: Tensor, h: Tensor, gates_kernel: Tensor, gates_bias: Tensor, candidate_kernel: Tensor,
    candidate_bias: Tensor, activation: Callable[[Tensor], Tensor],
) -> tuple[Tensor, Tensor]:
    """One whole GRU step from TF1's four weights: `(output, new_state)`, both `h'`."""
    depth = inputs.shape[-1]
    x_gates = linear(inputs, gates_kernel[:depth], gates_bias)
    x_candidate = linear(inputs, candidate_kernel[:depth], candidate_bias)
    _, u, c = gru_gates(x_gates, x_candidate, h, gates_kernel[depth:], candidate_kernel[depth:], activation)
    new_h = gru_update(h, u, c)
    return new_h, new_h


def linear(
    x: Tensor, kernel: Tensor, bias: Tensor | None = None, activation: Callable[[Tensor], Tensor] | None = None,
) -> Tensor:
    """TF1's `_Linear`: `activation(x @ kernel + bias)`; no bias or activation when None."""
    y = ops.matmul(x, kernel)
    y = y if bias is None else y + bias
    return y if activation is None else activation(y)


def serialize_activation(activation: Callable[[Tensor], Tensor] | None) -> str | dict[str, Any] | None:
    """An activation for `get_config`: its Keras name or registered object, None for none."""
    return None if activation is None else keras.activations.serialize(activation)


def gate_inputs(inputs: Tensor, h: Tensor, kernel: Tensor, bias: Tensor) -> Tensor:
    """`[inputs, h] @ kernel + bias`: TF1's fused kernel stacks input rows over state rows."""
    return linear(ops.concatenate([inputs, h], axis=-1), kernel, bias)


@keras.saving.register_keras_serializable(package="tfrnn")
class BasicRNNCell(RNNCell):
    """The most basic RNN cell: `output = new_state = act([x, h] @ kernel + bias)`.

    TF1's `tf.nn.rnn_cell.BasicRNNCell`. Its output *is* its new state: there is
    no separate output weight, so a classifier needs its own layer on top (the
    "output is state" pitfall of TF1 tutorials).

    Equations (D = input depth, H = `num_units`):

        h' = act([x, h] @ kernel + bias)        # kernel [D + H, H], bias [H]
        output = h'

    Args:
        num_units: int, the size of the state and output.
        activation: activation name or callable; default `tanh`.
        reuse: accepted for TF1 compatibility; it has no effect in TF2 (weights
            belong to the cell object, so reusing the object reuses them).
        name: the TF1 scope name; default `basic_rnn_cell`.
        dtype: Keras dtype of the weights and computation.
        **kwargs: other `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `[B, D]`.
        state: `[B, H]`.

    Attributes:
        kernel: `[D + H, H]`, rows for `x` first, then `h`; glorot-uniform init.
        bias: `[H]`, zeros.

    Example:

    >>> import numpy as np
    >>> import tfrnn
    >>> cell = tfrnn.BasicRNNCell(num_units=128)
    >>> cell.state_size, cell.output_size
    (128, 128)
    >>> h0 = cell.zero_state(32, np.float32)
    >>> output, h1 = cell.call(np.zeros((32, 100), "float32"), h0)
    >>> tuple(h1.shape), bool(np.all(np.asarray(output) == np.asarray(h1)))
    ((32, 128), True)
    """

    keras_equivalent = "SimpleRNNCell"

    def __init__(
        self, num_units: int, activation: Activation = None, reuse: bool | None = None, name: str | None = None,
        dtype: DType | None = None, **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        num_units = size_arg(owner, "num_units", num_units, UNITS)
        activation_fn = activation_arg(owner, activation)
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.num_units = num_units
        self.activation = activation_fn

    @property
    def state_size(self) -> int:
        return self.num_units

    @property
    def output_size(self) -> int:
        return self.num_units

    @classmethod
    def tf1_options(cls, shapes: Mapping[str, Sequence[int]], inner: Cell | None = None) -> dict[str, Any]:
        return {"num_units": _units(shapes, "bias", 1)}

    def tf1_layout(self, input_depth: int) -> list[Weight]:
        units = self.num_units
        return [Weight("kernel", (input_depth + units, units)), Weight("bias", (units,), "zeros")]

    def step(self, inputs: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        h = basic_rnn_step(gate_inputs(inputs, state, self.kernel, self.bias), self.activation)
        return h, h


@keras.saving.register_keras_serializable(package="tfrnn")
class BasicLSTMCell(RNNCell):
    """TF1's basic LSTM cell (Zaremba et al., 2014): no peepholes, clipping or projection.

    Long short-term memory (Hochreiter & Schmidhuber, 1997) with TF1's weight
    layout: one fused kernel over `[x, h]`, gate blocks ordered i, j, f, o, and
    `forget_bias` added to the forget gate at call time (never stored in `bias`).

    Equations (D = input depth, H = `num_units`, gate blocks i, j, f, o):

        i, j, f, o = split([x, h] @ kernel + bias, 4)
        c' = c * sigmoid(f + forget_bias) + sigmoid(i) * act(j)
        h' = act(c') * sigmoid(o)
        output = h';  state = LSTMStateTuple(c', h')   # c first

    Args:
        num_units: int, number of units H.
        forget_bias: float added to the forget gate; default 1.0. Set it to 0.0
            when restoring CudnnLSTM-trained weights, as in TF1.
        state_is_tuple: must be True (the default). TF1's concatenated state is
            not carried over: passing False raises a `ValueError`.
        activation: activation name or callable; default `tanh`.
        reuse: accepted for TF1 compatibility; no effect in TF2.
        name: the TF1 scope name; default `basic_lstm_cell`.
        dtype: Keras dtype of the weights and computation.
        **kwargs: other `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `[B, D]`.
        state: `LSTMStateTuple(c, h)` (or any pair `(c, h)`), each `[B, H]`.

    Attributes:
        kernel: `[D + H, 4H]`; rows `x` then `h`; columns i, j, f, o. Glorot-uniform.
        bias: `[4H]`, zeros (forget_bias is not in it).

    Example:

    >>> import numpy as np
    >>> import tfrnn
    >>> lstm_cell = tfrnn.BasicLSTMCell(num_units=128)
    >>> h0 = lstm_cell.zero_state(32, np.float32)
    >>> output, h1 = lstm_cell.call(np.zeros((32, 100), "float32"), h0)
    >>> tuple(h1.h.shape), tuple(h1.c.shape), tuple(lstm_cell.kernel.shape)
    ((32, 128), (32, 128), (228, 512))
    """

    keras_equivalent = "LSTMCell"

    def __init__(
        self, num_units: int, forget_bias: float = 1.0, state_is_tuple: bool = True, activation: Activation = None,
        reuse: bool | None = None, name: str | None = None, dtype: DType | None = None, **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        _require_tuple_state(state_is_tuple, owner)
        num_units = size_arg(owner, "num_units", num_units, UNITS)
        forget_bias = number_arg(owner, "forget_bias", forget_bias, FORGET_BIAS)
        activation_fn = activation_arg(owner, activation)
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.num_units = num_units
        self.forget_bias = forget_bias
        self.activation = activation_fn

    @property
    def state_size(self) -> LSTMStateTuple:
        return LSTMStateTuple(self.num_units, self.num_units)

    @property
    def output_size(self) -> int:
        return self.num_units

    @classmethod
    def tf1_options(cls, shapes: Mapping[str, Sequence[int]], inner: Cell | None = None) -> dict[str, Any]:
        return {"num_units": _units(shapes, "bias", 4)}

    def tf1_layout(self, input_depth: int) -> list[Weight]:
        units = self.num_units
        return [Weight("kernel", (input_depth + units, 4 * units)), Weight("bias", (4 * units,), "zeros")]

    def step(self, inputs: Tensor, state: Sequence[Tensor]) -> tuple[Tensor, LSTMStateTuple]:
        c, h = state
        z = gate_inputs(inputs, h, self.kernel, self.bias)  # [B, 4H]
        new_c, new_h = lstm_step(z, c, self.forget_bias, self.activation)
        return new_h, LSTMStateTuple(new_c, new_h)


@keras.saving.register_keras_serializable(package="tfrnn")
class LSTMCell(RNNCell):
    """TF1's full LSTM cell: optional peepholes, cell clipping and output projection.

    Peepholes follow Sak et al. (2014) / Gers & Schmidhuber (2000); the
    projection layer is Sak et al.'s LSTMP. Same fused kernel and gate order as
    `BasicLSTMCell`; the recurrent rows are the previous *output* `m`, which has
    `num_proj` columns when a projection is used.

    Equations (D = input depth, H = `num_units`, P = `num_proj` or H):

        i, j, f, o = split([x, m] @ kernel + bias, 4)
        c' = sigmoid(f + forget_bias + w_f_diag * c) * c
             + sigmoid(i + w_i_diag * c) * act(j)        # w_*_diag only with peepholes
        c' = clip(c', -cell_clip, cell_clip)              # only with cell_clip
        m' = act(c') * sigmoid(o + w_o_diag * c')         # the new c' feeds the o peephole
        m' = clip(m' @ projection_kernel, ±proj_clip)     # only with num_proj (/ proj_clip)
        output = m';  state = LSTMStateTuple(c', m')

    Args:
        num_units: int, number of units H.
        use_peepholes: bool, add diagonal peephole connections.
        cell_clip: optional float, clip the cell state to `±cell_clip`.
        initializer: optional initializer (name, instance or callable) for the
            kernel, the peepholes and the projection (not the bias); default
            glorot-uniform.
        num_proj: optional int P, project the output to P units.
        proj_clip: optional float, clip the projected output to `±proj_clip`.
        num_unit_shards, num_proj_shards: TF1's deprecated variable sharding.
            Only None or 1 are accepted; the weights are one tensor either way.
        forget_bias: float added to the forget gate; default 1.0.
        state_is_tuple: must be True (the default); False raises `ValueError`.
        activation: activation name or callable; default `tanh`.
        reuse: accepted for TF1 compatibility; no effect in TF2.
        name: the TF1 scope name; default `lstm_cell`.
        dtype: Keras dtype of the weights and computation.
        **kwargs: other `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `[B, D]`.
        state: `LSTMStateTuple(c [B, H], m [B, P])`.

    Attributes:
        kernel: `[D + P, 4H]`; rows `x` then `m`; columns i, j, f, o.
        bias: `[4H]`, zeros.
        w_f_diag, w_i_diag, w_o_diag: `[H]` each, with `use_peepholes`.
        projection: sublayer holding `projection.kernel` `[H, P]`, with `num_proj`.

    Example:

    >>> import numpy as np
    >>> import tfrnn
    >>> cell = tfrnn.LSTMCell(8, use_peepholes=True, num_proj=3, cell_clip=1.0)
    >>> cell.state_size, cell.output_size
    (LSTMStateTuple(c=8, h=3), 3)
    >>> output, state = cell(np.ones((2, 5), "float32"), cell.zero_state(2, "float32"))
    >>> tuple(output.shape), tuple(state.c.shape), tuple(cell.projection.kernel.shape)
    ((2, 3), (2, 8), (8, 3))
    """

    keras_equivalent = "LSTMCell"
    clip_passes_gradient = False  # `clip_by_value`: no gradient where the clip binds

    def __init__(
        self, num_units: int, use_peepholes: bool = False, cell_clip: float | None = None,
        initializer: Initializer = None, num_proj: int | None = None, proj_clip: float | None = None,
        num_unit_shards: int | None = None, num_proj_shards: int | None = None, forget_bias: float = 1.0,
        state_is_tuple: bool = True, activation: Activation = None, reuse: bool | None = None,
        name: str | None = None, dtype: DType | None = None, **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        _require_tuple_state(state_is_tuple, owner)
        _require_unsharded(num_unit_shards=num_unit_shards, num_proj_shards=num_proj_shards)
        num_units = size_arg(owner, "num_units", num_units, UNITS)
        num_proj = None if num_proj is None else size_arg(owner, "num_proj", num_proj, PROJECTION)
        # TF1 clipped with a bool too (`cell_clip=True` is +-1.0; TF's own tests write it).
        cell_clip = None if cell_clip is None else number_arg(owner, "cell_clip", _bool_as_number(cell_clip), CLIP, minimum=0.0)
        proj_clip = None if proj_clip is None else number_arg(owner, "proj_clip", _bool_as_number(proj_clip), CLIP, minimum=0.0)
        forget_bias = number_arg(owner, "forget_bias", forget_bias, FORGET_BIAS)
        initializer = initializer_arg(owner, "initializer", initializer, "glorot_uniform")
        activation_fn = activation_arg(owner, activation)
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.num_units = num_units
        self.use_peepholes = use_peepholes
        self.cell_clip = cell_clip
        self.initializer = initializer
        self.num_proj = num_proj
        self.proj_clip = proj_clip
        self.forget_bias = forget_bias
        self.activation = activation_fn

    @property
    def state_size(self) -> LSTMStateTuple:
        return LSTMStateTuple(self.num_units, self.output_size)

    @property
    def output_size(self) -> int:
        return self.num_proj or self.num_units

    @classmethod
    def tf1_options(cls, shapes: Mapping[str, Sequence[int]], inner: Cell | None = None) -> dict[str, Any]:
        options: dict[str, Any] = {"num_units": _units(shapes, "bias", 4), "use_peepholes": "w_f_diag" in shapes}
        if "projection/kernel" in shapes:
            options["num_proj"] = shapes["projection/kernel"][-1]
        return options

    def tf1_layout(self, input_depth: int) -> list[Weight]:
        units, init = self.num_units, self.initializer
        layout = [
            Weight("kernel", (input_depth + self.output_size, 4 * units), init),
            Weight("bias", (4 * units,), "zeros"),
        ]
        if self.use_peepholes:
            layout += [Weight(diag, (units,), init) for diag in ("w_f_diag", "w_i_diag", "w_o_diag")]
        if self.num_proj:
            layout.append(Weight("projection/kernel", (units, self.num_proj), init))
        return layout

    def step(self, inputs: Tensor, state: Sequence[Tensor]) -> tuple[Tensor, LSTMStateTuple]:
        c, m = state
        peepholes = (self.w_i_diag, self.w_f_diag, self.w_o_diag) if self.use_peepholes else None
        z = gate_inputs(inputs, m, self.kernel, self.bias)  # [B, 4H]
        new_c, new_m = lstm_step(
            z, c, self.forget_bias, self.activation, peepholes, self.cell_clip, self.clip_passes_gradient
        )
        if self.num_proj:
            new_m = project(new_m, self.projection.kernel, self.proj_clip)
        return new_m, LSTMStateTuple(new_c, new_m)


@keras.saving.register_keras_serializable(package="tfrnn")
class GRUCell(RNNCell):
    """TF1's Gated Recurrent Unit cell (Cho et al., 2014), reset gate before the matmul.

    Weights sit in two sublayers, `gates` and `candidate`, as TF1's
    `gru_cell/gates/kernel` and `gru_cell/candidate/kernel` (Keras 3 forbids `/`
    in weight names). This is Keras' `GRUCell(reset_after=False)` in another
    weight layout, not Keras 3's default GRU.

    Equations (D = input depth, H = `num_units`):

        r, u = split(sigmoid([x, h] @ gates.kernel + gates.bias), 2)   # r first
        c = act([x, r * h] @ candidate.kernel + candidate.bias)
        h' = u * h + (1 - u) * c
        output = h'

    Args:
        num_units: int, number of units H.
        activation: candidate activation name or callable; default `tanh`.
        reuse: accepted for TF1 compatibility; no effect in TF2.
        kernel_initializer: initializer of both kernels; default glorot-uniform.
        bias_initializer: initializer of both biases; default 1.0 for
            `gates.bias` and 0.0 for `candidate.bias`, as in TF1.
        name: the TF1 scope name; default `gru_cell`.
        dtype: Keras dtype of the weights and computation.
        **kwargs: other `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `[B, D]`.
        state: `[B, H]`.

    Attributes:
        gates: sublayer; `gates.kernel` `[D + H, 2H]` (columns r, u), `gates.bias` `[2H]`.
        candidate: sublayer; `candidate.kernel` `[D + H, H]`, `candidate.bias` `[H]`.

    Example:

    >>> import numpy as np
    >>> import tfrnn
    >>> cell = tfrnn.GRUCell(4)
    >>> output, state = cell(np.ones((2, 3), "float32"), cell.zero_state(2, "float32"))
    >>> tuple(cell.gates.kernel.shape), np.asarray(cell.gates.bias).tolist()
    ((7, 8), [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    """

    keras_equivalent = "GRUCell"

    def __init__(
        self, num_units: int, activation: Activation = None, reuse: bool | None = None,
        kernel_initializer: Initializer = None, bias_initializer: Initializer = None, name: str | None = None,
        dtype: DType | None = None, **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        num_units = size_arg(owner, "num_units", num_units, UNITS)
        activation_fn = activation_arg(owner, activation)
        kernel_initializer = initializer_arg(owner, "kernel_initializer", kernel_initializer, "glorot_uniform")
        bias_initializer = initializer_arg(owner, "bias_initializer", bias_initializer)
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.num_units = num_units
        self.activation = activation_fn
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer

    @property
    def state_size(self) -> int:
        return self.num_units

    @property
    def output_size(self) -> int:
        return self.num_units

    @classmethod
    def tf1_options(cls, shapes: Mapping[str, Sequence[int]], inner: Cell | None = None) -> dict[str, Any] | None:
        return {"num_units": _units(shapes, "candidate/bias", 1)}

    def tf1_layout(self, input_depth: int) -> list[Weight]:
        rows, units = input_depth + self.num_units, self.num_units
        kernel, bias = self.kernel_initializer, self.bias_initializer
        return [
            Weight("gates/kernel", (rows, 2 * units), kernel),
            Weight("gates/bias", (2 * units,), bias or keras.initializers.Constant(1.0)),
            Weight("candidate/kernel", (rows, units), kernel),
            Weight("candidate/bias", (units,), bias or "zeros"),
        ]

    def step(self, inputs: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        return gru_cell_step(inputs, state, *self.gru_weights(), self.activation)

    def gru_weights(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """`(gates kernel, gates bias, candidate kernel, candidate bias)`: the layout's four, in order."""
        # The variables are found by name; the depth only sizes them.
        gates_kernel, gates_bias, candidate_kernel, candidate_bias = (
            weight.variable(self) for weight in self.tf1_layout(built_input_depth(self) or 0)
        )
        return gates_kernel, gates_bias, candidate_kernel, candidate_bias


# What the size and number arguments mean, for the messages of `size_arg` and `number_arg`.
UNITS = "the number of units"
PROJECTION = "the depth of the projected output; None for no projection"
CLIP = "the bound of the clip; None for no clipping"
FORGET_BIAS = "added to the forget gate"


def _units(shapes: Mapping[str, Sequence[int]], name: str, blocks: int) -> int:
    """`num_units` from a weight's last dimension of `blocks * num_units` (0 when absent)."""
    shape = shapes.get(name)
    return shape[-1] // blocks if shape else 0


def _require_tuple_state(state_is_tuple: bool, cls_name: str) -> None:
    if not state_is_tuple:
        raise ValueError(
            f"{cls_name}(state_is_tuple=False) is not supported: tfrnn states are "
            "always LSTMStateTuple(c, h). Drop the argument. TF1 checkpoints load "
            "unchanged (the weights are the same); if your code slices a "
            "concatenated state, use state.c and state.h, or "
            "tf.concat([state.c, state.h], axis=1) where one tensor is needed."
        )


def _require_unsharded(**shards: int | None) -> None:
    for arg, value in shards.items():
        if value not in (None, 1):
            raise ValueError(
                f"LSTMCell({arg}={value!r}) is not supported: TF1's deprecated "
                "variable sharding has no TF2 equivalent and tfrnn keeps each weight "
                f"as one tensor. Drop {arg}."
            )


# Constructor arguments. Every cell and wrapper checks its arguments with these
# before anything is created, and says what was passed, what was expected and
# how to fix it (TF1 failed later, often at build, with a derived number).


def size_arg(owner: str, arg: str, value: object, meaning: str) -> int:
    """`value` as a positive int (a size): ints, NumPy ints and whole floats like 4.0, as TF1 took.

    `TypeError` for what is not a number (a string, None, a bool), `ValueError`
    for a fraction or a number below 1.
    """
    expected = f"{arg} ({meaning}) must be a positive int"
    number = _whole_number(value)
    if number is None and _is_number(value):
        raise ValueError(
            f"{owner}({arg}={value!r}): {expected}, but received {value!r}, not a whole number. Pass an int."
        )
    if number is None:
        raise TypeError(
            f"{owner}({arg}={value!r}): {expected}, but received a {type(value).__name__}. "
            f"Pass an int, e.g. {owner}({arg}=128)."
        )
    if number < 1:
        raise ValueError(f"{owner}({arg}={value!r}): {expected}, but received {number}. Pass an int >= 1.")
    return number


def _whole_number(value: object) -> int | None:
    """The int `value` stands for (int, NumPy int, integer tensor, whole float), or None. Never a bool."""
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        return operator.index(value)  # type: ignore[arg-type]  # whatever has __index__
    except TypeError:
        pass
    number = float(value) if _is_number(value) else math.nan  # type: ignore[arg-type]  # a Real
    return int(number) if math.isfinite(number) and number.is_integer() else None


def _bool_as_number(value: object) -> object:
    """A bool as the 0.0 or 1.0 TF1's arithmetic made of it; anything else unchanged."""
    return float(value) if isinstance(value, (bool, np.bool_)) else value


def _is_number(value: object) -> bool:
    """A Python or NumPy real number; not a bool (TF1 took no bool for a size or a bias)."""
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Real)


def number_arg(owner: str, arg: str, value: object, meaning: str, minimum: float | None = None) -> float:
    """`value` as a float: a Python or NumPy number, not NaN, at least `minimum` when given."""
    if not _is_number(value):
        raise TypeError(
            f"{owner}({arg}={value!r}): {arg} ({meaning}) must be a number, but received a "
            f"{type(value).__name__}. Pass a Python float."
        )
    number = float(value)  # type: ignore[arg-type]  # a Real
    if math.isnan(number) or (minimum is not None and number < minimum):
        bound = "a number other than NaN" if minimum is None else f"a number >= {minimum}"
        raise ValueError(f"{owner}({arg}={value!r}): {arg} ({meaning}) must be {bound}, but received {number}.")
    return number


def activation_arg(owner: str, value: Activation, default: str | None = "tanh", arg: str = "activation") -> Any:
    """The activation function `value` names: a Keras activation name, a callable or a config; `default` for None."""
    if value is None:
        return keras.activations.get(default) if default else None
    if callable(value) or isinstance(value, (str, dict)):
        try:
            return keras.activations.get(value)
        except (ValueError, TypeError):
            pass
    raise (TypeError if not isinstance(value, (str, dict)) else ValueError)(
        f"{owner}({arg}={value!r}): unknown activation {value!r}. Pass a Keras activation name "
        f"({arg}='tanh', 'relu', 'sigmoid', ...) or a callable ({arg}=tf.nn.relu, or your own function "
        "of a tensor)."
    )


def initializer_arg(owner: str, arg: str, value: Initializer, default: Initializer = None) -> Any:
    """The initializer `value` names: a Keras initializer name, instance, callable or config; `default` for None."""
    value = default if value is None else value
    if value is None:
        return None
    try:
        return keras.initializers.get(value)
    except (ValueError, TypeError):
        raise (ValueError if isinstance(value, (str, dict)) else TypeError)(
            f"{owner}({arg}={value!r}): unknown initializer {value!r}. Pass a Keras initializer name "
            f"({arg}='glorot_uniform', 'zeros', ...), an instance such as "
            f"keras.initializers.RandomUniform(-0.1, 0.1), or a callable of (shape, dtype)."
        ) from None


def keep_prob_arg(owner: str, arg: str, value: float | Tensor) -> float:
    """TF1's check of a keep probability (and TF1's words): a number in [0, 1], stored as a Python float."""
    try:
        if isinstance(value, (str, bytes, bool, np.bool_)):
            raise TypeError
        number = float(np.asarray(value))
    except (TypeError, ValueError):
        raise TypeError(
            f"{owner}({arg}={value!r}): Parameter {arg} must be a float between 0 and 1, but received {value!r}. "
            "A symbolic tensor cannot be read here; to turn dropout off for evaluation, "
            "pass training=False (what TF1's keep_prob placeholder was fed 1.0 for)."
        ) from None
    if not 0.0 <= number <= 1.0:
        raise ValueError(
            f"{owner}({arg}={value!r}): Parameter {arg} must be between 0 and 1. Received {number}. It is the "
            "probability to keep a value (1.0 = no dropout), not to drop it."
        )
    return number


def seed_arg(owner: str, arg: str, value: object) -> int | None:
    """An optional random seed: None or an int."""
    if value is None:
        return None
    number = _whole_number(value)
    if number is None:
        raise TypeError(
            f"{owner}({arg}={value!r}): {arg} must be an int or None, but received a {type(value).__name__}."
        )
    return number


# Dropout without `training`: TF1 always dropped, Keras only where `training` is True.


def warn_if_training_unset(cell: RNNCell, training: bool | None) -> None:
    """Warns once per cell that its dropout is off because `training` is None.

    TF1 always dropped; Keras drops only where `training` is True (`fit`
    sets it, `predict` and `evaluate` set False). A TF1 training loop moved
    to a `GradientTape` without `training=True` would train without dropout,
    silently. Only the value of `training` is read: a direct `model(x)` is
    unset too, and warns.
    """
    if training is not None or cell._warned_training_unset or _in_keras_shape_inference():
        return
    cell._warned_training_unset = True
    warn_at_caller(
        f"{cell.name} ({type(cell).__name__}) has a keep probability below 1 but ran with training unset "
        "(None), so it did not drop. TF1 always dropped; Keras drops only where training is True: fit passes "
        "training=True to a model or layer whose call takes a training argument, predict and evaluate pass "
        "False. For a training step pass training=True to the loop or the step, e.g. "
        "tfrnn.dynamic_rnn(cell, x, ..., training=True), cell(x, state, training=True) or "
        "model(x, training=True), and give your own Keras call a training argument to pass on; to say this "
        "is inference, pass training=False. Shown once per cell."
    )


_KERAS_DIR = os.path.dirname(keras.__file__) + os.sep  # where `compute_output_spec` lives


def _in_keras_shape_inference() -> bool:
    """Whether Keras is only inferring shapes: running a `call` on placeholders of a graph that never runs.

    Keras does so on the first call of a layer without its own `build` (and
    for a functional model's layers), with `training` unset whatever the real
    call passes, so nothing would be dropped there anyway. Keras offers no
    public way to ask; the name of its function is read off the stack. Were
    it renamed, the cost is one warning too many, never one too few.
    """
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "compute_output_spec" and code.co_filename.startswith(_KERAS_DIR):
            return True
        frame = frame.f_back
    return False
