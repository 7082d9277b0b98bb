"""Toy cells: user-style cells whose outputs show what the loops and wrappers did.

- `ElmanCell`: a user's TF1-style cell with weights (the conformance list's `user_elman`).
- `EchoCell`: output = state = inputs, no weights: shows the dropout masks themselves.
- `CounterCell`: output = state = state + x: loop semantics (padding, lengths, reversal);
  `ramp` gives it inputs whose running sums are easy to read.
- `PairCell`: a `CounterCell` that reads a pair of inputs: nested inputs reach the cell.
- `GenericBasicLSTMCell`, `GenericLSTMCell`, `GenericGRUCell`: the core cells' math in a
  subclass, which is never fused, so `dynamic_rnn` runs the generic while_loop.
"""

import keras
import numpy as np
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


@keras.saving.register_keras_serializable(package="tests")
class EchoCell(tfrnn.RNNCell):
    """output = new state = inputs: a cell without weights that shows what reached it."""

    def __init__(self, depth, **kwargs):
        super().__init__(**kwargs)
        self.depth = depth

    def get_config(self):
        return {**super().get_config(), "depth": self.depth}

    @property
    def state_size(self):
        return self.depth

    @property
    def output_size(self):
        return self.depth

    def call(self, inputs, state):
        return inputs, inputs


class CounterCell(tfrnn.RNNCell):
    """A TF1-style user cell (only the contract): output = state = state + x."""

    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def call(self, inputs, state):
        new_state = state + inputs
        return new_state, new_state


def ramp(batch, time, depth=2):
    """x[b, t] = t + 1 (as floats): a counter's state after step t is sum_{s<=t} (s + 1)."""
    return np.tile(np.arange(1, time + 1, dtype="float32")[None, :, None], (batch, 1, depth))


class PairCell(CounterCell):
    """A counter of `a + b` for inputs `(a, b)`."""

    def call(self, inputs, state):
        a, b = inputs
        return super().call(a + b, state)

    def __call__(self, inputs, state):  # the base __call__ checks a single tensor input
        return self.call(inputs, state)


class GenericBasicLSTMCell(tfrnn.BasicLSTMCell):
    """Same math; a subclass is never fused, so it runs the generic while_loop."""


class GenericLSTMCell(tfrnn.LSTMCell):
    pass


class GenericGRUCell(tfrnn.GRUCell):
    pass
