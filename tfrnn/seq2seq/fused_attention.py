"""A fused loop for the common attention decoder, with a hand-written gradient.

Teacher-forced training runs `AttentionWrapper(LSTM, Bahdanau or Luong,
attention_layer_size=...)` over known inputs. Autodiff through its
`tf.while_loop` runs every backward product per step, accumulates every
weight gradient per step (and the keys' and values' `[batch, memory_time,
depth]` gradients), and, under XLA, saves the weights read in every step. As
in `tfrnn/fused.py`, the loop here saves only what its backward reads; the
backward loop does only what must be sequential (the chained products, with
the weights transposed once before it, and the score's and softmax's
gradients); every weight gradient is one GEMM over all steps after it:
`dW = X_all^T @ dZ_all`.

One step (the attention wrapper's equations, for one mechanism with an
attention layer `W_a` and the default `cell_input_fn`):

    z        = [x, a_prev, h] @ kernel + bias           (forget_bias in the f block)
    c', h'   = LSTM(z, c)
    score    = sum_u v[u] tanh(keys[:, u] + (h' @ W_q)[u])   Bahdanau
                 (normalised: g v / ||v||, and keys + b)
             = g * (h' . keys[t])                            Luong (g = 1 unscaled)
    alpha    = softmax(score, padded memory -inf)
    context  = alpha @ values
    a        = [h', context] @ W_a;  output a (or h' with output_attention=False)

The normalised Bahdanau vector `g v / ||v||`, its bias `b` (added to the
keys) and Luong's scale (multiplied into the keys) are applied before the
loop, outside the hand-written gradient: autodiff takes them from there, as
it takes the keys and values back to the memory and `memory_layer`.

Which configurations run here is `eligible` (exact classes and default
functions only; anything else runs the attention wrapper step by step).
Two loops take it: `dynamic_rnn` (`loop_for`, the same seam as
`tfrnn/fused.py`'s) and `dynamic_decode` over exactly a `BasicDecoder` with a
`TrainingHelper` (`decode`), each with its padding semantics kept: rows past
their length are frozen (state copied through, output zero) in `dynamic_rnn`
and in `dynamic_decode(impute_finished=True)`; without `impute_finished`
every row steps until the last row ends. `tests/test_seq2seq_fused_attention.py`
proves values and gradients equal the step-by-step path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfrnn.base import Nested, Tensor
from tfrnn.cells import BasicLSTMCell, LSTMCell, lstm_step
from tfrnn.loop_kit import clean_padding, finished_steps, scan, scan_backward, zero_where
from tfrnn.seq2seq.attention import BahdanauAttention, LuongAttention, _probability_function
from tfrnn.seq2seq.attention_wrapper import AttentionWrapper, AttentionWrapperState

__all__ = ["decode", "eligible", "loop_for"]


# ----- eligibility ---------------------------------------------------------------------------------


def eligible(cell: Any) -> bool:
    """Whether `cell` is an attention wrapper whose step the fused loop computes exactly.

    Exactly an `AttentionWrapper` (no subclass) with: a `BasicLSTMCell`, or an
    `LSTMCell` without peepholes, clipping or projection, tanh activation;
    one `BahdanauAttention` (either `normalize`) or `LuongAttention` (either
    `scale`) with its memory set up, default `probability_fn` (softmax),
    `score_mask_value` and no `custom_key_value_fn`; `attention_layer_size`
    given; default `cell_input_fn` and `attention_fn`; no
    `alignment_history`; float32 throughout.
    """
    if type(cell) is not AttentionWrapper or cell._is_multi or len(cell.attention_mechanisms) != 1:
        return False
    if cell._attention_layer_sizes is None or cell._cell_input_fn is not None or cell._attention_fn is not None:
        return False
    if cell._alignment_history:
        return False
    parts = (cell, cell.cell, cell.attention_mechanisms[0], cell.attention_layers[0])  # type: ignore[index]
    return (_plain_lstm(cell.cell) and _plain_mechanism(cell.attention_mechanisms[0])
            and all(_float32(part) for part in parts))


def _plain_lstm(cell: Any) -> bool:
    if type(cell) not in (BasicLSTMCell, LSTMCell) or cell.activation is not keras.activations.tanh:
        return False
    return type(cell) is BasicLSTMCell or not (cell.use_peepholes or cell.cell_clip is not None or cell.num_proj)


def _plain_mechanism(mechanism: Any) -> bool:
    if type(mechanism) not in (BahdanauAttention, LuongAttention) or mechanism.memory is None:
        return False
    softmax = _probability_function(mechanism._probability_name) is tf.nn.softmax
    return softmax and mechanism._score_mask_value is None and mechanism._custom_key_value_fn is None


def _float32(layer: Any) -> bool:
    policy = layer.dtype_policy
    return policy.compute_dtype == "float32" and policy.variable_dtype == "float32"


# ----- the two loops that take it ---------------------------------------------------------------------


def loop_for(cell: Any, inputs: Nested) -> Callable[..., tuple[Tensor, Nested]] | None:
    """The fused loop for `dynamic_rnn`, as `tfrnn.fused.loop_for` gives one: called as
    `run(inputs [T, B, D], state, lengths, training=None)`; None when `cell` is not `eligible`.

    The caller has checked the arguments, built the cell and selected zeros for
    the padding of the inputs and the initial state of zero-length rows.
    Outputs past a row's length are zeros and its state is copied through;
    `time` counts every step.
    """
    if not isinstance(inputs, tf.Tensor) or inputs.dtype != tf.float32 or not eligible(cell):
        return None

    def run(inputs: Tensor, state: Nested, lengths: Tensor | None, training: bool | None = None) -> tuple[Tensor, Nested]:
        outputs, final_state = _attention_sequence(cell, inputs, state, lengths)
        if lengths is not None:
            outputs = zero_where(finished_steps(lengths, tf.shape(inputs)[0]), outputs)
        return outputs, final_state._replace(time=state.time + tf.shape(inputs)[0])

    return run


def decode(
    cell: Any, inputs: Tensor, lengths: Tensor, state: Nested, impute_finished: bool,
    maximum_iterations: Tensor | None, fixed_size: bool,
) -> tuple[Tensor, Nested, Tensor, Tensor]:
    """`dynamic_decode`'s loop for a `TrainingHelper`: `(cell outputs, final state, lengths, steps)`.

    `inputs` are the helper's, time-major `[T, B, D]` (a static `T >= 1`),
    `lengths` its `sequence_length`. The loop runs `steps = min(max(lengths),
    maximum_iterations)` steps, TF1's: row `b`'s length is `min(lengths[b],
    steps)`. With `impute_finished` a row is frozen from its length on (zero
    outputs, state copied through); without, every row steps `steps` times.
    The outputs have `steps` steps, or `maximum_iterations` under XLA
    (`fixed_size`, zeros past `steps`), as `dynamic_decode`'s arrays have.
    """
    time_steps = inputs.shape[0]
    steps = tf.maximum(tf.reduce_max(tf.concat([lengths, [0]], 0)), 0)
    if maximum_iterations is not None:
        steps = tf.minimum(steps, tf.maximum(maximum_iterations, 0))
    final_lengths = tf.minimum(lengths, steps)
    active = final_lengths if impute_finished else tf.fill(tf.shape(lengths), steps)
    # Steps past `steps` never ran in TF1's loop: no padding read there reaches a gradient.
    never_run = tf.broadcast_to(tf.range(time_steps)[:, None] >= steps, tf.shape(inputs)[:2])
    outputs, final_state = _attention_sequence(cell, clean_padding(never_run, inputs), state, active)
    # Zeros where TF1's loop emitted them: dynamic_decode's projection relies on them (`_keeps_zeros`).
    outputs = zero_where(finished_steps(active, time_steps), outputs)
    if fixed_size:
        size = tf.convert_to_tensor(maximum_iterations)
        outputs = tf.pad(outputs, [[0, tf.maximum(size - time_steps, 0)], [0, 0], [0, 0]])[:size]
    else:
        outputs = outputs[:steps]
    return outputs, final_state._replace(time=state.time + steps), final_lengths, steps


# ----- the sequence ------------------------------------------------------------------------------------


def _attention_sequence(cell: Any, inputs: Tensor, state: Nested, active: Tensor | None) -> tuple[Tensor, Nested]:
    """Runs the wrapper over `inputs [T, B, D]`; row `b` is frozen from step `active[b]` on
    (None: never). Returns the raw outputs `[T, B, output_size]` (frozen steps not zeroed)
    and the final state (its `time` as given)."""
    lstm, mechanism, layer = cell.cell, cell.attention_mechanisms[0], cell.attention_layers[0]
    prepared = mechanism._prepared()
    score = _Bahdanau(mechanism) if isinstance(mechanism, BahdanauAttention) else _Luong(mechanism)
    keys, score_weights = score.inputs(prepared.keys)
    kernel, bias = (tf.cast(w, tf.float32) for w in (lstm.kernel, lstm.bias))
    bias = bias + _forget_block(bias, lstm.forget_bias)
    frozen = None if active is None else finished_steps(active, tf.shape(inputs)[0])[:, :, None]
    c0, h0 = state.cell_state
    h0 = cell._checked_query(h0)  # the memory's batch is the state's: TF1's error, as the step gives it
    sequence = _sequence(score, prepared.mask, frozen, inputs.shape[-1])
    attentions, hs, alphas, c, h, a = sequence(
        inputs, c0, h0, state.attention, keys, prepared.values, kernel, bias, tf.cast(layer.kernel, tf.float32),
        *score_weights)
    alignments, attention_state = (_last_alignments(alphas, active, initial)
                                   for initial in (state.alignments, state.attention_state))
    final_state = AttentionWrapperState(
        cell_state=tf.nest.pack_sequence_as(state.cell_state, [c, h]), attention=a, time=state.time,
        alignments=alignments, alignment_history=state.alignment_history, attention_state=attention_state)
    return (attentions if cell._output_attention else hs), final_state


def _forget_block(bias: Tensor, forget_bias: float) -> Tensor:
    """`[0, 0, forget_bias, 0]` per gate block, shaped like `bias` `[4H]`."""
    units = bias.shape[0] // 4
    return tf.concat([tf.zeros([2 * units]), tf.fill([units], forget_bias), tf.zeros([units])], 0)


def _last_alignments(alphas: Tensor, active: Tensor | None, initial: Tensor) -> Tensor:
    """Each row's alignments after its last active step; the initial ones for a row never stepped."""
    if active is None:
        return alphas[-1]
    last = tf.gather(tf.transpose(alphas, [1, 0, 2]), tf.maximum(active - 1, 0), axis=1, batch_dims=1)
    return tf.where((active > 0)[:, None], last, initial)


