"""The implementations the RNN benchmark compares: one builder each.

A builder takes `(model, size, variant)` and returns `Calls(forward, fwd_bwd)`: two
zero-argument callables that each run one call of the work and force every result to
NumPy, so a timing covers everything a user waits for. Only the callable of the mode
being measured is ever called (tf.function traces lazily, so the other costs nothing).

"forward" returns the outputs and final state. "fwd_bwd" returns the gradient of
`sum(outputs)` with respect to the inputs and every weight: the same work everywhere.

Frameworks are imported inside the builders, never at module level: a measurement
process imports only what it measures (TF1's path needs `TF_USE_LEGACY_KERAS=1`
before TensorFlow is imported, and torch may be missing).
"""

import collections
import dataclasses

import numpy as np

TF_VARIANTS = ("tf.function", "tf.function+xla")
GATES = {"lstm": 4, "gru": 3}  # GEMM width per unit: i, j, f, o / r, u, candidate


class Unavailable(Exception):
    """The implementation cannot run in this environment; the message says why."""


@dataclasses.dataclass(frozen=True)
class Size:
    batch: int
    time: int
    depth: int
    units: int


Calls = collections.namedtuple("Calls", ("forward", "fwd_bwd"))


@dataclasses.dataclass(frozen=True)
class Implementation:
    """How to build one implementation, and what it is built from.

    `models` maps a cell name ("basic_lstm", "lstm", "gru") to what this implementation
    runs for it; implementations without a per-cell choice (Keras, torch, the GEMMs)
    map both LSTM cells to one model, and the driver measures it once. `modules` are
    imported before the baseline RSS is read, so peak-memory deltas exclude imports.
    """

    build: object
    models: dict
    variants: tuple
    modules: tuple
    legacy_keras: bool = False
    variant_modules: dict = dataclasses.field(default_factory=dict)  # overrides `modules`
    variant_env: dict = dataclasses.field(default_factory=dict)  # extra environment variables

    def modules_for(self, variant):
        return self.variant_modules.get(variant, self.modules)

    def models_for(self, cell):
        """The models run for `cell`: one name, or a tuple of them (Keras' two GRUs)."""
        models = self.models[cell]
        return (models,) if isinstance(models, str) else models


def inputs(size, seed=0):
    """The batch-major input `[batch, time, depth]`, identical in every implementation."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((size.batch, size.time, size.depth)).astype(np.float32)


def family(model):
    """The model's family, "lstm" or "gru": which GEMM shapes its step needs."""
    return "gru" if "gru" in model.lower() else "lstm"


# --- TensorFlow: tfrnn, Keras 3 and TF1's path share the same tf.function wrappers ---


def _to_numpy(structure):
    import tensorflow as tf

    return [tensor.numpy() for tensor in tf.nest.flatten(structure) if tensor is not None]


