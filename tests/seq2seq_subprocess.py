"""The seq2seq model of tests/test_seq2seq_keras.py, and its helper process.

    python tests/seq2seq_subprocess.py run DIR FAMILY...
        One process for the checks that need TensorFlow to themselves or take
        long, run in turn, each into `DIR/<family>/`:

        mirrored: with two logical CPU devices (configured before TensorFlow
            initializes its devices, hence first and in a process of its own),
            one `fit` step of the Luong translator on one device and under
            `tf.distribute.MirroredStrategy` from the same weights
            (`mirrored.npz`).
        xla: `jit_compile=True` for a teacher-forced training step (gradients
            by hand, and `fit`) and for greedy decoding with
            `maximum_iterations`, each beside its eager twin from the same
            weights (`xla.npz`).
        saved_model: export a `tf.Module` whose `decode` signature greedy-
            decodes (`BasicDecoder` + `GreedyEmbeddingHelper` +
            `dynamic_decode`, `maximum_iterations` set) with
            `tf.saved_model.save` to `module/`, its eager results in
            `want.npz`; then reload it in a fresh process (`reload`, below),
            which writes `got.npz`.

    python tests/seq2seq_subprocess.py reload DIR
        The fresh process: `tf.saved_model.load(DIR/module)` without importing
        tfrnn (a SavedModel must stand alone); decode the batches of `want.npz`
        through the `tf.function` and through the serving signature.

A family's failure is written to its folder's `error.txt` and the next family
runs (the family's tests report it). Nothing runs at import: the test module
imports the model from here, and pytest's doctest collection imports this module.
"""

import functools
import os
import pathlib
import subprocess
import sys
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

# Keras and tfrnn are imported where they are used: the reload process must not need them.

VOCABULARY, EMBEDDING, UNITS = 9, 6, 8
PAD, GO, EOS = 0, 1, 2  # ids 3..8 are words
MAXIMUM_ITERATIONS = 7  # a source has at most 5 words: 6 steps with the end token
SIGNATURE = [tf.TensorSpec([None, None], tf.int32, name="source"),
             tf.TensorSpec([None], tf.int32, name="source_length")]


# --- the model ------------------------------------------------------------------------------


def translator(mechanism="bahdanau"):
    """Embedded source -> encoder LSTM (the memory) -> attention decoder, teacher-forced -> logits.

    Inputs `[source ids [B, S], source lengths [B], decoder input ids [B, T]]`
    (0 pads both); outputs logits `[B, T, VOCABULARY]`. The decoder's lengths
    come from its `Embedding`'s mask, the memory's from `source_length`.
    """
    import keras

    import tfrnn
    from tfrnn import seq2seq

    source = keras.Input((None,), dtype="int32", name="source")
    source_length = keras.Input((), dtype="int32", name="source_length")
    target = keras.Input((None,), dtype="int32", name="target_in")
    embedded_source = keras.layers.Embedding(VOCABULARY, EMBEDDING, mask_zero=True, name="source_embedding")(source)
    memory = keras.layers.RNN(tfrnn.LSTMCell(UNITS), return_sequences=True, name="encoder")(embedded_source)
    attention = {"bahdanau": seq2seq.BahdanauAttention, "luong": seq2seq.LuongAttention}[mechanism](UNITS)
    wrapper = seq2seq.AttentionWrapper(tfrnn.LSTMCell(UNITS), attention, attention_layer_size=UNITS)
    embedded_target = keras.layers.Embedding(VOCABULARY, EMBEDDING, mask_zero=True, name="target_embedding")(target)
    decoded = seq2seq.AttentionRNN(wrapper, name="decoder")(embedded_target, memory, source_length)
    logits = keras.layers.Dense(VOCABULARY, name="projection")(decoded)
    return keras.Model([source, source_length, target], logits)


def compiled_translator(mechanism="bahdanau", learning_rate=0.5, **compile_kwargs):
    """The translator with SGD and a from-logits cross-entropy (fit is given 0/1 sample weights)."""
    import keras

    model = translator(mechanism)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), **compile_kwargs)
    return model


