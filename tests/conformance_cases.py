"""The conformance list: every public cell and wrapper, plus a user-defined TF1-style cell.

`tests/test_conformance.py` runs each `Case` through every Keras check (issue 4,
"Inside Keras"). A case says how to make a fresh, unbuilt cell, the depth of
the inputs it reads, whether dropout makes training stochastic, and, for a cell
that reads integer ids (`EmbeddingWrapper`), the number of ids.
"""

import dataclasses
from typing import Callable, Optional

import keras
from keras import ops

import tfrnn


@keras.saving.register_keras_serializable(package="tests")
class ElmanCell(tfrnn.RNNCell):
    """A user's TF1-style cell: only `build`, `call`, `state_size` and `output_size`.

    `h' = tanh(x @ kernel + h @ recurrent_kernel + bias)`; output = new state.
    No `get_config`: Keras records the constructor arguments itself.
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def build(self, input_shape):
        depth = input_shape[-1]
        self.kernel = self.add_weight(shape=(depth, self.units), initializer="glorot_uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units), initializer="orthogonal", name="recurrent_kernel"
        )
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, inputs, state):
        h = ops.tanh(ops.matmul(inputs, self.kernel) + ops.matmul(state, self.recurrent_kernel) + self.bias)
        return h, h


@dataclasses.dataclass(frozen=True)
class Case:
    """One entry of the conformance list.

    Attributes:
        name: test id.
        make: builds a fresh, unbuilt cell (call it inside a mixed-precision
            policy to get a cell of that policy).
        depth: the depth of one step's inputs (1 for ids).
        stochastic: whether `training=True` draws dropout masks, so training
            differs from inference.
        ids: for cells that read integer ids `[B, T, 1]`, the number of ids
            (inputs are drawn from `[1, ids)`, keeping 0 free for padding).
    """

    name: str
    make: Callable[[], tfrnn.RNNCell]
    depth: int = 3
    stochastic: bool = False
    ids: Optional[int] = None

    def __str__(self):
        return self.name

    def inputs(self, rng, batch=4, time=4):
        """Random inputs `[batch, time, depth]`: floats, or int32 ids in `[1, ids)`."""
        if self.ids:
            return rng.integers(1, self.ids, size=(batch, time, 1)).astype("int32")
        return rng.normal(size=(batch, time, self.depth)).astype("float32")


CASES = [
    Case("basic_rnn", lambda: tfrnn.BasicRNNCell(4)),
    Case("basic_lstm", lambda: tfrnn.BasicLSTMCell(4)),
    Case("lstm", lambda: tfrnn.LSTMCell(4)),
    Case("lstm_peep_proj_clip", lambda: tfrnn.LSTMCell(4, use_peepholes=True, num_proj=3, cell_clip=1.0)),
    Case("gru", lambda: tfrnn.GRUCell(4)),
    Case("multi_mixed", lambda: tfrnn.MultiRNNCell([
        tfrnn.LSTMCell(4, use_peepholes=True, num_proj=3), tfrnn.GRUCell(4), tfrnn.BasicRNNCell(3),
    ])),
    Case(
        "dropout",
        lambda: tfrnn.DropoutWrapper(
            tfrnn.LSTMCell(4), input_keep_prob=0.8, output_keep_prob=0.8, state_keep_prob=0.8, seed=1
        ),
        stochastic=True,
    ),
    Case(
        "dropout_variational",
        lambda: tfrnn.DropoutWrapper(
            tfrnn.GRUCell(4), input_keep_prob=0.8, output_keep_prob=0.8, state_keep_prob=0.8,
            variational_recurrent=True, seed=2,
        ),
        stochastic=True,
    ),
    Case("residual", lambda: tfrnn.ResidualWrapper(tfrnn.GRUCell(3)), depth=3),
    Case("device", lambda: tfrnn.DeviceWrapper(tfrnn.BasicLSTMCell(4), "/cpu:0")),
    Case("output_projection", lambda: tfrnn.OutputProjectionWrapper(tfrnn.GRUCell(4), 2)),
    Case("input_projection", lambda: tfrnn.InputProjectionWrapper(tfrnn.BasicLSTMCell(3), num_proj=4), depth=5),
    Case("layer_norm_lstm", lambda: tfrnn.LayerNormBasicLSTMCell(4)),
    Case(
        "embedding",
        lambda: tfrnn.EmbeddingWrapper(tfrnn.GRUCell(4), embedding_classes=7, embedding_size=3),
        depth=1, ids=7,
    ),
    Case("user_elman", lambda: ElmanCell(4)),
]

BY_NAME = {case.name: case for case in CASES}


def randomize(cell, rng, scale=0.5):
    """Random values for every float weight of a built cell, so biases and gains count."""
    for weight in cell.weights:
        weight.assign(rng.uniform(-scale, scale, tuple(weight.shape)).astype(weight.dtype))
