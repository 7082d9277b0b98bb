"""Goldens: the wrappers and contrib pieces against TF 1.15 itself (tests/golden/tf115/).

Each case's TF1 text (`OutputProjectionWrapper(LSTMCell(4), 5)`, `dynamic_rnn(cell,
x, sequence_length=L, dtype=tf.float32)`) is evaluated with tfrnn's classes and
functions in place of TF1's; the TF 1.15 checkpoint is loaded into the unbuilt
cell by its TF1 names, and outputs, final states and gradients must equal TF1's.
"""

import json
import math
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrnn

GOLDEN = pathlib.Path(__file__).parent / "golden" / "tf115"
CASES = {
    case["name"]: case
    for case in json.loads((GOLDEN / "MANIFEST.json").read_text())["cases"]
    if not case["call"].startswith("stack_bidirectional")
}
INIT_FACTS = json.loads((GOLDEN / "INIT_FACTS.json").read_text())["cases"]
ATOL = 1e-5
SCOPES = ("input", "transform", "forget", "output", "state")


def names_for(golden):
    names = {n: getattr(tfrnn, n) for n in tfrnn.__all__}
    names.update(tf=tf, __builtins__={}, x=tf.constant(golden["x"]))
    if "L" in golden:
        names["L"] = tf.constant(golden["L"])
    return names


def loaded_cell(name, golden):
    """The case's cell from its TF1 text, loaded from the TF 1.15 checkpoint by name."""
    cell = eval(CASES[name]["cells"]["cell"], names_for(golden))  # noqa: S307 - MANIFEST text
    loaded = tfrnn.load_tf1_checkpoint(GOLDEN / name, cell, scope="rnn")
    assert sorted(loaded) == sorted(golden["names"].tolist())
    for tf1_name, variable in loaded.items():
        np.testing.assert_array_equal(np.asarray(variable), golden[f"var:{tf1_name}"])
    return cell


def assert_matches_golden(golden, leaves, grads):
    for k, leaf in enumerate(leaves):
        np.testing.assert_allclose(leaf, golden[f"out_{k}"], atol=ATOL, err_msg=f"result leaf {k}")
    if "grad_x" in golden:
        np.testing.assert_allclose(grads["x"], golden["grad_x"], atol=ATOL)
    for tf1_name, grad in grads["vars"].items():
        np.testing.assert_allclose(tf.convert_to_tensor(grad), golden[f"grad:{tf1_name}"], atol=ATOL, err_msg=tf1_name)


@pytest.mark.parametrize("name", sorted(set(CASES) - {"embedding"}))
def test_reproduces_tf1_15(name):
    golden = np.load(GOLDEN / f"{name}.npz")
    cell = loaded_cell(name, golden)
    names = dict(names_for(golden), cell=cell)
    variables = tfrnn.tf1_variable_names(cell, "rnn")
    with tf.GradientTape() as tape:
        tape.watch(names["x"])
        leaves = tf.nest.flatten(eval(CASES[name]["call"], names))  # noqa: S307 - MANIFEST text
        loss = sum(tf.reduce_sum(leaf * golden[f"r_{k}"]) for k, leaf in enumerate(leaves))
    assert len(leaves) == CASES[name]["result_leaves"]
    assert_matches_golden(golden, leaves, tape.gradient(loss, {"x": names["x"], "vars": variables}))


def tf1_steps(cell, ids, lengths):
    """dynamic_rnn's semantics step by step: zeros past a row's length, state copied through."""
    state = cell.zero_state(ids.shape[0], tf.float32)
    outputs = []
    for t in range(ids.shape[1]):
        output, new_state = cell(ids[:, t], state)
        done = (t >= lengths)[:, None]
        outputs.append(tf.where(done, tf.zeros_like(output), output))
        state = tf.nest.map_structure(lambda old, new: tf.where(done, old, new), state, new_state)
    return tf.stack(outputs, axis=1), state


def test_embedding_wrapper_reproduces_tf1_15_step_by_step():
    golden = np.load(GOLDEN / "embedding.npz")
    cell = loaded_cell("embedding", golden)
    variables = tfrnn.tf1_variable_names(cell, "rnn")
    with tf.GradientTape() as tape:
        leaves = tf.nest.flatten(tf1_steps(cell, golden["x"], golden["L"]))
        loss = sum(tf.reduce_sum(leaf * golden[f"r_{k}"]) for k, leaf in enumerate(leaves))
    assert "grad_x" not in golden  # integer ids have no gradient
    assert_matches_golden(golden, leaves, {"vars": tape.gradient(loss, variables)})


