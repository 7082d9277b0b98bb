"""seq2seq is Keras-native: attention in `keras.layers.RNN` and in functional models, a
small translator trained by `fit` and saved as `.keras`, a greedy-decoding SavedModel
reloaded in a fresh process, XLA, mixed precision, `MirroredStrategy`, and one
mechanism serving many batches from one trace.

Oracles: TF 1.15's goldens (`tests/golden/tf115_seq2seq/`, the `bahdanau__rnn` and
`luong__rnn` cases: a `keras.layers.RNN` and an `AttentionRNN` functional model give
TF1's outputs, final state, alignment history and gradients); otherwise the same
model's eager run (XLA, one device, float32, the model before saving, a fresh eager
decode per batch).

The SavedModel, XLA and `MirroredStrategy` checks run in helper processes
(`tests/seq2seq_subprocess.py`, which also defines the translator), one per family, as
background jobs beside the rest of the suite (`background.py`); their tests come last.
"""

import pathlib
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import background
import seq2seq_goldens as goldens
import tfrnn
from seq2seq_subprocess import (
    EOS, GO, MAXIMUM_ITERATIONS, PAD, GreedyTranslator, greedy_decode, reversal_data, trained_translator, translator,
)
from tfrnn import seq2seq

ATOL = 1e-5  # same math, another loop, compiler or device
HELPER = pathlib.Path(__file__).parent / "seq2seq_subprocess.py"

# The golden cases: (mechanism, wrapper arguments), as their TF1 code made them.
GOLDEN_CASES = {
    "bahdanau__rnn": (lambda: seq2seq.BahdanauAttention(4), {}),
    "luong__rnn": (lambda: seq2seq.LuongAttention(5), {"attention_layer_size": 4}),
}
STATE_PATHS = ("state.cell_state.c", "state.cell_state.h", "state.attention", "state.alignments",
               "state.attention_state")


@pytest.fixture(autouse=True)
def _seeded():
    keras.utils.set_random_seed(0)


@pytest.fixture
def mixed_float16():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.fixture(scope="module")
def trained():
    """The translator after 10 Adam epochs (its greedy decodes end at several lengths)."""
    return trained_translator()


def golden_inputs(data):
    return [data["in:inputs"], data["in:memory"], data["in:memory_length"], data["in:target_length"]]


def assign_golden_weights(data, mechanism, wrapper):
    """TF1's weights, by TF1 name (the loop's scope is `rnn`, the memory layer at the top)."""
    variables = tfrnn.tf1_variable_names({"": [mechanism], "rnn": wrapper})
    for name, variable in variables.items():
        variable.assign(data[f"var:{name}"])
    return variables


# --- attention inside keras.layers.RNN --------------------------------------------------------


@pytest.mark.parametrize("name", list(GOLDEN_CASES))
def test_keras_rnn_runs_the_wrapper_with_tf115_numbers(name):
    """`keras.layers.RNN(wrapper)` over TF1's inputs, its mask TF1's `sequence_length`."""
    _, data = goldens.case_data(name)
    make, arguments = GOLDEN_CASES[name]
    mechanism = make()
    mechanism.setup_memory(data["in:memory"], data["in:memory_length"])  # outside the layer: no constants in Keras 3
    wrapper = seq2seq.AttentionWrapper(tfrnn.LSTMCell(5), mechanism, **arguments)
    layer = keras.layers.RNN(wrapper, return_sequences=True, return_state=True, zero_output_for_mask=True)
    mask = tf.sequence_mask(data["in:target_length"], data["in:inputs"].shape[1])
    layer(data["in:inputs"], mask=mask)
    assign_golden_weights(data, mechanism, wrapper)
    outputs, c, h, attention, time, alignments, attention_state = layer(data["in:inputs"], mask=mask)
    np.testing.assert_allclose(outputs, data["out:outputs"], atol=ATOL, rtol=0)
    for got, path in zip((c, h, attention, alignments, attention_state), STATE_PATHS):
        np.testing.assert_allclose(got, data[f"out:{path}"], atol=ATOL, rtol=0, err_msg=path)
    # Keras selects every state leaf per row under a mask, so TF1's scalar step count becomes
    # each row's own count, [batch, 1]; the longest row's is TF1's.
    assert np.max(time) == data["out:state.time"] == 4