def _sequence(score: Any, mask: Tensor | None, frozen: Tensor | None, depth: int) -> Callable[..., Sequence[Tensor]]:
    """The loop with its hand-written gradient, over
    `(inputs, c0, h0, a0, keys, values, kernel, bias, w_attention, *score_weights)`;
    returns `(attentions, hs, alphas [T, B, ...], c_T, h_T, a_T)`."""

    @tf.custom_gradient
    def sequence(inputs, c0, h0, a0, keys, values, kernel, bias, w_attention, *score_weights):
        weights = _Weights(keys, values, kernel, bias, w_attention, score_weights, mask)
        saved, (c, h, a) = _forward(score, weights, inputs, c0, h0, a0, frozen)

        def grad(d_attentions, d_hs, d_alphas, d_c, d_h, d_a):
            upstream = [_or_zeros(d, like) for d, like in
                        zip((d_attentions, d_hs, d_alphas, d_c, d_h, d_a), (saved.a_new, saved.h_new, saved.alpha, c, h, a))]
            return _backward(score, weights, inputs, saved, frozen, depth, *upstream)

        return (saved.a_new, saved.h_new, saved.alpha, c, h, a), grad

    return sequence


def _or_zeros(gradient: Tensor | None, like: Tensor) -> Tensor:
    return tf.zeros_like(like) if gradient is None else gradient