def reversal_data(seed, count, longest=5):
    """Reverse a sequence of 2..`longest` words: `(inputs, targets, weights)` for `fit`.

    The decoder reads `[GO, reversed words]` and must emit `[reversed words, EOS]`;
    weights are 1 on real target steps, 0 on padding.
    """
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, longest + 1, count).astype("int32")
    source = np.zeros((count, longest), "int32")
    target_in, target_out = np.zeros((count, longest + 1), "int32"), np.zeros((count, longest + 1), "int32")
    for row, length in enumerate(lengths):
        words = rng.integers(3, VOCABULARY, length)
        source[row, :length] = words
        target_in[row, 0], target_in[row, 1:length + 1] = GO, words[::-1]
        target_out[row, :length], target_out[row, length] = words[::-1], EOS
    return [source, lengths, target_in], target_out, (target_out != PAD).astype("float32")


def encode(model, source, source_length):
    """The translator's memory `[B, S, UNITS]`, its mask given by the lengths."""
    mask = tf.sequence_mask(source_length, tf.shape(source)[1])
    return model.get_layer("encoder")(model.get_layer("source_embedding")(source), mask=mask)


def greedy_decode(model, source, source_length, maximum_iterations=MAXIMUM_ITERATIONS):
    """TF1's greedy inference with the translator's own layers: `{sample_id, rnn_output, lengths}`."""
    from tfrnn import seq2seq

    wrapper = model.get_layer("decoder").cell
    for mechanism in wrapper.attention_mechanisms:  # memory per call: nothing of a previous batch stays
        mechanism.setup_memory(encode(model, source, source_length), source_length)
    batch = tf.shape(source)[0]
    helper = seq2seq.GreedyEmbeddingHelper(model.get_layer("target_embedding").embeddings, tf.fill([batch], GO), EOS)
    decoder = seq2seq.BasicDecoder(wrapper, helper, wrapper.zero_state(batch, tf.float32),
                                   output_layer=model.get_layer("projection"))
    outputs, _, lengths = seq2seq.dynamic_decode(decoder, maximum_iterations=maximum_iterations)
    return {"sample_id": outputs.sample_id, "rnn_output": outputs.rnn_output, "lengths": lengths}


class GreedyTranslator(tf.Module):
    """What a user exports for serving: the translator's layers and a greedy `decode` signature."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    @tf.function(input_signature=SIGNATURE, autograph=False)
    def decode(self, source, source_length):
        return greedy_decode(self.model, source, source_length)


@functools.cache
def trained_translator(seed=0, epochs=10):
    """A translator that has learned a little: its greedy decodes end at several lengths."""
    import keras

    keras.utils.set_random_seed(seed)
    model = translator()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.03),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    inputs, targets, weights = reversal_data(seed, 64)
    model.fit(inputs, targets, sample_weight=weights, batch_size=16, epochs=epochs, shuffle=False, verbose=0)
    return model


def source_batches():
    """Two batches of other sizes and source lengths than the training data's."""
    first, _, _ = reversal_data(11, 3, longest=4)
    second, _, _ = reversal_data(12, 5, longest=5)
    return {"a": first[:2], "b": second[:2]}


# --- SavedModel in a fresh process -------------------------------------------------------------


def saved_model(directory):
    module = GreedyTranslator(trained_translator())
    want = {}
    for key, (source, lengths) in source_batches().items():
        want[f"{key}/source"], want[f"{key}/source_length"] = source, lengths
        want.update({f"{key}/{name}": np.asarray(value) for name, value in greedy_decode(module.model, source,
                                                                                           lengths).items()})
    tf.saved_model.save(module, str(directory / "module"), signatures={"serving_default": module.decode})
    np.savez(directory / "want.npz", **want)
    reload = [sys.executable, __file__, "reload", str(directory)]
    subprocess.run(reload, check=True, timeout=600)


def reload(directory):
    want = np.load(directory / "want.npz")
    loaded = tf.saved_model.load(str(directory / "module"))
    serve = loaded.signatures["serving_default"]
    got = {"tfrnn_imported": "tfrnn" in sys.modules}
    for key in ("a", "b"):
        source, lengths = tf.constant(want[f"{key}/source"]), tf.constant(want[f"{key}/source_length"])
        got.update({f"{key}/{name}": value.numpy() for name, value in loaded.decode(source, lengths).items()})
        got.update({f"{key}/serving/{name}": value.numpy()
                    for name, value in serve(source=source, source_length=lengths).items()})
    np.savez(directory / "got.npz", **got)


