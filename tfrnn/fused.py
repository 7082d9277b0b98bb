"""Fused sequence loops for LSTM and GRU cells, with hand-written gradients.

Autodiff through a `tf.while_loop` costs tens of microseconds per step and
keeps every intermediate; on CPU that, not the matrix products, dominates the
backward pass. Here the backward loop only
does what must be sequential (gate derivatives and `dz @ W_h^T`); the
weight-gradient products run once after the loop, over all steps at once:
`dW = X_all^T @ dZ_all`.

From a size on (`_per_gate`, `_gru_split`) a step splits its products:
an LSTM multiplies `[x_t, h]` by each gate's block of the kernel apart, a
GRU runs r, u and two halves of the candidate apart. Independent products
keep two or more cores busy where one wide product does not.

The forward saves the gates its backward reads only under a gradient tape
(`_could_record`); without one, a gradient asked for later recomputes them
from the saved states with one GEMM per weight over all steps.

The forward steps reuse the cells' own step functions (`lstm_step`,
`gru_gates`, `gru_update`, with pre-split weights), and the loop kit's
copy-through keeps TF1's padding semantics: rows past their length emit
zeros and carry their state. The caller (`rnn.run_dynamic`) has already
selected zeros for the padding of the inputs and for the initial state of
zero-length rows, so a NaN or inf there reaches neither the forward nor the
weight-gradient products (`X_all^T @ dZ_all`, `h_prev^T @ dZ`), which read
every step and row. Each loop is registered with its eligibility
rule (`fast_loop`); `tests/test_fused.py` proves values and gradients equal
the generic loop in `rnn.py`. What each choice below buys, measured, is in
`benchmarks/README.md`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Union

import keras
import tensorflow as tf

from tfrnn.base import Cell, LSTMStateTuple, Nested, Tensor
from tfrnn.checks import single_state
from tfrnn.cells import BasicLSTMCell, GRUCell, LSTMCell, gru_gates, gru_update, linear, lstm_step
from tfrnn.loop_kit import copy_through, finished_steps, scan, scan_backward, zero_where

# A fused loop: `loop(cell, inputs [T, B, D], state, finished [T, B, 1] or None, training)
# -> (outputs [T, B, H], final state)`.
FastLoop = Callable[[Cell, Tensor, Nested, Union[Tensor, None], Union[bool, None]], tuple[Tensor, Nested]]
# `step_gates(t, h) -> (r, u, c)` of a GRU step.
GateFn = Callable[[Tensor, Tensor], tuple[Tensor, Tensor, Tensor]]


def loop_for(cell: Cell, inputs: Nested) -> Callable[..., tuple[Tensor, Nested]] | None:
    """The fused loop registered for `cell`, or None when the generic loop must run.

    The caller has checked the loop's arguments, built the cell and selected
    zeros for the padding (see `rnn.run_dynamic`). Inputs must be one
    time-major tensor. The loop is called as
    `run(inputs, state, lengths, training=None)`. The forward saves the gates
    its backward needs only when a gradient tape is active and `training` is
    not False (`_could_record`); otherwise it writes only the states, and a
    gradient asked for later recomputes the gates.
    """
    if not isinstance(inputs, tf.Tensor):
        return None
    loop = next((loop for eligible, loop in _FAST_LOOPS if eligible(cell)), None)
    if loop is None:
        return None

    def run(inputs, state, lengths, training=None):
        # Compute in the cell's dtype, as Keras' __call__ would (mixed precision).
        inputs = tf.cast(inputs, cell.compute_dtype)
        state = tf.nest.map_structure(lambda s: tf.cast(s, cell.compute_dtype), state)
        return loop(cell, inputs, state, _finished(lengths, inputs), training)

    return run


_FAST_LOOPS: list[tuple[Callable[[Cell], bool], FastLoop]] = []  # (eligible, loop), in the order registered


def fast_loop(eligible: Callable[[Cell], bool]) -> Callable[[FastLoop], FastLoop]:
    """Registers a fused loop for the cells `eligible(cell)` accepts.

    The rule sits next to the loop it guards. Only exact classes qualify (a
    subclass may change the step), with the math the loop hard-codes.
    """
    def register(loop: FastLoop) -> FastLoop:
        _FAST_LOOPS.append((eligible, loop))
        return loop

    return register


def _plain_lstm(cell: Cell) -> bool:
    """BasicLSTMCell, or LSTMCell without peepholes, clipping or projection; tanh."""
    if type(cell) not in (BasicLSTMCell, LSTMCell) or cell.activation is not keras.activations.tanh:
        return False
    return type(cell) is BasicLSTMCell or not (cell.use_peepholes or cell.cell_clip is not None or cell.num_proj)


def _plain_gru(cell: Cell) -> bool:
    return type(cell) is GRUCell and cell.activation is keras.activations.tanh


# One GEMM per gate from this many `batch * units` on (see `_per_gate`).
PER_GATE_MIN_SIZE = 1024


@fast_loop(_plain_lstm)
def _lstm_loop(
    cell: BasicLSTMCell | LSTMCell, inputs: Tensor, state: Nested, finished: Tensor | None, training: bool | None,
) -> tuple[Tensor, LSTMStateTuple]:
    c, h = state
    kernel, bias = (tf.cast(w, inputs.dtype) for w in (cell.kernel, cell.bias))
    bias = bias + _forget_block(bias, cell.forget_bias)  # once, not once per step
    gates = 4 if _per_gate(inputs.shape[1], kernel.shape[-1] // 4) else 1
    save = training is not False and _could_record()
    outputs, new_c, new_h = _lstm_sequence(inputs, c, h, kernel, bias, finished, gates, save)
    return outputs, LSTMStateTuple(new_c, new_h)


def _per_gate(batch: int | None, units: float) -> bool:
    """Whether each step runs one GEMM per gate instead of one for all gates.

    For an LSTM: four independent `[B, D+H] x [D+H, H]` products run side by side on TF's
    inter-op threads, which uses a multi-core CPU better than one `[B, 4H]`
    product split by the intra-op pool, in `tf.function` and under XLA. For
    tiny products (batch 1 or 2, or 4 x 128 units) the three extra ops cost
    more than they save.
    An unknown batch (a `tf.function` traced with `None`, as `fit` retraces)
    is taken to be a training batch.
    """
    return batch is None or batch * units >= PER_GATE_MIN_SIZE


# A GRU splits its step's products from this many units on, at any batch (see `_gru_split`).
GRU_SPLIT_MIN_UNITS = 256


def _gru_split(batch: int | None, units: int) -> bool:
    """Whether a GRU step runs r, u and the candidate's halves as separate products.

    The GRU's products are narrower than the LSTM's (r, u and half the
    candidate are `H` or `H/2` wide, against four of `H`), so it gains later
    in batch than the LSTM; from 256 units on it pays at any batch under XLA.
    """
    return units >= GRU_SPLIT_MIN_UNITS or _per_gate(batch, units / 4)  # batch * units >= 4 * PER_GATE_MIN_SIZE


def _gate_blocks(kernel: Tensor, bias: Tensor, gates: int) -> list[tuple[Tensor, Tensor]]:
    """`[(kernel block, bias block)]`: the whole GEMM (`gates=1`) or one per gate."""
    return list(zip(tf.split(kernel, gates, axis=1), tf.split(bias, gates)))


@fast_loop(_plain_gru)
def _gru_loop(
    cell: GRUCell, inputs: Tensor, state: Nested, finished: Tensor | None, training: bool | None,
) -> tuple[Tensor, Tensor]:
    weights = (tf.cast(w, inputs.dtype) for w in cell.gru_weights())
    gates_kernel, gates_bias, candidate_kernel, candidate_bias = weights
    split = _gru_split(inputs.shape[1], candidate_kernel.shape[-1])
    save = training is not False and _could_record()
    return _gru_sequence(
        inputs, single_state(state), gates_kernel, gates_bias, candidate_kernel, candidate_bias, finished, split, save
    )


def _could_record() -> bool:
    """Whether a gradient tape is active, so the forward should save its gates.

    Without one (inference, `predict`) the forward writes only the states; if
    a gradient is asked for later (a tape around an already traced
    `tf.function`) the backward recomputes the gates from them, with one or
    two GEMMs over all steps. Both give the same gradients; only the speed
    differs. TensorFlow has no public API for this, so a TensorFlow without
    the private one always saves.
    """
    try:
        from tensorflow.python.eager import record
    except ImportError:  # pragma: no cover - a TensorFlow that moved it
        return True
    return record.could_possibly_record()


def _finished(lengths: Tensor | None, inputs: Tensor) -> Tensor | None:
    """`[T, B, 1]` bool: True where a step is past its row's length; None without lengths."""
    if lengths is None:
        return None
    return finished_steps(lengths, tf.shape(inputs)[0])[:, :, None]