def test_keras_rnn_wrapper_trains_its_memory_layer_with_the_memory_set_outside_the_model():
    """fit's graph prepares the keys again from the memory: the memory layer gets gradients."""
    rng = np.random.default_rng(3)
    memory = rng.normal(size=(6, 5, 4)).astype("float32")
    mechanism = seq2seq.LuongAttention(6, memory, memory_sequence_length=[5, 4, 3, 2, 1, 5])
    wrapper = seq2seq.AttentionWrapper(tfrnn.GRUCell(6), mechanism, attention_layer_size=3)
    model = keras.Sequential([keras.Input((4, 2)), keras.layers.RNN(wrapper), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss="mse")
    x, y = rng.normal(size=(6, 4, 2)).astype("float32"), rng.normal(size=(6, 1)).astype("float32")
    before = [np.array(w) for w in model.trainable_weights]
    losses = model.fit(x, y, batch_size=6, epochs=4, shuffle=False, verbose=0).history["loss"]
    assert losses[-1] < losses[0], losses
    frozen = [w.path for w, old in zip(model.trainable_weights, before) if np.array_equal(np.array(w), old)]
    assert not frozen, f"fit did not change {frozen}"
    assert any("memory_layer" in w.path for w in model.trainable_weights)


# --- AttentionRNN: the memory is a keras.Input ----------------------------------------------------


@pytest.mark.parametrize("name", list(GOLDEN_CASES))
def test_attention_rnn_functional_model_gives_tf115_outputs_history_and_gradients(name):
    case, data = goldens.case_data(name)
    make, arguments = GOLDEN_CASES[name]
    mechanism = make()
    wrapper = seq2seq.AttentionWrapper(tfrnn.LSTMCell(5), mechanism, alignment_history=True, **arguments)
    inputs, memory = keras.Input((None, 3)), keras.Input((None, 4))
    memory_length, target_length = keras.Input((), dtype="int32"), keras.Input((), dtype="int32")
    outputs, state = seq2seq.AttentionRNN(wrapper, return_state=True)(
        inputs, memory, memory_length, sequence_length=target_length)
    fields = dict(zip(STATE_PATHS, (state.cell_state.c, state.cell_state.h, state.attention, state.alignments,
                                    state.attention_state)))
    fields.update({"outputs": outputs, "state.alignment_history": state.alignment_history})
    model = keras.Model([inputs, memory, memory_length, target_length], fields)
    model(golden_inputs(data))
    variables = assign_golden_weights(data, mechanism, wrapper)
    assert sorted(variables) == sorted(name for name, _ in case["variables"])
    x = [tf.constant(value) for value in golden_inputs(data)]
    with tf.GradientTape() as tape:
        tape.watch(x[:2])
        got = model(x)
        loss = sum(tf.reduce_sum(value * data[f"r:{path}"]) for path, value in got.items())  # TF1's loss
    gradients = tape.gradient(loss, x[:2] + [getattr(v, "value", v) for v in variables.values()])
    for path, value in got.items():
        np.testing.assert_allclose(value, data[f"out:{path}"], atol=ATOL, rtol=0, err_msg=path)
    for key, gradient in zip(["grad_in:inputs", "grad_in:memory"] + [f"grad:{n}" for n in variables], gradients):
        np.testing.assert_allclose(tf.convert_to_tensor(gradient), data[key], atol=ATOL, rtol=1e-5, err_msg=key)


# --- a translator trained by fit, saved as .keras --------------------------------------------------


def test_translator_fits_with_a_progress_bar_and_reloads_in_safe_mode_with_identical_predictions(tmp_path, capsys):
    model = translator()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.03),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    inputs, targets, weights = reversal_data(0, 32)
    history = model.fit(inputs, targets, sample_weight=weights, batch_size=16, epochs=3, shuffle=False, verbose=1)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and np.all(np.diff(losses) < 0) and losses[-1] < 0.95 * losses[0], losses
    printed = capsys.readouterr().out
    assert printed.count("Epoch ") == 3 and "2/2" in printed and "━" in printed, printed[-500:]
    last = float(re.findall(r"loss: ([0-9.]+)", printed)[-1])
    np.testing.assert_allclose(last, losses[-1], rtol=1e-3)  # the bar shows the epoch's loss
    model.save(tmp_path / "translator.keras")
    loaded = keras.models.load_model(tmp_path / "translator.keras", safe_mode=True)
    decoder = loaded.get_layer("decoder")
    assert isinstance(decoder, seq2seq.AttentionRNN) and isinstance(decoder.cell, seq2seq.AttentionWrapper)
    assert isinstance(decoder.cell.attention_mechanisms[0], seq2seq.BahdanauAttention)
    other, _, _ = reversal_data(5, 7)  # another batch size
    for batch in (inputs, other):
        np.testing.assert_array_equal(loaded.predict(batch, verbose=0), model.predict(batch, verbose=0))
    decoded, reloaded = greedy_decode(model, *other[:2]), greedy_decode(loaded, *other[:2])  # TF1's inference
    for key in ("sample_id", "lengths", "rnn_output"):
        np.testing.assert_array_equal(reloaded[key], decoded[key])