class _Weights:
    """What the steps read, as tensors (the step's inputs from outside the loop)."""

    def __init__(self, keys: Tensor, values: Tensor, kernel: Tensor, bias: Tensor, w_attention: Tensor,
                 score_weights: Sequence[Tensor], mask: Tensor | None) -> None:
        self.keys, self.values, self.kernel, self.bias = keys, values, kernel, bias
        self.w_attention, self.score_weights, self.mask = w_attention, list(score_weights), mask


class _Saved:
    """What the forward writes for the backward, `[T, B, ...]` each."""

    def __init__(self, written: Sequence[Tensor]) -> None:
        self.z, self.c_prev, self.h_prev, self.a_prev, self.h_new, self.a_new, self.alpha, self.context = written[:8]
        self.query: Tensor = written[8] if len(written) > 8 else None  # Bahdanau's processed query


def _forward(
    score: Any, weights: _Weights, inputs: Tensor, c0: Tensor, h0: Tensor, a0: Tensor, frozen: Tensor | None,
) -> tuple[_Saved, tuple[Tensor, Tensor, Tensor]]:
    """The forward loop: the final `(c, h, a)` and, for every step, what the backward reads."""
    neg_inf = tf.constant(-np.inf, tf.float32)
    units = h0.shape[-1]
    w_attention_h, w_attention_context = weights.w_attention[:units], weights.w_attention[units:]  # sliced once

    def step(t, c, h, a):
        z = tf.matmul(tf.concat([inputs[t], a, h], -1), weights.kernel) + weights.bias
        c_new, h_new = lstm_step(z, c, 0.0, tf.tanh)
        scores, query = score.forward(h_new, weights)
        if weights.mask is not None:
            scores = tf.where(weights.mask, scores, neg_inf)
        alpha = tf.nn.softmax(scores)
        context = tf.squeeze(tf.matmul(alpha[:, None], weights.values), 1)  # [B, 1, M] x [B, M, V]
        # [h', context] @ W_a as two products: h' @ W_a[:H] runs beside the score, not after it.
        a_new = tf.matmul(h_new, w_attention_h) + tf.matmul(context, w_attention_context)
        written = [z, c, h, a, h_new, a_new, alpha, context] + ([] if query is None else [query])
        if frozen is not None:
            done = frozen[t]
            c_new, h_new, a_new = tf.where(done, c, c_new), tf.where(done, h, h_new), tf.where(done, a, a_new)
        return written, (c_new, h_new, a_new)

    count = 9 if score.has_query else 8
    written, final = scan(step, tf.shape(inputs)[0], (c0, h0, a0), count)
    return _Saved(written), (final[0], final[1], final[2])


