"""Bad-input rows for the cells and wrappers: constructors, one step, `zero_state`, `get_initial_state`.

Every public cell and wrapper class gets wrong-type constructor rows, and for a step,
`zero_state` and `get_initial_state` wrong-type, wrong-rank and wrong-structure rows.
A row's setup returns the (unbuilt) cell, and for a wrapper the cell it wraps, so the
snapshot proves a refused call built and changed nothing. Cases `tests/test_errors.py`
already covers (rank-3 inputs, `[2, 3]` integer inputs, a plain tensor for an LSTM
state, another batch size or width, a built cell fed another depth) are not repeated.
"""

import keras
import numpy as np
import tensorflow as tf

import tfrnn
from bad_input import Row

X = np.zeros((2, 3), "float32")  # one step, batch 2, depth 3
IDS = np.array([[1], [4]], "int32")  # one step of ids, for EmbeddingWrapper

# name -> (make the cell, one good step input). Inputs have depth 3 (ResidualWrapper adds them).
CELLS = {
    "BasicRNNCell": (lambda: tfrnn.BasicRNNCell(4), X),
    "BasicLSTMCell": (lambda: tfrnn.BasicLSTMCell(4), X),
    "LSTMCell": (lambda: tfrnn.LSTMCell(4, num_proj=3, use_peepholes=True), X),
    "GRUCell": (lambda: tfrnn.GRUCell(4), X),
    "LayerNormBasicLSTMCell": (lambda: tfrnn.LayerNormBasicLSTMCell(4), X),
    "GRUBlockCell": (lambda: tfrnn.GRUBlockCell(4), X),
    "LSTMBlockCell": (lambda: tfrnn.LSTMBlockCell(4, use_peephole=True), X),
    "MultiRNNCell": (lambda: tfrnn.MultiRNNCell([tfrnn.GRUCell(4), tfrnn.BasicLSTMCell(3)]), X),
    "DropoutWrapper": (lambda: tfrnn.DropoutWrapper(tfrnn.BasicLSTMCell(4), output_keep_prob=0.5, seed=1), X),
    "ResidualWrapper": (lambda: tfrnn.ResidualWrapper(tfrnn.GRUCell(3)), X),
    "DeviceWrapper": (lambda: tfrnn.DeviceWrapper(tfrnn.GRUCell(4), "/cpu:0"), X),
    "OutputProjectionWrapper": (lambda: tfrnn.OutputProjectionWrapper(tfrnn.BasicLSTMCell(4), 5), X),
    "InputProjectionWrapper": (lambda: tfrnn.InputProjectionWrapper(tfrnn.GRUCell(4), 3), X),
    "EmbeddingWrapper": (lambda: tfrnn.EmbeddingWrapper(tfrnn.GRUCell(4), 7, 2), IDS),
}


def fresh(name):
    """`setup` for `name`: the unbuilt cell, what it wraps, a zero state and a good input."""
    make, inputs = CELLS[name]

    def setup(tmp_path):
        cell = make()
        state = keras.tree.map_structure(lambda size: np.zeros((2, size), "float32"), cell.state_size)
        return {"cell": cell, "inner": getattr(cell, "cell", None), "state": state, "inputs": inputs}

    return setup


def other_structure(state):
    """A state of another structure: one part more, or a pair where one tensor is expected."""
    if isinstance(state, (tuple, list)):
        return tuple(state) + (state[-1],)
    return (state, state)


def step(inputs=None, state=None, method="__call__"):
    """A row call: one step of `env["cell"]` on the given inputs and state, else the good ones."""
    def call(env):
        given_inputs = env["inputs"] if inputs is None else inputs(env["inputs"])
        given_state = env["state"] if state is None else state(env["state"])
        return getattr(env["cell"], method)(given_inputs, given_state)

    return call


