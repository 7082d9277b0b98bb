"""Conformance: every cell and wrapper, and a user's TF1-style cell, inside Keras (issue 4).

One list (`CONFORMANCE` in `tests/cases.py`) runs through every check: `keras.layers.RNN`
against a step loop, `Bidirectional`, `fit` in a functional and a Sequential model,
stateful layers (state carried across calls as by hand, `reset_states`, `fit` with
`shuffle=False`), the config round trip, `.keras` and `save_weights` round trips, a SavedModel reloaded
in a fresh process, `jit_compile=True`, mixed precision, `MirroredStrategy` over two
logical CPUs, and Keras masks against `dynamic_rnn`'s `sequence_length`.

Two families need a fresh TensorFlow: each has one helper process
(`tests/conformance_subprocess.py`, looping over the cases; the SavedModel one starts
the fresh process that reloads), started with this module and run beside the other
checks. Known bugs are strict xfails in `KNOWN`, so a fix flips them; checks that
cannot apply to a case are skips with the reason.
"""

import json
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrnn
from cases import CONFORMANCE, randomize

ATOL = 1e-5  # same math, another loop or another device
SAVE_ATOL = 1e-6  # the same weights after a save and a load
BATCH, TIME = 4, 4
LENGTHS = np.array([4, 2, 3, 1], "int32")  # trailing padding, one row of each length
POLICIES = ("mixed_float16", "mixed_bfloat16")
HELPER = pathlib.Path(__file__).parent / "conformance_subprocess.py"

KNOWN = {  # (check, case name) -> marks
    ("mirrored", "dropout"): pytest.mark.skip(
        reason="per-step dropout draws per-element masks for each replica's own [2, depth] rows (as "
        "keras.layers.Dropout does), which cannot equal one device's [4, depth] masks; variational "
        "masks are [1, depth], shared by all rows, and are compared"
    ),
    ("embedding_mask", "embedding"): pytest.mark.skip(
        reason="EmbeddingWrapper reads integer ids, so it cannot follow a keras.layers.Embedding; "
        "its mask is checked with keras.layers.Masking over the ids"
    ),
}


def cases(check):
    return [pytest.param(case, id=case.name, marks=KNOWN.get((check, case.name), ())) for case in CONFORMANCE]


@pytest.fixture(autouse=True)
def _seeded():
    keras.utils.set_random_seed(0)


@pytest.fixture(params=POLICIES)
def policy(request):
    keras.mixed_precision.set_global_policy(request.param)
    try:
        yield request.param
    finally:
        keras.mixed_precision.set_global_policy("float32")


# Models and loops ---------------------------------------------------------------------


def data(case, seed=0):
    """Inputs `[4, 4, depth]` (or ids `[4, 4, 1]`) and regression targets `[4, 1]`."""
    rng = np.random.default_rng(seed)
    return case.inputs(rng, BATCH, TIME), rng.normal(size=(BATCH, 1)).astype("float32")


def sequence_input(case):
    return keras.Input((None, 1), dtype="int32") if case.ids else keras.Input((None, case.depth))


def functional_model(case):
    """`Input -> RNN(cell) -> Dense(1)` (the head in float32, as mixed precision advises)."""
    inputs = sequence_input(case)
    hidden = keras.layers.RNN(case.make())(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, dtype="float32")(hidden))


def sequential_model(case):
    return keras.Sequential([sequence_input(case), keras.layers.RNN(case.make()), keras.layers.Dense(1)])


def random_model(case, seed=1):
    """A functional model whose cell has random weights (biases, gains and peepholes count)."""
    model = functional_model(case)
    randomize(model.layers[1].cell, np.random.default_rng(seed))
    return model


def built_random_cell(case, x, seed=1):
    """A fresh cell, built by `keras.layers.RNN` for `x`, with random weights."""
    cell = case.make()
    keras.layers.RNN(cell)(x)
    randomize(cell, np.random.default_rng(seed))
    return cell


def step_loop(cell, x):
    """The TF1 contract by hand: `output, state = cell(x_t, state)` for each step."""
    state = cell.get_initial_state(batch_size=x.shape[0], dtype="float32")
    outputs = []
    for t in range(x.shape[1]):
        output, state = cell(x[:, t], state)
        outputs.append(np.asarray(output))
    return np.stack(outputs, axis=1), [np.asarray(s) for s in keras.tree.flatten(state)]


def inference_loss(model, x, y):
    return float(np.mean((np.asarray(model(x, training=False), "float32") - y) ** 2))


