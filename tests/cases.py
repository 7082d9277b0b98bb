"""Every cell configuration the tests use, once, with its NumPy oracle (tests/reference.py).

`CASES` holds one `Case` per configuration: how to make a fresh, unbuilt cell, its
oracle where `reference.py` has one, and what the conformance checks need to feed
it. Names are unique, and a test parametrized by case takes the case's name as its
id (test_errors.py keeps its positional ids). The lists after `CASES` say which
checks run which configurations:

    CELLS        the core cells (and a stack of them) step by step against the oracle,
                 traced and compiled: tests/test_cells.py, tests/test_keras_interop.py
    ONE_STEP     one step of a wrapper or contrib cell against the oracle
                 (`assert_one_step_matches_oracle`): test_wrappers.py, test_contrib_*.py
    CONFIG       `from_config(get_config())` (`assert_config_round_trip`): test_dropout.py,
                 test_wrappers.py, test_contrib_wrappers.py, test_contrib_cells.py
    CONVERTIBLE  cells with a native Keras equivalent: tests/test_convert.py
    ERRORS       bad inputs for every core cell: tests/test_errors.py
    CONFORMANCE  every public cell and wrapper and a user's cell through every Keras
                 check: tests/test_conformance.py (tests/conformance_subprocess.py
                 finds them in `BY_NAME`)

An oracle is `make_oracle(cell)`: it reads the built cell's current weights and
returns a NumPy `step(x, state) -> (output, state)` in float64.
"""

import dataclasses
from typing import Callable, Optional

import keras
import numpy as np

import reference
import tfrnn
from toy_cells import ElmanCell

# Oracles ------------------------------------------------------------------------------


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
    # GRUCell's four weights in TF1's layout order (GRUBlockCell's w_ru, b_ru, w_c, b_c too).
    return lambda cell: lambda x, h: reference.gru(x, h, *map(value, cell.gru_weights()), act)


def multi_oracle(*oracles):
    def make(cell):
        steps = [oracle(child) for oracle, child in zip(oracles, cell.cells)]
        return lambda x, states: reference.multi(x, states, steps)
    return make


def layer_norm_lstm_oracle(cell):
    norms = {s: (value(n.gamma), value(n.beta)) for s, n in cell.norms.items()} if cell.layer_norm else None
    bias = None if cell.layer_norm else value(cell.bias)
    act = np.tanh if cell.activation is keras.activations.tanh else (lambda v: np.maximum(v, 0.0))
    return lambda x, s: reference.layer_norm_lstm(x, s, value(cell.kernel), norms, bias, cell.forget_bias, act)


def residual_oracle(inner):
    return lambda c: lambda x, s: (lambda out, st: (out + x, st))(*inner(c.cell)(x, s))


def device_oracle(inner):
    return lambda c: inner(c.cell)  # a device changes where, not what


def output_projection_oracle(inner, act=None):
    return lambda c: lambda x, s: reference.output_projection(x, s, inner(c.cell), value(c.kernel), value(c.bias), act)


def input_projection_oracle(inner, act=None):
    return lambda c: lambda x, s: reference.input_projection(x, s, inner(c.cell), value(c.kernel), value(c.bias), act)


def embedding_oracle(inner):
    return lambda c: lambda x, s: reference.embedding(x, s, inner(c.cell), value(c.embedding))