def test_translator_masks_reach_the_decoder_and_memory(trained):
    """The target Embedding's mask is the decoder's sequence_length (zeros past each end); the
    memory past `source_length` changes nothing; the encoder's mask gives the memory's lengths."""
    inputs, _, weights = reversal_data(4, 6)
    decoded = keras.Model(trained.inputs, trained.get_layer("decoder").output)(inputs)
    np.testing.assert_array_equal(np.asarray(decoded)[weights == 0], 0.0)
    assert np.all(np.abs(np.asarray(decoded)[weights == 1]).sum(-1) > 0)
    source, lengths, target_in = inputs
    garbage = np.where(source == PAD, 7, source)  # words past the end of the source
    np.testing.assert_allclose(trained([garbage, lengths, target_in]), trained(inputs), atol=1e-6, rtol=0)
    source_ids, target_ids = keras.Input((None,), dtype="int32"), keras.Input((None,), dtype="int32")
    memory = trained.get_layer("encoder")(trained.get_layer("source_embedding")(source_ids))
    decoded = trained.get_layer("decoder")(trained.get_layer("target_embedding")(target_ids), memory)  # no lengths
    masks_only = keras.Model([source_ids, target_ids], trained.get_layer("projection")(decoded))
    np.testing.assert_allclose(masks_only([source, target_in]), trained(inputs), atol=1e-6, rtol=0)


def test_greedy_decode_equals_teacher_forcing_on_its_own_ids(trained):
    """Greedy decoding (BasicDecoder + GreedyEmbeddingHelper + dynamic_decode) and the
    teacher-forced model (AttentionRNN, i.e. dynamic_rnn) are two loops over the same layers:
    fed the ids greedy decoding chose, the model gives greedy decoding's logits."""
    (source, lengths, _), _, _ = reversal_data(6, 6)
    decoded = greedy_decode(trained, source, lengths)
    ids, lengths_out = np.asarray(decoded["sample_id"]), np.asarray(decoded["lengths"])
    assert len(set(lengths_out.tolist())) > 1 and np.all(ids != PAD)  # rows end at several steps
    assert all(ids[row, length - 1] == EOS or length == MAXIMUM_ITERATIONS for row, length in enumerate(lengths_out))
    target_in = np.concatenate([np.full((len(ids), 1), GO, "int32"), ids[:, :-1]], axis=1)
    logits = np.asarray(trained([source, lengths, target_in]))
    np.testing.assert_allclose(logits, decoded["rnn_output"], atol=ATOL, rtol=0)