def _backward(
    score: Any, weights: _Weights, inputs: Tensor, saved: _Saved, frozen: Tensor | None, depth: int,
    d_attentions: Tensor, d_hs: Tensor, d_alphas: Tensor, d_c: Tensor, d_h: Tensor, d_a: Tensor,
) -> list[Tensor]:
    """The gradients of `_sequence`'s inputs: the backward loop, then one GEMM per weight."""
    step = _backward_step(score, weights, saved, frozen, depth, d_attentions, d_hs, d_alphas)
    written, (dc0, dh0, da0, *accumulated) = scan_backward(
        step, tf.shape(inputs)[0], (d_c, d_h, d_a, *score.accumulators(weights)))
    return _after_the_loop(score, weights, inputs, saved, depth, written, accumulated, dc0, dh0, da0)


def _backward_step(
    score: Any, weights: _Weights, saved: _Saved, frozen: Tensor | None, depth: int,
    d_attentions: Tensor, d_hs: Tensor, d_alphas: Tensor,
) -> Callable[..., tuple[Tensor, tuple[Tensor, ...]]]:
    """One step back: carries `(dc, dh, da, *score accumulators)` from step `t + 1` to `t` and
    writes `[dz, d_a_new, d_context, the score's write]` for the weight gradients."""
    units, attention_depth = d_hs.shape[-1], d_attentions.shape[-1]
    w_attention_h_t = tf.transpose(weights.w_attention[:units])  # [A, H], once
    w_attention_context_t = tf.transpose(weights.w_attention[units:])  # [A, V], once
    w_recurrent_t = tf.transpose(weights.kernel[depth:])  # [4H, A + H], once
    score_t = score.transposed(weights)

    def step(t, dc, dh, da, *accumulated):
        done = None if frozen is None else frozen[t]
        dc, keep_c = _split_frozen(done, dc)
        dh, keep_h = _split_frozen(done, dh)
        da, keep_a = _split_frozen(done, da)
        d_a_new = da + d_attentions[t]
        d_context = tf.matmul(d_a_new, w_attention_context_t)  # first: the score's gradient waits for it
        dh_attention = tf.matmul(d_a_new, w_attention_h_t)
        d_alpha = tf.squeeze(tf.matmul(weights.values, d_context[:, :, None]), 2) + d_alphas[t]  # [B, M]
        alpha = saved.alpha[t]
        d_scores = alpha * (d_alpha - tf.reduce_sum(alpha * d_alpha, -1, keepdims=True))
        dh_score, score_written, accumulated = score.backward(t, d_scores, saved, weights, score_t, accumulated)
        d_h_new = dh + d_hs[t] + dh_attention + dh_score
        dz, dc_prev = _lstm_step_grad(saved.z[t], saved.c_prev[t], dc, d_h_new)
        d_recurrent = tf.matmul(dz, w_recurrent_t)
        carry = (keep_c + dc_prev, keep_h + d_recurrent[:, attention_depth:], keep_a + d_recurrent[:, :attention_depth])
        return tf.concat([dz, d_a_new, d_context, score_written], -1), (*carry, *accumulated)

    return step