# --- XLA ------------------------------------------------------------------------------------------


def xla(directory):
    import keras

    keras.utils.set_random_seed(0)
    model = compiled_translator()
    inputs, targets, weights = reversal_data(1, 8)
    initial = model.get_weights()
    results = {}
    results.update(_gradients_by_hand(model, inputs, targets, weights))
    for name, options in (("eager", {"run_eagerly": True}), ("jit", {"jit_compile": True})):
        twin = compiled_translator(**options)
        twin.set_weights(initial)
        history = twin.fit(inputs, targets, sample_weight=weights, batch_size=8, epochs=1, shuffle=False, verbose=0)
        results[f"fit/{name}/loss"] = history.history["loss"][0]
        results[f"fit/{name}/jit_compile"] = bool(twin.jit_compile)
        results.update({f"fit/{name}/{i}": w for i, w in enumerate(twin.get_weights())})
    results.update({f"fit/initial/{i}": w for i, w in enumerate(initial)})
    model = trained_translator()
    source, lengths = source_batches()["b"]
    compiled = tf.function(lambda s, n: greedy_decode(model, s, n), jit_compile=True)
    for name, decode in (("eager", lambda s, n: greedy_decode(model, s, n)), ("jit", compiled)):
        results.update({f"decode/{name}/{key}": np.asarray(value) for key, value in decode(source, lengths).items()})
    np.savez(directory / "xla.npz", **results)


def _gradients_by_hand(model, inputs, targets, weights):
    """The loss and its gradients, eagerly and in one `tf.function(jit_compile=True)`."""
    import keras

    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def loss_and_gradients(source, source_length, target_in):
        with tf.GradientTape() as tape:
            loss = loss_fn(targets, model([source, source_length, target_in], training=True), sample_weight=weights)
        return loss, tape.gradient(loss, model.trainable_weights)

    results = {}
    for name, run in (("eager", loss_and_gradients), ("jit", tf.function(loss_and_gradients, jit_compile=True))):
        loss, gradients = run(*inputs)
        results[f"step/{name}/loss"] = np.asarray(loss)
        # The embeddings' gradients are IndexedSlices: made dense to compare.
        results.update({f"step/{name}/{i}": np.asarray(tf.convert_to_tensor(g)) for i, g in enumerate(gradients)})
    return results


# --- MirroredStrategy --------------------------------------------------------------------------


def mirrored(directory):
    import keras

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    keras.utils.set_random_seed(0)
    inputs, targets, weights = reversal_data(2, 8)  # 4 rows per replica
    single = compiled_translator("luong")
    initial = single.get_weights()
    with strategy.scope():
        replicated = compiled_translator("luong")
    replicated.set_weights(initial)
    results = {"replicas": strategy.num_replicas_in_sync}
    for name, model in (("single", single), ("mirrored", replicated)):
        history = model.fit(inputs, targets, sample_weight=weights, batch_size=8, epochs=1, shuffle=False, verbose=0)
        results[f"{name}/loss"] = history.history["loss"][0]
        results.update({f"{name}/{i}": w for i, w in enumerate(model.get_weights())})
    results.update({f"initial/{i}": w for i, w in enumerate(initial)})
    np.savez(directory / "mirrored.npz", **results)


FAMILIES = {"mirrored": mirrored, "xla": xla, "saved_model": saved_model}  # in this order


def run(directory, families):
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        raise SystemExit(f"unknown families {unknown}; expected some of {list(FAMILIES)}")
    if "mirrored" in families:  # before anything initializes the devices
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    for family in FAMILIES:
        if family in families:
            folder = directory / family
            folder.mkdir()
            try:
                FAMILIES[family](folder)
            except Exception:
                (folder / "error.txt").write_text(f"{family} failed:\n{traceback.format_exc()}")


def main(argv):
    command, directory, *families = argv
    if command == "reload":
        try:
            reload(pathlib.Path(directory))
        except Exception:
            (pathlib.Path(directory) / "error.txt").write_text(f"reloading failed:\n{traceback.format_exc()}")
    elif command == "run":
        run(pathlib.Path(directory), families)
    else:
        raise SystemExit(f"unknown command {command!r}; expected 'run' or 'reload'")


if __name__ == "__main__":
    main(sys.argv[1:])