def step_rows(name):
    setup = fresh(name)
    ids = name == "EmbeddingWrapper"
    if ids:  # its inputs are integer ids [B, 1]: float features are the wrong type
        wrong_type, rank_1, bad_rank = X, IDS[:, 0][None, :, None], r"expects integer ids of shape \[batch_size, 1\]"
    else:
        wrong_type, rank_1, bad_rank = IDS, X[0], r"expects inputs of shape \[batch_size, input_depth\].*\(3,\)"
    embed = r"expects integer ids of shape" if ids else r"int32\..*embed your ids first"
    strings = np.array([["a"], ["b"]])
    rows = [
        Row(f"{name}-step-wrong-type-inputs", step(lambda x: wrong_type), ValueError, embed, setup),
        Row(f"{name}-step-string-inputs", step(lambda x: strings), ValueError,
            r"expects integer ids" if ids else r"has dtype <U1, not a number type", setup),
        Row(f"{name}-step-rank-1-inputs", step(lambda x: rank_1), ValueError, bad_rank, setup),
        Row(f"{name}-step-state-of-another-structure", step(state=other_structure), ValueError,
            r"expects a state matching state_size=.*(parts where|a nested sequence where a tensor)", setup),
        Row(f"{name}-step-state-none", step(state=lambda s: None), ValueError,
            r"expects a state matching state_size=.*received None: None where", setup),
        Row(f"{name}-call-state-of-another-structure", step(state=other_structure, method="call"), ValueError,
            r"expects a state matching state_size=", setup),
    ]
    if not ids:
        rows.append(Row(f"{name}-call-wrong-type-inputs", step(lambda x: IDS, method="call"), ValueError,
                        r"embed your ids first.*EmbeddingWrapper.*keras\.layers\.Embedding", setup))
    return rows


def initial_state_rows(name):
    setup = fresh(name)
    return [
        Row(f"{name}-zero_state-batch-size-string", lambda env: env["cell"].zero_state("2", tf.float32), TypeError,
            r"zero_state: batch_size must be an int or a scalar integer tensor, but received '2' \(str\)", setup),
        Row(f"{name}-zero_state-batch-size-negative", lambda env: env["cell"].zero_state(-1, tf.float32), ValueError,
            r"batch_size must be >= 0, but received -1", setup),
        Row(f"{name}-zero_state-batch-size-vector", lambda env: env["cell"].zero_state(tf.constant([2, 2]), tf.float32),
            TypeError, r"received a int32 tensor of shape \(2,\)", setup),
        Row(f"{name}-zero_state-dtype-none", lambda env: env["cell"].zero_state(2, None), TypeError,
            r"zero_state: dtype must be the state's dtype, but received None", setup),
        Row(f"{name}-get_initial_state-batch-size-string", lambda env: env["cell"].get_initial_state(batch_size="2"),
            TypeError, r"get_initial_state: batch_size must be an int or a scalar integer tensor, but received '2'", setup),
        Row(f"{name}-get_initial_state-scalar-inputs",
            lambda env: env["cell"].get_initial_state(inputs=tf.constant(1.0)), ValueError,
            r"get_initial_state: inputs must be one tensor \[batch_size, \.\.\.\].*shape \(\)", setup),
        Row(f"{name}-get_initial_state-inputs-a-list", lambda env: env["cell"].get_initial_state(inputs=[X, X]),
            ValueError, r"inputs must be one tensor.*received list\(", setup),
    ]


def construct(make):
    """A row call that constructs; `env["inner"]` is a fresh cell to wrap."""
    return lambda env: make(env["inner"])


def with_inner(tmp_path):
    return {"inner": tfrnn.BasicLSTMCell(4)}


def constructor_row(name, make, error, match):
    return Row(f"{name}-{make.__doc__}", construct(make), error, match, with_inner)


def case(what, function):
    function.__doc__ = what  # the row id's tail
    return function


