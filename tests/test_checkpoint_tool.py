"""`tfrnn-checkpoint inspect|convert`, end to end on checkpoints TF1 itself wrote.

The printed code is executed, not only read: `inspect`'s tfrnn code must load
every RNN weight of the checkpoint with its exact value, and `convert`'s Keras
code must rebuild a model that computes what the TF1 cells computed.
"""

import ast
import errno
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrnn
from tfrnn.base import TF1_CLASSES, Weight
from tfrnn.checkpoint.tool import main

ROOT = pathlib.Path(__file__).parent.parent
GOLDEN = pathlib.Path(__file__).parent / "golden"
ATOL = 1e-5
# Every TF1-written checkpoint of RNN structures in the repository. The seq2seq goldens'
# (attention decoders) have their own test below; the Tacotron program's holds the user's
# own cells, which no tfrnn class describes (`test_a_programs_own_cells_are_listed_unexplained`).
ALL_CHECKPOINTS = sorted(
    str(p.parent.relative_to(ROOT)) for p in GOLDEN.rglob("checkpoint")
    if "tf115_seq2seq" not in p.parts and "tf115_tacotron" not in p.parts
)
# The variables of those checkpoints that no RNN cell holds; everything else is in a cell.
NOT_IN_A_CELL = {
    "tests/golden/structures/seq2seq": {
        "embeddings/encoder/embedding_encoder", "dynamic_seq2seq/decoder/output_projection/kernel",
    },
    "tests/golden/structures/gru_momentum": {"softmax/kernel", "softmax/bias"},
}
SLOT_OR_COUNTER = re.compile(r".*/(?:Adam|Adam_1|Momentum)|global_step|beta[12]_power")


@pytest.fixture(autouse=True)
def _run_in_repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # the printed paths are as given: relative to the repository


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def code_blocks(out):
    """The code printed under each `tfrnn code:` line (indented by 8)."""
    blocks = re.findall(r"    tfrnn code:\n((?:        .*\n?)+)", out)
    return ["\n".join(line[8:] for line in block.splitlines()) for block in blocks]


def listed(out, title):
    """Names listed under `title (n):`, one per line: `    name [shape]  reason`, or, for a
    reason several share, `    k variables: reason` with `        name [shape]` below it."""
    match = re.search(rf"^{title} \((\d+)\):\n((?:    .*\n?)+)", out, re.M)
    if not match:
        return set()
    lines = match.group(2).splitlines()
    headers = [int(line.split()[0]) for line in lines if GROUP_HEADER.match(line)]
    grouped = [line for line in lines if line.startswith(" " * 8)]
    assert sum(headers) == len(grouped) and all(count > 1 for count in headers)
    names = {line.split()[0] for line in lines if not GROUP_HEADER.match(line)}
    assert len(names) == int(match.group(1))
    return names


GROUP_HEADER = re.compile(r"    \d+ variables: ")


def reason_of(out, name):
    """The reason printed for `name`: on its line, or above its group."""
    lines = out.splitlines()
    (index,) = [i for i, line in enumerate(lines) if line.split()[:1] == [name]]
    if lines[index].startswith(" " * 8):
        header = next(line for line in reversed(lines[:index]) if GROUP_HEADER.match(line))
        return GROUP_HEADER.sub("", header)
    return lines[index].partition("]  ")[2]


def exec_recording_loads(code, monkeypatch):
    """Run printed code; return its namespace and every `{tf1_name: variable}` it loaded."""
    loaded, load = {}, tfrnn.load_tf1_checkpoint

    def recording_load(path, cell, scope="rnn"):
        names = load(path, cell, scope=scope)
        loaded.update(names)
        return names

    monkeypatch.setattr(tfrnn, "load_tf1_checkpoint", recording_load)
    namespace = {}
    exec(compile(code, "<printed code>", "exec"), namespace)
    return namespace, loaded


# ------------------------------------------------------------------- inspect


@pytest.mark.parametrize("path", ALL_CHECKPOINTS)
def test_printed_code_loads_every_rnn_weight_and_the_rest_is_listed(path, capsys, monkeypatch):
    code, out, err = run(capsys, "inspect", path)
    assert code == 0 and not err
    loaded = {}
    for block in code_blocks(out):
        loaded.update(exec_recording_loads(block, monkeypatch)[1])
    reader = tf.train.load_checkpoint(path)
    names = set(reader.get_variable_to_shape_map())
    not_rnn, unexplained = listed(out, "not RNN weights"), listed(out, "unexplained")
    assert set(loaded) | not_rnn | unexplained == names
    assert not (set(loaded) & (not_rnn | unexplained)) and not (not_rnn & unexplained)
    for name, variable in loaded.items():
        np.testing.assert_array_equal(np.asarray(variable), reader.get_tensor(name), err_msg=name)
    assert unexplained == NOT_IN_A_CELL.get(path, set())  # contrib cells and wrappers included
    assert not_rnn == {name for name in names if SLOT_OR_COUNTER.fullmatch(name)}


def test_a_programs_own_cells_are_listed_unexplained(capsys):
    """Tacotron's checkpoint: the prenet's LSTMCell is found; the user's own cells (prenet
    layers, location-sensitive attention, projections) and the stack around them are listed
    as unexplained, each variable once, and nothing is lost."""
    code, out, _ = run(capsys, "inspect", "tests/golden/tf115_tacotron")
    assert code == 0
    assert re.findall(r"^\[\d\] scope '.*/(.*?)': (.*?),", out, re.M) == [("decoder_prenet_wrapper", "dynamic_rnn")]
    assert "cell = tfrnn.LSTMCell(8)\n" in code_blocks(out)[0]
    unexplained = listed(out, "unexplained")
    names = {name for name, _ in tf.train.list_variables("tests/golden/tf115_tacotron")}
    assert len(unexplained) == 21 and unexplained < names
    assert "memory_layer/kernel" in unexplained and "attention_variable" in unexplained
    # The wrapper stack's 10 variables share one short reason: deeper scopes counted, not listed.
    prefix = "decoder/frame_and_stop_projection/multi_rnn_cell/cell_0/output_projection_wrapper"
    assert reason_of(out, f"{prefix}/kernel") == (
        "not a complete TF1 cell under 'output_projection_wrapper': it has only "
        "['bias', 'kernel', 'concat_output_and_attention_wrapper/ (8 variables)']")
    assert max(len(line) for line in out.splitlines() if not line.startswith("        ")) < 300