# --- one mechanism, many batches ------------------------------------------------------------------


def test_one_mechanism_serves_batches_of_any_size_from_one_trace_with_no_stale_tensors(trained):
    module = GreedyTranslator(trained)
    teacher = tf.function(lambda s, n, t: trained([s, n, t]), autograph=False, input_signature=[
        tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32), tf.TensorSpec([None, None], tf.int32)])
    batches = [reversal_data(seed, batch, longest)[0] for seed, batch, longest in ((7, 2, 3), (8, 5, 5), (9, 1, 4))]
    for inputs in batches:
        source, lengths, _ = inputs
        got = module.decode(source, lengths)
        want = greedy_decode(trained, source, lengths)  # eagerly, from this batch's memory
        np.testing.assert_array_equal(got["sample_id"], want["sample_id"])
        np.testing.assert_array_equal(got["lengths"], want["lengths"])
        np.testing.assert_allclose(got["rnn_output"], want["rnn_output"], atol=ATOL, rtol=0)
        np.testing.assert_allclose(teacher(*inputs), trained(inputs), atol=ATOL, rtol=0)
    assert module.decode.experimental_get_tracing_count() == 1
    assert teacher.experimental_get_tracing_count() == 1
    mechanism = trained.get_layer("decoder").cell.attention_mechanisms[0]
    kernel = mechanism.memory_layer.kernel
    old = np.array(kernel)
    try:
        kernel.assign(1.5 * old)  # e.g. a checkpoint restored between calls: read, not captured
        source, lengths, _ = batches[1]
        got, want = module.decode(source, lengths), greedy_decode(trained, source, lengths)
        np.testing.assert_allclose(got["rnn_output"], want["rnn_output"], atol=ATOL, rtol=0)
        np.testing.assert_allclose(teacher(*batches[0]), trained(batches[0]), atol=ATOL, rtol=0)
    finally:
        kernel.assign(old)
    assert module.decode.experimental_get_tracing_count() == 1


def test_greedy_decoding_under_xla_without_maximum_iterations_is_a_clear_error(trained):
    (source, lengths, _), _, _ = reversal_data(7, 2)
    unbounded = tf.function(lambda s, n: greedy_decode(trained, s, n, maximum_iterations=None), jit_compile=True)
    with pytest.raises(ValueError, match="maximum_iterations is required for XLA compilation.*Pass maximum_iterations"):
        unbounded(source, lengths)


# --- mixed precision -------------------------------------------------------------------------------


def attention_model(mechanism_class, units, memory_depth=4):
    """`AttentionRNN` over a `keras.Input` memory, returning the outputs and the last alignments."""
    wrapper = seq2seq.AttentionWrapper(tfrnn.LSTMCell(5), mechanism_class(units), attention_layer_size=3)
    inputs, memory = keras.Input((None, 2)), keras.Input((None, memory_depth))
    memory_length = keras.Input((), dtype="int32")
    outputs, state = seq2seq.AttentionRNN(wrapper, return_state=True)(inputs, memory, memory_length)
    return keras.Model([inputs, memory, memory_length], [outputs, state.alignments])