def _tf_calls(run, variables, x, variant):
    """Wrap `run(x) -> (outputs, state)` as the two timed calls, in tf.function."""
    import tensorflow as tf

    jit_compile = variant == "tf.function+xla"

    @tf.function(jit_compile=jit_compile)
    def forward(x):
        return run(x)

    @tf.function(jit_compile=jit_compile)
    def fwd_bwd(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs, _ = run(x)
            loss = tf.reduce_sum(outputs)
        return tape.gradient(loss, [x, *variables])

    # x is an argument, not a closure constant, so nothing can be constant-folded.
    x = tf.constant(x)
    return Calls(lambda: _to_numpy(forward(x)), lambda: _to_numpy(fwd_bwd(x)))


def _build_cell(cell, x):
    """Create a TF1-contract cell's weights with one eager step, before any tracing.

    Building outside tf.function keeps variable creation out of the traced (and
    XLA-compiled) function, and works the same for tfrnn and TF1's legacy cells.
    """
    import tensorflow as tf

    cell(tf.constant(x[:, 0]), cell.zero_state(x.shape[0], tf.float32))
    return cell.trainable_variables


def build_tfrnn(model, size, variant):
    import tensorflow as tf

    import tfrnn

    if not hasattr(tfrnn, "dynamic_rnn"):
        raise Unavailable("tfrnn.dynamic_rnn does not exist yet")
    cell = getattr(tfrnn, model)(size.units)
    x = inputs(size)
    variables = _build_cell(cell, x)
    return _tf_calls(lambda x: tfrnn.dynamic_rnn(cell, x, dtype=tf.float32), variables, x, variant)


def build_tf1(model, size, variant):
    import tensorflow as tf

    try:
        cell = getattr(tf.compat.v1.nn.rnn_cell, model)(size.units)
    except Exception as error:  # Keras 3 refuses the legacy cells without tf_keras.
        raise Unavailable(f"TF1's legacy cells need tf_keras and TF_USE_LEGACY_KERAS=1: {error}")
    x = inputs(size)
    variables = _build_cell(cell, x)
    return _tf_calls(
        lambda x: tf.compat.v1.nn.dynamic_rnn(cell, x, dtype=tf.float32), variables, x, variant
    )


# Keras' default GRU is reset_after=True (the cuDNN layout): one recurrent product per
# step, a different function from TF1's GRUCell. reset_after=False is TF1's function.
KERAS_MODELS = {"LSTM": ("LSTM", {}), "GRU": ("GRU", {}), "GRU(reset_after=False)": ("GRU", {"reset_after": False})}


def build_keras(model, size, variant):
    import keras

    name, options = KERAS_MODELS[model]
    layer = getattr(keras.layers, name)(size.units, return_sequences=True, return_state=True, **options)
    layer.build((size.batch, size.time, size.depth))

    def run(x):
        outputs, *state = layer(x)
        return outputs, state

    return _tf_calls(run, layer.trainable_variables, inputs(size), variant)


# --- PyTorch ---


def build_torch(model, size, variant):
    try:
        import torch
    except ImportError:
        raise Unavailable("torch is not installed")
    layer = getattr(torch.nn, model)(size.depth, size.units, batch_first=True)
    x = torch.from_numpy(inputs(size))

    def forward():
        with torch.inference_mode():  # no autograd bookkeeping, as TF's forward has none
            outputs, state = layer(x)
        state = state if isinstance(state, tuple) else (state,)
        return [outputs.numpy(), *(s.numpy() for s in state)]

    def fwd_bwd():
        x_grad = x.detach().requires_grad_()
        layer.zero_grad(set_to_none=True)
        outputs, _ = layer(x_grad)
        outputs.sum().backward()
        return [x_grad.grad.numpy(), *(p.grad.numpy() for p in layer.parameters())]

    return Calls(forward, fwd_bwd)


# --- The matmul-only limit: the GEMMs every LSTM (GRU) must do, and nothing else ---
#
# forward:  X·Wx ([B*T, I] x [I, G]) + T chained h·Wh ([B, H] x [H, G]), G = 4H (GRU: 3H)
# backward: T chained dz·Whᵀ ([B, G] x [G, H]) + Xᵀ·dZ, Hᵀ·dZ (weight gradients,
#           [I|H, B*T] x [B*T, G]) + dZ·Wxᵀ (input gradient, [B*T, G] x [G, I])
# Everything is one chain of data dependencies, as in a real RNN: the recurrence starts
# from X·Wx, each step's GEMM reads the previous step's result (its first H columns),
# the backward chain starts from the last forward h, and the gradient GEMMs read the
# stacked backward steps. So nothing runs concurrently or batched that an RNN could
# not; the rest of each dz comes from fixed random "gate derivatives".


def _matmul_operands(size, model):
    """Fixed random operands; Wh is made of orthogonal blocks so that the chained
    products neither overflow nor decay into denormals (which are slow on x86)."""
    rng = np.random.default_rng(0)
    gates = GATES[family(model)] * size.units

    def orthogonal():
        q, _ = np.linalg.qr(rng.standard_normal((size.units, size.units)))
        return q

    return dict(
        x=inputs(size).reshape(size.batch * size.time, size.depth),
        w_x=rng.standard_normal((size.depth, gates)) / np.sqrt(size.depth),
        w_h=np.concatenate([orthogonal() for _ in range(gates // size.units)], axis=1),
        d_z=rng.standard_normal((size.time, size.batch, gates)),  # [T, B, G]
    )


def build_matmul(model, size, variant):
    operands = {k: v.astype(np.float32) for k, v in _matmul_operands(size, model).items()}
    if variant.startswith("numpy"):
        return _numpy_gemms(size, **operands)
    return _tf_gemms(size, variant, **operands)


def _numpy_gemms(size, x, w_x, w_h, d_z):
    """NumPy (BLAS) GEMMs, written into preallocated buffers: no copies at all."""
    time, units = size.time, size.units
    z = np.empty((time, size.batch, w_h.shape[1]), np.float32)  # z[t] = h_t · Wh
    d_z = d_z.copy()  # the chain overwrites d_z[t, :, :H] with dh_t

    def forward():
        x_w = x @ w_x
        h = x_w[: size.batch, :units]  # not zeros, which a compiler could fold away
        for t in range(time):
            np.matmul(h, w_h, out=z[t])
            h = z[t, :, :units]
        return x_w, h

    def fwd_bwd():
        x_w, h = forward()
        d_z[-1, :, :units] = h
        for t in range(time - 1, 0, -1):
            np.matmul(d_z[t], w_h.T, out=d_z[t - 1, :, :units])
        d_h_0 = d_z[0] @ w_h.T
        d_z_all = d_z.reshape(-1, d_z.shape[-1])  # [B*T, G]
        h_all = z[:, :, :units].reshape(-1, units)  # a strided view, [B*T, H]
        return x_w, d_h_0, x.T @ d_z_all, h_all.T @ d_z_all, d_z_all @ w_x.T

    return Calls(forward, fwd_bwd)


def _tf_gemms(size, variant, x, w_x, w_h, d_z):
    """The same GEMMs in tf.function, the loop unrolled: no while_loop overhead."""
    import tensorflow as tf

    time, units = size.time, size.units

    def chain(x_w, w_h):
        h, hs = x_w[: size.batch, :units], []
        for _ in range(time):
            h = tf.matmul(h, w_h)[:, :units]
            hs.append(h)
        return hs

    def chain_back(h, d_z, w_h):
        d_zs = [tf.concat([h, d_z[time - 1, :, units:]], axis=1)]
        for t in range(time - 1, 0, -1):
            d_h = tf.matmul(d_zs[-1], w_h, transpose_b=True)
            d_zs.append(tf.concat([d_h, d_z[t - 1, :, units:]], axis=1))
        return tf.matmul(d_zs[-1], w_h, transpose_b=True), d_zs[::-1]

    @tf.function(jit_compile=variant == "tf.function+xla")
    def forward(x, w_x, w_h):
        x_w = tf.matmul(x, w_x)
        return x_w, chain(x_w, w_h)[-1]

    @tf.function(jit_compile=variant == "tf.function+xla")
    def fwd_bwd(x, w_x, w_h, d_z):
        x_w = tf.matmul(x, w_x)
        hs = chain(x_w, w_h)
        d_h_0, d_zs = chain_back(hs[-1], d_z, w_h)
        # Stacking makes the weight-gradient GEMMs wait for the chains, as they must.
        d_z_all = tf.reshape(tf.stack(d_zs), [-1, d_z.shape[-1]])  # [B*T, G]
        h_all = tf.reshape(tf.stack(hs), [-1, units])  # [B*T, H]
        return (
            x_w, d_h_0,
            tf.matmul(x, d_z_all, transpose_a=True),
            tf.matmul(h_all, d_z_all, transpose_a=True),
            tf.matmul(d_z_all, w_x, transpose_b=True),
        )

    x, w_x, w_h, d_z = map(tf.constant, (x, w_x, w_h, d_z))
    return Calls(lambda: _to_numpy(forward(x, w_x, w_h)), lambda: _to_numpy(fwd_bwd(x, w_x, w_h, d_z)))


_LSTM_GRU = {"basic_lstm": "LSTM", "lstm": "LSTM", "gru": "GRU"}

IMPLEMENTATIONS = {
    "tfrnn": Implementation(
        build=build_tfrnn,
        models={"basic_lstm": "BasicLSTMCell", "lstm": "LSTMCell", "gru": "GRUCell"},
        variants=TF_VARIANTS,
        modules=("tensorflow", "keras", "tfrnn"),
    ),
    "keras": Implementation(
        build=build_keras,
        models={**_LSTM_GRU, "gru": ("GRU", "GRU(reset_after=False)")},
        variants=TF_VARIANTS,
        modules=("tensorflow", "keras"),
    ),
    "tf1": Implementation(
        build=build_tf1,
        models={"basic_lstm": "BasicLSTMCell", "lstm": "LSTMCell", "gru": "GRUCell"},
        variants=TF_VARIANTS,
        modules=("tensorflow", "tf_keras"),
        legacy_keras=True,
    ),
    "torch": Implementation(build=build_torch, models=_LSTM_GRU, variants=("eager",), modules=("torch",)),
    "matmul": Implementation(
        build=build_matmul,
        models=_LSTM_GRU,
        variants=(*TF_VARIANTS, "numpy", "numpy-1thread"),
        modules=("tensorflow",),
        variant_modules={"numpy": ("numpy",), "numpy-1thread": ("numpy",)},
        # OpenBLAS' two threads make small GEMMs erratic here (2 or 10 ms per call at
        # batch 1); one thread is steady. The limit is the best variant, so both run.
        variant_env={"numpy-1thread": {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}},
    ),
}