def test_seq2seq_structures_slots_and_leftovers(capsys):
    code, out, _ = run(capsys, "inspect", "tests/golden/structures/seq2seq")
    assert code == 0
    assert re.findall(r"^\[\d\] scope '(.*?)': (.*?),", out, re.M) == [
        ("dynamic_seq2seq/decoder/rnn", "dynamic_rnn"),
        ("dynamic_seq2seq/encoder/bidirectional_rnn", "bidirectional_dynamic_rnn or static_bidirectional_rnn"),
        ("dynamic_seq2seq/encoder/rnn", "dynamic_rnn"),
    ]
    blocks = code_blocks(out)
    assert "cell = tfrnn.LSTMCell(4, use_peepholes=True)\n" in blocks[0]
    assert "cell_fw = tfrnn.BasicLSTMCell(4)\ncell_bw = tfrnn.GRUCell(3)\n" in blocks[1]
    assert ("cell = tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(4), tfrnn.GRUCell(3)])\n"
            "tfrnn.load_tf1_checkpoint(PATH, cell, scope='dynamic_seq2seq/encoder/rnn')") in blocks[2]
    not_rnn = listed(out, "not RNN weights")
    assert {"global_step", "beta1_power", "beta2_power"} <= not_rnn
    assert "dynamic_seq2seq/encoder/rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel/Adam_1" in not_rnn
    assert len(not_rnn) == 3 + 2 * 19  # two Adam slots for each of the 19 trainable variables
    assert listed(out, "unexplained") == {
        "embeddings/encoder/embedding_encoder", "dynamic_seq2seq/decoder/output_projection/kernel",
    }


def test_seq2seq_printed_code_reproduces_tf1s_numbers(capsys, monkeypatch):
    """TF1 ran these cells after a training step; the printed code's cells compute the same."""
    golden = np.load(GOLDEN / "structures" / "seq2seq.npz")
    _, out, _ = run(capsys, "inspect", "tests/golden/structures/seq2seq")
    decoder, bidirectional, encoder = (exec_recording_loads(b, monkeypatch)[0] for b in code_blocks(out))
    lengths = golden["L"]
    (fw, bw), (state_fw, state_bw) = tfrnn.bidirectional_dynamic_rnn(
        bidirectional["cell_fw"], bidirectional["cell_bw"], golden["x"], sequence_length=lengths, dtype=tf.float32
    )
    uni, uni_state = tfrnn.dynamic_rnn(encoder["cell"], golden["bi"], sequence_length=lengths, dtype=tf.float32)
    dec, dec_state = tfrnn.dynamic_rnn(decoder["cell"], golden["dec_x"], dtype=tf.float32)
    for got, key in ((fw, "bi_fw"), (bw, "bi_bw"), (uni, "uni"), (dec, "dec")):
        np.testing.assert_allclose(np.asarray(got), golden[key], atol=ATOL, err_msg=key)
    states = {"bi_state_fw": state_fw, "bi_state_bw": state_bw, "uni_state": uni_state, "dec_state": dec_state}
    for key, state in states.items():
        for i, leaf in enumerate(tf.nest.flatten(state)):
            np.testing.assert_allclose(np.asarray(leaf), golden[f"{key}:{i}"], atol=ATOL, err_msg=key)


def test_stacked_bidirectional_printed_code_reproduces_tf_1_15(capsys, monkeypatch):
    golden = np.load(GOLDEN / "tf115" / "stack_bidi_dyn.npz")
    _, out, _ = run(capsys, "inspect", "tests/golden/tf115/stack_bidi_dyn")
    assert "stack_bidirectional_dynamic_rnn, 2 layers, input depth 3" in out
    (block,) = code_blocks(out)
    namespace, _ = exec_recording_loads(block, monkeypatch)
    result = tfrnn.stack_bidirectional_dynamic_rnn(
        namespace["cells_fw"], namespace["cells_bw"], golden["x"], sequence_length=golden["L"], dtype=tf.float32
    )
    for k, leaf in enumerate(tf.nest.flatten(result)):
        np.testing.assert_allclose(np.asarray(leaf), golden[f"out_{k}"], atol=ATOL)


@pytest.mark.parametrize("path, expected", [
    ("tests/golden/direct_multi", "cell = tfrnn.MultiRNNCell([tfrnn.GRUCell(3), tfrnn.BasicLSTMCell(2)])\n"
                                  "tfrnn.load_tf1_checkpoint(PATH, cell, scope='')"),
    ("tests/golden/scoped_named", "cell = tfrnn.BasicLSTMCell(3, name='my_lstm')\n"
                                  "tfrnn.load_tf1_checkpoint(PATH, cell, scope='encoder/myrnn')"),
    ("tests/golden/lstm_full", "cell = tfrnn.LSTMCell(5, use_peepholes=True, num_proj=3)\n"),
    ("tests/golden/tf115/stack_bidi_static",
     "tfrnn.load_tf1_checkpoint(PATH, cells_bw[1], scope='stack_bidirectional_rnn/cell_1/bw')\n"
     "# outputs, states_fw, states_bw = tfrnn.stack_bidirectional_rnn("),
])
def test_inspect_prints_tf1_constructors_and_scopes(path, expected, capsys):
    assert expected in "\n".join(code_blocks(run(capsys, "inspect", path)[1]))


def write_checkpoint(directory, shapes):
    prefix = str(directory / "model.ckpt")
    arrays = [np.full(shape, 0.5, "float32") for shape in shapes.values()]
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=list(shapes), shape_and_slices=[""] * len(shapes), tensors=arrays)
    return prefix


def test_what_names_and_shapes_cannot_explain_is_listed_with_the_reason(tmp_path, capsys, monkeypatch):
    prefix = write_checkpoint(tmp_path, {
        "old/rnn/basic_lstm_cell/weights": (7, 16), "old/rnn/basic_lstm_cell/biases": (16,),
        "keras/rnn/while/lstm_cell/kernel": (3, 16), "keras/rnn/while/lstm_cell/recurrent_kernel": (4, 16),
        "keras/rnn/while/lstm_cell/bias": (16,),
        "gaps/multi_rnn_cell/cell_0/gru_cell/gates/kernel": (5, 4),
        "gaps/multi_rnn_cell/cell_0/gru_cell/gates/bias": (4,),
        "gaps/multi_rnn_cell/cell_0/gru_cell/candidate/kernel": (5, 2),
        "gaps/multi_rnn_cell/cell_0/gru_cell/candidate/bias": (2,),
        "gaps/multi_rnn_cell/cell_2/basic_rnn_cell/kernel": (4, 2),
        "gaps/multi_rnn_cell/cell_2/basic_rnn_cell/bias": (2,),
        "dec/rnn/basic_lstm_cell_1/kernel": (6, 12), "dec/rnn/basic_lstm_cell_1/bias": (12,),
        "dec/rnn/my_rnn/kernel": (5, 2), "dec/rnn/my_rnn/bias": (2,),
        "dec/dense/kernel": (9, 7), "dec/dense/bias": (7,),
        "half/rnn/gru_cell/gates/kernel": (5, 4), "half/rnn/gru_cell/gates/bias": (4,),
    })
    code, out, _ = run(capsys, "inspect", prefix)
    assert code == 0
    assert re.match(r"pre-TF-1.2 names.*checkpoint_convert", reason_of(out, "old/rnn/basic_lstm_cell/weights"))
    assert reason_of(out, "keras/rnn/while/lstm_cell/recurrent_kernel").startswith("a Keras cell's kernel")
    assert re.match(r"layers \[0, 2\].*cell_\{i\} are missing", reason_of(out, "gaps/multi_rnn_cell/cell_2/basic_rnn_cell/bias"))
    assert re.search(r"not a cell's default name: a dense layer\?", reason_of(out, "dec/dense/kernel"))
    assert reason_of(out, "half/rnn/gru_cell/gates/kernel").startswith("not a complete TF1 cell under 'gru_cell'")
    # A reason is said once for the variables that share it.
    assert out.count("not a complete TF1 cell under 'gru_cell'") == 1
    assert "    2 variables: not a complete TF1 cell under 'gru_cell'" in out
    assert "        half/rnn/gru_cell/gates/bias [4]\n        half/rnn/gru_cell/gates/kernel [5, 4]\n" in out
    (block_1, block_2) = code_blocks(out)
    # TF1 uniquified a second default-named cell in one scope; the name must be passed.
    assert "cell = tfrnn.BasicLSTMCell(3, name='basic_lstm_cell_1')" in block_1
    assert "cell = tfrnn.BasicRNNCell(2, name='my_rnn')" in block_2
    for block in (block_1, block_2):
        exec_recording_loads(block, monkeypatch)