@pytest.mark.parametrize("mechanism_class, units", [(seq2seq.BahdanauAttention, 4), (seq2seq.LuongAttention, 5)])
def test_mixed_float16_attention_is_finite_with_masked_memory_and_close_to_float32(mechanism_class, units,
                                                                                 mixed_float16):
    rng = np.random.default_rng(10)
    x, memory = rng.normal(size=(3, 4, 2)).astype("float32"), rng.normal(size=(3, 6, 4)).astype("float32")
    lengths = np.array([6, 3, 1], "int32")
    poisoned = memory.copy()
    poisoned[1, 3:], poisoned[2, 1:2], poisoned[2, 2:] = 1e5, np.nan, -np.inf  # 1e5 is inf in float16
    half = attention_model(mechanism_class, units)
    keras.mixed_precision.set_global_policy("float32")
    full = attention_model(mechanism_class, units)
    full([x, memory, lengths])
    half([x, memory, lengths])
    half.set_weights(full.get_weights())
    assert all(w.dtype == "float32" for w in half.weights)
    outputs, alignments = half([x, poisoned, lengths])
    assert outputs.dtype == "float16" and alignments.dtype == "float16"
    assert np.all(np.isfinite(np.asarray(outputs, "float32")))
    assert np.all(np.isfinite(np.asarray(alignments, "float32")))
    for row, length in enumerate(lengths):
        np.testing.assert_array_equal(np.asarray(alignments)[row, length:], 0.0)  # -inf scores, exactly zero
    want_outputs, want_alignments = full([x, memory, lengths])
    np.testing.assert_allclose(np.asarray(outputs, "float32"), want_outputs, atol=3e-3, rtol=0)  # 5e-4 seen
    np.testing.assert_allclose(np.asarray(alignments, "float32"), want_alignments, atol=1e-3, rtol=0)  # 2e-4


def test_mixed_float16_luong_scores_beyond_float16_range_stay_finite(mixed_float16):
    """Scores of keys ~1e3 overflow float16 (65504): they are computed and softmaxed in float32."""
    rng = np.random.default_rng(11)
    model = attention_model(seq2seq.LuongAttention, 5)
    x, memory = rng.normal(size=(2, 3, 2)).astype("float32"), 3000.0 * rng.normal(size=(2, 4, 4)).astype("float32")
    lengths = np.array([4, 2], "int32")
    model([x, memory, lengths])
    model.layers[-1].cell.attention_mechanisms[0].memory_layer.kernel.assign(np.full((4, 5), 0.5, "float32"))
    outputs, alignments = model([x, memory, lengths])
    assert np.all(np.isfinite(np.asarray(outputs, "float32")))
    alignments = np.asarray(alignments, "float32")
    np.testing.assert_allclose(alignments.sum(-1), 1.0, atol=1e-3)  # a softmax of float32 scores
    np.testing.assert_array_equal(alignments[1, 2:], 0.0)


def test_mixed_float16_translator_fits_with_float32_weights_close_to_float32(mixed_float16):
    inputs, targets, weights = reversal_data(0, 32)
    half = translator()
    keras.mixed_precision.set_global_policy("float32")
    full = translator()
    half.set_weights(full.get_weights())
    assert half.get_layer("decoder").cell.compute_dtype == "float16"
    np.testing.assert_allclose(np.asarray(half(inputs), "float32"), full(inputs), atol=2e-3, rtol=0)
    half.compile(optimizer=keras.optimizers.Adam(learning_rate=0.03),
                 loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                 run_eagerly=True)  # traced, the loss-scaled step takes 7 s to build on a CPU
    assert isinstance(half.optimizer, keras.optimizers.LossScaleOptimizer)
    losses = half.fit(inputs, targets, sample_weight=weights, batch_size=16, epochs=3, shuffle=False,
                      verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)) and np.all(np.diff(losses) < 0) and losses[-1] < 0.95 * losses[0], losses
    not_float32 = {w.path: w.dtype for w in half.weights if w.dtype != "float32"}
    assert not not_float32, not_float32


# --- helper processes: SavedModel, XLA, MirroredStrategy -----------------------------------------

FAMILIES = ("saved_model", "xla", "mirrored")
for _family in FAMILIES:
    background.job(f"seq2seq_subprocess {_family}")(
        lambda folder, family=_family: background.python(HELPER, "run", folder, family))


def helper_results(family, filename):
    """The family's results once its background job has finished; its error fails the test."""
    folder = background.result(f"seq2seq_subprocess {family}").check().folder
    error = folder / family / "error.txt"
    if error.exists():
        pytest.fail(f"{family} helper:\n{error.read_text()}")
    return np.load(folder / family / filename)


def numbered(results, prefix):
    count = len([key for key in results.files if re.fullmatch(re.escape(prefix) + r"\d+", key)])
    assert count, f"no {prefix}* results"
    return [results[f"{prefix}{i}"] for i in range(count)]