def _after_the_loop(
    score: Any, weights: _Weights, inputs: Tensor, saved: _Saved, depth: int, written: Tensor,
    accumulated: Sequence[Tensor], dc0: Tensor, dh0: Tensor, da0: Tensor,
) -> list[Tensor]:
    """Every gradient, in `_sequence`'s argument order, from what the backward loop wrote."""
    units, attention_depth = dh0.shape[-1], da0.shape[-1]
    dz, d_a_new, d_context, score_written = tf.split(
        written, [4 * units, attention_depth, weights.values.shape[-1], -1], axis=-1)
    d_inputs = tf.reshape(tf.matmul(_rows(dz), weights.kernel[:depth], transpose_b=True), tf.shape(inputs))
    # The bias's gradient as one more row of the kernel's GEMM: XLA:CPU sums [T * B, 4H] over rows slowly.
    ones = tf.ones_like(saved.h_prev[..., :1])
    d_kernel_bias = _outer(tf.concat([inputs, saved.a_prev, saved.h_prev, ones], -1), dz)
    d_w_attention = _outer(tf.concat([saved.h_new, saved.context], -1), d_a_new)
    d_values = tf.einsum("tbm,tbv->bmv", saved.alpha, d_context)
    d_keys, d_score_weights = score.weight_grads(score_written, saved, accumulated)
    return [d_inputs, dc0, dh0, da0, d_keys, d_values, d_kernel_bias[:-1], d_kernel_bias[-1], d_w_attention,
            *d_score_weights]


def _split_frozen(done: Tensor | None, d: Tensor) -> tuple[Tensor, Tensor]:
    """A carried gradient as `(what reaches the step's new value, what passes a frozen row to the old)`."""
    if done is None:
        return d, tf.zeros_like(d)
    zero = tf.zeros_like(d)
    return tf.where(done, zero, d), tf.where(done, d, zero)


def _lstm_step_grad(z: Tensor, c_prev: Tensor, dc: Tensor, dh: Tensor) -> tuple[Tensor, Tensor]:
    """`(dz, dc_prev)` of one LSTM step from its pre-activations `z` (forget bias in)."""
    i, j, f, o = tf.split(z, 4, axis=-1)
    i, j, f, o = tf.sigmoid(i), tf.tanh(j), tf.sigmoid(f), tf.sigmoid(o)
    tanh_c = tf.tanh(c_prev * f + i * j)
    dc = dc + _tanh_grad(tanh_c, dh * o)
    dz = tf.concat([_sigmoid_grad(i, dc * j), _tanh_grad(j, dc * i), _sigmoid_grad(f, dc * c_prev),
                    _sigmoid_grad(o, dh * tanh_c)], -1)
    return dz, dc * f


def _sigmoid_grad(y: Tensor, dy: Tensor) -> Tensor:
    return tf.raw_ops.SigmoidGrad(y=y, dy=dy)


def _tanh_grad(y: Tensor, dy: Tensor) -> Tensor:
    return tf.raw_ops.TanhGrad(y=y, dy=dy)


def _rows(x: Tensor) -> Tensor:
    """`[T, B, N] -> [T * B, N]`."""
    return tf.reshape(x, [-1, x.shape[-1]])


def _outer(activations: Tensor, d: Tensor) -> Tensor:
    """`A_all^T @ dZ_all` over every step and row: a weight gradient `[A, N]`."""
    return tf.matmul(_rows(activations), _rows(d), transpose_a=True)


# ----- the two scores ---------------------------------------------------------------------------------