@pytest.fixture
def toy_cell(monkeypatch):
    """A cell class `inspect` has never heard of; defining `tf1_options` registers it."""

    class ToyCell(tfrnn.RNNCell):
        """h' = tanh(x @ input_matrix + h @ recurrent/matrix + offset): weight names no tfrnn cell uses."""

        def __init__(self, num_units, name=None, **kwargs):
            super().__init__(name=name, **kwargs)
            self.num_units = num_units

        state_size = property(lambda self: self.num_units)
        output_size = property(lambda self: self.num_units)

        @classmethod
        def tf1_options(cls, shapes, inner=None):
            return {"num_units": shapes["offset"][-1]} if "offset" in shapes else None

        def tf1_layout(self, input_depth):
            units = self.num_units
            return [Weight("input_matrix", (input_depth, units)), Weight("recurrent/matrix", (units, units)),
                    Weight("offset", (units,), "zeros")]

        def step(self, inputs, state):
            h = keras.ops.tanh(inputs @ self.input_matrix + state @ self.recurrent.matrix + self.offset)
            return h, h

    ToyCell.__qualname__ = "ToyCell"  # importable by the printed code, as a user's own class is
    monkeypatch.setattr(sys.modules[__name__], "ToyCell", ToyCell, raising=False)
    yield ToyCell
    TF1_CLASSES.remove(ToyCell)


def test_inspect_recognises_a_cell_class_from_its_own_layout(toy_cell, tmp_path, capsys, monkeypatch):
    assert toy_cell in TF1_CLASSES
    prefix = write_checkpoint(tmp_path, {
        "encoder/rnn/toy_cell/input_matrix": (3, 2), "encoder/rnn/toy_cell/recurrent/matrix": (2, 2),
        "encoder/rnn/toy_cell/offset": (2,),
        "decoder/rnn/multi_rnn_cell/cell_0/toy_cell/input_matrix": (2, 4),
        "decoder/rnn/multi_rnn_cell/cell_0/toy_cell/recurrent/matrix": (4, 4),
        "decoder/rnn/multi_rnn_cell/cell_0/toy_cell/offset": (4,),
        "decoder/rnn/multi_rnn_cell/cell_1/gru_cell/gates/kernel": (7, 6),
        "decoder/rnn/multi_rnn_cell/cell_1/gru_cell/gates/bias": (6,),
        "decoder/rnn/multi_rnn_cell/cell_1/gru_cell/candidate/kernel": (7, 3),
        "decoder/rnn/multi_rnn_cell/cell_1/gru_cell/candidate/bias": (3,),
        "head/rnn/output_projection_wrapper/toy_cell/input_matrix": (3, 2),
        "head/rnn/output_projection_wrapper/toy_cell/recurrent/matrix": (2, 2),
        "head/rnn/output_projection_wrapper/toy_cell/offset": (2,),
        "head/rnn/output_projection_wrapper/kernel": (2, 5), "head/rnn/output_projection_wrapper/bias": (5,),
    })
    code, out, _ = run(capsys, "inspect", prefix)
    assert code == 0 and not listed(out, "unexplained")
    decoder, encoder, head = code_blocks(out)
    assert f"from {toy_cell.__module__} import ToyCell\n" in encoder and "cell = ToyCell(2)\n" in encoder
    assert "cell = tfrnn.MultiRNNCell([ToyCell(4), tfrnn.GRUCell(3)])\n" in decoder
    assert "cell = tfrnn.OutputProjectionWrapper(ToyCell(2), 5)\n" in head
    loaded = {}
    for block in (decoder, encoder, head):
        loaded.update(exec_recording_loads(block, monkeypatch)[1])
    reader = tf.train.load_checkpoint(prefix)
    assert set(loaded) == set(reader.get_variable_to_shape_map())
    for name, variable in loaded.items():
        np.testing.assert_array_equal(np.asarray(variable), reader.get_tensor(name), err_msg=name)


# ------------------------------------------------------------------- convert

CONVERSIONS = [  # (checkpoint, scope, TF1 constructor as tfrnn code, input depth)
    ("tests/golden/basic_lstm", "rnn", "BasicLSTMCell(4)", 3),
    ("tests/golden/gru_relu", "rnn", "GRUCell(3)", 2),  # TF1 used relu: tanh, unless --activation says so
    ("tests/golden/basic_rnn", "rnn", "BasicRNNCell(5)", 3),
    ("tests/golden/multi_same_class", "rnn", "MultiRNNCell([BasicLSTMCell(4), BasicLSTMCell(4)])", 3),
    ("tests/golden/direct_multi", "", "MultiRNNCell([GRUCell(3), BasicLSTMCell(2)])", 3),
    ("tests/golden/scoped_named", "encoder/myrnn", "BasicLSTMCell(3, name='my_lstm')", 2),
    ("tests/golden/loops/bidi_len", "bidirectional_rnn/bw", "GRUCell(3)", 3),
    ("tests/golden/tf115/stack_bidi_dyn", "stack_bidirectional_rnn/cell_1/bidirectional_rnn/fw", "GRUCell(2)", 6),
    ("tests/golden/structures/seq2seq", "dynamic_seq2seq/encoder/rnn",
     "MultiRNNCell([BasicLSTMCell(4), GRUCell(3)])", 7),
]


def tf1_cell(path, scope, constructor):
    cell = eval(constructor, {n: getattr(tfrnn, n) for n in tfrnn.__all__})  # noqa: S307 - test table
    tfrnn.load_tf1_checkpoint(path, cell, scope=scope)
    return cell