NAN = float("nan")
CONSTRUCTORS = [
    # The sizes: what TF1 took (ints, whole floats), nothing else; the number, never a derived one.
    ("BasicRNNCell", case("num-units-string", lambda c: tfrnn.BasicRNNCell("4")), TypeError,
     r"BasicRNNCell\(num_units='4'\): num_units \(the number of units\) must be a positive int, but received a str"),
    ("BasicRNNCell", case("num-units-none", lambda c: tfrnn.BasicRNNCell(None)), TypeError, r"received a NoneType"),
    ("BasicRNNCell", case("num-units-fraction", lambda c: tfrnn.BasicRNNCell(2.5)), ValueError,
     r"received 2\.5, not a whole number"),
    ("BasicRNNCell", case("num-units-bool", lambda c: tfrnn.BasicRNNCell(True)), TypeError, r"received a bool"),
    ("BasicRNNCell", case("activation-unknown-name", lambda c: tfrnn.BasicRNNCell(4, activation="tanhh")), ValueError,
     r"BasicRNNCell\(activation='tanhh'\): unknown activation 'tanhh'\. Pass a Keras activation name.*or a callable"),
    ("BasicRNNCell", case("activation-not-callable", lambda c: tfrnn.BasicRNNCell(4, activation=3)), TypeError,
     r"unknown activation 3"),
    ("BasicLSTMCell", case("num-units-zero", lambda c: tfrnn.BasicLSTMCell(0)), ValueError,
     r"BasicLSTMCell\(num_units=0\).*but received 0\. Pass an int >= 1"),
    ("BasicLSTMCell", case("forget-bias-string", lambda c: tfrnn.BasicLSTMCell(4, forget_bias="1.0")), TypeError,
     r"forget_bias \(added to the forget gate\) must be a number, but received a str"),
    ("BasicLSTMCell", case("forget-bias-nan", lambda c: tfrnn.BasicLSTMCell(4, forget_bias=NAN)), ValueError,
     r"forget_bias.*must be a number other than NaN, but received nan"),
    ("LSTMCell", case("num-units-negative", lambda c: tfrnn.LSTMCell(-2)), ValueError, r"LSTMCell\(num_units=-2\)"),
    ("LSTMCell", case("num-proj-negative", lambda c: tfrnn.LSTMCell(4, num_proj=-1)), ValueError,
     r"num_proj \(the depth of the projected output; None for no projection\) must be a positive int, but received -1"),
    ("LSTMCell", case("num-proj-zero", lambda c: tfrnn.LSTMCell(4, num_proj=0)), ValueError, r"num_proj.*received 0"),
    ("LSTMCell", case("num-proj-string", lambda c: tfrnn.LSTMCell(4, num_proj="3")), TypeError, r"num_proj.*a str"),
    ("LSTMCell", case("cell-clip-string", lambda c: tfrnn.LSTMCell(4, cell_clip="3")), TypeError,
     r"cell_clip.*must be a number"),
    ("LSTMCell", case("cell-clip-negative", lambda c: tfrnn.LSTMCell(4, cell_clip=-1.0)), ValueError,
     r"cell_clip.*must be a number >= 0\.0, but received -1\.0"),
    ("LSTMCell", case("proj-clip-nan", lambda c: tfrnn.LSTMCell(4, num_proj=2, proj_clip=NAN)), ValueError,
     r"proj_clip.*must be a number >= 0\.0, but received nan"),
    ("LSTMCell", case("initializer-unknown-name", lambda c: tfrnn.LSTMCell(4, initializer="glorot_unifrom")),
     ValueError, r"LSTMCell\(initializer='glorot_unifrom'\): unknown initializer.*Keras initializer name"),
    ("GRUCell", case("num-units-negative", lambda c: tfrnn.GRUCell(-3)), ValueError,
     r"^GRUCell\(num_units=-3\): num_units \(the number of units\) must be a positive int, but received -3\."),
    ("GRUCell", case("activation-unknown-name", lambda c: tfrnn.GRUCell(4, activation="rleu")), ValueError,
     r"GRUCell\(activation='rleu'\): unknown activation"),
    ("GRUCell", case("kernel-initializer-number", lambda c: tfrnn.GRUCell(4, kernel_initializer=3)), TypeError,
     r"GRUCell\(kernel_initializer=3\): unknown initializer"),
    ("GRUCell", case("dtype-integer", lambda c: tfrnn.GRUCell(4, dtype="int64")), ValueError,
     r"GRUCell\(dtype=\.\.\.\) has dtype int64.*Pass a float dtype"),
    ("LayerNormBasicLSTMCell", case("num-units-fraction", lambda c: tfrnn.LayerNormBasicLSTMCell(4.5)), ValueError,
     r"LayerNormBasicLSTMCell\(num_units=4\.5\).*not a whole number"),
    ("LayerNormBasicLSTMCell",
     case("keep-prob-string", lambda c: tfrnn.LayerNormBasicLSTMCell(4, dropout_keep_prob="0.5")), TypeError,
     r"dropout_keep_prob must be a float between 0 and 1, but received '0\.5'"),
    ("LayerNormBasicLSTMCell", case("seed-string", lambda c: tfrnn.LayerNormBasicLSTMCell(4, dropout_prob_seed="1")),
     TypeError, r"dropout_prob_seed must be an int or None, but received a str"),
    ("LayerNormBasicLSTMCell", case("norm-gain-none", lambda c: tfrnn.LayerNormBasicLSTMCell(4, norm_gain=None)),
     TypeError, r"norm_gain.*must be a number"),
    ("GRUBlockCell", case("cell-size-negative", lambda c: tfrnn.GRUBlockCell(cell_size=-2)), ValueError,
     r"GRUBlockCell\(cell_size=-2\): cell_size"),
    ("GRUBlockCell", case("num-units-string", lambda c: tfrnn.GRUBlockCell("3")), TypeError,
     r"GRUBlockCell\(num_units='3'\)"),
    ("LSTMBlockCell", case("num-units-none", lambda c: tfrnn.LSTMBlockCell(None)), TypeError,
     r"LSTMBlockCell\(num_units=None\)"),
    ("LSTMBlockCell", case("cell-clip-string", lambda c: tfrnn.LSTMBlockCell(4, cell_clip="big")), TypeError,
     r"LSTMBlockCell\(cell_clip='big'\).*must be a number"),
    ("LSTMBlockCell", case("forget-bias-list", lambda c: tfrnn.LSTMBlockCell(4, forget_bias=[1.0])), TypeError,
     r"forget_bias.*received a list"),
    # Wrappers: the wrapped cell (`c`, fresh) must come out unbuilt and unchanged.
    ("MultiRNNCell", case("cells-none", lambda c: tfrnn.MultiRNNCell(None)), TypeError,
     r"cells must be a list or tuple, but received: None"),
    ("MultiRNNCell", case("cells-dict", lambda c: tfrnn.MultiRNNCell({"a": c})), TypeError, r"cells must be a list"),
    ("MultiRNNCell", case("cell-not-a-cell", lambda c: tfrnn.MultiRNNCell([c, 4])), TypeError,
     r"cells\[1\] is not an RNN cell"),
    ("DropoutWrapper", case("cell-string", lambda c: tfrnn.DropoutWrapper("lstm")), TypeError,
     r"The argument 'cell' \('lstm'\) is not an RNNCell"),
    ("DropoutWrapper", case("keep-prob-string", lambda c: tfrnn.DropoutWrapper(c, input_keep_prob="half")), TypeError,
     r"input_keep_prob must be a float between 0 and 1"),
    ("DropoutWrapper", case("keep-prob-above-one", lambda c: tfrnn.DropoutWrapper(c, state_keep_prob=1.5)), ValueError,
     r"state_keep_prob must be between 0 and 1\. Received 1\.5"),
    ("DropoutWrapper", case("keep-prob-bool", lambda c: tfrnn.DropoutWrapper(c, output_keep_prob=True)), TypeError,
     r"output_keep_prob must be a float"),
    ("DropoutWrapper", case("seed-fraction", lambda c: tfrnn.DropoutWrapper(c, output_keep_prob=0.5, seed=1.5)),
     TypeError, r"DropoutWrapper\(seed=1\.5\): seed must be an int or None"),
    ("ResidualWrapper", case("cell-none", lambda c: tfrnn.ResidualWrapper(None)), TypeError,
     r"The argument 'cell' \(None\) is not an RNNCell"),
    ("ResidualWrapper", case("residual-fn-string", lambda c: tfrnn.ResidualWrapper(c, residual_fn="add")), TypeError,
     r"residual_fn must be callable or None, but received 'add'"),
    ("DeviceWrapper", case("device-number", lambda c: tfrnn.DeviceWrapper(c, 0)), TypeError,
     r"DeviceWrapper needs a device string such as '/cpu:0', but received 0"),
    ("DeviceWrapper", case("cell-class-not-instance", lambda c: tfrnn.DeviceWrapper(tfrnn.GRUCell, "/cpu:0")),
     TypeError, r"The argument 'cell' \(GRUCell\) is not an RNNCell: it is a class.*GRUCell\(num_units\)"),
    ("OutputProjectionWrapper", case("output-size-string", lambda c: tfrnn.OutputProjectionWrapper(c, "5")), TypeError,
     r"OutputProjectionWrapper\(output_size='5'\): output_size \(the depth of the projected output"),
    ("OutputProjectionWrapper", case("output-size-negative", lambda c: tfrnn.OutputProjectionWrapper(c, -5)),
     ValueError, r"output_size.*received -5"),
    ("OutputProjectionWrapper",
     case("activation-unknown-name", lambda c: tfrnn.OutputProjectionWrapper(c, 5, "sofmax")), ValueError,
     r"OutputProjectionWrapper\(activation='sofmax'\): unknown activation"),
    ("InputProjectionWrapper", case("num-proj-fraction", lambda c: tfrnn.InputProjectionWrapper(c, 2.5)), ValueError,
     r"InputProjectionWrapper\(num_proj=2\.5\).*not a whole number"),
    ("InputProjectionWrapper", case("num-proj-none", lambda c: tfrnn.InputProjectionWrapper(c, None)), TypeError,
     r"num_proj \(the depth the inputs are projected to\) must be a positive int"),
    ("InputProjectionWrapper",
     case("activation-not-callable", lambda c: tfrnn.InputProjectionWrapper(c, 3, activation=7)), TypeError,
     r"unknown activation 7"),
    ("EmbeddingWrapper", case("embedding-classes-string", lambda c: tfrnn.EmbeddingWrapper(c, "7", 2)), TypeError,
     r"EmbeddingWrapper\(embedding_classes='7'\): embedding_classes \(the number of ids\)"),
    ("EmbeddingWrapper", case("embedding-size-zero", lambda c: tfrnn.EmbeddingWrapper(c, 7, 0)), ValueError,
     r"embedding_size \(the embedding depth\) must be a positive int, but received 0"),
    ("EmbeddingWrapper",
     case("initializer-unknown-name", lambda c: tfrnn.EmbeddingWrapper(c, 7, 2, initializer="unifrom")), ValueError,
     r"unknown initializer 'unifrom'"),
]


