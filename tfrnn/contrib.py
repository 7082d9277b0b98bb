"""`tf.contrib.rnn`'s extras: `OutputProjectionWrapper`, `InputProjectionWrapper`,
`EmbeddingWrapper` and `LayerNormBasicLSTMCell`, checked against TF 1.15.

Unlike the core wrappers, TF1's contrib wrappers open a variable scope: their
weights and the wrapped cell's sit under `output_projection_wrapper/` (and
`input_projection_wrapper/`, `embedding_wrapper/`), e.g.
`rnn/output_projection_wrapper/kernel` beside
`rnn/output_projection_wrapper/lstm_cell/kernel`.
"""

import math

import keras
from keras import ops

from tfrnn.base import LSTMStateTuple, RNNCell
from tfrnn.wrappers import CellWrapper, build_wrapped

# tf.contrib.layers.layer_norm's variance epsilon (1e-3 in float16).
LAYER_NORM_EPSILON = 1e-12
_NORM_SCOPES = ("input", "transform", "forget", "output", "state")


def linear(x, kernel, bias, activation=None):
    """TF1's `_Linear`: `activation(x @ kernel + bias)`, no activation when None."""
    y = ops.matmul(x, kernel) + bias
    return y if activation is None else activation(y)


def layer_norm(x, gamma, beta, epsilon=LAYER_NORM_EPSILON):
    """`tf.contrib.layers.layer_norm` over the last axis (population variance)."""
    mean = ops.mean(x, axis=-1, keepdims=True)
    variance = ops.mean(ops.square(x - mean), axis=-1, keepdims=True)
    return (x - mean) * ops.rsqrt(variance + epsilon) * gamma + beta


