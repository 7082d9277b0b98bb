"""NumPy oracles: each TF1 cell step written as plainly as possible.

Weights use TF1's layout: fused kernels over `[x, h]`, LSTM gates i, j, f, o,
GRU gates r, u. These are the definitions the tests hold tfrnn to.
"""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def basic_rnn(x, h, kernel, bias, act=np.tanh):
    new_h = act(np.concatenate([x, h], 1) @ kernel + bias)
    return new_h, new_h


def lstm(x, state, kernel, bias, forget_bias=1.0, act=np.tanh, w_i=0.0, w_f=0.0, w_o=0.0,
         cell_clip=None, projection=None, proj_clip=None):
    c, m = state
    i, j, f, o = np.split(np.concatenate([x, m], 1) @ kernel + bias, 4, axis=1)
    c = sigmoid(f + forget_bias + w_f * c) * c + sigmoid(i + w_i * c) * act(j)
    if cell_clip is not None:
        c = np.clip(c, -cell_clip, cell_clip)
    m = sigmoid(o + w_o * c) * act(c)
    if projection is not None:
        m = m @ projection
        if proj_clip is not None:
            m = np.clip(m, -proj_clip, proj_clip)
    return m, (c, m)


def gru(x, h, gates_kernel, gates_bias, candidate_kernel, candidate_bias, act=np.tanh):
    r, u = np.split(sigmoid(np.concatenate([x, h], 1) @ gates_kernel + gates_bias), 2, axis=1)
    c = act(np.concatenate([x, r * h], 1) @ candidate_kernel + candidate_bias)
    new_h = u * h + (1 - u) * c
    return new_h, new_h


def multi(x, states, steps):
    """`steps[i](x, state) -> (output, new_state)`; layer i feeds layer i + 1."""
    new_states = []
    for step, state in zip(steps, states):
        x, state = step(x, state)
        new_states.append(state)
    return x, tuple(new_states)


def linear(x, kernel, bias, act=None):
    """TF1's `_Linear` (the contrib projection wrappers): `act(x @ kernel + bias)`."""
    y = x @ kernel + bias
    return y if act is None else act(y)


def output_projection(x, state, step, kernel, bias, act=None):
    output, state = step(x, state)
    return linear(output, kernel, bias, act), state


def input_projection(x, state, step, kernel, bias, act=None):
    return step(linear(x, kernel, bias, act), state)


def embedding(ids, state, step, table):
    return step(table[np.reshape(ids, [-1])], state)


def layer_norm(x, gamma, beta, eps=1e-12):
    """`tf.contrib.layers.layer_norm` over the last axis: population variance."""
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def layer_norm_lstm(x, state, kernel, norms=None, bias=None, forget_bias=1.0, act=np.tanh):
    """LayerNormBasicLSTMCell; `norms[scope] = (gamma, beta)`, None without layer norm."""
    c, h = state
    z = np.concatenate([x, h], 1) @ kernel + (0.0 if bias is None else bias)
    i, j, f, o = np.split(z, 4, axis=1)
    if norms is not None:
        i, j, f, o = (layer_norm(g, *norms[s]) for g, s in zip((i, j, f, o), ("input", "transform", "forget", "output")))
    c = c * sigmoid(f + forget_bias) + sigmoid(i) * act(j)
    if norms is not None:
        c = layer_norm(c, *norms["state"])
    h = act(c) * sigmoid(o)
    return h, (c, h)


# --- seq2seq attention (TF 1.15's tf.contrib.seq2seq mechanisms) ----------------------------


def valid_steps(lengths, time):
    """`[batch, time]` True before each row's length (all True without lengths)."""
    return np.ones((1, time), bool) if lengths is None else np.arange(time)[None] < np.asarray(lengths)[:, None]


def attention_memory(memory, lengths, memory_kernel):
    """`(keys, values)`: the memory with zeros past each length, and its projection."""
    values = np.where(valid_steps(lengths, memory.shape[1])[:, :, None], memory, 0.0)
    return values @ memory_kernel, values


def masked_score(score, lengths, value=-np.inf):
    return score if lengths is None else np.where(valid_steps(lengths, score.shape[1]), score, value)


def softmax(score):
    e = np.exp(score - score.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def bahdanau_score(query, keys, query_kernel, v, g=None, b=None):
    """`sum v tanh(keys + query W)`, or normalised: `sum g v/|v| tanh(keys + query W + b)`."""
    processed = (query @ query_kernel)[:, None]
    if g is None:
        return (v * np.tanh(keys + processed)).sum(-1)
    return (g * v / np.sqrt((v ** 2).sum()) * np.tanh(keys + processed + b)).sum(-1)


def luong_score(query, keys, g=None):
    score = np.einsum("bu,btu->bt", query, keys)
    return score if g is None else g * score


def monotonic_attention(p, previous):
    """The recurrence itself: q[i] = (1 - p[i-1]) q[i-1] + previous[i]; attention = p q."""
    q = np.zeros_like(previous)
    q[:, 0] = previous[:, 0]
    for i in range(1, p.shape[1]):
        q[:, i] = (1 - p[:, i - 1]) * q[:, i - 1] + previous[:, i]
    return p * q