@pytest.mark.parametrize("suffix", [".weights.h5", ".keras"])
@pytest.mark.parametrize("to", ["keras", "tfrnn"])
@pytest.mark.parametrize("path, scope, constructor, depth", CONVERSIONS, ids=lambda v: str(v))
def test_converted_file_loads_with_the_printed_code_and_computes_the_same(
    path, scope, constructor, depth, to, suffix, tmp_path, capsys
):
    out_file = tmp_path / f"out{suffix}"
    code, out, err = run(capsys, "convert", path, out_file, "--scope", scope, "--to", to)
    assert code == 0 and not err and out_file.exists()
    assert out.count("\n  ") >= 1 and f"converted scope {scope!r}" in out
    loading = "\n".join(line[4:] for line in out.split("load it with:\n")[1].splitlines())
    namespace = {}
    exec(compile(loading, "<printed code>", "exec"), namespace)
    model = namespace["model"]
    assert type(namespace["cell"]).__module__.startswith("keras") == (to == "keras")
    x = np.random.default_rng(0).normal(size=(2, 5, depth)).astype("float32")
    want, _ = tfrnn.dynamic_rnn(tf1_cell(path, scope, constructor), x, dtype=tf.float32)
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(want), atol=ATOL)


def test_converted_keras_encoder_matches_tf1s_outputs(tmp_path, capsys):
    """Keras' own LSTMCell and GRUCell, weights from TF1's Adam-trained checkpoint, TF1's numbers."""
    golden = np.load(GOLDEN / "structures" / "seq2seq.npz")
    out_file = tmp_path / "encoder.keras"
    assert run(capsys, "convert", "tests/golden/structures/seq2seq", out_file,
               "--scope", "dynamic_seq2seq/encoder/rnn")[0] == 0
    model = keras.models.load_model(out_file)
    assert [type(c) for c in model.layers[-1].cell.cells] == [keras.layers.LSTMCell, keras.layers.GRUCell]
    outputs = np.asarray(model(golden["bi"]))
    for row, length in enumerate(golden["L"]):  # a forward RNN's valid steps ignore the padding after them
        np.testing.assert_allclose(outputs[row, :length], golden["uni"][row, :length], atol=ATOL)


def test_forget_bias_and_what_the_checkpoint_does_not_hold(tmp_path, capsys):
    out_file = tmp_path / "fb0.keras"
    code, out, _ = run(capsys, "convert", "tests/golden/basic_lstm_fb0", out_file, "--forget-bias", "0")
    assert code == 0 and "forget_bias 0.0 added to the forget bias" in out
    x = np.random.default_rng(1).normal(size=(2, 4, 3)).astype("float32")
    want, _ = tfrnn.dynamic_rnn(tf1_cell("tests/golden/basic_lstm_fb0", "rnn", "BasicLSTMCell(4, forget_bias=0.0)"),
                                x, dtype=tf.float32)
    np.testing.assert_allclose(np.asarray(keras.models.load_model(out_file)(x)), np.asarray(want), atol=ATOL)
    _, tfrnn_out, _ = run(capsys, "convert", "tests/golden/basic_lstm_fb0", tmp_path / "t.weights.h5",
                          "--forget-bias", "0", "--to", "tfrnn")
    assert "cell = tfrnn.BasicLSTMCell(4, forget_bias=0.0)" in tfrnn_out


@pytest.mark.parametrize("to", ["keras", "tfrnn"])
def test_activation_option_reproduces_tf1s_relu_gru(to, tmp_path, capsys):
    golden = np.load(GOLDEN / "gru_relu.npz")
    out_file = tmp_path / "gru.keras"
    code, out, _ = run(capsys, "convert", "tests/golden/gru_relu", out_file, "--activation", "relu", "--to", to)
    assert code == 0 and ("GRUCell(3, reset_after=False, activation='relu')" in out if to == "keras"
                          else "GRUCell(3, activation='relu')" in out)
    layer = keras.models.load_model(out_file).layers[-1]  # the RNN layer, to pass TF1's initial state
    np.testing.assert_allclose(np.asarray(layer(golden["x"], initial_state=[golden["init_0"]])),
                               golden["outputs"], atol=ATOL)
    code, _, err = run(capsys, "convert", "tests/golden/gru_relu", tmp_path / "bad.keras", "--activation", "nope")
    assert code == 1 and "nope" in err and not (tmp_path / "bad.keras").exists()


def test_no_keras_equivalent_fails_cleanly_and_tfrnn_still_converts(tmp_path, capsys):
    path, scope = "tests/golden/structures/seq2seq", "dynamic_seq2seq/decoder/rnn"
    code, out, err = run(capsys, "convert", path, tmp_path / "dec.keras", "--scope", scope)
    assert code == 1 and not out and not list(tmp_path.iterdir())
    assert err.count("\n") == 1 and "use_peepholes=True" in err and "--to tfrnn" in err
    code, _, _ = run(capsys, "convert", path, tmp_path / "dec.keras", "--scope", scope, "--to", "tfrnn")
    assert code == 0
    golden = np.load(GOLDEN / "structures" / "seq2seq.npz")
    np.testing.assert_allclose(np.asarray(keras.models.load_model(tmp_path / "dec.keras")(golden["dec_x"])),
                               golden["dec"], atol=ATOL)


@pytest.mark.parametrize("argv, status, message", [
    (["inspect", "tests/golden/nowhere"], 1, r"no TF1 checkpoint at tests/golden/nowhere: .*\.index does not exist"),
    (["inspect", "README.md"], 1, r"README.md is not a TF1 checkpoint: it is a text file"),
    (["inspect", "pyproject.toml"], 1, r"pyproject.toml is not a TF1 checkpoint: it is a text file"),
    (["inspect", "tests"], 1, r"tests is a directory without a readable 'checkpoint' file"),
    (["inspect", "JUNK"], 1, r"JUNK is not a TF1 checkpoint: \S*JUNK\.index cannot be read"),
    (["convert", "tests/golden/basic_lstm", "OUT.keras", "--scope", "encoder"], 1,
     r"no RNN cell at scope 'encoder' .*its cells' scopes are: 'rnn'"),
    (["convert", "tests/golden/loops/bidi_len", "OUT.keras", "--scope", "bidirectional_rnn"], 1,
     r"holds a bidirectional structure; .*--scope: 'bidirectional_rnn/fw', 'bidirectional_rnn/bw'"),
    (["convert", "tests/golden/loops/bidi_len", "OUT.keras"], 2, r"holds 2 RNN cells; choose one with --scope"),
    (["convert", "tests/golden/basic_lstm", "OUT.h5"], 2, r"must end in \.weights\.h5 .* or \.keras"),
    (["convert", "tests/golden/basic_lstm", "MISSING/OUT.keras"], 1, r"directory .*MISSING does not exist"),
    (["convert", "tests/golden/basic_lstm", "OUT.keras", "--to", "torch"], 2, r"invalid choice: 'torch'"),
    (["convert", "tests/golden/basic_lstm", "OUT.keras", "--forget-bias", "nan"], 2,
     r"argument --forget-bias: 'nan' is not a finite number"),
    (["convert", "tests/golden/basic_lstm", "OUT.keras", "--forget-bias=-inf"], 2,
     r"argument --forget-bias: '-inf' is not a finite number"),
    (["convert", "tests/golden/basic_lstm", "OUT.keras", "--forget-bias", "INF"], 2,
     r"argument --forget-bias: 'INF' is not a finite number"),
    (["convert", "tests/golden/basic_lstm", "OUT.keras", "--forget-bias", "1/0"], 2,
     r"argument --forget-bias: '1/0' is not a number"),
    (["convert", "tests/golden/basic_lstm", "DIR.keras"], 1, r"output \S*DIR.keras is a directory; pass a file path"),
    ([], 2, r"required: \{inspect,convert\}"),
])
def test_failures_are_one_line_a_status_and_no_file(argv, status, message, tmp_path, capsys, monkeypatch):
    junk = tmp_path / "JUNK.index"
    junk.write_bytes(b"not a checkpoint")
    (tmp_path / "DIR.keras").mkdir()
    argv = [str(junk.with_suffix("")) if a == "JUNK" else a for a in argv]
    argv = [str(tmp_path / a) if a.endswith((".keras", ".h5")) else a for a in argv]
    before = sorted(tmp_path.rglob("*"))
    code, out, err = run(capsys, *argv)
    assert (code, out) == (status, "")
    assert err.startswith("tfrnn-checkpoint: error: ") and err.count("\n") == 1
    assert re.search(message, err), err
    assert sorted(tmp_path.rglob("*")) == before


