"""`tf.contrib.rnn`'s cells: `LayerNormBasicLSTMCell`, `GRUBlockCell` and
`LSTMBlockCell`, checked against TF 1.15.

Like the core cells, each class describes its weights once (`tf1_layout`) and
writes one step; TF1 names, loading and inspection derive from that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
from keras import ops

from tfrnn.base import Activation, Cell, DType, LSTMStateTuple, RNNCell, Tensor, Weight, WeightGroup
from tfrnn.cells import (
    CLIP, FORGET_BIAS, UNITS, GRUCell, LSTMCell, activation_arg, keep_prob_arg, linear, number_arg, seed_arg,
    serialize_activation, size_arg, warn_if_training_unset,
)

# tf.contrib.layers.layer_norm's variance epsilon (1e-3 in float16).
LAYER_NORM_EPSILON = 1e-12
_NORM_SCOPES = ("input", "transform", "forget", "output", "state")



def layer_norm(x: Tensor, gamma: Tensor, beta: Tensor, epsilon: float = LAYER_NORM_EPSILON) -> Tensor:
    """`tf.contrib.layers.layer_norm` over the last axis (population variance)."""
    mean = ops.mean(x, axis=-1, keepdims=True)
    variance = ops.mean(ops.square(x - mean), axis=-1, keepdims=True)
    return (x - mean) * ops.rsqrt(variance + epsilon) * gamma + beta


def layer_norm_lstm_step(
    gate_inputs: Tensor, c: Tensor, forget_bias: float, activation: Callable[[Tensor], Tensor],
    norms: Mapping[str, tuple[Tensor, Tensor]] | None = None, epsilon: float = LAYER_NORM_EPSILON,
    dropout: Callable[[Tensor], Tensor] | None = None,
) -> tuple[Tensor, Tensor]:
    """One step of `LayerNormBasicLSTMCell` from `gate_inputs = [x, h] @ kernel (+ bias)`.

    Args:
        gate_inputs: `[B, 4H]`, gate blocks in TF1's order i, j, f, o.
        c: `[B, H]` previous cell state.
        forget_bias: float added to the (normalized) forget gate.
        activation: for the candidate `j` and for `c'` before the output gate.
        norms: None (no layer norm), or a mapping from `input`, `transform`,
            `forget`, `output`, `state` to `(gamma, beta)`, each `[H]`.
        epsilon: the layer norm's variance epsilon.
        dropout: None, or a callable applied to the candidate `act(j)`.

    Returns:
        `(new_c, new_h)`; `new_c` is the layer-normed cell state, as in TF1.
    """
    i, j, f, o = ops.split(gate_inputs, 4, axis=-1)
    if norms:
        gate_norms = (norms[scope] for scope in _NORM_SCOPES)  # (gamma, beta) of i, j, f, o (zip stops there)
        i, j, f, o = (layer_norm(g, gamma, beta, epsilon) for g, (gamma, beta) in zip((i, j, f, o), gate_norms))
    g = activation(j)
    if dropout is not None:
        g = dropout(g)
    new_c = c * ops.sigmoid(f + forget_bias) + ops.sigmoid(i) * g
    if norms:
        state_gamma, state_beta = norms["state"]
        new_c = layer_norm(new_c, state_gamma, state_beta, epsilon)
    return new_c, activation(new_c) * ops.sigmoid(o)



@keras.saving.register_keras_serializable(package="tfrnn")
class LayerNormBasicLSTMCell(RNNCell):
    """LSTM with layer normalization (Ba et al., 2016) and recurrent dropout
    (Semeniuta et al., 2016). `tf.contrib.rnn.LayerNormBasicLSTMCell`.

    Each gate is layer-normed separately, before its nonlinearity, and so is
    the new cell state; `h'` is computed from the normed `c'`, and the normed
    `c'` is the state. The layer norm is `tf.contrib.layers.layer_norm`:
    population variance over the units, epsilon 1e-12 (1e-3 in float16).
    With `layer_norm=False` it is a basic LSTM with candidate dropout.

    Equations (D = input depth, H = `num_units`, LN_s(v) = gamma_s * (v - mean(v))
    / sqrt(var(v) + eps) + beta_s over the H units):

        i, j, f, o = split([x, h] @ kernel (+ bias), 4)
        i, j, f, o = LN_input(i), LN_transform(j), LN_forget(f), LN_output(o)
        g = dropout(act(j))                    # dropout_keep_prob, when training
        c' = LN_state(c * sigmoid(f + forget_bias) + sigmoid(i) * g)
        h' = act(c') * sigmoid(o)
        output = h';  state = LSTMStateTuple(c', h')

    Args:
        num_units: int H.
        forget_bias: float added to the normed forget gate; default 1.0.
        input_size: deprecated and unused, as in TF1.
        activation: activation name or callable; default `tanh`.
        layer_norm: whether to layer-norm (True, the default).
        norm_gain: initial value of every `gamma`.
        norm_shift: initial value of every `beta`.
        dropout_keep_prob: keep probability of the candidate `g`, in [0, 1];
            dropout (scaled by 1/keep) only acts when training.
        dropout_prob_seed: optional int seed of that dropout.
        reuse: accepted for TF1 compatibility; no effect in TF2.
        name: the TF1 scope name; default `layer_norm_basic_lstm_cell`.
        dtype: Keras dtype of the weights and computation.
        **kwargs: other `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `[B, D]`.
        state: `LSTMStateTuple(c, h)`, each `[B, H]`.
        training: Python bool; candidate dropout only when True.

    Attributes:
        kernel: `[D + H, 4H]`; rows `x` then `h`; columns i, j, f, o; glorot-uniform.
        norms: with `layer_norm`, sublayers `input`, `transform`, `forget`,
            `output`, `state`, each with `gamma` `[H]` (= norm_gain) and
            `beta` `[H]` (= norm_shift): TF1's `<scope>/gamma`, `<scope>/beta`.
        bias: `[4H]`, only without `layer_norm`; glorot-uniform *random*, not
            zeros, because TF1 created it without an initializer.

    Example:

    >>> import numpy as np
    >>> import tfrnn
    >>> cell = tfrnn.LayerNormBasicLSTMCell(4)
    >>> output, state = cell(np.ones((2, 3), "float32"), cell.zero_state(2, "float32"))
    >>> tuple(cell.kernel.shape), sorted(cell.norms), np.asarray(cell.norms["state"].gamma).tolist()
    ((7, 16), ['forget', 'input', 'output', 'state', 'transform'], [1.0, 1.0, 1.0, 1.0])
    >>> bool(np.allclose(np.mean(state.c, axis=-1), 0.0, atol=1e-6))  # c' is layer-normed
    True
    """

    def __init__(
        self, num_units: int, forget_bias: float = 1.0, input_size: int | None = None, activation: Activation = None,
        layer_norm: bool = True, norm_gain: float = 1.0, norm_shift: float = 0.0, dropout_keep_prob: float = 1.0,
        dropout_prob_seed: int | None = None, reuse: bool | None = None, name: str | None = None,
        dtype: DType | None = None, **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        num_units = size_arg(owner, "num_units", num_units, UNITS)
        forget_bias = number_arg(owner, "forget_bias", forget_bias, FORGET_BIAS)
        activation_fn = activation_arg(owner, activation)
        norm_gain = number_arg(owner, "norm_gain", norm_gain, "the initial gamma of the layer norms")
        norm_shift = number_arg(owner, "norm_shift", norm_shift, "the initial beta of the layer norms")
        dropout_keep_prob = keep_prob_arg(owner, "dropout_keep_prob", dropout_keep_prob)
        dropout_prob_seed = seed_arg(owner, "dropout_prob_seed", dropout_prob_seed)
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.num_units = num_units
        self.forget_bias = forget_bias
        self.activation = activation_fn
        self.layer_norm = layer_norm
        self.norm_gain, self.norm_shift = norm_gain, norm_shift
        self.dropout_keep_prob = dropout_keep_prob
        self.dropout_prob_seed = dropout_prob_seed
        self.seed_generator = keras.random.SeedGenerator(dropout_prob_seed) if self.dropout_keep_prob < 1.0 else None
        if layer_norm:
            # TF1's `<scope>/gamma` and `<scope>/beta` (a Keras layer cannot have
            # attributes named `input` or `output`, hence a dict).
            self.norms = {scope: WeightGroup(scope, dtype=self.dtype_policy) for scope in _NORM_SCOPES}

    @property
    def state_size(self) -> LSTMStateTuple:
        return LSTMStateTuple(self.num_units, self.num_units)

    @property
    def output_size(self) -> int:
        return self.num_units

    @classmethod
    def tf1_options(cls, shapes: Mapping[str, Sequence[int]], inner: Cell | None = None) -> dict[str, Any]:
        kernel = shapes.get("kernel")
        return {"num_units": kernel[-1] // 4 if kernel else 0, "layer_norm": "input/gamma" in shapes}

    def tf1_layout(self, input_depth: int) -> list[Weight]:
        units = self.num_units
        layout = [Weight("kernel", (input_depth + units, 4 * units))]
        if not self.layer_norm:
            # TF1 made this bias with get_variable and no initializer: glorot-uniform, not zeros.
            return layout + [Weight("bias", (4 * units,), "glorot_uniform")]
        gain, shift = keras.initializers.Constant(self.norm_gain), keras.initializers.Constant(self.norm_shift)
        for scope in _NORM_SCOPES:
            layout.append(Weight(f"{scope}/gamma", (units,), gain, attribute=f"norms/{scope}/gamma"))
            layout.append(Weight(f"{scope}/beta", (units,), shift, attribute=f"norms/{scope}/beta"))
        return layout

    def step(
        self, inputs: Tensor, state: Sequence[Tensor], training: bool | None = None,
    ) -> tuple[Tensor, LSTMStateTuple]:
        c, h = state
        gate_inputs = linear(ops.concatenate([inputs, h], axis=-1), self.kernel)  # [B, 4H]
        norms: dict[str, tuple[Tensor, Tensor]] | None = None
        if self.layer_norm:
            # In the compute dtype, so that mixed precision never mixes float16 with float32.
            norms = {
                scope: (ops.cast(norm.gamma, self.compute_dtype), ops.cast(norm.beta, self.compute_dtype))
                for scope, norm in self.norms.items()
            }
        else:
            gate_inputs = gate_inputs + self.bias
        epsilon = 1e-3 if self.compute_dtype == "float16" else LAYER_NORM_EPSILON
        new_c, new_h = layer_norm_lstm_step(
            gate_inputs, c, self.forget_bias, self.activation, norms, epsilon, self._dropout(training)
        )
        return new_h, LSTMStateTuple(new_c, new_h)

    def _dropout(self, training: bool | None) -> Callable[[Tensor], Tensor] | None:
        """The candidate's dropout for this step, or None (not training, or keep 1.0)."""
        if self.seed_generator is None:
            return None
        warn_if_training_unset(self, training)
        if not training:
            return None
        rate = 1.0 - self.dropout_keep_prob
        return lambda g: keras.random.dropout(g, rate=rate, seed=self.seed_generator)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            num_units=self.num_units, forget_bias=self.forget_bias,
            activation=serialize_activation(self.activation), layer_norm=self.layer_norm,
            norm_gain=self.norm_gain, norm_shift=self.norm_shift,
            dropout_keep_prob=self.dropout_keep_prob, dropout_prob_seed=self.dropout_prob_seed,
        )
        return config




@keras.saving.register_keras_serializable(package="tfrnn")
class GRUBlockCell(GRUCell):
    """`tf.contrib.rnn.GRUBlockCell`: `GRUCell`'s math under TF 1.15's fused-kernel weight names.

    TF1 ran this cell as one fused op; the numbers are `GRUCell`'s (Cho et
    al., 2014, reset gate before the matmul), so tfrnn computes it as
    `GRUCell` does. Only the weight names differ: `w_ru`, `b_ru`, `w_c`,
    `b_c` where `GRUCell` has `gates/kernel`, `gates/bias`,
    `candidate/kernel`, `candidate/bias`. The default scope is `gru_cell`.

    Equations (D = input depth, H = `num_units`):

        r, u = split(sigmoid([x, h] @ w_ru + b_ru), 2)   # r first
        c = tanh([x, r * h] @ w_c + b_c)
        h' = u * h + (1 - u) * c
        output = h'

    Args:
        num_units: int, number of units H.
        cell_size: TF1's deprecated spelling of `num_units`; pass exactly one.
        reuse: accepted for TF1 compatibility; no effect in TF2.
        name: the TF1 scope name; default `gru_cell`, as in TF1.
        **kwargs: other `keras.layers.Layer` arguments (`dtype`, ...).

    Call arguments:
        inputs: `[B, D]`.
        state: `[B, H]`.

    Attributes:
        w_ru: `[D + H, 2H]` (columns r, u), glorot-uniform.
        b_ru: `[2H]`, ones.
        w_c: `[D + H, H]`, glorot-uniform.
        b_c: `[H]`, zeros.

    Example:

    >>> import numpy as np
    >>> import tfrnn
    >>> cell = tfrnn.GRUBlockCell(4)
    >>> output, state = cell(np.ones((2, 3), "float32"), cell.zero_state(2, "float32"))
    >>> sorted(tfrnn.tf1_variable_names(cell))
    ['rnn/gru_cell/b_c', 'rnn/gru_cell/b_ru', 'rnn/gru_cell/w_c', 'rnn/gru_cell/w_ru']
    >>> tuple(cell.w_ru.shape), np.asarray(cell.b_ru).tolist()[:2]
    ((7, 8), [1.0, 1.0])
    """

    keras_equivalent = "GRUCell"

    def __init__(
        self, num_units: int | None = None, cell_size: int | None = None, reuse: bool | None = None,
        name: str = "gru_cell", **kwargs: Any,
    ) -> None:
        if (num_units is None) == (cell_size is None):
            raise ValueError(
                f"Exactly one of num_units or cell_size must be provided; received "
                f"num_units={num_units!r}, cell_size={cell_size!r}. cell_size is TF1's "
                "deprecated name: write GRUBlockCell(num_units)."
            )
        arg, value = ("num_units", num_units) if cell_size is None else ("cell_size", cell_size)
        super().__init__(size_arg(type(self).__name__, arg, value, UNITS), name=name, **kwargs)

    @classmethod
    def tf1_options(
        cls, shapes: Mapping[str, Sequence[int]], inner: Cell | None = None,
    ) -> dict[str, Any] | None:
        return {"num_units": shapes["b_c"][-1]} if "b_c" in shapes else None

    def tf1_layout(self, input_depth: int) -> list[Weight]:
        rows, units = input_depth + self.num_units, self.num_units
        return [
            Weight("w_ru", (rows, 2 * units)),
            Weight("b_ru", (2 * units,), keras.initializers.Constant(1.0)),
            Weight("w_c", (rows, units)),
            Weight("b_c", (units,), "zeros"),
        ]


@keras.saving.register_keras_serializable(package="tfrnn")
class LSTMBlockCell(LSTMCell):
    """`tf.contrib.rnn.LSTMBlockCell`: TF 1.15's fused-kernel LSTM, `LSTMCell`'s weights and numbers.

    The weights are `LSTMCell`'s (`kernel`, `bias`, peepholes `w_i_diag`,
    `w_f_diag`, `w_o_diag`) under the same default scope `lstm_cell`, and
    the forward numbers are `LSTMCell(use_peepholes=..., cell_clip=...,
    forget_bias=...)`'s. Two TF1 quirks differ from `LSTMCell` and are kept:
    a `cell_clip` of None, 0 or below means no clipping (`LSTMCell` would clip
    to 0), and where the clip binds the gradient passes through it unchanged
    (the fused kernel's backward), where `LSTMCell`'s `clip_by_value` gives 0.

    Equations (D = input depth, H = `num_units`, gates i, j, f, o):

        i, j, f, o = split([x, h] @ kernel + bias, 4)
        c' = sigmoid(f + forget_bias + w_f_diag * c) * c
             + sigmoid(i + w_i_diag * c) * tanh(j)        # w_*_diag only with peepholes
        c' = clip(c', -cell_clip, cell_clip)               # only with cell_clip > 0
        h' = tanh(c') * sigmoid(o + w_o_diag * c')         # the new, clipped c'
        output = h';  state = LSTMStateTuple(c', h')

    Args:
        num_units: int, number of units H.
        forget_bias: float added to the forget gate; default 1.0.
        cell_clip: optional float; clips `c'` when above 0.
        use_peephole: bool, add diagonal peephole connections (TF1's spelling).
        dtype: Keras dtype of the weights and computation.
        reuse: accepted for TF1 compatibility; no effect in TF2.
        name: the TF1 scope name; default `lstm_cell`, as in TF1.
        **kwargs: other `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `[B, D]`.
        state: `LSTMStateTuple(c, h)`, each `[B, H]`.

    Attributes:
        kernel: `[D + H, 4H]`; rows `x` then `h`; columns i, j, f, o.
        bias: `[4H]`, zeros.
        w_i_diag, w_f_diag, w_o_diag: `[H]` each, with `use_peephole`.

    Example:

    >>> import numpy as np
    >>> import tfrnn
    >>> cell = tfrnn.LSTMBlockCell(3, use_peephole=True, cell_clip=0.0)
    >>> output, state = cell(np.ones((2, 5), "float32"), cell.zero_state(2, "float32"))
    >>> list(tfrnn.tf1_variable_names(cell)), cell.cell_clip
    (['rnn/lstm_cell/kernel', 'rnn/lstm_cell/bias', 'rnn/lstm_cell/w_i_diag', 'rnn/lstm_cell/w_f_diag', 'rnn/lstm_cell/w_o_diag'], None)
    """

    keras_equivalent = "LSTMCell"
    clip_passes_gradient = True

    def __init__(
        self, num_units: int, forget_bias: float = 1.0, cell_clip: float | None = None, use_peephole: bool = False,
        dtype: DType | None = None, reuse: bool | None = None, name: str = "lstm_cell", **kwargs: Any,
    ) -> None:
        if cell_clip is not None:
            cell_clip = number_arg(type(self).__name__, "cell_clip", cell_clip, CLIP + " (TF1: 0 or below is none)")
        clip = cell_clip if cell_clip is not None and cell_clip > 0 else None  # TF1: <= 0 is off
        super().__init__(
            num_units, use_peepholes=use_peephole, cell_clip=clip, forget_bias=forget_bias,
            name=name, dtype=dtype, **kwargs,
        )
        self.use_peephole = bool(use_peephole)

    @classmethod
    def tf1_options(cls, shapes: Mapping[str, Sequence[int]], inner: Cell | None = None) -> dict[str, Any]:
        bias = shapes.get("bias")
        return {"num_units": bias[-1] // 4 if bias else 0, "use_peephole": "w_i_diag" in shapes}

    def tf1_layout(self, input_depth: int) -> list[Weight]:
        units = self.num_units
        layout = [Weight("kernel", (input_depth + units, 4 * units)), Weight("bias", (4 * units,), "zeros")]
        if self.use_peepholes:  # TF1 creates them in this order: i, f, o
            layout += [Weight(diag, (units,)) for diag in ("w_i_diag", "w_f_diag", "w_o_diag")]
        return layout
