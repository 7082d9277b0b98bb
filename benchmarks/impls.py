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
LOOP_VARIANT = "tf.function+xla while_loop"  # the limit's GEMMs only (`_tf_gemms`)


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
# forward:  X·Wx ([B*T, I] x [I, G]) + T chained steps of recurrent products, G = 4H (GRU: 3H)
# backward: T chained steps of the products' transposes (`dh = dz · W_hᵀ`), the weight
#           gradients ([I|H, B*T] x [B*T, G] in all) and dZ·Wxᵀ (input gradient, [B*T, G] x [G, I])
# Everything is one chain of data dependencies, as in a real RNN: the recurrence starts
# from X·Wx, each product reads the one before (its first H columns), the backward chain
# starts from the last forward h, and the gradient GEMMs read the stacked backward steps.
# So nothing runs concurrently or batched that an RNN could not; the rest of each dz comes
# from fixed random "gate derivatives".

# A step's recurrent products, as column blocks of W_h in units of H. An LSTM's step is one
# product, h · W_h. TF1's GRU needs two, one after the other: r and u from h · W_g, then the
# candidate from (r·h) · W_c, which waits for r. One `[H, 3H]` product per step would be
# Keras' `reset_after=True` GRU, a different function that no TF1 GRU can compute.
RECURRENT_PRODUCTS = {"lstm": (4,), "gru": (2, 1)}


def _matmul_operands(size, model):
    """Fixed random operands; W_h's blocks are orthogonal so that the chained products
    neither overflow nor decay into denormals (which are slow on x86)."""
    rng = np.random.default_rng(0)
    products = RECURRENT_PRODUCTS[family(model)]
    gates = sum(products) * size.units

    def orthogonal():
        q, _ = np.linalg.qr(rng.standard_normal((size.units, size.units)))
        return q

    w_h = np.concatenate([orthogonal() for _ in range(sum(products))], axis=1)
    return dict(
        x=inputs(size).reshape(size.batch * size.time, size.depth),
        w_x=rng.standard_normal((size.depth, gates)) / np.sqrt(size.depth),
        w_hs=np.split(w_h, np.cumsum(products)[:-1] * size.units, axis=1),  # [H, G_k] each
        d_z=rng.standard_normal((size.time, size.batch, gates)),  # [T, B, G]
    )


def build_matmul(model, size, variant):
    operands = {k: _float32(v) for k, v in _matmul_operands(size, model).items()}
    if variant.startswith("numpy"):
        return _numpy_gemms(size, **operands)
    return _tf_gemms(size, variant, **operands)


def _float32(operand):
    if isinstance(operand, list):
        return [np.ascontiguousarray(a, np.float32) for a in operand]
    return operand.astype(np.float32)


def _numpy_gemms(size, x, w_x, w_hs, d_z):
    """NumPy (BLAS) GEMMs, written into preallocated buffers: no copies at all."""
    time, units = size.time, size.units
    zs = [np.empty((time, size.batch, w.shape[1]), np.float32) for w in w_hs]  # zs[k][t]: product k of step t
    d_z = d_z.copy()  # the backward chain overwrites the first H columns of every product's dz
    d_zs = np.split(d_z, np.cumsum([w.shape[1] for w in w_hs])[:-1], axis=-1)  # views, [T, B, G_k]
    d_h_0 = np.empty((size.batch, units), np.float32)
    # Every product of every step in the order the chain runs them: (step's product k, W_k).
    links = [(z[t], w) for t in range(time) for z, w in zip(zs, w_hs)]
    back = [(d[t], w) for t in reversed(range(time)) for d, w in reversed(list(zip(d_zs, w_hs)))]
    back_into = [d[:, :units] for d, _ in back[1:]] + [d_h_0]  # where each backward product goes

    def forward():
        x_w = x @ w_x
        h = x_w[: size.batch, :units]  # not zeros, which a compiler could fold away
        for z, w in links:
            np.matmul(h, w, out=z)
            h = z[:, :units]
        return x_w, h

    def fwd_bwd():
        x_w, h = forward()
        seed, _ = back[0]
        seed[:, :units] = h  # the backward chain starts from the last forward h
        for (d, w), into in zip(back, back_into):
            np.matmul(d, w.T, out=into)
        d_z_all = d_z.reshape(-1, d_z.shape[-1])  # [B*T, G]
        # Product k read the first H columns of product k-1; the first product read the
        # step before's h, here the same step's (one step off, the same GEMM). Strided views.
        reads = [zs[-1]] + zs[:-1]
        d_w_hs = [_flat(z[:, :, :units]).T @ _flat(d) for z, d in zip(reads, d_zs)]  # [H, G_k] each
        return (x_w, d_h_0, x.T @ d_z_all, *d_w_hs, d_z_all @ w_x.T)

    return Calls(forward, fwd_bwd)


def _flat(steps):
    """`[T, B, N]` as `[T*B, N]`."""
    return steps.reshape(-1, steps.shape[-1])


