"""`tfrnn.seq2seq.attention`: Bahdanau and Luong attention against NumPy references,
TF1's variable names (every attention golden's), memory set up per batch (also in a
`tf.function` without retracing), NaN padding, bad inputs, configs, float16, and the
TF1 extension point (a subclass overriding `__call__`); `hardmax`, the other probability
function.

The NumPy references (`tests/reference.py`) were checked against TF 1.15's `tf.contrib.seq2seq`
mechanisms (alignments and keys of 12 configurations, to 6e-8) when they were written.
`testBahdanauNormalizedDType` and `testLuongScaledDType` are ported at the mechanism
level from TF 1.15's `attention_wrapper_test.py` (Copyright 2017 The TensorFlow
Authors, Apache License 2.0).
"""

import json
import pathlib
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrnn
from reference import attention_memory as prepared
from reference import bahdanau_score, luong_score, softmax
from reference import masked_score as masked
from tfrnn import seq2seq
from tfrnn.checkpoint import names
from tfrnn.seq2seq import attention_memory
from tfrnn.seq2seq.attention import query_children

GOLDEN = pathlib.Path(__file__).parent / "golden" / "tf115_seq2seq"


# --- helpers -----------------------------------------------------------------------------


def rng_inputs(seed, batch=3, time=5, depth=4, query_depth=6, lengths=(5, 2, 1)):
    rng = np.random.default_rng(seed)
    memory = rng.normal(size=(batch, time, depth)).astype("float32")
    query = rng.normal(size=(batch, query_depth)).astype("float32")
    return rng, memory, query, None if lengths is None else np.array(lengths, "int32")


def randomize(mechanism, rng):
    for weight in mechanism.weights:
        weight.assign(rng.uniform(-0.8, 0.8, weight.shape).astype("float32"))


def score_once(mechanism, query, batch):
    return mechanism(query, state=mechanism.initial_alignments(batch, "float32"))


def query_names(mechanisms, scope):
    """The scoring variables as an attention wrapper at `scope` names them."""
    class Wrapper:
        name = "attention_wrapper"

        def tf1_layout(self, _):
            return query_children(mechanisms, "attention_wrapper")

    return {entry.name: entry.variable() for entry in names.tf1_entries(Wrapper(), 0, scope)}


