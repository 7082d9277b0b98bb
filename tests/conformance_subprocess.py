"""Helper processes of tests/test_conformance.py: one per check family, looping over cases.

    python tests/conformance_subprocess.py saved_model DIR CASE...
        For each case, save a Keras model running `keras.layers.RNN(cell)` and a
        `tf.Module` running `tfrnn.dynamic_rnn(cell, ...)` with
        `tf.saved_model.save` under `DIR/<case>/`, with their outputs in
        `want.npz`; then reload them all in a fresh process (`reload`, below),
        which writes `got.npz` (or `error.txt`).

    python tests/conformance_subprocess.py reload DIR
        The fresh process: `tf.saved_model.load` each `DIR/<case>/` without
        importing tfrnn or Keras (a SavedModel must stand alone) and run it on
        the inputs in `want.npz`.

    python tests/conformance_subprocess.py mirrored DIR CASE...
        With two logical CPU devices (configured before TensorFlow initializes
        its devices, hence a process of its own), one `fit` step of each case's
        model on one device and under `tf.distribute.MirroredStrategy`, from the
        same initial weights, into `DIR/<case>/steps.npz` (or `DIR/<case>/error.txt`).

Each case's failure is written next to its results and the loop goes on: a
case's test reports it. Nothing runs at import (pytest's doctest collection
imports this module).
"""

import os
import pathlib
import subprocess
import sys
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

# Keras, tfrnn and the cases are imported where they are used: the reload
# process must not need them.

LENGTHS = np.array([4, 2, 3, 1], "int32")  # the dynamic_rnn module's sequence_length


def save_models(directory, names):
    for name in names:
        _for_case(directory, name, _save_case)
    reload = [sys.executable, __file__, "reload", str(directory)]
    subprocess.run(reload, check=True, timeout=600)


def _save_case(case, case_dir):
    import keras

    import tfrnn
    from cases import randomize

    x = case.inputs(np.random.default_rng(0))
    rnn = keras.layers.RNN(case.make(), return_sequences=True, return_state=True)
    # A signature returns a flat list: a MultiRNNCell's nested state is flattened
    # (native keras.layers.StackedRNNCells needs the same).
    model = _model(case, rnn, keras.tree.flatten)
    randomize(rnn.cell, np.random.default_rng(1))
    tf.saved_model.save(model, str(case_dir / "model"))

    class DynamicRNNModule(tf.Module):  # what a TF1 user exports
        def __init__(self, cell):
            super().__init__()
            self.cell = cell

        @tf.function(input_signature=[
            tf.TensorSpec([None, None, case.depth], x.dtype), tf.TensorSpec([None], tf.int32),
        ])
        def run(self, x, lengths):
            outputs, state = tfrnn.dynamic_rnn(self.cell, x, sequence_length=lengths, dtype=tf.float32)
            return [outputs, *tf.nest.flatten(state)]

    module = DynamicRNNModule(case.make())
    module.run(x, LENGTHS)  # builds the cell
    randomize(module.cell, np.random.default_rng(2))
    tf.saved_model.save(module, str(case_dir / "loop"))
    want = {f"model/{i}": np.asarray(t) for i, t in enumerate(model(x))}
    want.update({f"loop/{i}": np.asarray(t) for i, t in enumerate(module.run(x, LENGTHS))})
    np.savez(case_dir / "want.npz", x=x, **want)


def reload_saved_models(directory):
    for case_dir in sorted(p for p in pathlib.Path(directory).iterdir() if (p / "want.npz").exists()):
        try:
            x = np.load(case_dir / "want.npz")["x"]
            serve = tf.saved_model.load(str(case_dir / "model")).signatures["serving_default"]
            (name,) = serve.structured_input_signature[1]
            outputs = serve(**{name: tf.constant(x)})  # {"output_0": ..., "output_1": ...}
            got = {f"model/{key.rsplit('_', 1)[1]}": value.numpy() for key, value in outputs.items()}
            loop = tf.saved_model.load(str(case_dir / "loop"))
            got.update({f"loop/{i}": value.numpy() for i, value in enumerate(loop.run(x, LENGTHS))})
            np.savez(case_dir / "got.npz", **got)
        except Exception:
            (case_dir / "error.txt").write_text("reloading failed:\n" + traceback.format_exc())


def mirrored_steps(directory, names):
    cpu = tf.config.list_physical_devices("CPU")[0]  # before anything initializes the devices
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    for name in names:
        _for_case(directory, name, lambda case, case_dir: _mirrored_case(case, case_dir, strategy))


def _mirrored_case(case, case_dir, strategy):
    from cases import randomize

    rng = np.random.default_rng(0)
    x, y = case.inputs(rng), rng.normal(size=(4, 1)).astype("float32")
    model = _trainable_model(case)
    randomize(model.layers[1].cell, rng)
    initial = model.get_weights()
    single_loss, single = _one_step(model, x, y)
    with strategy.scope():
        mirrored_model = _trainable_model(case)
    mirrored_model.set_weights(initial)
    mirrored_loss, mirrored = _one_step(mirrored_model, x, y)
    np.savez(
        case_dir / "steps.npz", replicas=strategy.num_replicas_in_sync,
        single_loss=single_loss, mirrored_loss=mirrored_loss,
        **{f"initial/{i}": w for i, w in enumerate(initial)},
        **{f"single/{i}": w for i, w in enumerate(single)},
        **{f"mirrored/{i}": w for i, w in enumerate(mirrored)},
    )


def _for_case(directory, name, check):
    """Run `check(case, case_dir)`; a failure goes to `case_dir/error.txt` and the loop goes on."""
    import keras

    from cases import BY_NAME

    case_dir = pathlib.Path(directory) / name
    case_dir.mkdir()
    try:
        keras.utils.set_random_seed(0)
        check(BY_NAME[name], case_dir)
    except Exception:
        (case_dir / "error.txt").write_text(traceback.format_exc())


def _model(case, *layers):
    import keras

    inputs = keras.Input((None, 1), dtype="int32") if case.ids else keras.Input((None, case.depth))
    outputs = inputs
    for layer in layers:
        outputs = layer(outputs)
    return keras.Model(inputs, outputs)


def _trainable_model(case):
    import keras

    model = _model(case, keras.layers.RNN(case.make()), keras.layers.Dense(1))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss="mse")
    return model


def _one_step(model, x, y):
    """One SGD step on the whole batch of 4 (2 rows per replica under the strategy)."""
    history = model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    return history.history["loss"][0], model.get_weights()


def main(argv):
    commands = {"saved_model": save_models, "reload": reload_saved_models, "mirrored": mirrored_steps}
    command, directory, *names = argv
    if command not in commands:
        raise SystemExit(f"unknown command {command!r}; expected one of {sorted(commands)}")
    commands[command](directory, *([names] if names else []))


if __name__ == "__main__":
    main(sys.argv[1:])