def test_help_exits_zero_and_says_what_force_does(capsys):
    assert main(["convert", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--forget-bias" in help_text and "An existing OUT is refused unless --force" in help_text
    assert "--force overwrite OUT if it exists" in help_text
    assert main(["--help"]) == 0
    assert "only with --force" in " ".join(capsys.readouterr().out.split())


def one_error_line(code, out, err, status=1):
    """The failure contract: the status, nothing on stdout, one `tfrnn-checkpoint: error:` line."""
    assert (code, out) == (status, ""), (code, out, err)
    assert err.startswith("tfrnn-checkpoint: error: ") and err.count("\n") == 1, err
    return err[len("tfrnn-checkpoint: error: "):-1]


def test_an_existing_output_is_refused_unless_force(tmp_path, capsys):
    out_file = tmp_path / "gru.keras"
    out_file.write_bytes(b"earlier work")
    message = one_error_line(*run(capsys, "convert", "tests/golden/gru", out_file))
    assert message == f"output {out_file} already exists; pass --force to overwrite it"
    assert out_file.read_bytes() == b"earlier work"
    assert run(capsys, "convert", "tests/golden/gru", out_file, "--force")[0] == 0
    assert isinstance(keras.models.load_model(out_file).layers[-1].cell, keras.layers.GRUCell)
    assert [p.name for p in tmp_path.iterdir()] == ["gru.keras"]


@pytest.mark.parametrize("suffix", [".keras", ".weights.h5"])
@pytest.mark.parametrize("error, says", [
    (OSError(errno.ENOSPC, "No space left on device"), "No space left on device (errno 28)"),
    (PermissionError(errno.EACCES, "Permission denied"), "Permission denied (errno 13)"),
], ids=["disk-full", "permission"])
def test_a_failed_write_leaves_no_partial_file_and_the_old_output_intact(suffix, error, says, tmp_path, capsys,
                                                                         monkeypatch):
    out_file = tmp_path / f"gru{suffix}"
    out_file.write_bytes(b"earlier work")

    def write_half_then_fail(model, path, *args, **kwargs):
        pathlib.Path(path).write_bytes(b"half a file")
        raise error

    monkeypatch.setattr(keras.Model, "save", write_half_then_fail)
    monkeypatch.setattr(keras.Model, "save_weights", write_half_then_fail)
    message = one_error_line(*run(capsys, "convert", "tests/golden/gru", out_file, "--force"))
    assert message == f"cannot write {out_file}: {says}; nothing was written"
    assert [p.name for p in tmp_path.iterdir()] == [out_file.name] and out_file.read_bytes() == b"earlier work"


@pytest.mark.parametrize("raised, status, says", [
    (KeyboardInterrupt, 130, "interrupted; nothing was written"),
    (RuntimeError("h5py broke"), 1, "unexpected RuntimeError: h5py broke (please report this to tfrnn)"),
], ids=["interrupted", "unexpected"])
def test_any_other_failure_while_writing_is_one_line_and_no_file(raised, status, says, tmp_path, capsys, monkeypatch):
    def write_half_then_fail(model, path, *args, **kwargs):
        pathlib.Path(path).write_bytes(b"half a file")
        raise raised

    monkeypatch.setattr(keras.Model, "save", write_half_then_fail)
    assert one_error_line(*run(capsys, "convert", "tests/golden/gru", tmp_path / "gru.keras"), status=status) == says
    assert not list(tmp_path.iterdir())


def test_an_unwritable_folder_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    # Root writes anywhere, so the folder's permission is simulated; the write's own
    # PermissionError is the case above.
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kwargs: (os.fspath(path) != str(tmp_path)
                                                                     and access(path, mode, **kwargs)))
    message = one_error_line(*run(capsys, "convert", "tests/golden/gru", tmp_path / "gru.keras"))
    assert message == f"cannot write {tmp_path / 'gru.keras'}: the folder {tmp_path} is not writable"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_folder_is_refused(tmp_path, capsys):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert "is not writable" in one_error_line(*run(capsys, "convert", "tests/golden/gru", folder / "gru.keras"))
    finally:
        folder.chmod(0o700)
    assert not list(folder.iterdir())


@pytest.mark.parametrize("damage, says", [
    (lambda data: data.write_bytes(data.read_bytes()[:100]), "is truncated"),
    (lambda data: data.write_bytes(bytes(255 - b for b in data.read_bytes())), r"is corrupt \(checksum mismatch\)"),
    (lambda data: data.unlink(), "is missing"),
], ids=["truncated", "checksum", "missing"])
def test_a_damaged_checkpoint_is_one_line_naming_the_file_and_nothing_is_written(damage, says, tmp_path, capsys):
    shutil.copytree(GOLDEN / "gru", tmp_path / "gru")
    data = tmp_path / "gru" / "model.ckpt.data-00000-of-00001"
    damage(data)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    message = one_error_line(*run(capsys, "convert", tmp_path / "gru", out_dir / "gru.keras"))
    assert re.search(rf"rnn/gru_cell/gates/kernel: its data file '{re.escape(str(data))}' {says}", message), message
    assert not list(out_dir.iterdir())


@pytest.mark.parametrize("suffix, kind", [(".keras", "a zip archive"), (".weights.h5", "an HDF5 file")])
def test_a_keras_file_is_not_a_tf1_checkpoint(suffix, kind, tmp_path, capsys):
    keras_file = tmp_path / f"gru{suffix}"
    assert run(capsys, "convert", "tests/golden/gru", keras_file)[0] == 0
    for argv in (["inspect", keras_file], ["convert", keras_file, tmp_path / "again.keras"]):
        message = one_error_line(*run(capsys, *argv))
        assert message.startswith(f"{keras_file} is not a TF1 checkpoint: it is {kind}"), message
    assert [p.name for p in tmp_path.iterdir()] == [keras_file.name]


def test_the_checkpoint_state_file_may_be_given(capsys):
    code, out, _ = run(capsys, "inspect", "tests/golden/gru/checkpoint")
    assert code == 0 and "cell 'rnn': GRUCell(4), input depth 3" in out


def test_optimizer_slots_under_any_scope_are_not_rnn_weights(tmp_path, capsys):
    slots = {
        "train_step/rnn/lstm_cell/kernel/Adam": (7, 16), "train_step/rnn/lstm_cell/kernel/Adam_1": (7, 16),
        "optimizer/rnn/lstm_cell/bias/Momentum": (16,),
        "train_step/gradients/encoder/gru_cell/gates/kernel/RMSProp": (5, 4),  # its owner is not in the checkpoint
        "train_step/beta1_power": (),
    }
    prefix = write_checkpoint(tmp_path, {"rnn/lstm_cell/kernel": (7, 16), "rnn/lstm_cell/bias": (16,), **slots})
    code, out, _ = run(capsys, "inspect", prefix)
    assert code == 0 and "cell 'rnn': LSTMCell(4), input depth 3" in out
    assert listed(out, "not RNN weights") == set(slots) and not listed(out, "unexplained")
    assert "optimizer/rnn/lstm_cell/bias/Momentum [16]  optimizer slot of rnn/lstm_cell/bias" in out
    tfrnn.load_tf1_checkpoint(prefix, tfrnn.LSTMCell(4))  # the slots are no problem for loading either


def test_stale_partial_files_are_swept_and_live_ones_kept(tmp_path, capsys):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = tmp_path / f".partial-{gone.pid}-gru.keras"
    live = tmp_path / f".partial-{os.getppid()}-gru.keras"  # another process, still running
    other = tmp_path / f".partial-{gone.pid}-notes.txt"  # not a file convert writes
    for path in (stale, live, other):
        path.write_bytes(b"half a file")
    code, out, _ = run(capsys, "convert", "tests/golden/gru", tmp_path / "gru.keras")
    assert code == 0 and out.startswith(f"removed {stale}, left by a run that was killed\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name, "gru.keras"])


def test_the_command_line_evaluates_no_text():
    """Options are parsed (`float`, argparse choices), never evaluated."""
    for path in sorted((ROOT / "tfrnn" / "checkpoint").glob("*.py")):
        calls = {node.func.id for node in ast.walk(ast.parse(path.read_text()))
                 if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
        assert not calls & {"eval", "exec", "compile", "__import__"}, path


# ------------------------------------------------------------------- entry points


def test_module_entry_point_end_to_end(tmp_path):
    """`python -m tfrnn.checkpoint` (and its exit status) in a fresh process."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-m", "tfrnn.checkpoint", "inspect", "tests/golden/loops/bidi_multi"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "cell_fw = tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(3), tfrnn.GRUCell(2)])" in done.stdout
    failed = subprocess.run([sys.executable, "-m", "tfrnn.checkpoint", "convert", "tests/golden/basic_lstm",
                             str(tmp_path / "x.keras"), "--scope", "nope"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    tool_lines = [line for line in failed.stderr.splitlines() if line.startswith("tfrnn-checkpoint")]
    assert failed.returncode == 1 and len(tool_lines) == 1 and not list(tmp_path.iterdir())


def test_console_script_is_declared():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"tfrnn-checkpoint": "tfrnn_cli:main"}  # outside the package: see tfrnn_cli.py


def test_help_imports_no_tensorflow_from_the_checkpoint_package():
    """`tfrnn.checkpoint` and the tool import TensorFlow and Keras only when a command runs.

    `tfrnn` is made a bare package here (its `__init__` not run), so this checks
    what the checkpoint package imports itself; the test below checks the whole command.
    """
    script = (
        "import sys, types\n"
        f"package = types.ModuleType('tfrnn'); package.__path__ = [{str(ROOT / 'tfrnn')!r}]\n"
        "sys.modules['tfrnn'] = package\n"
        "from tfrnn.checkpoint.tool import main\n"
        "codes = [main(argv) for argv in (['--help'], ['convert', '--help'], ['inspect', '--help'])]\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'numpy', 'h5py'))\n"
        "print('RESULT', codes, heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.splitlines()[-1] == "RESULT [0, 0, 0] []", done.stdout + done.stderr


@pytest.mark.parametrize("argv", [["--help"], ["convert", "-h"], ["inspect", "--help"]])
def test_help_answers_without_importing_tensorflow(argv):
    # The console script's entry point (pyproject: tfrnn-checkpoint = "tfrnn_cli:main").
    done = subprocess.run([sys.executable, "-X", "importtime", str(ROOT / "tfrnn_cli.py"), *argv],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert ("only with --force" if argv == ["--help"] else "checkpoint prefix") in " ".join(done.stdout.split())
    imported = {line.rpartition("|")[2].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert not {name for name in imported if name.split(".")[0] in ("tensorflow", "keras", "tfrnn")}


def test_the_console_script_runs_the_tool_and_its_help_is_the_tools(capsys):
    shown = subprocess.run([sys.executable, str(ROOT / "tfrnn_cli.py"), "--help"],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert shown.stdout == run(capsys, "--help")[1]  # the same parser, run by the tool itself
    bad = subprocess.run([sys.executable, str(ROOT / "tfrnn_cli.py"), "inspect", str(ROOT / "no_such.ckpt")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    tool_lines = [line for line in bad.stderr.splitlines() if line.startswith("tfrnn-checkpoint")]
    assert bad.returncode == 1 and len(tool_lines) == 1 and "Traceback" not in bad.stderr
    assert tool_lines[0].startswith("tfrnn-checkpoint: error:") and "no_such.ckpt" in tool_lines[0]


@pytest.fixture(scope="module")
def large_checkpoint(tmp_path_factory):
    """A 32 MB BasicLSTMCell(1024) checkpoint: its .keras file takes tens of milliseconds to write."""
    units, rng = 1024, np.random.default_rng(0)
    values = {"rnn/basic_lstm_cell/kernel": rng.standard_normal((2 * units, 4 * units), dtype=np.float32),
              "rnn/basic_lstm_cell/bias": np.zeros(4 * units, "float32")}
    prefix = str(tmp_path_factory.mktemp("large") / "model.ckpt")
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=list(values), shape_and_slices=["", ""], tensors=list(values.values()))
    return prefix


def signal_mid_write(prefix, out_file, signum, tries=5):
    """Runs a real `convert`, sends `signum` once its partial file appears; `(process, stderr, partial)`.

    A try that the signal reaches only after the rename (OUT exists) is repeated.
    """
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    for _ in range(tries):
        process = subprocess.Popen([sys.executable, "-m", "tfrnn.checkpoint", "convert", prefix, str(out_file)],
                                   cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        partial = []
        while process.poll() is None and not partial:
            partial = [name for name in os.listdir(out_file.parent) if name.startswith(".partial-")]
            time.sleep(0.001)
        if partial and process.poll() is None:
            process.send_signal(signum)
        _, err = process.communicate(timeout=120)
        if partial and not out_file.exists():
            return process, err, out_file.parent / partial[0]
        out_file.unlink(missing_ok=True)
    pytest.fail(f"convert was never caught mid-write in {tries} tries")


def test_a_convert_killed_mid_write_leaves_debris_that_the_next_run_removes(large_checkpoint, tmp_path, capsys):
    process, _, partial = signal_mid_write(large_checkpoint, tmp_path / "large.keras", signal.SIGKILL)
    assert process.returncode == -signal.SIGKILL
    assert [p.name for p in tmp_path.iterdir()] == [partial.name] == [f".partial-{process.pid}-large.keras"]
    code, out, _ = run(capsys, "convert", "tests/golden/gru", tmp_path / "gru.keras")
    assert code == 0 and f"removed {partial}, left by a run that was killed" in out
    assert [p.name for p in tmp_path.iterdir()] == ["gru.keras"]


def test_a_convert_terminated_mid_write_cleans_up_and_says_so_in_one_line(large_checkpoint, tmp_path):
    process, err, _ = signal_mid_write(large_checkpoint, tmp_path / "large.keras", signal.SIGTERM)
    assert process.returncode == 128 + signal.SIGTERM
    assert [line for line in err.splitlines() if line.startswith("tfrnn-checkpoint")] == [
        "tfrnn-checkpoint: error: terminated by SIGTERM; nothing was written"]
    assert "Traceback" not in err and not list(tmp_path.iterdir())


# ------------------------------------------------------------------- attention decoders

SEQ2SEQ = GOLDEN / "tf115_seq2seq"
# Every TF 1.15 seq2seq golden with an attention wrapper: the 38 mechanism cases, beam search, tensorflow/nmt.
ATTENTION_CHECKPOINTS = sorted(
    str(p.parent.relative_to(ROOT)) for p in SEQ2SEQ.glob("*/checkpoint")
    if p.parent.name.endswith(("__rnn", "__decode")) or p.parent.name.startswith(("beam_search", "nmt_"))
)
NMT_SLOT_OR_COUNTER = re.compile(r".*/(?:Adam|Adam_1)|beta[12]_power|Variable")


# Each mechanism class and option, several mechanisms, a user's attention layer, output layers and embeddings.
EXECUTED = [f"tests/golden/tf115_seq2seq/{name}" for name in (
    "nmt_train", "bahdanau__decode", "luong__rnn", "luong_scale_nolen__decode", "multi_with_layers__decode",
    "multi_same_class__rnn", "attention_layer_object__decode", "bahdanau_mono_parallel__decode",
    "luong_mono_parallel__rnn", "beam_search")]


def test_every_attention_golden_is_recognised_with_nothing_left_over():
    from tfrnn.checkpoint.inspection import inspect_shapes

    assert len(ATTENTION_CHECKPOINTS) == 38 + 3 + 3
    for path in ATTENTION_CHECKPOINTS:
        inspection = inspect_shapes(tf.train.load_checkpoint(path).get_variable_to_shape_map())
        kinds = [structure.kind for structure in inspection.structures]
        assert kinds == (["attention", "rnn"] if "nmt_" in path else ["attention"]), path
        assert set(inspection.unexplained) == ({"embeddings/encoder/embedding_encoder"} if "nmt_" in path else set())


@pytest.mark.parametrize("path", EXECUTED)
def test_printed_attention_code_loads_every_weight_of_the_decoder(path, capsys, monkeypatch):
    code, out, err = run(capsys, "inspect", path)
    assert code == 0 and not err
    assert len(re.findall(r"^\[\d\] scope '[^']*': AttentionWrapper run by ", out, re.M)) == 1
    loaded = {}
    for block in code_blocks(out):
        loaded.update(exec_recording_loads(block, monkeypatch)[1])
    reader = tf.train.load_checkpoint(path)
    names = set(reader.get_variable_to_shape_map())
    not_rnn, unexplained = listed(out, "not RNN weights"), listed(out, "unexplained")
    assert set(loaded) | not_rnn == names - unexplained and not set(loaded) & not_rnn
    for name, variable in loaded.items():
        np.testing.assert_array_equal(np.asarray(variable), reader.get_tensor(name), err_msg=name)
    nmt = "nmt_" in path
    assert unexplained == ({"embeddings/encoder/embedding_encoder"} if nmt else set())
    assert not_rnn == {name for name in names if NMT_SLOT_OR_COUNTER.fullmatch(name)}
    assert len(not_rnn) == (37 if path.endswith("nmt_train") else 1 if nmt else 0)


NMT_TRAIN_DECODER = """\
[1] scope 'dynamic_seq2seq/decoder/attention': AttentionWrapper run by dynamic_decode, input depth 4
    mechanism 'dynamic_seq2seq/decoder/memory_layer': BahdanauAttention(4, normalize=True), memory depth 4
    wrapper 'dynamic_seq2seq/decoder/attention': AttentionWrapper(cell, attention_mechanism, attention_layer_size=4, \
name='attention'), attention depth 4
    cell 'dynamic_seq2seq/decoder/attention': MultiRNNCell of 2 layers
        cell_0: BasicLSTMCell(4), input depth 8
        cell_1: BasicLSTMCell(4), input depth 4
    output layer 'dynamic_seq2seq/decoder/output_projection': Dense(9, use_bias=False, name='output_projection'), \
input depth 4
    embedding 'embeddings/decoder/embedding_decoder': [9, 4], the decoder's input ids (vocabulary 9)
    tfrnn code:
        import keras
        import numpy as np
        import tensorflow as tf
        import tfrnn
        PATH = 'tests/golden/tf115_seq2seq/nmt_train'
        memory = np.zeros((1, 1, 4), 'float32')  # stands for the encoder outputs [batch, time, 4]
        attention_mechanism = tfrnn.seq2seq.BahdanauAttention(4, memory, normalize=True)
        cell = tfrnn.seq2seq.AttentionWrapper(tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(4), tfrnn.BasicLSTMCell(4)]), \
attention_mechanism, attention_layer_size=4, name='attention')
        output_layer = keras.layers.Dense(9, use_bias=False, name='output_projection')
        output_layer.build((None, 4))
        embedding = tf.Variable(tf.zeros([9, 4]), name='embedding_decoder')
        tfrnn.load_tf1_checkpoint(PATH, {'dynamic_seq2seq/decoder': [attention_mechanism, cell, output_layer], \
'embeddings/decoder': [embedding]})
        # attention_mechanism.setup_memory(encoder_outputs, memory_sequence_length)  # for every batch, before the loop
        # helper = tfrnn.seq2seq.GreedyEmbeddingHelper(embedding, start_tokens, end_token)
        # decoder = tfrnn.seq2seq.BasicDecoder(cell, helper, cell.zero_state(batch_size, 'float32'), \
output_layer=output_layer)
        # outputs, state, lengths = tfrnn.seq2seq.dynamic_decode(decoder)