def assert_fit_lowers_the_loss(case, model, x, y, rtol=1e-5, **compile_kwargs):
    """Three Adam steps on one batch lower the (dropout-free) loss and move every weight.

    Without dropout, fit's first loss (the compiled forward pass, before any
    update) is also the eager loss: `rtol` says how close.
    """
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss="mse", **compile_kwargs)
    before, initial = inference_loss(model, x, y), [np.array(w) for w in model.trainable_weights]
    history = model.fit(x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0).history["loss"]
    after = inference_loss(model, x, y)
    assert np.all(np.isfinite(history)) and after < before, f"loss {before} -> {after}; fit losses {history}"
    if not case.stochastic:
        np.testing.assert_allclose(history[0], before, rtol=rtol)
    frozen = [w.path for w, old in zip(model.trainable_weights, initial) if np.array_equal(np.array(w), old)]
    assert not frozen, f"fit did not change {frozen}"


def assert_all_close(got, want, atol):
    got, want = keras.tree.flatten(got), keras.tree.flatten(want)
    assert len(got) == len(want), f"{len(got)} tensors, expected {len(want)}"
    for a, b in zip(got, want):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=atol, rtol=0)


# keras.layers.RNN and Bidirectional ---------------------------------------------------


@pytest.mark.parametrize("case", cases("rnn_layer"))
def test_keras_rnn_layer_equals_the_step_loop(case):
    x, _ = data(case)
    cell = built_random_cell(case, x)
    outputs, states = step_loop(cell, x)
    for return_sequences in (False, True):
        for return_state in (False, True):
            layer = keras.layers.RNN(cell, return_sequences=return_sequences, return_state=return_state)
            want = outputs if return_sequences else outputs[:, -1]
            assert_all_close(layer(x), [want, *states] if return_state else want, ATOL)


@pytest.mark.parametrize("case", cases("training_flag"))
def test_training_reaches_the_cell_and_only_dropout_cells_differ(case):
    x, _ = data(case)
    layer = keras.layers.RNN(case.make(), return_sequences=True)
    inference = np.asarray(layer(x, training=False))
    training = np.asarray(layer(x, training=True))
    assert np.all(np.isfinite(training))
    if case.stochastic:
        assert not np.allclose(training, inference), "dropout did not act with training=True"
        np.testing.assert_array_equal(np.asarray(layer(x)), inference)  # training unset: inference
    else:
        np.testing.assert_allclose(training, inference, atol=0, rtol=0)


@pytest.mark.parametrize("case", cases("bidirectional"))
def test_bidirectional_equals_a_forward_and_a_reversed_step_loop(case):
    x, _ = data(case)
    layer = keras.layers.Bidirectional(keras.layers.RNN(case.make(), return_sequences=True, return_state=True))
    outputs, *states = layer(x)
    forward, forward_states = step_loop(layer.forward_layer.cell, x)
    backward, backward_states = step_loop(layer.backward_layer.cell, x[:, ::-1])
    assert layer.backward_layer.cell is not layer.forward_layer.cell
    assert type(layer.backward_layer.cell) is type(layer.forward_layer.cell)
    assert_all_close(outputs, np.concatenate([forward, backward[:, ::-1]], axis=-1), ATOL)
    assert_all_close(states, forward_states + backward_states, ATOL)


# Training ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", cases("functional_fit"))
def test_functional_model_fit_lowers_the_loss(case):
    assert_fit_lowers_the_loss(case, functional_model(case), *data(case))


@pytest.mark.parametrize("case", cases("sequential_fit"))
def test_sequential_model_fit_lowers_the_loss(case):
    assert_fit_lowers_the_loss(case, sequential_model(case), *data(case))


@pytest.mark.parametrize("case", cases("jit_compile"))
def test_jit_compiled_fit_lowers_the_loss_and_starts_from_the_eager_loss(case):
    model = functional_model(case)
    assert_fit_lowers_the_loss(case, model, *data(case), jit_compile=True)
    assert model.jit_compile


@pytest.mark.parametrize("case", cases("mixed_precision"))
def test_mixed_precision_trains_in_low_precision_with_float32_weights(case, policy):
    model = functional_model(case)  # made under the policy: the cell takes it
    cell = model.layers[1].cell
    compute = keras.mixed_precision.global_policy().compute_dtype
    assert cell.compute_dtype == compute and cell.variable_dtype == "float32"
    x, y = data(case)
    assert model.layers[1](x).dtype == compute
    assert_fit_lowers_the_loss(case, model, x, y, rtol=1e-2)
    not_float32 = {w.path: w.dtype for w in model.weights if w.dtype != "float32"}
    assert not not_float32, f"weights not float32 under {policy}: {not_float32}"


