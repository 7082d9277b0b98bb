"""tfrnn against TF1 itself: goldens that TF1 wrote (tests/golden/, see its README).

Each case's TF1 constructor text is evaluated with tfrnn's classes in place of
`tf.nn.rnn_cell`'s (the drop-in promise), the TF1 checkpoint is loaded into the
unbuilt cell by its original names, and values and gradients must equal TF1's.
"""

import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrnn

GOLDEN = pathlib.Path(__file__).parent / "golden"
MANIFEST = json.loads((GOLDEN / "MANIFEST.json").read_text())
CASES = {case["name"]: case for case in MANIFEST["cases"]}
ATOL = 1e-5
# Names a TF1 constructor string may use, bound to tfrnn instead of tf.nn.rnn_cell.
NAMESPACE = {"__builtins__": {}, "tf": tf, **{n: getattr(tfrnn, n) for n in tfrnn.__all__}}


def make_cell(case):
    return eval(case["constructor"], NAMESPACE)  # noqa: S307 - text from MANIFEST.json


def run_like_tf1(cell, case, golden):
    """Forward over the golden inputs, then the golden loss's gradients."""
    leaves = [tf.constant(golden[f"init_{i}"]) for i in range(case["state_leaves"])]
    x = tf.constant(golden["x"])
    variables = tfrnn.tf1_variable_names(cell, case["scope"])
    with tf.GradientTape() as tape:
        tape.watch([x, *leaves])
        state = tf.nest.pack_sequence_as(cell.state_size, leaves)
        steps = 1 if case["mode"] == "direct" else case["time"]
        outputs = []
        for t in range(steps):
            output, state = cell(x[:, t], state)
            outputs.append(output)
        outputs = outputs[0] if case["mode"] == "direct" else tf.stack(outputs, axis=1)
        finals = tf.nest.flatten(state)
        loss = tf.reduce_sum(outputs * golden["r_out"])
        loss += sum(tf.reduce_sum(f * golden[f"r_{i}"]) for i, f in enumerate(finals))
    grads = tape.gradient(loss, {"x": x, "init": leaves, "vars": variables})
    return outputs, finals, grads


@pytest.mark.parametrize("name", sorted(CASES))
def test_checkpoint_loads_by_tf1_names_and_reproduces_tf1(name):
    case = CASES[name]
    golden = np.load(GOLDEN / f"{name}.npz")
    cell = make_cell(case)
    loaded = tfrnn.load_tf1_checkpoint(GOLDEN / name, cell, scope=case["scope"])  # a directory
    assert sorted(loaded) == sorted(golden["names"].tolist())
    for tf1_name, variable in loaded.items():
        np.testing.assert_array_equal(np.asarray(variable), golden[f"var:{tf1_name}"])

    outputs, finals, grads = run_like_tf1(cell, case, golden)
    np.testing.assert_allclose(outputs, golden["outputs"], atol=ATOL)
    for i, final in enumerate(finals):
        np.testing.assert_allclose(final, golden[f"final_{i}"], atol=ATOL)
    np.testing.assert_allclose(grads["x"], golden["grad_x"], atol=ATOL)
    for i, grad in enumerate(grads["init"]):
        np.testing.assert_allclose(grad, golden[f"grad_init_{i}"], atol=ATOL)
    for tf1_name, grad in grads["vars"].items():
        np.testing.assert_allclose(grad, golden[f"grad:{tf1_name}"], atol=ATOL, err_msg=tf1_name)


@pytest.mark.parametrize("name", ["lstm_full", "multi_mixed"])
def test_tf1_numbers_hold_under_xla(name):
    case = CASES[name]
    golden = np.load(GOLDEN / f"{name}.npz")
    cell = make_cell(case)
    tfrnn.load_tf1_checkpoint(GOLDEN / name / "model.ckpt", cell, scope=case["scope"])
    state = tf.nest.pack_sequence_as(cell.state_size, [golden[f"init_{i}"] for i in range(case["state_leaves"])])

    @tf.function(jit_compile=True)
    def unroll(x, state):
        outputs = []
        for t in range(case["time"]):
            output, state = cell(x[:, t], state)
            outputs.append(output)
        return tf.stack(outputs, axis=1), state

    outputs, final = unroll(golden["x"], state)
    np.testing.assert_allclose(outputs, golden["outputs"], atol=ATOL)
    for i, leaf in enumerate(keras.tree.flatten(final)):
        np.testing.assert_allclose(leaf, golden[f"final_{i}"], atol=ATOL)


def test_every_public_cell_class_has_a_golden():
    contrib = json.loads((GOLDEN / "tf115" / "MANIFEST.json").read_text())["cases"]
    covered = " ".join(case["constructor"] for case in CASES.values())
    covered += " ".join(text for case in contrib for text in case["cells"].values())
    cells = [n for n in tfrnn.__all__ if isinstance(getattr(tfrnn, n), type) and issubclass(getattr(tfrnn, n), tfrnn.RNNCell)]
    # RNNCell is abstract; DeviceWrapper only places ops on a device (its numbers are the cell's).
    assert [n for n in cells if n not in ("RNNCell", "DeviceWrapper") and f"{n}(" not in covered] == []


def test_goldens_are_what_the_tf1_oracle_writes(tmp_path):
    """Regenerate with TF1 (tf_keras legacy cells) in a separate process and compare."""
    pytest.importorskip("tf_keras")
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
    subprocess.run(
        [sys.executable, str(GOLDEN / "generate.py"), "--out", str(tmp_path)],
        env=env, check=True, capture_output=True, timeout=600,
    )
    for name in CASES:
        committed, fresh = np.load(GOLDEN / f"{name}.npz"), np.load(tmp_path / f"{name}.npz")
        assert sorted(committed) == sorted(fresh)
        for key in committed:
            if committed[key].dtype.kind == "f":
                # Another CPU may round the last bit differently (see golden/README.md).
                np.testing.assert_allclose(fresh[key], committed[key], rtol=1e-6, atol=1e-6, err_msg=f"{name}:{key}")
            else:
                np.testing.assert_array_equal(fresh[key], committed[key])