"""


@pytest.mark.parametrize("path, expected", [
    ("tests/golden/tf115_seq2seq/nmt_train", NMT_TRAIN_DECODER),
    ("tests/golden/tf115_seq2seq/bahdanau__decode", """\
[1] scope 'decoder/attention_wrapper': AttentionWrapper run by dynamic_decode, input depth 3
    mechanism 'memory_layer': BahdanauAttention(4), memory depth 4
    wrapper 'decoder/attention_wrapper': AttentionWrapper(cell, attention_mechanism), attention depth 4
    cell 'decoder/attention_wrapper': LSTMCell(5), input depth 7
    tfrnn code:
        import numpy as np
        import tfrnn
        PATH = 'tests/golden/tf115_seq2seq/bahdanau__decode'
        memory = np.zeros((1, 1, 4), 'float32')  # stands for the encoder outputs [batch, time, 4]
        attention_mechanism = tfrnn.seq2seq.BahdanauAttention(4, memory)
        cell = tfrnn.seq2seq.AttentionWrapper(tfrnn.LSTMCell(5), attention_mechanism)
        tfrnn.load_tf1_checkpoint(PATH, {'': [attention_mechanism], 'decoder': [cell]})
"""),
    ("tests/golden/tf115_seq2seq/luong__rnn", """\
