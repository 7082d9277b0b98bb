"""tfrnn's seq2seq training step and greedy decode against TF 1.15 and the matmul-only limit.

    python benchmarks/bench_seq2seq.py                    # both modes, 20 calls each: ~6 min on 2 cores
    python benchmarks/bench_seq2seq.py --modes train --calls 60
    python benchmarks/bench_seq2seq.py --quick            # smoke run, tiny sizes

The model: `AttentionWrapper(LSTMCell(256), BahdanauAttention(256), attention_layer_size=256)`
over a memory of 50 steps (depth 256, lengths 25-50), an embedding of 256, and an
8,000-word output layer `Dense(8000, use_bias=False)`; batch 32, targets of 30 steps.

- **train**: one teacher-forced step, forward and backward: `sequence_loss` of the logits
  and the gradients of every weight and of the memory (what an encoder would get).
- **greedy**: `GreedyEmbeddingHelper` from start token 1 with an end token no argmax can
  give, `maximum_iterations=30`: exactly 30 steps; the ids and lengths come back.

Contenders, interleaved call by call as in head_to_head.py (each turn an untimed call,
then a timed one): tfrnn's programs in `tf.function`, with and without `jit_compile`; TF
1.15's `tf.contrib.seq2seq` programs in a Session, in a second process under TF 1.15's own
Python (`bench_seq2seq_tf115.py`, started by this script, taking its turns over a pipe:
head_to_head.Remote); and the matmul-only limit. Every contender gets the same weights
(tfrnn's, drawn here, written to an npz under their TF1 names for TF 1.15) and the same
inputs, and their losses, gradients and greedy ids are checked to agree before any
timing. See benchmarks/README.md, "Seq2seq: training step and greedy decode".
"""

import argparse
import dataclasses
import datetime
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from bench_rnn import base_env, machine_info
from head_to_head import Remote, bracket, interleave, interval, local_turn
import report

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
TF115_PYTHON = os.environ.get("TF115_PYTHON", "/opt/tf115/bin/python")
TF115_SCRIPT = HERE / "bench_seq2seq_tf115.py"
MODES = ("train", "greedy")
VARIANTS = ("tf.function", "tf.function+xla")
LIMIT_VARIANTS = ("tf.function", "tf.function+xla", "numpy")
# tfrnn's programs per mode. "per step" is BasicDecoder's generic loop (the output layer
# inside every step), which dynamic_decode takes for any decoder it does not know to be
# exactly BasicDecoder + TrainingHelper + Dense: a subclass of BasicDecoder (`PerStepDecoder`).
PROGRAMS = {
    "train": ("dynamic_decode, projection hoisted", "dynamic_decode, projection per step", "dynamic_rnn + projection"),
    "greedy": ("dynamic_decode, greedy",),
}
LOSS_ATOL = 1e-4  # the issue's: every contender's loss equal to 1e-4
GRADIENT_RTOL = 1e-3  # of the largest |gradient| of the same variable
TARGET_VS_LIMIT = 1.5  # train, tfrnn's faster variant over the limit
TARGET_VS_TF1 = 1.0  # both modes, against TF 1.15's faster program


@dataclasses.dataclass(frozen=True)
class Size:
    """The model's sizes; the memory depth, the query and attention depths all equal `units`."""

    batch: int
    memory_time: int
    units: int
    embedding: int
    vocabulary: int
    target_time: int


FULL = Size(batch=32, memory_time=50, units=256, embedding=256, vocabulary=8000, target_time=30)
QUICK = Size(batch=3, memory_time=5, units=8, embedding=6, vocabulary=11, target_time=4)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--calls", type=int, default=20, help="timed calls per contender (one per round)")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS), help="tfrnn's and the limit's")
    parser.add_argument("--no-tf1", action="store_true", help="leave TF 1.15 out (and its process)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 2 calls: a smoke run")
    parser.add_argument("--out", type=pathlib.Path, help="JSON file (default: benchmarks/results/s2s-<time>.json)")
    args = parser.parse_args(argv)
    args.size = QUICK if args.quick else FULL
    if args.quick:
        args.calls = 2
    return args


# ----- inputs and weights: the same for every contender -----