def layer_norm_lstm_step(gate_inputs, c, forget_bias, activation, norms=None, epsilon=LAYER_NORM_EPSILON, dropout=None):
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
        i, j, f, o = (layer_norm(g, *norms[scope], epsilon) for g, scope in zip((i, j, f, o), _NORM_SCOPES))
    g = activation(j)
    if dropout is not None:
        g = dropout(g)
    new_c = c * ops.sigmoid(f + forget_bias) + ops.sigmoid(i) * g
    if norms:
        new_c = layer_norm(new_c, *norms["state"], epsilon)
    return new_c, activation(new_c) * ops.sigmoid(o)


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

    def __init__(self, cell, output_size, activation=None, reuse=None, **kwargs):
        if output_size < 1:
            raise ValueError(
                f"Parameter output_size must be > 0: {output_size}. It is the depth of "
                "the projected output, e.g. the vocabulary size for logits."
            )
        super().__init__(cell, **kwargs)
        self.projection_size = int(output_size)
        self.activation = keras.activations.get(activation) if activation else None

    @property
    def output_size(self):
        return self.projection_size

    def build(self, input_shape):
        super().build(input_shape)
        shape = (self.cell.output_size, self.projection_size)
        self.kernel = self.add_weight(shape=shape, initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=shape[1:], initializer="zeros", name="bias")

    def call(self, inputs, state):
        self._build_for_step(inputs, state)
        output, new_state = self.cell(inputs, state)
        return linear(output, self.kernel, self.bias, self.activation), new_state

    def get_config(self):
        config = super().get_config()
        config.update(output_size=self.projection_size, activation=_serialize(self.activation))
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

    def __init__(self, cell, num_proj, activation=None, input_size=None, reuse=None, **kwargs):
        if num_proj < 1:
            raise ValueError(f"Parameter num_proj must be > 0: {num_proj}. It is the depth the inputs are projected to.")
        super().__init__(cell, **kwargs)
        self.num_proj = int(num_proj)
        self.activation = keras.activations.get(activation) if activation else None

    def build(self, input_shape):
        depth = self._set_input_depth(input_shape)
        self.kernel = self.add_weight(shape=(depth, self.num_proj), initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(self.num_proj,), initializer="zeros", name="bias")
        build_wrapped(self.cell, self.num_proj)

    def call(self, inputs, state):
        self._build_for_step(inputs, state)
        return self.cell(linear(inputs, self.kernel, self.bias, self.activation), state)

    def get_config(self):
        config = super().get_config()
        config.update(num_proj=self.num_proj, activation=_serialize(self.activation))
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

    def __init__(self, cell, embedding_classes, embedding_size, initializer=None, reuse=None, **kwargs):
        if embedding_classes <= 0 or embedding_size <= 0:
            raise ValueError(
                f"Both embedding_classes and embedding_size must be > 0: {embedding_classes}, "
                f"{embedding_size}. Pass the number of ids and the embedding depth."
            )
        super().__init__(cell, **kwargs)
        self.embedding_classes, self.embedding_size = int(embedding_classes), int(embedding_size)
        sqrt3 = math.sqrt(3)  # U(-sqrt(3), sqrt(3)) has variance 1
        self.initializer = keras.initializers.get(initializer or keras.initializers.RandomUniform(-sqrt3, sqrt3))

    def __call__(self, inputs, state, *args, **kwargs):
        return super().__call__(self._ids(inputs), state, *args, **kwargs)

    def build(self, input_shape):
        self._set_input_depth(input_shape)
        shape = (self.embedding_classes, self.embedding_size)
        self.embedding = self.add_weight(shape=shape, initializer=self.initializer, name="embedding")
        build_wrapped(self.cell, self.embedding_size)

    def call(self, inputs, state):
        ids = self._ids(inputs)
        self._build_for_step(ids, state)
        embedded = ops.take(self.embedding, ops.reshape(ids, (-1,)), axis=0)  # [B, E]
        return self.cell(embedded, state)

    def _ids(self, inputs):
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

    def get_config(self):
        config = super().get_config()
        config.update(
            embedding_classes=self.embedding_classes, embedding_size=self.embedding_size,
            initializer=keras.initializers.serialize(self.initializer),
        )
        return config


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
        self, num_units, forget_bias=1.0, input_size=None, activation=None, layer_norm=True,
        norm_gain=1.0, norm_shift=0.0, dropout_keep_prob=1.0, dropout_prob_seed=None,
        reuse=None, name=None, dtype=None, **kwargs,
    ):
        if not 0.0 <= float(dropout_keep_prob) <= 1.0:
            raise ValueError(
                f"Parameter dropout_keep_prob must be between 0 and 1. Received "
                f"{dropout_keep_prob}. It is the probability to keep a value (1.0 = no dropout)."
            )
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.num_units = num_units
        self.forget_bias = forget_bias
        self.activation = keras.activations.get(activation or "tanh")
        self.layer_norm = layer_norm
        self.norm_gain, self.norm_shift = norm_gain, norm_shift
        self.dropout_keep_prob = float(dropout_keep_prob)
        self.dropout_prob_seed = dropout_prob_seed
        self.seed_generator = keras.random.SeedGenerator(dropout_prob_seed) if self.dropout_keep_prob < 1.0 else None
        if layer_norm:
            self.norms = {scope: self._norm_weights(scope) for scope in _NORM_SCOPES}

    def _norm_weights(self, scope):
        """A sublayer that only holds TF1's `<scope>/gamma` and `<scope>/beta`."""
        return keras.layers.LayerNormalization(
            gamma_initializer=keras.initializers.Constant(self.norm_gain),
            beta_initializer=keras.initializers.Constant(self.norm_shift),
            name=scope, dtype=self.dtype_policy,
        )

    @property
    def state_size(self):
        return LSTMStateTuple(self.num_units, self.num_units)

    @property
    def output_size(self):
        return self.num_units

    def build(self, input_shape):
        depth = self._set_input_depth(input_shape)
        units = self.num_units
        self.kernel = self.add_weight(shape=(depth + units, 4 * units), initializer="glorot_uniform", name="kernel")
        if self.layer_norm:
            for norm in self.norms.values():
                norm.build((None, units))
        else:
            # TF1 made this bias with get_variable and no initializer: glorot-uniform, not zeros.
            self.bias = self.add_weight(shape=(4 * units,), initializer="glorot_uniform", name="bias")

    def call(self, inputs, state, training=None):
        self._build_for_step(inputs, state)
        c, h = state
        gate_inputs = ops.matmul(ops.concatenate([inputs, h], axis=-1), self.kernel)  # [B, 4H]
        norms = None
        if self.layer_norm:
            # LayerNormalization keeps its weights out of Keras' autocast: cast them
            # to the compute dtype, or mixed precision mixes float16 with float32.
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

    def _dropout(self, training):
        """The candidate's dropout for this step, or None (not training, or keep 1.0)."""
        if not training or self.seed_generator is None:
            return None
        rate = 1.0 - self.dropout_keep_prob
        return lambda g: keras.random.dropout(g, rate=rate, seed=self.seed_generator)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_units=self.num_units, forget_bias=self.forget_bias,
            activation=_serialize(self.activation), layer_norm=self.layer_norm,
            norm_gain=self.norm_gain, norm_shift=self.norm_shift,
            dropout_keep_prob=self.dropout_keep_prob, dropout_prob_seed=self.dropout_prob_seed,
        )
        return config


def _serialize(activation):
    return None if activation is None else keras.activations.serialize(activation)