# --- numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("normalize", [False, True])
def test_bahdanau_equals_reference(seed, normalize):
    rng, memory, query, lengths = rng_inputs(seed)
    mechanism = seq2seq.BahdanauAttention(4, memory, lengths, normalize=normalize)
    score_once(mechanism, query, 3)
    randomize(mechanism, rng)
    alignments, state = score_once(mechanism, query, 3)
    keys, values = prepared(memory, lengths, np.asarray(mechanism.memory_layer.kernel))
    extra = (np.asarray(mechanism.attention_g), np.asarray(mechanism.attention_b)) if normalize else ()
    expected = softmax(masked(bahdanau_score(query, keys, np.asarray(mechanism.query_layer.kernel),
                                             np.asarray(mechanism.attention_v), *extra), lengths))
    np.testing.assert_allclose(alignments, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(state, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mechanism.keys, keys, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mechanism.values, values, rtol=0, atol=0)
    assert alignments.dtype == tf.float32


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("scale", [False, True])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_luong_equals_reference(seed, scale, with_lengths):
    rng, memory, query, lengths = rng_inputs(seed, lengths=(5, 2, 1) if with_lengths else None)
    mechanism = seq2seq.LuongAttention(6, memory, lengths, scale=scale)
    score_once(mechanism, query, 3)
    randomize(mechanism, rng)
    alignments, _ = score_once(mechanism, query, 3)
    keys, _ = prepared(memory, lengths, np.asarray(mechanism.memory_layer.kernel))
    g = np.asarray(mechanism.attention_g) if scale else None
    np.testing.assert_allclose(alignments, softmax(masked(luong_score(query, keys, g), lengths)), rtol=1e-5, atol=1e-6)


def test_hardmax_is_one_hot_at_the_first_largest_logit_in_the_logits_dtype():
    np.testing.assert_array_equal(seq2seq.hardmax([[0.3, 0.3, 0.1], [-2.0, -1.0, -3.0]]), [[1, 0, 0], [0, 1, 0]])
    assert seq2seq.hardmax(np.zeros((2, 3), "float64")).dtype == tf.float64
    assert seq2seq.hardmax is seq2seq.attention.hardmax is tfrnn.seq2seq.monotonic.hardmax  # both modules give it


def test_probability_fn_and_score_mask_value():
    rng, memory, query, lengths = rng_inputs(3)
    hard = seq2seq.BahdanauAttention(4, memory, lengths, probability_fn=seq2seq.hardmax)
    finite = seq2seq.BahdanauAttention(4, memory, lengths, score_mask_value=-1.0)
    by_name = seq2seq.LuongAttention(6, memory, lengths, probability_fn="hardmax")
    for mechanism in (hard, finite, by_name):
        score_once(mechanism, query, 3)
        randomize(mechanism, rng)
    keys, _ = prepared(memory, lengths, np.asarray(hard.memory_layer.kernel))
    score = bahdanau_score(query, keys, np.asarray(hard.query_layer.kernel), np.asarray(hard.attention_v))
    np.testing.assert_array_equal(score_once(hard, query, 3)[0], np.eye(5)[np.argmax(masked(score, lengths), 1)])
    keys, _ = prepared(memory, lengths, np.asarray(finite.memory_layer.kernel))
    score = bahdanau_score(query, keys, np.asarray(finite.query_layer.kernel), np.asarray(finite.attention_v))
    expected = softmax(masked(score, lengths, -1.0))
    np.testing.assert_allclose(score_once(finite, query, 3)[0], expected, rtol=1e-5, atol=1e-6)
    assert expected[2, 1] > 0 and expected[2, 1] == expected[2, 4]  # TF1: padding keeps equal, nonzero weight
    keys, _ = prepared(memory, lengths, np.asarray(by_name.memory_layer.kernel))
    np.testing.assert_array_equal(score_once(by_name, query, 3)[0],
                                  np.eye(5)[np.argmax(masked(luong_score(query, keys), lengths), 1)])


def test_custom_key_value_fn_and_initial_state():
    _, memory, query, lengths = rng_inputs(4)
    mechanism = seq2seq.BahdanauAttention(4, memory, lengths, custom_key_value_fn=lambda k, v: (2.0 * k, v + 1.0))
    plain = seq2seq.BahdanauAttention(4, memory, lengths)
    mechanism.memory_layer.kernel.assign(plain.memory_layer.kernel)
    np.testing.assert_allclose(mechanism.keys, 2.0 * np.asarray(plain.keys), rtol=1e-6)
    np.testing.assert_allclose(mechanism.values, np.asarray(plain.values) + 1.0, rtol=1e-6)
    assert (mechanism.batch_size, mechanism.alignments_size, mechanism.state_size) == (3, 5, 5)
    np.testing.assert_array_equal(mechanism.initial_state(3, tf.float32), np.zeros((3, 5)))


def test_initial_values_are_tf1s():
    """INIT_FACTS: attention_g = sqrt(1 / units) (Bahdanau) and 1 (Luong); attention_b = 0."""
    _, memory, query, _ = rng_inputs(5)
    bahdanau = seq2seq.BahdanauAttention(32, memory, normalize=True)
    luong = seq2seq.LuongAttention(6, memory, scale=True)
    score_once(bahdanau, query, 3), score_once(luong, query, 3)
    assert float(bahdanau.attention_g) == pytest.approx(np.sqrt(1 / 32))
    assert float(luong.attention_g) == 1.0 and not np.any(bahdanau.attention_b)
    limit = np.sqrt(6 / (32 + 32))  # glorot uniform over a [32] vector
    assert 0.7 * limit < np.abs(bahdanau.attention_v).max() <= limit


# --- TF1 names ---------------------------------------------------------------------------

_CASES = {case["name"]: case for case in json.loads((GOLDEN / "MANIFEST.json").read_text())["cases"]}
_ATTENTION = sorted(name for name in _CASES if name.endswith("__rnn"))


@pytest.mark.parametrize("case", _ATTENTION)
def test_names_equal_every_attention_goldens(case):
    """The mechanisms of each golden, built by its own TF1 line: memory layers at the top,
    scoring variables under `rnn/attention_wrapper/<numbered scope>/`, as TF 1.15 wrote them."""
    with np.load(GOLDEN / f"{case}.npz") as data:
        namespace = {"memory": tf.constant(data["in:memory"]), "memory_length": tf.constant(data["in:memory_length"]),
                     "hardmax": seq2seq.hardmax, "tf": tf, **{name: getattr(seq2seq, name) for name in seq2seq.__all__}}
    exec(_CASES[case]["code"].split("\ncell = ")[0], namespace)
    mechanisms = namespace["mechanism"] if isinstance(namespace["mechanism"], list) else [namespace["mechanism"]]
    for mechanism in mechanisms:
        score_once(mechanism, tf.zeros((4, 5)), 4)
    got = {**tfrnn.tf1_variable_names(mechanisms, scope=""), **query_names(mechanisms, "rnn")}
    expected = {name: tuple(shape) for name, shape in _CASES[case]["variables"]
                if re.match(r"(memory_layer|rnn/attention_wrapper/(bahdanau|luong)(_monotonic)?_attention)", name)}
    assert {name: tuple(v.shape) for name, v in got.items()} == expected
    assert sorted(map(id, got.values())) == sorted(id(w) for m in mechanisms for w in m.weights)


def test_memory_layer_is_named_where_the_mechanism_was_built():
    _, memory, query, _ = rng_inputs(6)
    first, second = seq2seq.BahdanauAttention(4, memory), seq2seq.LuongAttention(6, memory)
    assert list(tfrnn.tf1_variable_names(first, scope="dynamic_seq2seq/decoder")) == [
        "dynamic_seq2seq/decoder/memory_layer/kernel"]
    assert list(tfrnn.tf1_variable_names({"decoder": [first, second]})) == [
        "decoder/memory_layer/kernel", "decoder/memory_layer_1/kernel"]
    with pytest.raises(ValueError, match="has not scored a query yet"):
        first.tf1_query_parts()
    score_once(first, query, 3)
    assert list(query_names([first, first], "decoder")) == [
        "decoder/attention_wrapper/bahdanau_attention/query_layer/kernel",
        "decoder/attention_wrapper/bahdanau_attention/attention_v",
        "decoder/attention_wrapper/bahdanau_attention_1/query_layer/kernel",
        "decoder/attention_wrapper/bahdanau_attention_1/attention_v",
    ]


def test_golden_checkpoint_loads_by_these_names():
    """The bahdanau golden's TF1 checkpoint, read by TF1 name into one mechanism's variables."""
    reader = tf.train.load_checkpoint(str(GOLDEN / "bahdanau_norm__rnn"))
    with np.load(GOLDEN / "bahdanau_norm__rnn.npz") as data:
        memory, lengths = data["in:memory"], data["in:memory_length"]
    mechanism = seq2seq.BahdanauAttention(4, memory, memory_sequence_length=lengths, normalize=True)
    score_once(mechanism, tf.zeros((4, 5)), 4)
    variables = {**tfrnn.tf1_variable_names(mechanism, scope=""), **query_names([mechanism], "rnn")}
    for name, variable in variables.items():
        variable.assign(reader.get_tensor(name))
    np.testing.assert_array_equal(mechanism.attention_g, reader.get_tensor("rnn/attention_wrapper/bahdanau_attention/attention_g"))
    keys, _ = prepared(memory, lengths, reader.get_tensor("memory_layer/kernel"))
    np.testing.assert_allclose(mechanism.keys, keys, rtol=1e-6, atol=1e-7)


# --- memory per batch ----------------------------------------------------------------------


def test_setup_memory_per_batch_in_one_tf_function_without_retracing():
    mechanism = seq2seq.BahdanauAttention(4)
    signature = [tf.TensorSpec([None, None, 3]), tf.TensorSpec([None], tf.int32), tf.TensorSpec([None, 5])]

    @tf.function(input_signature=signature, autograph=False)
    def attend(memory, lengths, query):
        mechanism.setup_memory(memory, lengths)
        alignments, _ = mechanism(query, state=mechanism.initial_alignments(tf.shape(memory)[0], tf.float32))
        return alignments, tf.einsum("bt,btd->bd", alignments, mechanism.values)

    mechanism.setup_memory(np.zeros((1, 1, 3), "float32"))  # builds the variables outside the function
    score_once(mechanism, tf.zeros((1, 5)), 1)
    rng = np.random.default_rng(7)
    for batch, time in [(2, 3), (4, 6), (1, 2)]:
        memory = rng.normal(size=(batch, time, 3)).astype("float32")
        lengths = rng.integers(1, time + 1, batch).astype("int32")
        query = rng.normal(size=(batch, 5)).astype("float32")
        alignments, context = attend(memory, lengths, query)
        eager = seq2seq.BahdanauAttention(4, memory, lengths)
        score_once(eager, query, batch)
        for mine, theirs in zip(mechanism.weights, eager.weights):
            theirs.assign(mine)
        expected, _ = score_once(eager, query, batch)  # eager, from this batch's own memory
        np.testing.assert_allclose(alignments, expected, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(context, np.einsum("bt,btd->bd", expected, eager.values), rtol=1e-5, atol=1e-6)
    assert attend.experimental_get_tracing_count() == 1
    with pytest.raises(ValueError, match="inside another tf.function.*setup_memory"):
        mechanism.keys  # noqa: B018 - the memory of the last trace is a symbol of a finished graph
    mechanism.setup_memory(np.ones((2, 3, 3), "float32"))
    assert mechanism.keys.shape == (2, 3, 4)


def test_reduce_retracing_traces_at_most_twice():
    mechanism = seq2seq.LuongAttention(5)

    @tf.function(reduce_retracing=True, autograph=False)
    def attend(memory, query):
        mechanism.setup_memory(memory)
        return mechanism(query, state=mechanism.initial_alignments(tf.shape(memory)[0], tf.float32))[0]

    mechanism.setup_memory(np.zeros((1, 1, 3), "float32"))
    score_once(mechanism, tf.zeros((1, 5)), 1)
    for batch, time in [(2, 3), (3, 4), (5, 2), (1, 7)]:
        result = attend(np.ones((batch, time, 3), "float32"), np.ones((batch, 5), "float32"))
        np.testing.assert_allclose(result, np.full((batch, time), 1.0 / time), rtol=1e-6)
    assert attend.experimental_get_tracing_count() <= 2


def test_memory_given_eagerly_is_read_fresh_in_a_function_and_after_weight_changes():
    _, memory, query, lengths = rng_inputs(8)
    mechanism = seq2seq.LuongAttention(6, memory, lengths)
    before, _ = score_once(mechanism, query, 3)
    in_function = tf.function(lambda q: mechanism(q, state=mechanism.initial_alignments(3, tf.float32))[0])
    np.testing.assert_allclose(in_function(query), before, rtol=1e-6)
    mechanism.memory_layer.kernel.assign(2.0 * mechanism.memory_layer.kernel)  # e.g. a checkpoint load
    keys, _ = prepared(memory, lengths, np.asarray(mechanism.memory_layer.kernel))
    after, _ = mechanism(query, state=before)  # no initial_alignments in between
    np.testing.assert_allclose(after, softmax(masked(luong_score(query, keys), lengths)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(in_function(query), after, rtol=1e-6)  # reads the variable, not a stale capture


def test_gradients_reach_memory_and_memory_layer_under_a_tape():
    _, memory, query, lengths = rng_inputs(9)
    memory = tf.constant(memory)
    mechanism = seq2seq.BahdanauAttention(4, memory, lengths)  # built outside the tape, TF1's way
    score_once(mechanism, query, 3)
    with tf.GradientTape() as tape:
        tape.watch(memory)
        alignments, _ = score_once(mechanism, query, 3)
        loss = tf.reduce_sum(tf.einsum("bt,btd->bd", alignments, mechanism.values) ** 2)
    grads = tape.gradient(loss, [memory, *mechanism.trainable_weights])
    assert all(g is not None and np.any(np.asarray(g)) for g in grads[:2])
    assert not np.any(np.asarray(grads[0])[2, 1:])  # padded steps get no gradient


def test_nan_padding_is_selected_away():
    """TF1 multiplied the memory by its mask: NaN padding gave NaN. Here it equals clean padding."""
    rng, memory, query, lengths = rng_inputs(10)
    dirty = memory.copy()
    dirty[1, 2:] = np.nan
    dirty[2, 1:] = np.inf
    clean_mechanism = seq2seq.BahdanauAttention(4, memory, lengths)
    dirty_mechanism = seq2seq.BahdanauAttention(4, tf.constant(dirty), lengths)
    score_once(clean_mechanism, query, 3), score_once(dirty_mechanism, query, 3)
    randomize(clean_mechanism, rng)
    for mine, theirs in zip(clean_mechanism.weights, dirty_mechanism.weights):
        theirs.assign(mine)
    dirty_memory = tf.constant(dirty)
    with tf.GradientTape() as tape:
        tape.watch(dirty_memory)
        dirty_mechanism.setup_memory(dirty_memory, lengths)
        alignments, _ = score_once(dirty_mechanism, query, 3)
        context = tf.einsum("bt,btd->bd", alignments, dirty_mechanism.values)
    expected, _ = score_once(clean_mechanism, query, 3)
    np.testing.assert_allclose(alignments, expected, rtol=1e-6)
    np.testing.assert_allclose(context, np.einsum("bt,btd->bd", expected, clean_mechanism.values), rtol=1e-6)
    grads = tape.gradient(context, [dirty_memory, *dirty_mechanism.trainable_weights])
    assert all(np.all(np.isfinite(np.asarray(g))) for g in grads)


# --- bad inputs ----------------------------------------------------------------------------

_MEMORY = np.zeros((2, 3, 4), "float32")
BAD_ROWS = [
    ("rank 2 memory", dict(memory=np.zeros((2, 4), "float32")), ValueError, r"memory must have rank 3.*\(2, 4\)"),
    ("int memory", dict(memory=np.zeros((2, 3, 4), "int32")), TypeError, "memory must hold floats.*int32"),
    ("string memory", dict(memory="encoder"), TypeError, "memory must hold floats|memory must be a"),
    ("float lengths", dict(memory_sequence_length=[3.0, 1.0]), TypeError, "must hold integers.*float32"),
    ("matrix lengths", dict(memory_sequence_length=[[3, 1]]), ValueError, r"vector of length batch_size.*\(1, 2\)"),
    ("batch mismatch", dict(memory_sequence_length=[3, 1, 2]), ValueError, "3 entries but memory has batch size 2"),
    ("zero length", dict(memory_sequence_length=[3, 0]), ValueError, r"greater than zero, but rows \[1\]"),
    ("negative length", dict(memory_sequence_length=[-1, 2]), ValueError, r"greater than zero, but rows \[0\]"),
    ("memory without batch rank", dict(memory=np.zeros((1, 2, 3, 4), "float32")), ValueError, "rank 3"),
]


@pytest.mark.parametrize("what, change, error, message", BAD_ROWS, ids=[row[0] for row in BAD_ROWS])
def test_bad_memory_is_refused_and_changes_nothing(what, change, error, message):
    mechanism = seq2seq.BahdanauAttention(4, _MEMORY, [3, 2])
    keys_before = np.asarray(mechanism.keys)
    arguments = {"memory": _MEMORY, "memory_sequence_length": [3, 1], **change}
    with pytest.raises(error, match=message):
        mechanism.setup_memory(arguments["memory"], arguments["memory_sequence_length"])
    with pytest.raises(error, match=message):
        seq2seq.LuongAttention(4, arguments["memory"], arguments["memory_sequence_length"])
    np.testing.assert_array_equal(mechanism.keys, keys_before)
    np.testing.assert_array_equal(mechanism.memory_sequence_length, [3, 2])


def test_other_refusals():
    mechanism = seq2seq.BahdanauAttention(4, _MEMORY)
    with pytest.raises(ValueError, match="depth 5.*built for depth 4"):
        mechanism.setup_memory(np.zeros((2, 3, 5), "float32"))
    with pytest.raises(ValueError, match="no memory yet.*setup_memory"):
        seq2seq.BahdanauAttention(4).keys  # noqa: B018
    with pytest.raises(ValueError, match="without memory"):
        seq2seq.BahdanauAttention(4, memory_sequence_length=[3])
    with pytest.raises(ValueError, match="num_units must be a positive int"):
        seq2seq.LuongAttention(0)
    with pytest.raises(TypeError, match="probability_fn must be callable"):
        seq2seq.BahdanauAttention(4, probability_fn="sparsemax")
    with pytest.raises(ValueError, match="fully defined inner dims"):
        attention_memory.checked_memory(_symbolic_depthless(), True, None)
    luong = seq2seq.LuongAttention(3, _MEMORY)
    with pytest.raises(ValueError, match=r"Incompatible or unknown inner dimensions.*Query has units: 5.*set num_units"):
        score_once(luong, tf.zeros((2, 5)), 2)
    assert not luong.built and not luong.weights[1:]


def _symbolic_depthless():
    graph_tensor = []

    @tf.function(input_signature=[tf.TensorSpec([None, None, None])], autograph=False)
    def capture(memory):
        graph_tensor.append(memory)
        return memory

    capture.get_concrete_function()
    return graph_tensor[0]


def test_symbolic_zero_length_asserts_when_run():
    mechanism = seq2seq.BahdanauAttention(4, _MEMORY)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)], autograph=False)
    def attend(lengths):
        mechanism.setup_memory(_MEMORY, lengths)
        return mechanism.keys

    np.testing.assert_array_equal(attend(tf.constant([3, 1])).shape, (2, 3, 4))
    with pytest.raises(tf.errors.InvalidArgumentError, match="must be greater than zero"):
        attend(tf.constant([3, 0]))


# --- configs, float16, the extension point ---------------------------------------------------


def test_get_config_round_trips_everything_but_memory():
    _, memory, query, lengths = rng_inputs(11)
    for mechanism in (
        seq2seq.BahdanauAttention(4, memory, lengths, normalize=True, score_mask_value=-5.0, name="attend"),
        seq2seq.LuongAttention(6, memory, lengths, scale=True, probability_fn=seq2seq.hardmax),
        seq2seq.LuongAttention(6, memory, probability_fn=tf.nn.softmax),
    ):
        config = mechanism.get_config()
        assert "memory" not in config and "memory_sequence_length" not in config
        assert config["probability_fn"] in (None, "hardmax", "softmax")
        copy = type(mechanism).from_config(json.loads(json.dumps(config)))
        assert copy.get_config() == config
        score_once(mechanism, query, 3)
        copy.build_from_config(json.loads(json.dumps(mechanism.get_build_config())))
        copy.set_weights(mechanism.get_weights())
        copy.setup_memory(mechanism.memory, mechanism.memory_sequence_length)
        np.testing.assert_array_equal(score_once(copy, query, 3)[0], score_once(mechanism, query, 3)[0])


@pytest.mark.parametrize("make", [
    lambda: seq2seq.BahdanauAttention(4, normalize=True), lambda: seq2seq.LuongAttention(6, scale=True),
    lambda: seq2seq.BahdanauMonotonicAttention(4, mode="hard"), lambda: seq2seq.LuongMonotonicAttention(6),
])
def test_keras_serialisation_finds_the_class_and_restores_the_weights(make):
    _, memory, query, lengths = rng_inputs(15)
    mechanism = make()
    mechanism.setup_memory(memory, lengths)
    expected, _ = score_once(mechanism, query, 3)
    copy = keras.saving.deserialize_keras_object(json.loads(json.dumps(keras.saving.serialize_keras_object(mechanism))))
    assert type(copy) is type(mechanism) and copy.memory is None and copy.built  # Keras' build_config
    copy.set_weights(mechanism.get_weights())
    copy.setup_memory(memory, lengths)
    np.testing.assert_array_equal(score_once(copy, query, 3)[0], expected)


def test_a_lambda_probability_fn_is_serialised_by_keras():
    mechanism = seq2seq.BahdanauAttention(3, probability_fn=lambda score: tf.nn.softmax(2.0 * score))
    with pytest.warns(UserWarning, match="lambda"):
        config = mechanism.get_config()
    assert isinstance(config["probability_fn"], dict)
    with pytest.raises(ValueError, match="safe_mode"):
        seq2seq.BahdanauAttention.from_config(config)


def test_two_default_names_are_unique_in_keras():
    first, second = seq2seq.BahdanauAttention(3), seq2seq.BahdanauAttention(3)
    assert first.name != second.name and first.name.startswith("bahdanau_attention")


@pytest.mark.parametrize("cls, units", [(seq2seq.BahdanauAttention, 4), (seq2seq.LuongAttention, 6)])
def test_mixed_float16_is_finite_and_close(cls, units):
    _, memory, query, lengths = rng_inputs(12)
    full = cls(units, memory, lengths)
    score_once(full, query, 3)
    half = cls(units, memory, lengths, dtype="mixed_float16", score_mask_value=-1e9)
    score_once(half, query, 3)
    for mine, theirs in zip(full.weights, half.weights):
        theirs.assign(mine)
    alignments, _ = score_once(half, tf.constant(query, tf.float16), 3)
    assert alignments.dtype == tf.float16
    np.testing.assert_allclose(np.asarray(alignments, "float32"), score_once(full, query, 3)[0], atol=2e-3)
    np.testing.assert_array_equal(np.asarray(alignments)[2, 1:], 0.0)


def test_float16_luong_score_beyond_float16_range_stays_finite():
    memory = np.full((1, 3, 2), 300.0, "float32")
    mechanism = seq2seq.LuongAttention(2, memory, dtype="float16")
    score_once(mechanism, np.zeros((1, 2), "float16"), 1)
    mechanism.memory_layer.kernel.assign(np.eye(2, dtype="float16"))
    mechanism.setup_memory(memory)
    alignments, _ = mechanism(np.array([[300.0, 300.0]], "float16"), state=np.zeros((1, 3), "float16"))
    np.testing.assert_allclose(np.asarray(alignments, "float32"), [[1 / 3] * 3], atol=1e-3)  # scores 180000 > 65504


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_tf1_dtype_argument(dtype):
    """Ported from TF 1.15's testBahdanauNormalizedDType / testLuongScaledDType (mechanism level)."""
    memory = np.random.default_rng(13).normal(size=(64, 7, 256)).astype(dtype)
    for mechanism in (seq2seq.BahdanauAttention(128, memory, np.full(64, 7), normalize=True, dtype=dtype),
                      seq2seq.LuongAttention(128, memory, np.full(64, 7), scale=True, dtype=dtype)):
        alignments, state = mechanism(np.ones((64, 128), dtype), state=mechanism.initial_alignments(64, dtype))
        assert alignments.dtype == dtype and state.dtype == dtype and mechanism.keys.dtype == dtype
        assert np.all(np.isfinite(np.asarray(alignments, "float32")))


class LocationAttention(seq2seq.BahdanauAttention):
    """A Tacotron-style TF1 subclass: overrides `__call__(query, state)`, reads `keys`,
    `query_layer`, `_probability_fn`, and keeps cumulative alignments as its state."""

    def __init__(self, num_units, memory, memory_sequence_length=None):
        super().__init__(num_units=num_units, memory=memory, memory_sequence_length=memory_sequence_length,
                         name="LocationAttention")
        self.location_layer = keras.layers.Dense(num_units, use_bias=False)

    def __call__(self, query, state):
        processed_query = tf.expand_dims(self.query_layer(query), 1)
        location = self.location_layer(tf.expand_dims(state, 2))
        energy = tf.reduce_sum(tf.tanh(self.keys + processed_query + location), -1)
        alignments = self._probability_fn(energy, state)
        return alignments, alignments + state


def test_tf1_subclass_overriding_call_works():
    _, memory, query, lengths = rng_inputs(14)
    mechanism = LocationAttention(4, memory, lengths)
    state = mechanism.initial_state(3, tf.float32)
    alignments, state = mechanism(query, state)
    keys, _ = prepared(memory, lengths, np.asarray(mechanism.memory_layer.kernel))
    energy = np.tanh(keys + (query @ np.asarray(mechanism.query_layer.kernel))[:, None]).sum(-1)
    np.testing.assert_allclose(alignments, softmax(masked(energy, lengths)), rtol=1e-5, atol=1e-6)
    alignments_2, state_2 = mechanism(query, state)
    np.testing.assert_allclose(state_2, np.asarray(alignments) + np.asarray(alignments_2), rtol=1e-6)
    assert isinstance(mechanism, seq2seq.AttentionMechanism)
    assert list(tfrnn.tf1_variable_names(mechanism, scope="")) == ["memory_layer/kernel"]


class NamedLocationAttention(LocationAttention):
    tf1_scope_name = "Location_Sensitive_Attention"  # the variable scope its TF1 __call__ opened


@pytest.mark.parametrize("cls, scope", [(LocationAttention, "bahdanau_attention"),
                                        (NamedLocationAttention, "Location_Sensitive_Attention")])
def test_a_subclass_scoring_itself_gets_no_unused_base_variables_in_a_wrapper(cls, scope):
    """TF1 made variables where code used them: a subclass overriding `__call__` never had the
    base's `attention_v`, so the wrapper makes only the query layer it reads (named under the
    subclass's `tf1_scope_name`), and every trainable variable gets a gradient."""
    _, memory, _, lengths = rng_inputs(15)
    mechanism = cls(4, memory, lengths)
    cell = seq2seq.AttentionWrapper(tfrnn.GRUCell(3), mechanism, attention_layer_size=2)
    inputs = tf.constant(np.random.default_rng(15).normal(size=(3, 4, 2)).astype("float32"))
    with tf.GradientTape() as tape:
        outputs, _ = tfrnn.dynamic_rnn(cell, inputs, initial_state=cell.zero_state(3, tf.float32))
    variables = cell.trainable_variables + mechanism.location_layer.trainable_variables
    assert all(g is not None for g in tape.gradient(outputs, variables))
    assert sorted(tfrnn.tf1_variable_names(cell, scope="rnn")) == sorted([
        "rnn/attention_wrapper/attention_layer/kernel", "rnn/attention_wrapper/gru_cell/candidate/bias",
        "rnn/attention_wrapper/gru_cell/candidate/kernel", "rnn/attention_wrapper/gru_cell/gates/bias",
        "rnn/attention_wrapper/gru_cell/gates/kernel", f"rnn/attention_wrapper/{scope}/query_layer/kernel"])
    assert not any("attention_v" in v.path for v in cell.variables + mechanism.variables)