def make_inputs(size, seed=0):
    """The batch: memory `[B, M, units]` with lengths (the first row full), target ids and lengths (the first row T)."""
    rng = np.random.default_rng(seed)
    batch, steps = size.batch, size.target_time
    memory_length = rng.integers(size.memory_time // 2, size.memory_time + 1, batch).astype(np.int32)
    target_length = rng.integers(steps // 2, steps + 1, batch).astype(np.int32)
    memory_length[0], target_length[0] = size.memory_time, steps  # so the decode runs exactly T steps
    return {
        "memory": rng.standard_normal((batch, size.memory_time, size.units)).astype(np.float32),
        "memory_length": memory_length,
        "target_input": rng.integers(0, size.vocabulary, (batch, steps)).astype(np.int32),
        "target_output": rng.integers(0, size.vocabulary, (batch, steps)).astype(np.int32),
        "target_length": target_length,
    }


def draw_weights(shapes, seed=1):
    """`{TF1 name: array}`: Glorot-uniform matrices (the embedding N(0, 1) / 4), vectors U(-0.1, 0.1)."""
    rng = np.random.default_rng(seed)
    weights = {}
    for name, shape in shapes.items():
        if name == "embedding":
            weights[name] = rng.standard_normal(shape) / 4
        elif len(shape) == 2:
            limit = np.sqrt(6 / sum(shape))
            weights[name] = rng.uniform(-limit, limit, shape)
        else:
            weights[name] = rng.uniform(-0.1, 0.1, shape)
    return {name: w.astype(np.float32) for name, w in weights.items()}


# ----- tfrnn -----


class Model:
    """tfrnn's model, built once; every tfrnn program calls these same objects (the same weights)."""

    def __init__(self, size, inputs):
        import keras
        import tensorflow as tf

        import tfrnn
        from tfrnn import seq2seq

        self.size = size
        self.mechanism = seq2seq.BahdanauAttention(size.units)
        self.cell = seq2seq.AttentionWrapper(tfrnn.LSTMCell(size.units), self.mechanism, attention_layer_size=size.units)
        self.projection = keras.layers.Dense(size.vocabulary, use_bias=False, name="output_projection")
        self.embedding = keras.Variable(np.zeros((size.vocabulary, size.embedding), np.float32), name="embedding")
        # Build every weight eagerly, outside any tf.function: one step of the wrapper.
        self.mechanism.setup_memory(inputs["memory"], inputs["memory_length"])
        state = self.cell.zero_state(size.batch, tf.float32)
        output, _ = self.cell(tf.zeros([size.batch, size.embedding]), state)
        self.projection(output)
        helper = seq2seq.TrainingHelper(tf.zeros([size.batch, size.target_time, size.embedding]), inputs["target_length"])
        decoder = seq2seq.BasicDecoder(self.cell, helper, state, output_layer=self.projection)
        self.variables = tfrnn.tf1_variable_names({"": [self.mechanism, self.embedding], "decoder": decoder})

    def assign(self, weights):
        for name, variable in self.variables.items():
            variable.assign(weights[name])

    def train_loss(self, program, memory, memory_length, target_input, target_output, target_length):
        import tensorflow as tf

        import tfrnn
        from tfrnn import seq2seq

        size = self.size
        self.mechanism.setup_memory(memory, memory_length)
        initial_state = self.cell.zero_state(size.batch, tf.float32)
        inputs = tf.nn.embedding_lookup(self.embedding.value, target_input)
        if program == "dynamic_rnn + projection":
            outputs, _ = tfrnn.dynamic_rnn(self.cell, inputs, sequence_length=target_length, initial_state=initial_state)
            logits = self.projection(outputs)
        else:
            decoder_class = seq2seq.BasicDecoder if program == "dynamic_decode, projection hoisted" else PerStepDecoder()
            helper = seq2seq.TrainingHelper(inputs, target_length)
            decoder = decoder_class(self.cell, helper, initial_state, output_layer=self.projection)
            outputs, _, _ = seq2seq.dynamic_decode(decoder, maximum_iterations=size.target_time)
            logits = outputs.rnn_output
        weights = tf.sequence_mask(target_length, size.target_time, tf.float32)
        return seq2seq.sequence_loss(logits, target_output, weights)

    def greedy(self, memory, memory_length):
        import tensorflow as tf

        from tfrnn import seq2seq

        size = self.size
        self.mechanism.setup_memory(memory, memory_length)
        helper = seq2seq.GreedyEmbeddingHelper(self.embedding.value, tf.fill([size.batch], 1), size.vocabulary)
        decoder = seq2seq.BasicDecoder(self.cell, helper, self.cell.zero_state(size.batch, tf.float32),
                                       output_layer=self.projection)
        outputs, _, lengths = seq2seq.dynamic_decode(decoder, maximum_iterations=size.target_time)
        return {"sample_id": outputs.sample_id, "lengths": lengths}


def PerStepDecoder():
    """A `BasicDecoder` subclass that changes nothing: dynamic_decode runs its generic loop (the
    output layer in every step), as for any decoder it does not know, so the hoisting can be timed."""
    from tfrnn import seq2seq

    return type("PerStepDecoder", (seq2seq.BasicDecoder,), {})


def tfrnn_contender(model, mode, program, variant, inputs):
    """`(call, check)`: the timed call (results forced to NumPy) and the results to compare."""
    import tensorflow as tf

    arguments = [tf.constant(inputs[key]) for key in ("memory", "memory_length", "target_input", "target_output",
                                                     "target_length")]
    names = list(model.variables) + ["memory"]
    jit_compile = variant == "tf.function+xla"
    if mode == "greedy":
        run = tf.function(model.greedy, jit_compile=jit_compile)
        call = lambda: {key: value.numpy() for key, value in run(*arguments[:2]).items()}  # noqa: E731
        return call, call

    @tf.function(jit_compile=jit_compile)
    def step(memory, *rest):
        with tf.GradientTape() as tape:
            tape.watch(memory)
            loss = model.train_loss(program, memory, *rest)
        return loss, tape.gradient(loss, [v.value for v in model.variables.values()] + [memory])

    def call():
        loss, gradients = step(*arguments)
        return [loss.numpy()] + [part.numpy() for g in gradients for part in _parts(g)]

    def check():
        loss, gradients = step(*arguments)
        return {"loss": loss.numpy(), **{f"grad:{n}": np.asarray(tf.convert_to_tensor(g)) for n, g in zip(names, gradients)}}

    return call, check


def _parts(gradient):
    """A gradient's arrays as a user gets them: an `IndexedSlices` (the embedding's) as values and indices, not made dense."""
    return (gradient.values, gradient.indices) if hasattr(gradient, "indices") else (gradient,)


# ----- the matmul-only limit -----
#
# train, forward: the memory projection K = M·W_m ([B·M, U] x [U, U]); the input GEMM X·W_x
#   ([B·T, E+A] x [E+A, 4U]); T steps, each three chained products: z = h·W_h ([B, U] x [U, 4U]),
#   the query q = z[:, :U]·W_q ([B, U] x [U, U]) and the attention layer a = [z[:, :U], q]·W_a
#   ([B, 2U] x [2U, U], q standing in for the context it selects); the next step reads a; then
#   the output projection over all steps, [B·T, U] x [U, V].
# train, backward: dA = dLogits·W_outᵀ and dW_out = Aᵀ·dLogits; T steps of the three products
#   transposed, in reverse (d[h,q] = da·W_aᵀ, dh = dq·W_qᵀ, then dz = [dh, given gate
#   derivatives] and da_prev = dz·W_hᵀ); dX = dZ·W_xᵀ; every weight gradient over all steps
#   (W_x, W_h, W_q, W_a); and the memory's, dM = dK·W_mᵀ and dW_m = Mᵀ·dK, dK given (waiting
#   for the backward chain, as the score's gradient must).
# greedy: K = M·W_m; T steps of [x, a, h]·W ([B, E+A+U] x [E+A+U, 4U]: nothing can be hoisted,
#   the next input is the embedding of this step's argmax), the query and attention-layer
#   products, and the output projection [B, U] x [U, V]; the next x is read from the logits
#   (their first E columns plus each row's largest, so that every logit is needed, as argmax needs them).
# Each chain is one line of data dependencies, as in the real model.


def limit_operands(size, seed=2):
    rng = np.random.default_rng(seed)
    u, e, v, b, t, m = size.units, size.embedding, size.vocabulary, size.batch, size.target_time, size.memory_time

    def matrix(rows, columns):
        return rng.uniform(-1, 1, (rows, columns)) * np.sqrt(3 / rows)  # unit-variance products: no denormals

    operands = dict(
        memory=rng.standard_normal((b * m, u)), w_m=matrix(u, u), x=rng.standard_normal((b * t, e + u)),
        w_x=matrix(e + u, 4 * u), w_h=matrix(u, 4 * u), w_q=matrix(u, u), w_a=matrix(2 * u, u), w_out=matrix(u, v),
        w_cell=matrix(e + 2 * u, 4 * u), d_logits=rng.standard_normal((b * t, v)) / v,
        gate_tails=rng.standard_normal((t, b, 3 * u)), d_keys=rng.standard_normal((b * m, u)),
        start=rng.standard_normal((b, e + 2 * u)),
    )
    return {key: value.astype(np.float32) for key, value in operands.items()}


def limit_contender(size, mode, variant):
    """`(call, None)`: the limit's GEMMs for `mode` in NumPy or TensorFlow (unrolled, with or without XLA)."""
    operands = limit_operands(size)
    if variant == "numpy":
        train, greedy = _numpy_gemms(size, **operands)
    else:
        train, greedy = _tf_gemms(size, variant, operands)
    return (train if mode == "train" else greedy), None


def _numpy_gemms(size, memory, w_m, x, w_x, w_h, w_q, w_a, w_out, w_cell, d_logits, gate_tails, d_keys, start):
    u, e, b, t = size.units, size.embedding, size.batch, size.target_time
    rows = np.arange(t)[:, None] * b + np.arange(b)  # rows of step s: rows[s]
    h_in, z, hq, a_all = (np.empty((t * b, n), np.float32) for n in (u, 4 * u, 2 * u, u))
    logits, d_a_all = np.empty((t * b, size.vocabulary), np.float32), np.empty((t * b, u), np.float32)
    d_z, d_hq = np.empty((t * b, 4 * u), np.float32), np.empty((t * b, 2 * u), np.float32)
    d_q_all, d_a_chain = np.empty((t * b, u), np.float32), np.empty((t * b, u), np.float32)

    def forward():
        keys = memory @ w_m
        x_w = x @ w_x
        h = x_w[:b, :u]
        for s in range(t):
            r = slice(s * b, (s + 1) * b)
            h_in[r] = h
            np.matmul(h, w_h, out=z[r])
            hq[r, :u] = z[r, :u]
            np.matmul(hq[r, :u], w_q, out=hq[r, u:])
            np.matmul(hq[r], w_a, out=a_all[r])
            h = a_all[r]
        np.matmul(a_all, w_out, out=logits)
        return keys, x_w, logits

    def train():
        keys, x_w, logits = forward()
        np.matmul(d_logits, w_out.T, out=d_a_all)
        d_w_out = a_all.T @ d_logits
        d = d_a_all[rows[-1]]
        for s in reversed(range(t)):
            r = slice(s * b, (s + 1) * b)
            d_a_chain[r] = d
            np.matmul(d, w_a.T, out=d_hq[r])
            np.matmul(d_hq[r, u:], w_q.T, out=d_z[r, :u])
            d_q_all[r] = d_hq[r, u:]
            d_z[r, u:] = gate_tails[s]
            d = d_z[r] @ w_h.T
        d_x = d_z @ w_x.T
        grads = [x.T @ d_z, h_in.T @ d_z, hq[:, :u].T @ d_q_all, hq.T @ d_a_chain, d_w_out]
        d_k = d_keys + d[:1, :1]  # waits for the chain
        return [keys, x_w, logits, d_x, d_k @ w_m.T, memory.T @ d_k, *grads]

    def greedy():
        keys = memory @ w_m
        xah = start.copy()  # [x, a, h], the step's input
        for _ in range(t):
            z_s = xah @ w_cell
            xah[:, e + u:] = z_s[:, :u]  # h
            q = z_s[:, :u] @ w_q
            xah[:, e:e + u] = np.concatenate([z_s[:, :u], q], axis=1) @ w_a  # a
            step_logits = xah[:, e:e + u] @ w_out
            # The next input, the argmax's embedding in the model: here read from every logit too.
            xah[:, :e] = step_logits[:, :e] + step_logits.max(axis=1, keepdims=True)
        return [keys, xah]

    return train, greedy


def _tf_gemms(size, variant, operands):
    import tensorflow as tf

    u, e, b, t = size.units, size.embedding, size.batch, size.target_time
    jit_compile = variant == "tf.function+xla"

    @tf.function(jit_compile=jit_compile)
    def train(memory, w_m, x, w_x, w_h, w_q, w_a, w_out, d_logits, gate_tails, d_keys, transposed):
        w_m_t, w_x_t, w_h_t, w_q_t, w_a_t, w_out_t = transposed
        keys = tf.matmul(memory, w_m)
        x_w = tf.matmul(x, w_x)
        h, h_in, hqs, attentions = x_w[:b, :u], [], [], []
        for _ in range(t):
            h_in.append(h)
            z = tf.matmul(h, w_h)
            hq = tf.concat([z[:, :u], tf.matmul(z[:, :u], w_q)], axis=1)
            hqs.append(hq)
            h = tf.matmul(hq, w_a)
            attentions.append(h)
        a_all, hq_all = tf.concat(attentions, 0), tf.concat(hqs, 0)
        logits = tf.matmul(a_all, w_out)
        d_a_all = tf.matmul(d_logits, w_out_t)
        d, d_zs, d_qs, d_as = d_a_all[(t - 1) * b:], [], [], []
        for s in reversed(range(t)):
            d_as.append(d)
            d_hq = tf.matmul(d, w_a_t)
            d_qs.append(d_hq[:, u:])
            d_z = tf.concat([tf.matmul(d_hq[:, u:], w_q_t), gate_tails[s]], axis=1)
            d_zs.append(d_z)
            d = tf.matmul(d_z, w_h_t)
        d_z_all, d_q_all, d_a_chain = (tf.concat(ds[::-1], 0) for ds in (d_zs, d_qs, d_as))
        d_k = d_keys + d[:1, :1]
        grads = [tf.matmul(x, d_z_all, transpose_a=True), tf.matmul(tf.concat(h_in, 0), d_z_all, transpose_a=True),
                 tf.matmul(hq_all[:, :u], d_q_all, transpose_a=True), tf.matmul(hq_all, d_a_chain, transpose_a=True),
                 tf.matmul(a_all, d_logits, transpose_a=True)]
        return [keys, x_w, logits, tf.matmul(d_z_all, w_x_t), tf.matmul(d_k, w_m_t),
                tf.matmul(memory, d_k, transpose_a=True), *grads]

    @tf.function(jit_compile=jit_compile)
    def greedy(memory, w_m, w_cell, w_q, w_a, w_out, start):
        keys = tf.matmul(memory, w_m)
        x, a, h = start[:, :e], start[:, e:e + u], start[:, e + u:]
        for _ in range(t):
            z = tf.matmul(tf.concat([x, a, h], axis=1), w_cell)
            h = z[:, :u]
            a = tf.matmul(tf.concat([h, tf.matmul(h, w_q)], axis=1), w_a)
            logits = tf.matmul(a, w_out)
            x = logits[:, :e] + tf.reduce_max(logits, axis=1, keepdims=True)
        return [keys, x, a, h]

    tensors = {key: tf.constant(value) for key, value in operands.items()}
    # The backward products read weights transposed; given so, as `dz·Wᵀ` with `transpose_b` reads
    # 4-5x slower at batch 32 on this CPU (oneDNN and Eigen alike), and the limit is the fastest form.
    transposed = [tf.constant(np.ascontiguousarray(operands[k].T)) for k in ("w_m", "w_x", "w_h", "w_q", "w_a", "w_out")]
    train_arguments = [tensors[k] for k in ("memory", "w_m", "x", "w_x", "w_h", "w_q", "w_a", "w_out", "d_logits",
                                            "gate_tails", "d_keys")] + [transposed]
    greedy_arguments = [tensors[k] for k in ("memory", "w_m", "w_cell", "w_q", "w_a", "w_out", "start")]
    return (lambda: [r.numpy() for r in train(*train_arguments)],
            lambda: [r.numpy() for r in greedy(*greedy_arguments)])


# ----- TF 1.15, in its own process -----


class TF115(Remote):
    """bench_seq2seq_tf115.py under TF 1.15's Python, taking turns as head_to_head's TF1 process does."""

    def __init__(self, data_path, check_path, modes):
        command = [TF115_PYTHON, str(TF115_SCRIPT), "--data", str(data_path), "--check", str(check_path),
                   "--modes", *modes]
        env = {k: v for k, v in base_env().items() if k != "PYTHONPATH"}  # TF 1.15's own site-packages only
        pipes = dict(stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.process = subprocess.Popen(command, cwd=REPO, env=env, **pipes)
        reply = self.process.stdout.readline()
        self.keys = [tuple(key) for key in json.loads(reply[len("READY "):])] if reply.startswith("READY ") else []
        if not self.keys:
            raise SystemExit(f"TF 1.15's process failed ({TF115_PYTHON} {TF115_SCRIPT.name}): its error is above")


# TF 1.15's session threads spin on after its call, holding a core, as OpenBLAS's do after NumPy's
# (head_to_head.SETTLE_S): the next contender waits this long, untimed. Without the pause, the call
# after TF 1.15's read ~10 ms slower (tfrnn's training step under XLA: 78 ms, 69 without TF 1.15's
# process, 70.5 with the pause; the limit's GEMMs 48.6, 48.9, 51.4).
TF1_SETTLE_S = 0.3


def settled(turn):
    """TF 1.15's turn (timed in its own process), then `TF1_SETTLE_S` of rest."""
    def turn_and_rest():
        ms = turn()
        time.sleep(TF1_SETTLE_S)
        return ms

    return turn_and_rest


def tf115_checks(check_path):
    """`{(impl, program, variant): results}` from the TF 1.15 process's check file."""
    checks = {}
    with np.load(check_path) as data:
        for key in data.files:
            program, name = key.split("/", 1)
            checks.setdefault(("tf1", program, "session"), {})[name] = data[key]
    return checks


# ----- agreement -----


def disagreements(checks, mode):
    """What differs between the contenders' results of `mode`, as sentences (none: they agree).

    Train: the loss within `LOSS_ATOL`, every gradient within `GRADIENT_RTOL` of the
    largest |gradient| of that variable. Greedy: the same ids and lengths.
    """
    (reference_key, reference), *others = [(k, v) for k, v in checks.items() if k[1] in ALL_PROGRAMS[mode]]
    problems = []
    for key, results in others:
        if set(results) != set(reference):
            problems.append(f"{key} gives {sorted(set(results) ^ set(reference))} that {reference_key} does not, or not those")
            continue
        for name, expected in reference.items():
            got = results[name]
            if name == "loss":
                bad, bound = abs(float(got) - float(expected)), LOSS_ATOL
            elif name.startswith("grad:"):
                bad, bound = np.max(np.abs(got - expected)), GRADIENT_RTOL * max(np.max(np.abs(expected)), 1e-12)
            else:
                bad, bound = np.count_nonzero(got != expected), 0
            if not bad <= bound:
                problems.append(f"{key} {name}: {bad:.3g} from {reference_key}'s (allowed {bound:.3g})")
    return problems


def agreement_summary(checks, mode):
    """One line: how close the contenders came (the loss spread and the greedy ids)."""
    keys = [k for k in checks if k[1] in ALL_PROGRAMS[mode]]
    if mode == "train":
        losses = [float(checks[k]["loss"]) for k in keys]
        worst = max((np.max(np.abs(checks[k][n] - checks[keys[0]][n])) / max(np.max(np.abs(checks[keys[0]][n])), 1e-12)
                     for k in keys[1:] for n in checks[k] if n.startswith("grad:")), default=0.0)
        return (f"train: {len(keys)} programs agree: loss {min(losses):.6f}-{max(losses):.6f} (spread "
                f"{max(losses) - min(losses):.1e}), largest gradient difference {worst:.1e} of the variable's largest |gradient|")
    ids = checks[keys[0]]["sample_id"]
    return f"greedy: {len(keys)} programs give the same {ids.size} ids and lengths"


ALL_PROGRAMS = {"train": PROGRAMS["train"] + ("decoder, output layer per step", "decoder + projection after the loop"),
                "greedy": PROGRAMS["greedy"] + ("decoder, greedy",)}


# ----- ratios and tables -----


def add_ratios(results):
    """`vs_tf1` (against TF 1.15's fastest program of the mode) and `vs_limit` (the limit's fastest variant), with 95% intervals."""
    for result in results:
        same = [r for r in results if r["mode"] == result["mode"]]
        for ratio, impl in (("vs_tf1", "tf1"), ("vs_limit", "matmul")):
            theirs = [r for r in same if r["impl"] == impl]
            result[ratio] = result["median_ms"] / min(r["median_ms"] for r in theirs) if theirs else None
            result[f"{ratio}_ci"] = interval([result], theirs) if theirs and result["impl"] == "tfrnn" else None
    return results


def lever_rows(results):
    """What each lever bought: `(lever, mode, program or variant, with ms, without ms, ratio [95%])`, same run."""
    def find(mode, program, variant):
        return next((r for r in results if (r["mode"], r["program"], r["variant"]) == (mode, program, variant)), None)

    pairs = []
    for variant in VARIANTS:
        pairs.append(("output projection hoisted out of the loop (decoder.py's fast path)", "train", variant,
                      find("train", PROGRAMS["train"][0], variant), find("train", PROGRAMS["train"][1], variant)))
    for mode in MODES:
        for program in PROGRAMS[mode]:
            pairs.append(("jit_compile=True", mode, program, find(mode, program, "tf.function+xla"),
                          find(mode, program, "tf.function")))
    pairs.append(("by hand in TF 1.15: projection after the loop (nmt)", "train", "session",
                  find("train", "decoder + projection after the loop", "session"),
                  find("train", "decoder, output layer per step", "session")))
    return [(lever, mode, what, new, old, new["median_ms"] / old["median_ms"], interval([new], [old]))
            for lever, mode, what, new, old in pairs if new and old]


def _ms(value):
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _ratio(result, ratio):
    value, ci = result[ratio], result.get(f"{ratio}_ci")
    if value is None:
        return "–"
    return f"{value:.2f}" + (f" {bracket(ci)}" if ci else "")


def table(results, mode, calls):
    lines = [f"### {mode}, {calls} interleaved calls each", "",
             "| contender | program | variant | ms | ×TF 1.15 best [95%] | ×limit [95%] |", "|---|---|---|---|---|---|"]
    order = ("tfrnn", "tf1", "matmul")
    for r in sorted((r for r in results if r["mode"] == mode), key=lambda r: (order.index(r["impl"]), r["program"], r["variant"])):
        name = {"tfrnn": "tfrnn", "tf1": "TF 1.15 contrib.seq2seq", "matmul": "matmul-only limit"}[r["impl"]]
        lines.append(f"| {name} | {r['program']} | {r['variant']} | {_ms(r['median_ms'])} | {_ratio(r, 'vs_tf1')} "
                     f"| {_ratio(r, 'vs_limit')} |")
    return "\n".join(lines)


def targets(results):
    """The issue's targets, for tfrnn's fastest program and variant of each mode."""
    lines = ["| mode | tfrnn's fastest | ms | ×TF 1.15 best (< 1) | ×limit (train ≤ 1.5) |", "|---|---|---|---|---|"]
    checks = []
    for mode in MODES:
        ours = [r for r in results if r["mode"] == mode and r["impl"] == "tfrnn"]
        if not ours:
            continue
        best = min(ours, key=lambda r: r["median_ms"])
        limit = report.verdict(best["vs_limit"], TARGET_VS_LIMIT) if mode == "train" else _ratio(best, "vs_limit") + " (no target)"
        tf1 = report.verdict(best["vs_tf1"], TARGET_VS_TF1)
        lines.append(f"| {mode} | {best['program']}, {best['variant']} | {_ms(best['median_ms'])} "
                     f"| {tf1} {bracket(best['vs_tf1_ci']) if best['vs_tf1_ci'] else ''} "
                     f"| {limit if mode != 'train' else limit + ' ' + bracket(best['vs_limit_ci'])} |")
        checks.append(dict(mode=mode, program=best["program"], variant=best["variant"], vs_tf1=best["vs_tf1"],
                           vs_limit=best["vs_limit"]))
    return "\n".join(lines), checks


def levers_text(rows):
    lines = ["| lever | mode | program / variant | with ms | without ms | with / without [95%] |", "|---|---|---|---|---|---|"]
    for lever, mode, what, new, old, ratio, ci in rows:
        lines.append(f"| {lever} | {mode} | {what} | {_ms(new['median_ms'])} | {_ms(old['median_ms'])} | {ratio:.2f} {bracket(ci)} |")
    return "\n".join(lines)


# ----- the run -----


def build_contenders(args, model, inputs):
    """`{key: (call, check)}` of tfrnn's programs and the limit's GEMMs, each traced and compiled by two calls."""
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # TF warns of "retracing" when contenders trace the same code: each is traced once
    contenders = {}
    for mode in args.modes:
        for program in PROGRAMS[mode]:
            for variant in args.variants:
                contenders[("tfrnn", program, variant)] = tfrnn_contender(model, mode, program, variant, inputs)
        for variant in [v for v in LIMIT_VARIANTS if v == "numpy" or v in args.variants]:
            contenders[("matmul", f"GEMMs, {mode}", variant)] = limit_contender(args.size, mode, variant)
    for call, _ in contenders.values():
        call()
        call()
    return contenders


def mode_of(key):
    program = key[1]
    return "greedy" if program in ALL_PROGRAMS["greedy"] or program == "GEMMs, greedy" else "train"


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    machine = machine_info()
    inputs = make_inputs(args.size)

    model = Model(args.size, inputs)
    weights = draw_weights({name: tuple(v.shape) for name, v in model.variables.items()})
    model.assign(weights)
    with tempfile.TemporaryDirectory() as folder:
        data_path, check_path = pathlib.Path(folder) / "data.npz", pathlib.Path(folder) / "check.npz"
        sizes = json.dumps(dataclasses.asdict(args.size))
        np.savez(data_path, sizes=sizes, **{f"in:{k}": v for k, v in inputs.items()},
                 **{f"var:{k}": v for k, v in weights.items()})
        remote = None if args.no_tf1 else TF115(data_path, check_path, args.modes)
        try:
            checks = tf115_checks(check_path) if remote else {}
            return run(args, model, inputs, remote, checks, machine, started, argv)
        finally:
            if remote:
                remote.close()


def run(args, model, inputs, remote, checks, machine, started, argv):
    contenders = build_contenders(args, model, inputs)
    checks.update({key: check() for key, (_, check) in contenders.items() if check})
    problems = [p for mode in args.modes for p in disagreements(checks, mode)]
    if problems:
        print("The contenders disagree; nothing was timed:\n" + "\n".join(f"- {p}" for p in problems), file=sys.stderr)
        return 1
    summaries = [agreement_summary(checks, mode) for mode in args.modes]
    print("\n".join(summaries), file=sys.stderr, flush=True)

    turns = {key: local_turn(call) for key, (call, _) in contenders.items()}
    if remote:
        turns.update({key: settled(remote.turn(key)) for key in remote.keys})
    load_before = os.getloadavg()
    results = []
    for mode in args.modes:
        times = interleave({k: turn for k, turn in turns.items() if mode_of(k) == mode}, args.calls)
        results += [dict(impl=impl, program=program, variant=variant, mode=mode, median_ms=statistics.median(ts),
                         times_ms=ts) for (impl, program, variant), ts in times.items()]
    add_ratios(results)
    load_after = os.getloadavg()

    levers = lever_rows(results)
    targets_table, target_checks = targets(results)
    print("\n\n".join(table(results, mode, args.calls) for mode in args.modes))
    print("\nTargets\n\n" + targets_table)
    print("\nWhat each lever bought (same run)\n\n" + levers_text(levers))
    print(f"\nAgreement before timing: {'; '.join(summaries)}.")
    print(f"Load average (1, 5, 15 min): {machine['load_average_at_start']} at the start, {load_before} before timing, "
          f"{load_after} after.")

    out = args.out or HERE / "results" / f"s2s-{datetime.datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "argv": sys.argv[1:] if argv is None else list(argv), "size": dataclasses.asdict(args.size),
        "machine": {**machine, "load_average_before_timing": load_before, "load_average_after": load_after},
        "agreement": summaries, "results": results, "targets": target_checks,
        "levers": [dict(lever=l, mode=m, what=w, with_ms=n["median_ms"], without_ms=o["median_ms"], ratio=r, ci=ci)
                   for l, m, w, n, o, r, ci in levers],
    }
    out.write_text(json.dumps(document, indent=1))
    print(f"\n{len(results)} results in {(time.perf_counter() - started) / 60:.1f} min, saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