# Stateful RNN layers --------------------------------------------------------------------


def stateful_model(case, x):
    """`Input(batch BATCH) -> RNN(cell, stateful=True) -> Dense(1)`: TF1's language-model pattern in Keras."""
    inputs = keras.Input(batch_shape=(BATCH, None, *x.shape[2:]), dtype=str(x.dtype))
    hidden = keras.layers.RNN(case.make(), stateful=True)(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, dtype="float32")(hidden))


def all_zero(states):
    return all(not np.any(np.asarray(v)) for v in keras.tree.flatten(states))


@pytest.mark.parametrize("case", cases("stateful"))
def test_stateful_rnn_carries_the_state_like_the_step_loop_and_resets(case):
    x, _ = data(case)
    layer = keras.layers.RNN(case.make(), stateful=True, return_sequences=True)
    layer(x[:, :2])
    randomize(layer.cell, np.random.default_rng(1))
    layer.reset_states()
    assert all_zero(layer.states)
    first, second = np.asarray(layer(x[:, :2])), np.asarray(layer(x[:, 2:]))  # two batches of one sequence
    outputs, states = step_loop(layer.cell, x)  # the state carried by hand
    assert_all_close(np.concatenate([first, second], axis=1), outputs, ATOL)
    assert_all_close(list(layer.states), states, ATOL)
    layer.reset_states()
    assert all_zero(layer.states)
    assert_all_close(layer(x[:, :2]), first, ATOL)


@pytest.mark.parametrize("case", cases("stateful_fit"))
def test_stateful_model_fits_with_shuffle_false_and_keeps_the_last_state(case):
    x, y = data(case)
    model = stateful_model(case, x)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss="mse")
    history = model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0).history["loss"]
    assert np.all(np.isfinite(history))
    rnn = model.layers[1]
    assert not all_zero(rnn.states), "fit did not carry the state out of the last batch"
    rnn.reset_states()
    assert all_zero(rnn.states)


# Serialization -------------------------------------------------------------------------


@pytest.mark.parametrize("case", cases("config"))
def test_config_round_trip_gives_the_same_cell(case):
    cell = case.make()
    serialized = keras.saving.serialize_keras_object(cell)
    json.dumps(serialized)  # a .keras file stores it as JSON
    for clone in (keras.saving.deserialize_keras_object(serialized), type(cell).from_config(cell.get_config())):
        assert type(clone) is type(cell) and clone.get_config() == cell.get_config()
        assert clone.state_size == cell.state_size and clone.output_size == cell.output_size
    x, _ = data(case)
    layer = keras.layers.RNN(built_random_cell(case, x), return_sequences=True)
    layer_clone = keras.layers.RNN.from_config(layer.get_config())
    layer_clone(x)
    assert type(layer_clone.cell) is type(cell)
    layer_clone.set_weights(layer.get_weights())
    assert_all_close(layer_clone(x), layer(x), SAVE_ATOL)


@pytest.mark.parametrize("case", cases("keras_file"))
def test_keras_file_round_trip_in_safe_mode_gives_identical_predictions(case, tmp_path):
    model = random_model(case)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    assert type(loaded.layers[1].cell) is type(model.layers[1].cell)
    x, _ = data(case)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=SAVE_ATOL, rtol=0)


@pytest.mark.parametrize("case", cases("save_weights"))
def test_save_weights_load_weights_gives_identical_predictions(case, tmp_path):
    model = random_model(case)
    model.save_weights(tmp_path / "m.weights.h5")
    fresh = functional_model(case)
    x, _ = data(case)
    assert not np.allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0), atol=SAVE_ATOL)
    fresh.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0), atol=SAVE_ATOL, rtol=0)


# Keras masks ---------------------------------------------------------------------------


def padded(case):
    x, _ = data(case)
    for row, length in enumerate(LENGTHS):
        x[row, length:] = 0
    return x


def assert_masked_rnn_equals_dynamic_rnn(cell, model, model_inputs, cell_inputs):
    got = model(model_inputs)
    outputs, state = tfrnn.dynamic_rnn(cell, cell_inputs, sequence_length=LENGTHS, dtype=tf.float32)
    assert_all_close(got, [outputs, *keras.tree.flatten(state)], ATOL)
    np.testing.assert_array_equal(np.asarray(got[0])[1, 2:], 0.0)