class _Bahdanau:
    """`score = sum_u v[u] tanh(keys[:, u] + (h' @ W_q)[u])`, the keys holding `b` when normalised."""

    has_query = True

    def __init__(self, mechanism: BahdanauAttention) -> None:
        self.mechanism = mechanism

    def inputs(self, keys: Tensor) -> tuple[Tensor, list[Tensor]]:
        """`(keys, [W_q, v])` for the loop, with the normalisation applied."""
        m = self.mechanism
        v = tf.cast(m.attention_v, tf.float32)
        if m._normalize:
            keys = keys + tf.cast(m.attention_b, tf.float32)
            v = tf.cast(m.attention_g, tf.float32) * v * tf.math.rsqrt(tf.reduce_sum(tf.square(v)))
        return keys, [tf.cast(m.query_layer.kernel, tf.float32), v]

    def forward(self, h: Tensor, weights: _Weights) -> tuple[Tensor, Tensor]:
        w_query, v = weights.score_weights
        query = tf.matmul(h, w_query)
        return tf.reduce_sum(v * tf.tanh(weights.keys + query[:, None]), 2), query

    def transposed(self, weights: _Weights) -> Tensor:
        return tf.transpose(weights.score_weights[0])  # W_q^T [U, H], once

    def accumulators(self, weights: _Weights) -> list[Tensor]:
        """The keys' gradient and v's per key, `[B, M, U]`, summed over the steps in the backward loop."""
        return [tf.zeros_like(weights.keys), tf.zeros_like(weights.keys)]

    def backward(self, t: Tensor, d_scores: Tensor, saved: _Saved, weights: _Weights, w_query_t: Tensor,
                 accumulated: Sequence[Tensor]) -> tuple[Tensor, Tensor, list[Tensor]]:
        d_keys, d_v = accumulated
        v = weights.score_weights[1]
        e = tf.tanh(weights.keys + saved.query[t][:, None])  # [B, M, U], recomputed
        # The query's gradient is not read from the keys' (the same values): so neither is
        # written out, each is fused with its own pass over e.
        d_query = v * tf.reduce_sum(d_scores[:, :, None] * (1.0 - e * e), 1)  # [B, U]
        d_keys = d_keys + _tanh_grad(e, d_scores[:, :, None] * v)
        # v's gradient summed over batch and memory once, after the loop: per step, XLA:CPU
        # lowers that [1, B * M] x [B * M, U] product to a slow loop.
        d_v = d_v + d_scores[:, :, None] * e
        return tf.matmul(d_query, w_query_t), d_query, [d_keys, d_v]

    def weight_grads(self, d_query: Tensor, saved: _Saved, accumulated: Sequence[Tensor]) -> tuple[Tensor, list[Tensor]]:
        d_keys, d_v = accumulated
        return d_keys, [_outer(saved.h_new, d_query), tf.reduce_sum(d_v, [0, 1])]


class _Luong:
    """`score = h' . keys[t]`, the keys scaled by `g` when `scale`."""

    has_query = False

    def __init__(self, mechanism: LuongAttention) -> None:
        self.mechanism = mechanism

    def inputs(self, keys: Tensor) -> tuple[Tensor, list[Tensor]]:
        if self.mechanism._scale:
            keys = tf.cast(self.mechanism.attention_g, tf.float32) * keys
        return keys, []

    def forward(self, h: Tensor, weights: _Weights) -> tuple[Tensor, None]:
        return tf.squeeze(tf.matmul(h[:, None], weights.keys, transpose_b=True), 1), None  # [B, 1, U] x [B, U, M]

    def transposed(self, weights: _Weights) -> None:
        return None

    def accumulators(self, weights: _Weights) -> list[Tensor]:
        return []

    def backward(self, t: Tensor, d_scores: Tensor, saved: _Saved, weights: _Weights, unused: None,
                 accumulated: Sequence[Tensor]) -> tuple[Tensor, Tensor, list[Tensor]]:
        return tf.squeeze(tf.matmul(d_scores[:, None], weights.keys), 1), d_scores, []

    def weight_grads(self, d_scores: Tensor, saved: _Saved, accumulated: Sequence[Tensor]) -> tuple[Tensor, list[Tensor]]:
        return tf.einsum("tbm,tbu->bmu", d_scores, saved.h_new), []