[1] scope 'rnn/attention_wrapper': AttentionWrapper run by dynamic_rnn, input depth 3
    mechanism 'memory_layer': LuongAttention(5), memory depth 4
    wrapper 'rnn/attention_wrapper': AttentionWrapper(cell, attention_mechanism, attention_layer_size=4), \
attention depth 4
    cell 'rnn/attention_wrapper': LSTMCell(5), input depth 7
    tfrnn code:
        import numpy as np
        import tfrnn
        PATH = 'tests/golden/tf115_seq2seq/luong__rnn'
        memory = np.zeros((1, 1, 4), 'float32')  # stands for the encoder outputs [batch, time, 4]
        attention_mechanism = tfrnn.seq2seq.LuongAttention(5, memory)
        cell = tfrnn.seq2seq.AttentionWrapper(tfrnn.LSTMCell(5), attention_mechanism, attention_layer_size=4)
        tfrnn.load_tf1_checkpoint(PATH, {'': [attention_mechanism], 'rnn': [cell]})
        # attention_mechanism.setup_memory(encoder_outputs, memory_sequence_length)  # for every batch, before the loop
        # outputs, state = tfrnn.dynamic_rnn(cell, inputs, dtype='float32')  # inputs [batch, time, 3]
"""),
    ("tests/golden/tf115_seq2seq/multi_with_layers__decode", """\
    mechanism 'memory_layer': BahdanauAttention(4), memory depth 4
    mechanism 'memory_layer_1': LuongAttention(5, scale=True), memory depth 4
    wrapper 'decoder/attention_wrapper': AttentionWrapper(cell, attention_mechanisms, attention_layer_size=[3, 2]), \