def test_dynamic_rnn_runs_an_embedding_wrapper_on_integer_ids():
    golden = np.load(GOLDEN / "embedding.npz")
    names = dict(names_for(golden), cell=loaded_cell("embedding", golden))
    leaves = tf.nest.flatten(eval(CASES["embedding"]["call"], names))  # noqa: S307 - MANIFEST text
    for k, leaf in enumerate(leaves):
        np.testing.assert_allclose(leaf, golden[f"out_{k}"], atol=ATOL)


def test_tf1_numbers_hold_under_xla():
    golden = np.load(GOLDEN / "multi_of_contrib.npz")
    cell = loaded_cell("multi_of_contrib", golden)
    run = tf.function(lambda x, L: tfrnn.dynamic_rnn(cell, x, sequence_length=L, dtype=tf.float32), jit_compile=True)
    for k, leaf in enumerate(tf.nest.flatten(run(golden["x"], golden["L"]))):
        np.testing.assert_allclose(leaf, golden[f"out_{k}"], atol=ATOL)


def glorot_limit(shape):
    fan_in, fan_out = (shape[0], shape[0]) if len(shape) == 1 else shape
    return math.sqrt(6.0 / (fan_in + fan_out))


def default_init_rule(tf1_name, shape, case):
    """TF1's default initializer of each variable: `("constant", value)` or `("uniform", limit)`."""
    last = tf1_name.rsplit("/", 1)[-1]
    if last in ("gamma", "beta"):  # norm_gain, norm_shift: 1.3, 0.2 in the _opts case
        gain, shift = (1.3, 0.2) if case.endswith("_opts") else (1.0, 0.0)
        return ("constant", gain if last == "gamma" else shift)
    if last == "embedding":
        return ("uniform", math.sqrt(3.0))
    if last in ("b_ru", "b_c"):  # GRUBlockCell's gates and candidate biases
        return ("constant", 1.0 if last == "b_ru" else 0.0)
    if last == "bias" and not case.endswith("_off"):
        return ("constant", 0.0)
    return ("uniform", glorot_limit(shape))  # kernels, and layer_norm=False's bias (a TF1 quirk)


@pytest.mark.parametrize("case", sorted(INIT_FACTS))
def test_default_initializers_are_tf1s(case):
    keras.utils.set_random_seed(0)
    cell = eval(CASES[case]["cells"]["cell"], names_for({"x": 0}))  # noqa: S307 - MANIFEST text
    ids = CASES[case]["x_dtype"] == "int32"
    x = np.zeros((1, 1), "int32") if ids else np.zeros((1, 3), "float32")
    cell(x, cell.zero_state(1, "float32"))
    facts = INIT_FACTS[case]
    variables = tfrnn.tf1_variable_names(cell, "rnn")
    assert sorted(variables) == sorted(facts)
    for tf1_name, fact in facts.items():
        value = np.asarray(variables[tf1_name])
        assert list(value.shape) == fact["shape"], tf1_name
        kind, number = default_init_rule(tf1_name, fact["shape"], case)
        if kind == "constant":
            np.testing.assert_allclose(value, number, rtol=1e-6, err_msg=tf1_name)
            np.testing.assert_allclose([fact["min"], fact["max"]], number, rtol=1e-6, err_msg=tf1_name)
        else:  # TF1's observed values and ours lie within the same limit, and fill it
            for low, high in ((fact["min"], fact["max"]), (value.min(), value.max())):
                assert -number <= low < -number / 4 and number / 4 < high <= number, tf1_name


def test_an_unbuilt_embedding_wrapper_loads_and_takes_ids_of_shape_b_or_b1():
    golden = np.load(GOLDEN / "embedding.npz")
    cell = loaded_cell("embedding", golden)
    assert tuple(cell.embedding.shape) == (7, 2) and tuple(cell.cell.kernel.shape) == (5, 12)
    state = cell.zero_state(4, tf.float32)
    by_column, _ = cell(golden["x"][:, 0], state)
    by_vector, _ = cell(golden["x"][:, 0, 0], state)
    np.testing.assert_array_equal(np.asarray(by_column), np.asarray(by_vector))
