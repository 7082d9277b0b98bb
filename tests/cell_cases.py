"""Cells under test, each paired with its NumPy oracle (tests/reference.py).

`CASES` maps a name to `(make_cell, make_oracle)`: `make_oracle(cell)` reads the
cell's current weights and returns a NumPy `step(x, state) -> (output, state)`.
"""

import numpy as np

import reference
import tfrnn


def value(variable):
    return np.asarray(variable, dtype=np.float64)


def relu(x):
    return np.maximum(x, 0.0)


def softsign(x):
    return x / (1.0 + np.abs(x))


def basic_rnn_oracle(act=np.tanh):
    return lambda cell: lambda x, h: reference.basic_rnn(x, h, value(cell.kernel), value(cell.bias), act)


def lstm_oracle(act=np.tanh):
    def make(cell):
        kw = dict(forget_bias=cell.forget_bias, act=act)
        if isinstance(cell, tfrnn.LSTMCell):
            if cell.use_peepholes:
                kw.update(w_i=value(cell.w_i_diag), w_f=value(cell.w_f_diag), w_o=value(cell.w_o_diag))
            if cell.num_proj:
                kw.update(projection=value(cell.projection.kernel), proj_clip=cell.proj_clip)
            kw.update(cell_clip=cell.cell_clip)
        return lambda x, s: reference.lstm(x, s, value(cell.kernel), value(cell.bias), **kw)
    return make


def gru_oracle(act=np.tanh):
    return lambda cell: lambda x, h: reference.gru(
        x, h, value(cell.gates.kernel), value(cell.gates.bias),
        value(cell.candidate.kernel), value(cell.candidate.bias), act,
    )


def multi_oracle(*oracles):
    def make(cell):
        steps = [oracle(child) for oracle, child in zip(oracles, cell.cells)]
        return lambda x, states: reference.multi(x, states, steps)
    return make


CASES = {
    "basic_rnn": (lambda: tfrnn.BasicRNNCell(5), basic_rnn_oracle()),
    "basic_rnn_relu": (lambda: tfrnn.BasicRNNCell(4, activation="relu"), basic_rnn_oracle(relu)),
    "basic_lstm": (lambda: tfrnn.BasicLSTMCell(4), lstm_oracle()),
    "basic_lstm_fb": (lambda: tfrnn.BasicLSTMCell(3, forget_bias=-0.7, activation="softsign"), lstm_oracle(softsign)),
    "lstm": (lambda: tfrnn.LSTMCell(5), lstm_oracle()),
    "lstm_peep": (lambda: tfrnn.LSTMCell(4, use_peepholes=True, forget_bias=0.3), lstm_oracle()),
    "lstm_clip": (lambda: tfrnn.LSTMCell(4, cell_clip=0.2), lstm_oracle()),
    "lstm_proj": (lambda: tfrnn.LSTMCell(4, num_proj=2, proj_clip=0.1), lstm_oracle()),
    "lstm_full": (
        lambda: tfrnn.LSTMCell(5, use_peepholes=True, cell_clip=0.5, num_proj=3, proj_clip=0.3, forget_bias=0.5),
        lstm_oracle(),
    ),
    "gru": (lambda: tfrnn.GRUCell(4), gru_oracle()),
    "gru_relu": (lambda: tfrnn.GRUCell(3, activation="relu"), gru_oracle(relu)),
    "multi_mixed": (
        lambda: tfrnn.MultiRNNCell([
            tfrnn.LSTMCell(4, use_peepholes=True, num_proj=3), tfrnn.GRUCell(5),
            tfrnn.BasicLSTMCell(2), tfrnn.BasicRNNCell(3),
        ]),
        multi_oracle(lstm_oracle(), gru_oracle(), lstm_oracle(), basic_rnn_oracle()),
    ),
}


def random_state(cell, batch, rng):
    """A random state with the structure of `cell.state_size` (float32)."""
    import keras

    return keras.tree.map_structure(
        lambda size: rng.normal(size=(batch, size)).astype("float32"), cell.state_size
    )


def randomize(cell, rng, scale=0.5):
    """Give every weight of a built cell a random value, so biases and peepholes count."""
    for weight in cell.weights:
        weight.assign(rng.uniform(-scale, scale, tuple(weight.shape)).astype("float32"))