def built_embedding(tmp_path):
    """A built EmbeddingWrapper: a traced or looped call builds before its ids are read."""
    cell = tfrnn.EmbeddingWrapper(tfrnn.GRUCell(4), 7, 2)
    cell(IDS, cell.zero_state(2, "float32"))
    return {"cell": cell}


BAD_IDS = np.array([[1], [7], [-2]], "int32")
STATE_3 = np.zeros((3, 4), "float32")
EMBEDDING_IDS = [
    Row("EmbeddingWrapper-ids-out-of-range", lambda env: env["cell"](BAD_IDS, STATE_3), ValueError,
        r"expects ids in \[0, 7\) \(embedding_classes=7\).*Received ids \[7, -2\] at rows \[1, 2\]\.",
        fresh("EmbeddingWrapper")),
    Row("EmbeddingWrapper-call-ids-out-of-range", lambda env: env["cell"].call(BAD_IDS[:, 0], STATE_3), ValueError,
        r"Received ids \[7, -2\] at rows \[1, 2\]", fresh("EmbeddingWrapper")),
    Row("EmbeddingWrapper-ids-out-of-range-in-tf-function",
        lambda env: tf.function(lambda ids: env["cell"](ids, tf.zeros([3, 4]))[0])(tf.constant(BAD_IDS)),
        tf.errors.InvalidArgumentError, r"expects ids in \[0, 7\).*Received ids.*\[7 -2\].*at rows.*\[1 2\]",
        built_embedding),
    Row("EmbeddingWrapper-ids-out-of-range-in-dynamic_rnn",
        lambda env: tfrnn.dynamic_rnn(env["cell"], np.array([[[1], [2]], [[3], [9]]], "int32"), dtype=tf.float32),
        ValueError, r"Received ids \[9\] at rows \[1\]", built_embedding),
]

ROWS = (
    [row for name in CELLS for row in step_rows(name)]
    + [row for name in CELLS for row in initial_state_rows(name)]
    + [constructor_row(name, make, error, match) for name, make, error, match in CONSTRUCTORS]
    + EMBEDDING_IDS
)