def _tf_gemms(size, variant, x, w_x, w_hs, d_z):
    """The same GEMMs in tf.function: unrolled, or (`LOOP_VARIANT`) in two XLA while_loops.

    Unrolled has no loop to pay for, and is the faster in `tf.function`, where every op
    of a loop's step costs the executor microseconds. Under XLA at batch 1 the loop is
    the faster (1x200x64x128 forward: 1.16 against 1.34 ms, ~0.9x NumPy's chain), so
    the limit, the best of its variants, has both.
    """
    import tensorflow as tf

    chain, chain_back = (_looped_chains if variant == LOOP_VARIANT else _unrolled_chains)(size)

    @tf.function(jit_compile=variant != "tf.function")
    def forward(x, w_x, w_hs):
        x_w = tf.matmul(x, w_x)
        _, h = chain(x_w, w_hs)
        return x_w, h

    @tf.function(jit_compile=variant != "tf.function")
    def fwd_bwd(x, w_x, w_hs, d_z):
        x_w = tf.matmul(x, w_x)
        reads, h = chain(x_w, w_hs)
        d_h_0, d_z_k = chain_back(h, d_z, w_hs)
        d_z_all = tf.concat(d_z_k, axis=1)  # [B*T, G]
        return (
            x_w, d_h_0,
            tf.matmul(x, d_z_all, transpose_a=True),
            *[tf.matmul(a, d, transpose_a=True) for a, d in zip(reads, d_z_k)],
            tf.matmul(d_z_all, w_x, transpose_b=True),
        )

    x, w_x, d_z = map(tf.constant, (x, w_x, d_z))
    w_hs = [tf.constant(w) for w in w_hs]
    return Calls(lambda: _to_numpy(forward(x, w_x, w_hs)), lambda: _to_numpy(fwd_bwd(x, w_x, w_hs, d_z)))


def _unrolled_chains(size):
    """`chain(x_w, w_hs) -> (reads, last h)` and `chain_back(h, d_z, w_hs) -> (dh_0, dzs)`, unrolled.

    `reads[k]` is `[B*T, H]`, what product k read in every step; `dzs[k]` is `[B*T, G_k]`,
    its dz. Stacking makes the weight-gradient GEMMs wait for the chains, as they must.
    """
    import tensorflow as tf

    time, units = size.time, size.units

    def chain(x_w, w_hs):
        h, reads = x_w[: size.batch, :units], [[] for _ in w_hs]
        for _ in range(time):
            for k, w in enumerate(w_hs):
                reads[k].append(h)
                h = tf.matmul(h, w)[:, :units]
        return [tf.concat(r, 0) for r in reads], h

    def chain_back(h, d_z, w_hs):
        tails = _dz_tails(d_z, w_hs, units)
        d_in, d_zs = h, [[] for _ in w_hs]
        for t in reversed(range(time)):
            for k in reversed(range(len(w_hs))):
                d = tf.concat([d_in, tails[k][t]], axis=1)
                d_zs[k].append(d)
                d_in = tf.matmul(d, w_hs[k], transpose_b=True)
        return d_in, [tf.concat(ds[::-1], 0) for ds in d_zs]

    return chain, chain_back


def _dz_tails(d_z, w_hs, units):
    """Each product's given dz columns past the first H, `[T, B, G_k - H]`, which a step joins to its dh.

    Sliced once, before the steps: in an XLA while_loop TF 2.21 drops the static `units:`
    of `block[t, :, units:]` when `t` is the loop's counter, and reads the first columns.
    """
    import tensorflow as tf

    return [block[:, :, units:] for block in tf.split(d_z, [w.shape[1] for w in w_hs], axis=-1)]


def _looped_chains(size):
    """`_unrolled_chains`' two functions, each a `tf.while_loop` over the steps."""
    import tensorflow as tf

    time, units = size.time, size.units

    def stacked(arrays):
        return [tf.reshape(a.stack(), [-1, a.element_shape[-1]]) for a in arrays]

    def chain(x_w, w_hs):
        def step(t, h, reads):
            reads = list(reads)
            for k, w in enumerate(w_hs):
                reads[k] = reads[k].write(t, h)
                h = tf.matmul(h, w)[:, :units]
            return t + 1, h, reads

        arrays = [tf.TensorArray(tf.float32, size=time, element_shape=[size.batch, units]) for _ in w_hs]
        _, h, reads = tf.while_loop(lambda t, *_: t < time, step, (0, x_w[: size.batch, :units], arrays))
        return stacked(reads), h

    def chain_back(h, d_z, w_hs):
        tails = _dz_tails(d_z, w_hs, units)

        def step(t, d_in, d_zs):
            d_zs = list(d_zs)
            for k in reversed(range(len(w_hs))):
                d = tf.concat([d_in, tails[k][t]], axis=1)
                d_zs[k] = d_zs[k].write(t, d)
                d_in = tf.matmul(d, w_hs[k], transpose_b=True)
            return t - 1, d_in, d_zs

        arrays = [tf.TensorArray(tf.float32, size=time, element_shape=[size.batch, w.shape[1]]) for w in w_hs]
        _, d_h_0, d_zs = tf.while_loop(lambda t, *_: t >= 0, step, (time - 1, h, arrays))
        return d_h_0, stacked(d_zs)

    return chain, chain_back


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
        variants=(*TF_VARIANTS, LOOP_VARIANT, "numpy", "numpy-1thread"),
        modules=("tensorflow",),
        variant_modules={"numpy": ("numpy",), "numpy-1thread": ("numpy",)},
        # OpenBLAS' two threads make small GEMMs erratic here (2 or 10 ms per call at
        # batch 1); one thread is steady. The limit is the best variant, so both run.
        variant_env={"numpy-1thread": {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}},
    ),
}