def _carry(finished: Tensor | None, new: Tensor, old: Tensor) -> Tensor:
    """TF1's copy-through of one step (`finished` is that step's `[B, 1]`, or None)."""
    return new if finished is None else copy_through(finished, old, new)


def _zero_finished(finished: Tensor | None, values: Tensor) -> Tensor:
    """`values` with finished steps or rows set to exactly zero (selected, not multiplied)."""
    return values if finished is None else zero_where(finished, values)


def _lstm_forward(
    inputs: Tensor, c0: Tensor, h0: Tensor, kernel: Tensor, bias: Tensor, finished: Tensor | None, save: bool,
    gates: int,
) -> tuple[list[Tensor], tuple[Tensor, Tensor]]:
    """The forward loop. Writes h and the incoming c of every step, and z when `save`.

    Each step computes `[x_t, h] @ kernel` as TF1 did (in `gates` column
    blocks, see `_per_gate`), rather than hoisting `x @ W_x` for all steps
    into one GEMM: XLA:CPU fuses the per-step slice of a hoisted projection
    into the gate math badly, which made it slower.

    The loop carries `[x_t, h]` itself, built at the end of the step before,
    so that under XLA the concatenation (and the read of `x_t`) fuse into the
    gate math instead of running as small steps of their own on the critical
    path.
    """
    blocks = _gate_blocks(kernel, bias, gates)
    time_steps, depth = tf.shape(inputs)[0], inputs.shape[-1]

    def step(t, c, xh):
        h = xh[:, depth:]
        z = [tf.matmul(xh, w) + b for w, b in blocks]  # [B, 4H] in `gates` blocks
        new_c, new_h = lstm_step(z if gates == 4 else z[0], c, 0.0, tf.tanh)
        done = None if finished is None else finished[t]
        new_c, new_h = _carry(done, new_c, c), _carry(done, new_h, h)
        next_x = inputs[tf.minimum(t + 1, time_steps - 1)]  # the last step reads its own x again, unused
        return (new_h, c, *z) if save else (new_h, c), (new_c, tf.concat([next_x, new_h], -1))

    written, (c, xh) = scan(step, time_steps, (c0, tf.concat([inputs[0], h0], -1)), 2 + gates if save else 2)
    return written, (c, xh[:, depth:])