attention depth 5
    cell 'decoder/attention_wrapper': LSTMCell(5), input depth 8
"""),
    ("tests/golden/tf115_seq2seq/bahdanau_mono_parallel__rnn", """\
    mechanism 'memory_layer': BahdanauMonotonicAttention(4, normalize=True), memory depth 4
    wrapper 'rnn/attention_wrapper': AttentionWrapper(cell, attention_mechanism, attention_layer_size=3), \
attention depth 3
"""),
    ("tests/golden/tf115_seq2seq/attention_layer_object__decode", """\
    mechanism 'memory_layer': LuongAttention(5, scale=True), memory depth 4
    wrapper 'decoder/attention_wrapper': AttentionWrapper(cell, attention_mechanism, attention_layer=Dense(3, \
name='my_attention')), attention depth 3
"""),
    ("tests/golden/tf115_seq2seq/beam_search", """\
    output layer 'decoder/output_projection': Dense(7, use_bias=False, name='output_projection'), input depth 4
    embedding 'embedding': [7, 3], the decoder's input ids (vocabulary 7)
"""),
])
def test_inspect_describes_the_mechanism_wrapper_cell_and_output_layer(path, expected, capsys):
    code, out, _ = run(capsys, "inspect", path)
    assert code == 0 and expected in out


def test_nmt_global_step_and_the_encoder_embedding_are_explained(capsys):
    _, out, _ = run(capsys, "inspect", "tests/golden/tf115_seq2seq/nmt_train")
    assert "    Variable []  an unnamed scalar tf.Variable: a training counter (tensorflow/nmt's global_step)\n" in out
    assert ("    embeddings/encoder/embedding_encoder [8, 4]  an embedding table [8, 4] (ids to vectors) that feeds "
            "no decoder found here: read it with tf.train.load_checkpoint(PATH).get_tensor(name)\n") in out
    assert "Nor do they store an attention mechanism's probability_fn" in out


def test_nmt_printed_code_decodes_as_tf_1_15(capsys, monkeypatch):
    """The printed encoder and decoder, given the memory, decode greedily as TF 1.15 did."""
    path = "tests/golden/tf115_seq2seq/nmt_infer_greedy"
    golden = np.load(SEQ2SEQ / "nmt_infer_greedy.npz")
    _, out, _ = run(capsys, "inspect", path)
    decoder, encoder = (exec_recording_loads(block, monkeypatch)[0] for block in code_blocks(out))
    source, lengths = golden["in:source"], golden["in:source_length"]
    embedding_encoder = tf.train.load_checkpoint(path).get_tensor("embeddings/encoder/embedding_encoder")
    encoder_outputs, encoder_state = tfrnn.dynamic_rnn(
        encoder["cell"], tf.nn.embedding_lookup(embedding_encoder, source), sequence_length=lengths, dtype=tf.float32)
    decoder["attention_mechanism"].setup_memory(encoder_outputs, lengths)
    cell = decoder["cell"]
    helper = tfrnn.seq2seq.GreedyEmbeddingHelper(decoder["embedding"], tf.fill([4], 1), 2)
    initial_state = cell.zero_state(4, tf.float32).clone(cell_state=encoder_state)
    outputs, _, decoded_lengths = tfrnn.seq2seq.dynamic_decode(
        tfrnn.seq2seq.BasicDecoder(cell, helper, initial_state, output_layer=decoder["output_layer"]),
        maximum_iterations=10, output_time_major=True)
    np.testing.assert_array_equal(np.asarray(decoded_lengths), golden["out:lengths"])
    np.testing.assert_array_equal(np.asarray(outputs.sample_id), golden["out:outputs.sample_id"])
    np.testing.assert_allclose(np.asarray(outputs.rnn_output), golden["out:outputs.rnn_output"], atol=ATOL)