# The list ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    """One cell configuration.

    Attributes:
        name: its test id.
        make: builds a fresh, unbuilt cell (call it inside a mixed-precision
            policy to get a cell of that policy).
        oracle: `make_oracle(cell)`, or None where `reference.py` has no oracle.
        depth: the depth of one step's inputs in the conformance checks (1 for ids).
        stochastic: whether `training=True` draws dropout masks, so training
            differs from inference.
        ids: for cells that read integer ids `[B, T, 1]`, the number of ids
            (inputs are drawn from `[1, ids)`, keeping 0 free for padding).
    """

    name: str
    make: Callable[[], tfrnn.RNNCell]
    oracle: Optional[Callable] = None
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
    # Core cells (tfrnn/cells.py).
    Case("basic_rnn", lambda: tfrnn.BasicRNNCell(4), basic_rnn_oracle()),
    Case("basic_rnn_5", lambda: tfrnn.BasicRNNCell(5), basic_rnn_oracle()),
    Case("basic_rnn_relu", lambda: tfrnn.BasicRNNCell(4, activation="relu"), basic_rnn_oracle(relu)),
    Case("basic_rnn_relu_3", lambda: tfrnn.BasicRNNCell(3, activation="relu"), basic_rnn_oracle(relu)),
    Case("basic_lstm", lambda: tfrnn.BasicLSTMCell(4), lstm_oracle()),
    Case(
        "basic_lstm_fb", lambda: tfrnn.BasicLSTMCell(3, forget_bias=-0.7, activation="softsign"),
        lstm_oracle(softsign),
    ),
    Case("lstm", lambda: tfrnn.LSTMCell(4), lstm_oracle()),
    Case("lstm_5", lambda: tfrnn.LSTMCell(5), lstm_oracle()),
    Case("lstm_fb", lambda: tfrnn.LSTMCell(5, forget_bias=0.3), lstm_oracle()),
    Case("lstm_peep", lambda: tfrnn.LSTMCell(4, use_peepholes=True, forget_bias=0.3), lstm_oracle()),
    Case("lstm_clip", lambda: tfrnn.LSTMCell(4, cell_clip=0.2), lstm_oracle()),
    Case("lstm_proj", lambda: tfrnn.LSTMCell(4, num_proj=2, proj_clip=0.1), lstm_oracle()),
    Case("lstm_proj_no_clip", lambda: tfrnn.LSTMCell(4, num_proj=2), lstm_oracle()),
    # proj_clip without num_proj does nothing.
    Case("lstm_proj_clip_only", lambda: tfrnn.LSTMCell(2, proj_clip=0.1), lstm_oracle()),
    Case(
        "lstm_peep_proj_clip", lambda: tfrnn.LSTMCell(4, use_peepholes=True, num_proj=3, cell_clip=1.0),
        lstm_oracle(),
    ),
    Case(
        "lstm_full",
        lambda: tfrnn.LSTMCell(5, use_peepholes=True, cell_clip=0.5, num_proj=3, proj_clip=0.3, forget_bias=0.5),
        lstm_oracle(),
    ),
    Case("gru", lambda: tfrnn.GRUCell(4), gru_oracle()),
    Case("gru_relu", lambda: tfrnn.GRUCell(3, activation="relu"), gru_oracle(relu)),
    # MultiRNNCell (tfrnn/wrappers.py).
    Case(
        "multi_mixed",
        lambda: tfrnn.MultiRNNCell([
            tfrnn.LSTMCell(4, use_peepholes=True, num_proj=3), tfrnn.GRUCell(4), tfrnn.BasicRNNCell(3),
        ]),
        multi_oracle(lstm_oracle(), gru_oracle(), basic_rnn_oracle()),
    ),
    Case(
        "multi_mixed_4",
        lambda: tfrnn.MultiRNNCell([
            tfrnn.LSTMCell(4, use_peepholes=True, num_proj=3), tfrnn.GRUCell(5),
            tfrnn.BasicLSTMCell(2), tfrnn.BasicRNNCell(3),
        ]),
        multi_oracle(lstm_oracle(), gru_oracle(), lstm_oracle(), basic_rnn_oracle()),
    ),
    Case(  # every layer has a Keras equivalent
        "multi_convertible",
        lambda: tfrnn.MultiRNNCell(
            [tfrnn.LSTMCell(4), tfrnn.GRUCell(5), tfrnn.BasicLSTMCell(2, forget_bias=0.0), tfrnn.BasicRNNCell(3)]
        ),
        multi_oracle(lstm_oracle(), gru_oracle(), lstm_oracle(), basic_rnn_oracle()),
    ),
    Case("multi_single", lambda: tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(3)]), multi_oracle(lstm_oracle())),
    Case(
        "multi_lstm_gru", lambda: tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(4), tfrnn.GRUCell(3)]),
        multi_oracle(lstm_oracle(), gru_oracle()),
    ),
    # DropoutWrapper (tfrnn/dropout.py).
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
    Case(
        "dropout_variational_output",
        lambda: tfrnn.DropoutWrapper(tfrnn.LSTMCell(3), output_keep_prob=0.7, variational_recurrent=True, seed=3),
        stochastic=True,
    ),
    # ResidualWrapper and DeviceWrapper (tfrnn/wrappers.py).
    Case("residual", lambda: tfrnn.ResidualWrapper(tfrnn.GRUCell(3)), residual_oracle(gru_oracle()), depth=3),
    Case("residual_lstm", lambda: tfrnn.ResidualWrapper(tfrnn.BasicLSTMCell(6)), residual_oracle(lstm_oracle())),
    Case("device", lambda: tfrnn.DeviceWrapper(tfrnn.BasicLSTMCell(4), "/cpu:0"), device_oracle(lstm_oracle())),
    Case(
        "device_basic_rnn", lambda: tfrnn.DeviceWrapper(tfrnn.BasicRNNCell(3), "/cpu:0"),
        device_oracle(basic_rnn_oracle()),
    ),
    # The contrib wrappers (tfrnn/contrib_wrappers.py).
    Case(
        "output_projection", lambda: tfrnn.OutputProjectionWrapper(tfrnn.GRUCell(4), 2),
        output_projection_oracle(gru_oracle()),
    ),
    Case(
        "output_projection_lstm_tanh",
        lambda: tfrnn.OutputProjectionWrapper(tfrnn.BasicLSTMCell(4), 3, activation="tanh"),
        output_projection_oracle(lstm_oracle(), np.tanh),
    ),
    Case(
        "output_projection_gru_tanh", lambda: tfrnn.OutputProjectionWrapper(tfrnn.GRUCell(3), 2, activation="tanh"),
        output_projection_oracle(gru_oracle(), np.tanh),
    ),
    Case(
        "input_projection", lambda: tfrnn.InputProjectionWrapper(tfrnn.BasicLSTMCell(3), num_proj=4),
        input_projection_oracle(lstm_oracle()), depth=5,
    ),
    Case(
        "input_projection_gru_5", lambda: tfrnn.InputProjectionWrapper(tfrnn.GRUCell(3), num_proj=5),
        input_projection_oracle(gru_oracle()),
    ),
    Case(
        "input_projection_gru_4", lambda: tfrnn.InputProjectionWrapper(tfrnn.GRUCell(3), 4),
        input_projection_oracle(gru_oracle()),
    ),
    Case(
        "embedding", lambda: tfrnn.EmbeddingWrapper(tfrnn.GRUCell(4), embedding_classes=7, embedding_size=3),
        embedding_oracle(gru_oracle()), depth=1, ids=7,
    ),
    Case(
        "embedding_5x4", lambda: tfrnn.EmbeddingWrapper(tfrnn.GRUCell(3), embedding_classes=5, embedding_size=4),
        embedding_oracle(gru_oracle()), depth=1, ids=5,
    ),
    Case(
        "embedding_7x2", lambda: tfrnn.EmbeddingWrapper(tfrnn.GRUCell(3), 7, 2),
        embedding_oracle(gru_oracle()), depth=1, ids=7,
    ),
    # LayerNormBasicLSTMCell (tfrnn/contrib_cells.py).
    Case("layer_norm_lstm", lambda: tfrnn.LayerNormBasicLSTMCell(4), layer_norm_lstm_oracle),
    Case("layer_norm_lstm_fb", lambda: tfrnn.LayerNormBasicLSTMCell(5, forget_bias=0.3), layer_norm_lstm_oracle),
    Case(
        "layer_norm_lstm_relu", lambda: tfrnn.LayerNormBasicLSTMCell(3, activation="relu", norm_gain=0.7),
        layer_norm_lstm_oracle,
    ),
    Case("layer_norm_lstm_off", lambda: tfrnn.LayerNormBasicLSTMCell(4, layer_norm=False), layer_norm_lstm_oracle),
    Case(  # stochastic, like the DropoutWrappers: no oracle
        "layer_norm_lstm_dropout",
        lambda: tfrnn.LayerNormBasicLSTMCell(
            3, forget_bias=0.5, norm_gain=1.3, dropout_keep_prob=0.8, dropout_prob_seed=1
        ),
        stochastic=True,
    ),
    # GRUBlockCell, LSTMBlockCell (tfrnn/contrib_cells.py): the core cells' math under TF 1.15's names.
    Case("gru_block", lambda: tfrnn.GRUBlockCell(4), gru_oracle()),
    Case("lstm_block", lambda: tfrnn.LSTMBlockCell(4, forget_bias=0.5), lstm_oracle()),
    Case(
        "lstm_block_peep_clip", lambda: tfrnn.LSTMBlockCell(3, cell_clip=0.5, use_peephole=True), lstm_oracle(),
    ),
    # A user's TF1-style cell (tests/toy_cells.py).
    Case("user_elman", lambda: ElmanCell(4)),
]

BY_NAME = {case.name: case for case in CASES}
assert len(BY_NAME) == len(CASES), "case names must be unique"


def select(*names):
    return [BY_NAME[name] for name in names]


def names(cases):
    return [case.name for case in cases]


CELLS = select(
    "basic_rnn_5", "basic_rnn_relu", "basic_lstm", "basic_lstm_fb", "lstm_5", "lstm_peep", "lstm_clip",
    "lstm_proj", "lstm_full", "gru", "gru_relu", "multi_mixed_4",
)
ONE_STEP = select(
    "output_projection_lstm_tanh", "input_projection_gru_5", "embedding_5x4", "layer_norm_lstm_fb",
    "layer_norm_lstm_relu", "layer_norm_lstm_off", "residual_lstm", "gru_block", "lstm_block_peep_clip",
)
CONFIG = select(
    "dropout_variational_output", "residual", "device_basic_rnn", "output_projection_gru_tanh",
    "input_projection_gru_4", "embedding_7x2", "layer_norm_lstm_dropout", "gru_block", "lstm_block_peep_clip",
)
CONVERTIBLE = select(
    "basic_rnn_5", "basic_rnn_relu_3", "basic_lstm", "basic_lstm_fb", "lstm_fb", "lstm_proj_clip_only", "gru",
    "gru_relu", "multi_convertible", "multi_single",
)
ERRORS = select("basic_rnn", "basic_lstm", "lstm_proj_no_clip", "gru", "multi_lstm_gru")  # in this order
CONFORMANCE = select(
    "basic_rnn", "basic_lstm", "lstm", "lstm_peep_proj_clip", "gru", "multi_mixed", "dropout",
    "dropout_variational", "residual", "device", "output_projection", "input_projection", "layer_norm_lstm",
    "embedding", "gru_block", "lstm_block_peep_clip", "user_elman",
)

# Helpers -------------------------------------------------------------------------------


def random_state(cell, batch, rng):
    """A random state with the structure of `cell.state_size` (float32)."""
    return keras.tree.map_structure(
        lambda size: rng.normal(size=(batch, size)).astype("float32"), cell.state_size
    )


def randomize(cell, rng, scale=0.5):
    """Give every weight of a built cell a random value, so biases, gains and peepholes count."""
    for weight in cell.weights:
        weight.assign(rng.uniform(-scale, scale, tuple(weight.shape)).astype(weight.dtype))


ONE_STEP_ATOL = 1e-5


def random_built(cell, rng, depth, ids=False):
    """Inputs `[3, depth]` (or ids `[3, 1]`) and a random state; the cell built, with random weights."""
    x = rng.integers(0, 5, size=(3, 1)) if ids else rng.normal(size=(3, depth)).astype("float32")
    state = keras.tree.map_structure(lambda s: rng.normal(size=(3, s)).astype("float32"), cell.state_size)
    cell(x, state)
    for weight in cell.weights:
        weight.assign(rng.uniform(-0.5, 0.5, tuple(weight.shape)).astype("float32"))
    return x, state


def assert_one_step_matches_oracle(name):
    """One step of a `ONE_STEP` case from random weights and a random state, against its oracle.

    The seed is the case's place in the sorted `ONE_STEP` names.
    """
    case = {case.name: case for case in ONE_STEP}[name]
    rng = np.random.default_rng(sorted(names(ONE_STEP)).index(name))
    cell = case.make()
    x, state = random_built(cell, rng, depth=6, ids=case.ids is not None)
    output, new_state = cell(x, state)
    want_output, want_state = case.oracle(cell)(x, keras.tree.map_structure(np.float64, state))
    np.testing.assert_allclose(np.asarray(output), want_output, atol=ONE_STEP_ATOL)
    for got, want in zip(keras.tree.flatten(new_state), keras.tree.flatten(want_state)):
        np.testing.assert_allclose(np.asarray(got), want, atol=ONE_STEP_ATOL)


def assert_config_round_trip(name):
    """`from_config(get_config())` of a `CONFIG` case gives the same config and sizes."""
    cell = {case.name: case for case in CONFIG}[name].make()
    clone = type(cell).from_config(cell.get_config())
    assert clone.get_config() == cell.get_config()
    assert clone.state_size == cell.state_size and clone.output_size == cell.output_size