@pytest.mark.background("seq2seq_subprocess saved_model")
def test_greedy_saved_model_reloaded_in_a_fresh_process_gives_identical_ids_and_outputs():
    got = helper_results("saved_model", "got.npz")
    want = np.load(background.result("seq2seq_subprocess saved_model").folder / "saved_model" / "want.npz")
    assert not got["tfrnn_imported"], "the SavedModel needed tfrnn"
    for batch in ("a", "b"):
        lengths = want[f"{batch}/lengths"]
        assert len(set(lengths.tolist())) > 1 and lengths.max() <= MAXIMUM_ITERATIONS, lengths
        for way in ("", "serving/"):  # the tf.function and the serving signature
            np.testing.assert_array_equal(got[f"{batch}/{way}sample_id"], want[f"{batch}/sample_id"])
            np.testing.assert_array_equal(got[f"{batch}/{way}lengths"], lengths)
            np.testing.assert_allclose(got[f"{batch}/{way}rnn_output"], want[f"{batch}/rnn_output"], atol=1e-6, rtol=0)


@pytest.mark.background("seq2seq_subprocess xla")
def test_jit_compiled_training_step_equals_eager():
    results = helper_results("xla", "xla.npz")
    np.testing.assert_allclose(results["step/jit/loss"], results["step/eager/loss"], atol=ATOL, rtol=0)
    eager, jit = numbered(results, "step/eager/"), numbered(results, "step/jit/")
    assert len(jit) == len(eager) == 12 and all(np.any(g) for g in eager)  # every weight gets a gradient
    for got, want in zip(jit, eager):
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)
    assert bool(results["fit/jit/jit_compile"]) and not bool(results["fit/eager/jit_compile"])
    np.testing.assert_allclose(results["fit/jit/loss"], results["fit/eager/loss"], atol=ATOL, rtol=0)
    initial, eager, jit = (numbered(results, f"fit/{kind}/") for kind in ("initial", "eager", "jit"))
    assert any(not np.array_equal(a, b) for a, b in zip(eager, initial)), "the step changed no weight"
    for got, want in zip(jit, eager):
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)


@pytest.mark.background("seq2seq_subprocess xla")
def test_jit_compiled_greedy_decoding_equals_eager():
    """Under XLA the outputs are `maximum_iterations` steps long (zeros after the last step run)."""
    results = helper_results("xla", "xla.npz")
    eager = {key: results[f"decode/eager/{key}"] for key in ("sample_id", "rnn_output", "lengths")}
    jit = {key: results[f"decode/jit/{key}"] for key in ("sample_id", "rnn_output", "lengths")}
    steps = eager["sample_id"].shape[1]
    assert jit["sample_id"].shape[1] == MAXIMUM_ITERATIONS >= steps
    np.testing.assert_array_equal(jit["lengths"], eager["lengths"])
    assert len(set(eager["lengths"].tolist())) > 1, eager["lengths"]
    np.testing.assert_array_equal(jit["sample_id"][:, :steps], eager["sample_id"])
    np.testing.assert_allclose(jit["rnn_output"][:, :steps], eager["rnn_output"], atol=ATOL, rtol=0)
    np.testing.assert_array_equal(jit["rnn_output"][:, steps:], 0.0)


@pytest.mark.background("seq2seq_subprocess mirrored")
def test_mirrored_strategy_step_equals_one_device_from_the_same_weights():
    results = helper_results("mirrored", "mirrored.npz")
    assert int(results["replicas"]) == 2
    initial, single, mirrored = (numbered(results, f"{kind}/") for kind in ("initial", "single", "mirrored"))
    assert any(not np.allclose(a, b) for a, b in zip(single, initial)), "the step changed no weight"
    np.testing.assert_allclose(results["mirrored/loss"], results["single/loss"], atol=ATOL, rtol=0)
    for got, want in zip(mirrored, single):
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)