def _lstm_sequence(
    inputs: Tensor, c0: Tensor, h0: Tensor, kernel: Tensor, bias: Tensor, finished: Tensor | None, gates: int,
    save: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """LSTM over `[T, B, D]` inputs; returns `(outputs [T, B, H], c_T, h_T)`.

    `bias` includes forget_bias. With `save`, the forward writes the
    pre-activations z of every step for the hand-written backward; without,
    the backward recomputes them from the states with one GEMM over all steps.
    """
    depth = inputs.shape[-1]

    @tf.custom_gradient
    def sequence(inputs, c0, h0, kernel, bias):
        (hs, c_prev, *zs), (c, h) = _lstm_forward(inputs, c0, h0, kernel, bias, finished, save, gates)
        outputs = _zero_finished(finished, hs)  # a valid step's output is its h

        def grad(d_outputs, d_c, d_h):
            h_prev = tf.concat([h0[None], hs[:-1]], 0)
            z = zs if save else [_project(tf.concat([inputs, h_prev], -1), kernel, bias)]
            dzs, (dc0, dh0) = _lstm_backward(z, c_prev, c, kernel[depth:], finished, d_outputs, d_c, d_h, gates)
            d_inputs, d_w_x, d_bias = _affine_grads(inputs, kernel[:depth], dzs)
            return d_inputs, dc0, dh0, tf.concat([d_w_x, _outer(h_prev, dzs)], 0), d_bias

        return (outputs, c, h), grad

    return sequence(inputs, c0, h0, kernel, bias)


def _forget_block(bias: Tensor, forget_bias: float) -> Tensor:
    """`[0, 0, forget_bias, 0]` per gate block, shaped like `bias` `[4H]`."""
    units = tf.shape(bias)[0] // 4
    forget = tf.fill([units], tf.constant(forget_bias, bias.dtype))  # not tf.cast: it rounds via float32
    zeros = tf.zeros([units], bias.dtype)
    return tf.concat([zeros, zeros, forget, zeros], 0)


def _lstm_backward(
    zs: Sequence[Tensor], c_prev: Tensor, c_last: Tensor, w_h: Tensor, finished: Tensor | None, d_outputs: Tensor,
    d_c: Tensor, d_h: Tensor, gates: int,
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """The sequential part of the LSTM gradient: `dZ` per step and `(dc_0, dh_0)`.

    `zs` are the pre-activations of all steps (forget_bias included), as four
    `[T, B, H]` blocks or one `[T, B, 4H]`; `c_prev` holds each step's
    incoming c. The loop carries each step's outgoing c back from `c_last`.
    With `gates=4`, `dh = dz @ W_h^T` runs as four products side by side, as
    the forward does.
    """
    w_h_ts = [tf.transpose(w) for w in tf.split(w_h, gates, axis=1)]

    def step(t, c, dc, dh):
        i, j, f, o = [z[t] for z in zs] if len(zs) == 4 else tf.split(zs[0][t], 4, axis=-1)
        i, j, f, o = tf.sigmoid(i), tf.tanh(j), tf.sigmoid(f), tf.sigmoid(o)
        c_before, tanh_c = c_prev[t], tf.tanh(c)
        dh_total = dh + d_outputs[t]
        dc_total = dc + _tanh_grad(tanh_c, dh_total * o)
        dz = [
            _sigmoid_grad(i, dc_total * j), _tanh_grad(j, dc_total * i),
            _sigmoid_grad(f, dc_total * c_before), _sigmoid_grad(o, dh_total * tanh_c),
        ]
        done = None if finished is None else finished[t]
        dz = [_zero_finished(done, d) for d in dz]  # padded steps are constants
        dz_all = tf.concat(dz, axis=-1)
        dh_prev = tf.add_n([tf.matmul(d, w) for d, w in zip(dz if gates == 4 else [dz_all], w_h_ts)])
        return dz_all, (c_before, _carry(done, dc_total * f, dc), _carry(done, dh_prev, dh))

    dzs, (_, dc0, dh0) = scan_backward(step, tf.shape(d_outputs)[0], (c_last, d_c, d_h))
    return dzs, (dc0, dh0)


def _gru_sequence(
    inputs: Tensor, h0: Tensor, gates_kernel: Tensor, gates_bias: Tensor, candidate_kernel: Tensor,
    candidate_bias: Tensor, finished: Tensor | None, split: bool, save: bool,
) -> tuple[Tensor, Tensor]:
    """GRU over `[T, B, D]` inputs; returns `(outputs [T, B, H], h_T)`.

    With `split` (see `_gru_split`) each step runs r, u and the two column
    halves of the candidate as separate products, side by side, and multiplies
    `x_t` in the step: those products do not wait for `h`, so TF runs them
    early, next to the previous step's chain. Without it, the step is TF1's:
    one product for both gates, then one for the candidate (`gru_gates`).
    With `save`, the forward writes r, u and c of every step for the backward;
    without, the backward recomputes them from the states, over all steps at once.
    """
    depth = inputs.shape[-1]

    @tf.custom_gradient
    def sequence(inputs, h0, gates_kernel, gates_bias, candidate_kernel, candidate_bias):
        weights = (gates_kernel, gates_bias, candidate_kernel, candidate_bias)
        step_gates = _gru_split_gates(inputs, *weights) if split else _gru_hoisted_gates(inputs, *weights, joint=not save)

        def step(t, h):
            r, u, c = step_gates(t, h)
            done = None if finished is None else finished[t]
            h = _carry(done, gru_update(h, u, c), h)
            return ((r, u, c, h) if save else (h,)), (h,)

        written, (h_last,) = scan(step, tf.shape(inputs)[0], (h0,), 4 if save else 1)
        hs = written[-1]
        outputs = _zero_finished(finished, hs)  # a valid step's output is its h

        def grad(d_outputs, d_h):
            h_prev = tf.concat([h0[None], hs[:-1]], 0)
            r, u, c = written[:3] if save else _gru_recompute(inputs, h_prev, *weights)
            dz_gates, dz_candidate, dh0 = _gru_backward(
                r, u, c, h_prev, gates_kernel[depth:], candidate_kernel[depth:], split, finished, d_outputs, d_h
            )
            d_inputs_g, d_gates_x, d_gates_bias = _affine_grads(inputs, gates_kernel[:depth], dz_gates)
            d_inputs_c, d_candidate_x, d_candidate_bias = _affine_grads(inputs, candidate_kernel[:depth], dz_candidate)
            d_gates_kernel = tf.concat([d_gates_x, _outer(h_prev, dz_gates)], 0)
            # The candidate's recurrent rows multiply r * h, not h.
            d_candidate_kernel = tf.concat([d_candidate_x, _outer(r * h_prev, dz_candidate)], 0)
            return d_inputs_g + d_inputs_c, dh0, d_gates_kernel, d_gates_bias, d_candidate_kernel, d_candidate_bias

        return (outputs, h_last), grad

    return sequence(inputs, h0, gates_kernel, gates_bias, candidate_kernel, candidate_bias)


def _gru_hoisted_gates(
    inputs: Tensor, gates_kernel: Tensor, gates_bias: Tensor, candidate_kernel: Tensor, candidate_bias: Tensor,
    joint: bool,
) -> GateFn:
    """`step_gates(t, h) -> (r, u, c)` with `x @ W_x` done for all steps before the loop.

    With `joint`, gates and candidate share one `[T*B, D] x [D, 3H]` product,
    which pays for the forward alone under XLA at small batches; under a
    gradient tape it made the step slower, so the forward that saves for the
    backward keeps two products.
    """
    depth = inputs.shape[-1]
    if joint:
        kernel = tf.concat([gates_kernel[:depth], candidate_kernel[:depth]], 1)
        projected = _project(inputs, kernel, tf.concat([gates_bias, candidate_bias], 0))  # [T, B, 3H]
        x_gates, x_candidate = tf.split(projected, [gates_kernel.shape[-1], candidate_kernel.shape[-1]], axis=-1)
    else:
        x_gates = _project(inputs, gates_kernel[:depth], gates_bias)  # [T, B, 2H]
        x_candidate = _project(inputs, candidate_kernel[:depth], candidate_bias)  # [T, B, H]
    recurrent = (gates_kernel[depth:], candidate_kernel[depth:])
    return lambda t, h: gru_gates(x_gates[t], x_candidate[t], h, *recurrent, tf.tanh)


def _gru_split_gates(
    inputs: Tensor, gates_kernel: Tensor, gates_bias: Tensor, candidate_kernel: Tensor, candidate_bias: Tensor,
) -> GateFn:
    """`step_gates(t, h) -> (r, u, c)` with r, u and the candidate's halves as separate products."""
    depth = inputs.shape[-1]
    (w_r, w_u), (b_r, b_u) = tf.split(gates_kernel, 2, axis=1), tf.split(gates_bias, 2)
    # Sliced once here, not once per step.
    (w_xr, w_hr), (w_xu, w_hu) = (w_r[:depth], w_r[depth:]), (w_u[:depth], w_u[depth:])
    w_xc, w_hc_halves = candidate_kernel[:depth], tuple(_halves(candidate_kernel[depth:]))

    def step_gates(t: Tensor, h: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        x = inputs[t]
        x_gates = (linear(x, w_xr, b_r), linear(x, w_xu, b_u))
        return gru_gates(x_gates, linear(x, w_xc, candidate_bias), h, (w_hr, w_hu), w_hc_halves, tf.tanh)

    return step_gates


def _halves(kernel: Tensor) -> list[Tensor]:
    """`kernel [A, N]` as two column blocks (the first one column wider when N is odd)."""
    units = kernel.shape[-1]
    return tf.split(kernel, [units - units // 2, units // 2], axis=1)


def _gru_recompute(
    inputs: Tensor, h_prev: Tensor, gates_kernel: Tensor, gates_bias: Tensor, candidate_kernel: Tensor,
    candidate_bias: Tensor,
) -> list[Tensor]:
    """r, u and c of every step from the states, `[T, B, H]` each: all steps as one batch."""
    depth = inputs.shape[-1]
    x_gates = _project(inputs, gates_kernel[:depth], gates_bias)
    x_candidate = _project(inputs, candidate_kernel[:depth], candidate_bias)
    # All steps as one batch: [T * B, ...].
    x_gate_rows, x_candidate_rows, h_rows = (tf.reshape(v, [-1, v.shape[-1]]) for v in (x_gates, x_candidate, h_prev))
    gates = gru_gates(x_gate_rows, x_candidate_rows, h_rows, gates_kernel[depth:], candidate_kernel[depth:], tf.tanh)
    return [tf.reshape(v, tf.shape(h_prev)) for v in gates]


def _gru_backward(
    r: Tensor, u: Tensor, c: Tensor, h_prev: Tensor, gates_recurrent: Tensor, candidate_recurrent: Tensor,
    split: bool, finished: Tensor | None, d_outputs: Tensor, d_h: Tensor,
) -> tuple[Tensor, Tensor, Tensor]:
    """The sequential part of the GRU gradient: `dZ` of gates and candidate, and `dh_0`.

    With `split`, the step's products run apart, as in the forward.
    """
    gates_t = [tf.transpose(w) for w in tf.split(gates_recurrent, 2 if split else 1, axis=1)]
    candidate_t = [tf.transpose(w) for w in (_halves(candidate_recurrent) if split else [candidate_recurrent])]
    candidate_rows = [w.shape[0] for w in candidate_t]

    def step(t, dh):
        r_t, u_t, c_t, h_t = r[t], u[t], c[t], h_prev[t]
        dh_total = dh + d_outputs[t]
        dz_u = _sigmoid_grad(u_t, dh_total * (h_t - c_t))
        dz_c = _tanh_grad(c_t, dh_total - dh_total * u_t)
        dz_c_blocks = tf.split(dz_c, candidate_rows, axis=-1) if split else [dz_c]
        d_reset_h = tf.add_n([tf.matmul(d, w) for d, w in zip(dz_c_blocks, candidate_t)])  # d(r * h)
        dz_r = _sigmoid_grad(r_t, d_reset_h * h_t)
        dz_gates = [dz_r, dz_u] if split else [tf.concat([dz_r, dz_u], -1)]
        dh_prev = tf.add_n([dh_total * u_t, d_reset_h * r_t] + [tf.matmul(d, w) for d, w in zip(dz_gates, gates_t)])
        done = None if finished is None else finished[t]
        dz = _zero_finished(done, tf.concat([dz_r, dz_u, dz_c], -1))  # padded steps are constants
        return dz, (_carry(done, dh_prev, dh),)

    dzs, (dh0,) = scan_backward(step, tf.shape(u)[0], (d_h,))
    dz_gates, dz_candidate = tf.split(dzs, [2 * u.shape[-1], u.shape[-1]], axis=-1)
    return dz_gates, dz_candidate, dh0


def _sigmoid_grad(y: Tensor, dy: Tensor) -> Tensor:
    """`dy * y * (1 - y)`, the gradient through `y = sigmoid(z)`, as one op.

    The backward steps are short chains of small elementwise ops, each costing
    its dispatch; TF's fused gradient ops do in one what took three (XLA
    lowers both forms alike).
    """
    return tf.raw_ops.SigmoidGrad(y=y, dy=dy)


def _tanh_grad(y: Tensor, dy: Tensor) -> Tensor:
    """`dy * (1 - y * y)`, the gradient through `y = tanh(z)`, as one op (see `_sigmoid_grad`)."""
    return tf.raw_ops.TanhGrad(y=y, dy=dy)


def _project(inputs: Tensor, kernel: Tensor, bias: Tensor) -> Tensor:
    """`linear` for all steps at once, `[T, B, D] -> [T, B, N]`: one GEMM instead of T."""
    flat = linear(tf.reshape(inputs, [-1, inputs.shape[-1]]), kernel, bias)
    return tf.reshape(flat, tf.concat([tf.shape(inputs)[:2], [kernel.shape[-1]]], 0))


def _affine_grads(inputs: Tensor, kernel: Tensor, dz: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Gradients of `_project` given `dz [T, B, N]`: for inputs, kernel and bias."""
    flat_dz = tf.reshape(dz, [-1, dz.shape[-1]])
    d_inputs = tf.reshape(tf.matmul(flat_dz, kernel, transpose_b=True), tf.shape(inputs))
    return d_inputs, _outer(inputs, dz), tf.reduce_sum(flat_dz, 0)


def _outer(activations: Tensor, dz: Tensor) -> Tensor:
    """`A_all^T @ dZ_all` summed over every step and row: a weight gradient `[A, N]`."""
    flat_a = tf.reshape(activations, [-1, activations.shape[-1]])
    return tf.matmul(flat_a, tf.reshape(dz, [-1, dz.shape[-1]]), transpose_a=True)