def masked_rnn(cell):
    return keras.layers.RNN(cell, return_sequences=True, return_state=True, zero_output_for_mask=True)


@pytest.mark.parametrize("case", cases("masking"))
def test_masking_layer_mask_equals_dynamic_rnn_sequence_length(case):
    x = padded(case)
    inputs = sequence_input(case)
    cell = case.make()
    model = keras.Model(inputs, masked_rnn(cell)(keras.layers.Masking(mask_value=0)(inputs)))
    model(x)
    randomize(cell, np.random.default_rng(1))
    assert_masked_rnn_equals_dynamic_rnn(cell, model, x, x)


@pytest.mark.parametrize("case", cases("embedding_mask"))
def test_embedding_mask_zero_equals_dynamic_rnn_sequence_length(case):
    ids = np.random.default_rng(0).integers(1, 9, size=(BATCH, TIME)).astype("int32")
    for row, length in enumerate(LENGTHS):
        ids[row, length:] = 0
    inputs = keras.Input((None,), dtype="int32")
    embedding = keras.layers.Embedding(9, case.depth, mask_zero=True)
    cell = case.make()
    model = keras.Model(inputs, masked_rnn(cell)(embedding(inputs)))
    model(ids)
    randomize(cell, np.random.default_rng(1))
    assert_masked_rnn_equals_dynamic_rnn(cell, model, ids, embedding(ids))


# Fresh processes -----------------------------------------------------------------------
# Each family's helper process starts with the module and runs beside the other tests
# (its tests come last); it loops over the selected cases and leaves one folder each.

FAMILIES = {
    "saved_model": "test_saved_model_reloaded_in_a_fresh_process_gives_identical_outputs",
    "mirrored": "test_mirrored_strategy_step_equals_one_device_from_the_same_weights",
}


@pytest.fixture(scope="module", autouse=True)
def helpers(request, tmp_path_factory):
    """family -> (folder, process, log) for each family that has a selected, unskipped test."""
    jobs = {}
    for family, test_name in FAMILIES.items():
        names = [
            item.callspec.params["case"].name for item in request.session.items
            if getattr(item, "module", None) is request.module and getattr(item, "originalname", None) == test_name
            and not item.get_closest_marker("skip")
        ]
        if names:
            root = tmp_path_factory.mktemp(family)
            log = open(root / "log.txt", "w")
            command = [sys.executable, str(HELPER), family, str(root), *names]
            jobs[family] = (root, subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT), log)
    yield jobs
    for _, process, log in jobs.values():
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def helper_folder(helpers, family, case):
    """The case's folder once the family's process has finished; its error fails the test."""
    root, process, _ = helpers[family]
    returncode = process.wait(timeout=600)
    log = (root / "log.txt").read_text()[-3000:]
    assert returncode == 0, f"{HELPER.name} {family} exited with {returncode}:\n{log}"
    error = root / case.name / "error.txt"
    if error.exists():
        pytest.fail(f"{family} helper, case {case.name}:\n{error.read_text()}")
    return root / case.name


@pytest.mark.parametrize("case", cases("saved_model"))
def test_saved_model_reloaded_in_a_fresh_process_gives_identical_outputs(case, helpers):
    folder = helper_folder(helpers, "saved_model", case)
    want, got = np.load(folder / "want.npz"), np.load(folder / "got.npz")
    for kind in ("model", "loop"):  # keras.layers.RNN, and a tf.Module running dynamic_rnn
        keys = [f"{kind}/{i}" for i in range(len([k for k in want.files if k.startswith(f"{kind}/")]))]
        assert_all_close([got[k] for k in keys], [want[k] for k in keys], SAVE_ATOL)
    np.testing.assert_array_equal(got["loop/0"][1, 2:], 0.0)  # TF1 padding survived the export


KINDS = ("initial", "single", "mirrored")


@pytest.mark.parametrize("case", cases("mirrored"))
def test_mirrored_strategy_step_equals_one_device_from_the_same_weights(case, helpers):
    steps = np.load(helper_folder(helpers, "mirrored", case) / "steps.npz")
    assert int(steps["replicas"]) == 2
    count = len([k for k in steps.files if k.startswith("initial/")])
    initial, single, mirrored = ([steps[f"{kind}/{i}"] for i in range(count)] for kind in KINDS)
    assert any(not np.allclose(a, b) for a, b in zip(single, initial)), "the step changed no weight"
    np.testing.assert_allclose(steps["mirrored_loss"], steps["single_loss"], atol=ATOL, rtol=0)
    assert_all_close(mirrored, single, ATOL)
