"""Loading TF1 checkpoints (`load_tf1_checkpoint`): all-or-nothing loads, one clear error."""

import pathlib
import re
import shutil

import numpy as np
import pytest
import keras
import tensorflow as tf

import tfrnn

GOLDEN = pathlib.Path(__file__).parent / "golden"


def write_checkpoint(directory, values):
    """A name-based V2 checkpoint, as `tf.compat.v1.train.Saver` writes it."""
    prefix = str(directory / "model.ckpt")
    arrays = [np.asarray(v, "float32") for v in values.values()]
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=list(values), shape_and_slices=[""] * len(values), tensors=arrays)
    return prefix


def built(cell, depth=3):
    cell(np.zeros((1, depth), "float32"), cell.zero_state(1, "float32"))
    return cell


def test_load_builds_an_unbuilt_cell_and_ignores_slots_and_other_scopes(tmp_path):
    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(size=(7, 16)), rng.normal(size=(16,))
    prefix = write_checkpoint(tmp_path, {
        "rnn/basic_lstm_cell/kernel": kernel, "rnn/basic_lstm_cell/bias": bias,
        "rnn/basic_lstm_cell/kernel/Adam": kernel, "rnn/basic_lstm_cell/kernel/Adam_1": kernel,
        "softmax_w": rng.normal(size=(4, 2)), "global_step": np.zeros(()),
    })
    cell = tfrnn.BasicLSTMCell(4)
    loaded = tfrnn.load_tf1_checkpoint(prefix, cell)
    assert cell.built and list(loaded) == ["rnn/basic_lstm_cell/kernel", "rnn/basic_lstm_cell/bias"]
    np.testing.assert_array_equal(np.asarray(cell.kernel), kernel.astype("float32"))
    np.testing.assert_array_equal(np.asarray(cell.bias), bias.astype("float32"))
    assert loaded["rnn/basic_lstm_cell/kernel"] is cell.kernel


def test_every_problem_is_listed_in_one_error_and_nothing_changes(tmp_path):
    prefix = write_checkpoint(tmp_path, {
        "rnn/multi_rnn_cell/cell_0/lstm_cell/kernel": np.ones((7, 16)),  # bias missing
        "rnn/multi_rnn_cell/cell_1/gru_cell/gates/kernel": np.ones((9, 4)),  # wrong shape
        "rnn/multi_rnn_cell/cell_1/gru_cell/gates/bias": np.ones((4,)),
        "rnn/multi_rnn_cell/cell_1/gru_cell/candidate/kernel": np.ones((6, 2)),
        "rnn/multi_rnn_cell/cell_1/gru_cell/candidate/bias": np.ones((2,)),
        "rnn/multi_rnn_cell/cell_2/gru_cell/gates/kernel": np.ones((4, 4)),  # an extra layer
    })
    for cell in (tfrnn.MultiRNNCell([tfrnn.LSTMCell(4), tfrnn.GRUCell(2)]),
                 built(tfrnn.MultiRNNCell([tfrnn.LSTMCell(4), tfrnn.GRUCell(2)]))):
        was_built = cell.built
        before = [np.asarray(w).copy() for w in cell.weights]
        with pytest.raises(ValueError) as error:
            tfrnn.load_tf1_checkpoint(prefix, cell)
        message = str(error.value)
        assert "nothing was assigned" in message
        assert "missing from the checkpoint (1):\n    rnn/multi_rnn_cell/cell_0/lstm_cell/bias [16]" in message
        assert "mis-shaped (1):\n    rnn/multi_rnn_cell/cell_1/gru_cell/gates/kernel: checkpoint [9, 4], cell expects [6, 4]" in message
        assert "unexpected in the checkpoint under 'rnn/multi_rnn_cell/' (1):\n    rnn/multi_rnn_cell/cell_2/gru_cell/gates/kernel" in message
        assert cell.built == was_built
        assert all(np.array_equal(b, np.asarray(w)) for b, w in zip(before, cell.weights))


def test_wrong_scope_suggests_the_right_one(tmp_path):
    prefix = write_checkpoint(tmp_path, {
        "dynamic_seq2seq/encoder/rnn/gru_cell/gates/kernel": np.ones((5, 4)),
    })
    with pytest.raises(ValueError, match=r"under scope\(s\) \['dynamic_seq2seq/encoder/rnn'\]"):
        tfrnn.load_tf1_checkpoint(prefix, tfrnn.GRUCell(2))


def test_pre_1_2_names_are_recognised(tmp_path):
    prefix = write_checkpoint(tmp_path, {
        "rnn/basic_lstm_cell/weights": np.ones((7, 16)), "rnn/basic_lstm_cell/biases": np.ones((16,)),
    })
    with pytest.raises(ValueError, match="pre-TF-1.2 names"):
        tfrnn.load_tf1_checkpoint(prefix, tfrnn.BasicLSTMCell(4))


def test_unreadable_paths_are_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="Cannot read a TF1 checkpoint at .*nowhere"):
        tfrnn.load_tf1_checkpoint(tmp_path / "nowhere", tfrnn.GRUCell(2))
    junk = tmp_path / "junk.index"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="Cannot read a TF1 checkpoint"):
        tfrnn.load_tf1_checkpoint(tmp_path / "junk", tfrnn.GRUCell(2))


def test_built_cell_of_another_depth_reports_shapes(tmp_path):
    prefix = write_checkpoint(tmp_path, {"rnn/basic_rnn_cell/kernel": np.ones((5, 2)), "rnn/basic_rnn_cell/bias": np.ones(2)})
    cell = built(tfrnn.BasicRNNCell(2), depth=4)
    with pytest.raises(ValueError, match=r"checkpoint \[5, 2\], cell expects \[6, 2\]"):
        tfrnn.load_tf1_checkpoint(prefix, cell)


def test_a_checkpoint_with_another_vocabulary_changes_nothing(tmp_path):
    golden = np.load(GOLDEN / "tf115" / "embedding.npz")
    values = {name: golden[f"var:{name}"] for name in golden["names"]}
    values["rnn/embedding_wrapper/embedding"] = np.zeros((9, 2), "float32")
    tf.raw_ops.SaveV2(
        prefix=str(tmp_path / "model.ckpt"), tensor_names=list(values),
        shape_and_slices=[""] * len(values), tensors=list(values.values()),
    )
    cell = tfrnn.EmbeddingWrapper(tfrnn.BasicLSTMCell(3), embedding_classes=7, embedding_size=2)
    with pytest.raises(ValueError, match=r"embedding: checkpoint \[9, 2\], cell expects \[7, 2\]"):
        tfrnn.load_tf1_checkpoint(tmp_path / "model.ckpt", cell)
    assert not cell.built and not cell.cell.built


def test_load_tf1_checkpoint_takes_a_directory_or_a_prefix(tmp_path):
    by_directory, by_prefix = tfrnn.GRUCell(4), tfrnn.GRUCell(4)
    tfrnn.load_tf1_checkpoint(GOLDEN / "gru", by_directory)  # reads the directory's `checkpoint` file
    tfrnn.load_tf1_checkpoint(GOLDEN / "gru" / "model.ckpt", by_prefix)
    for a, b in zip(by_directory.weights, by_prefix.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    golden = np.load(GOLDEN / "gru.npz")
    np.testing.assert_array_equal(np.asarray(by_directory.gates.kernel), golden["var:rnn/gru_cell/gates/kernel"])
    with pytest.raises(ValueError, match="Cannot read a TF1 checkpoint"):
        tfrnn.load_tf1_checkpoint(tmp_path, tfrnn.GRUCell(4))  # a directory without a `checkpoint` file


# ------------------------------------------------------------------- values and damaged files


def save_raw(prefix, values):
    """Any dtypes, as given (`write_checkpoint` casts to float32)."""
    tf.raw_ops.SaveV2(prefix=str(prefix), tensor_names=list(values), shape_and_slices=[""] * len(values),
                      tensors=list(values.values()))
    return str(prefix)


def state(cell):
    return cell.built, [np.asarray(w).copy() for w in cell.weights]


def assert_unchanged(cell, before):
    built, weights = state(cell)
    assert built == before[0] and len(weights) == len(before[1])
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(weights, before[1]))


@pytest.mark.parametrize("was_built", [False, True], ids=["unbuilt", "built"])
def test_a_bias_of_strings_fails_before_the_kernel_is_assigned(was_built, tmp_path):
    prefix = save_raw(tmp_path / "model.ckpt", {
        "rnn/basic_lstm_cell/kernel": np.full((7, 16), 3.0, "float32"),
        "rnn/basic_lstm_cell/bias": np.array([b"0.5"] * 16),
    })
    cell = built(tfrnn.BasicLSTMCell(4)) if was_built else tfrnn.BasicLSTMCell(4)
    before = state(cell)
    with pytest.raises(ValueError, match=r"nothing was assigned[\s\S]*not real numbers \(1\):\n    "
                                         r"rnn/basic_lstm_cell/bias: checkpoint holds string values, the variable is float32"):
        tfrnn.load_tf1_checkpoint(prefix, cell)
    assert_unchanged(cell, before)


@pytest.mark.parametrize("value, dtype, largest", [(1e300, "float32", "3.4028e+38"), (-1e39, "float32", "3.4028e+38"),
                                                   (70000.0, "float16", "65504")])
def test_a_value_that_does_not_fit_the_variable_is_refused_not_made_inf(value, dtype, largest, tmp_path):
    kernel = np.zeros((5, 2), "float64")
    kernel[3, 1] = value
    prefix = save_raw(tmp_path / "model.ckpt", {"rnn/basic_rnn_cell/kernel": kernel,
                                                "rnn/basic_rnn_cell/bias": np.zeros(2, "float64")})
    cell = tfrnn.BasicRNNCell(2, dtype=dtype)
    says = f"out of the variable's range (1):\n    rnn/basic_rnn_cell/kernel: value {value!r} (largest finite {largest}) " \
           f"does not fit the variable's {dtype}"
    with pytest.raises(ValueError, match=re.escape(says)):
        tfrnn.load_tf1_checkpoint(prefix, cell)
    assert not cell.built


def test_values_of_another_real_dtype_that_fit_are_converted(tmp_path):
    kernel = np.random.default_rng(0).normal(size=(5, 2))  # float64, as a float64 TF1 graph saved it
    prefix = save_raw(tmp_path / "model.ckpt", {"rnn/basic_rnn_cell/kernel": kernel,
                                                "rnn/basic_rnn_cell/bias": np.array([1, -2], "int64")})
    cell = tfrnn.BasicRNNCell(2)
    tfrnn.load_tf1_checkpoint(prefix, cell)
    np.testing.assert_array_equal(np.asarray(cell.kernel), kernel.astype("float32"))
    np.testing.assert_array_equal(np.asarray(cell.bias), [1.0, -2.0])
    wide = tfrnn.BasicRNNCell(2, dtype="float64")
    tfrnn.load_tf1_checkpoint(prefix, wide)
    np.testing.assert_array_equal(np.asarray(wide.kernel), kernel)


def test_nan_and_inf_in_the_checkpoint_load_as_they_are(tmp_path):
    """TF1's Saver restored them as saved; they are the checkpoint's values, not a conversion's."""
    kernel = np.ones((5, 2), "float32")
    kernel[0, 0], kernel[1, 1], kernel[2, 0] = np.nan, np.inf, -np.inf
    prefix = write_checkpoint(tmp_path, {"rnn/basic_rnn_cell/kernel": kernel, "rnn/basic_rnn_cell/bias": np.zeros(2)})
    cell = tfrnn.BasicRNNCell(2)
    tfrnn.load_tf1_checkpoint(prefix, cell)
    np.testing.assert_array_equal(np.asarray(cell.kernel), kernel)


def truncate(data):
    data.write_bytes(data.read_bytes()[:100])


def garbage(data):
    data.write_bytes(np.random.default_rng(0).bytes(data.stat().st_size))


def flip_last_byte(data):
    raw = bytearray(data.read_bytes())
    raw[-1] ^= 0xFF
    data.write_bytes(bytes(raw))


DAMAGED_DATA = [  # (damage to the .data file, what the error says)
    (truncate, "is truncated"),
    (garbage, r"is corrupt \(checksum mismatch\)"),
    (flip_last_byte, r"is corrupt \(checksum mismatch\)"),
    (lambda data: data.unlink(), "is missing"),
]


@pytest.mark.parametrize("was_built", [False, True], ids=["unbuilt", "built"])
@pytest.mark.parametrize("damage, says", DAMAGED_DATA, ids=["truncated", "garbage", "checksum", "missing"])
def test_a_damaged_data_file_is_one_value_error_naming_the_file_and_the_variable(damage, says, was_built, tmp_path):
    shutil.copytree(GOLDEN / "gru", tmp_path / "gru")
    data = tmp_path / "gru" / "model.ckpt.data-00000-of-00001"
    damage(data)
    cell = built(tfrnn.GRUCell(4), depth=3) if was_built else tfrnn.GRUCell(4)
    before = state(cell)
    with pytest.raises(ValueError) as error:
        tfrnn.load_tf1_checkpoint(tmp_path / "gru" / "model.ckpt", cell)
    assert "nothing was assigned" in str(error.value) and "unreadable (" in str(error.value)
    assert re.search(rf"rnn/gru_cell/\S+: its data file '{re.escape(str(data))}' {says}", str(error.value))
    assert_unchanged(cell, before)


def test_a_missing_shard_names_that_shard_and_its_variables(tmp_path):
    golden = np.load(GOLDEN / "gru.npz")
    names = sorted(str(n) for n in golden["names"])
    parts = []
    for index, chunk in enumerate([names[:2], names[2:]]):  # two shards, as a sharded Saver writes them
        parts.append(save_raw(tmp_path / f"model.ckpt_temp/part-{index:05d}-of-00002",
                              {name: golden[f"var:{name}"] for name in chunk}))
    tf.raw_ops.MergeV2Checkpoints(checkpoint_prefixes=parts, destination_prefix=str(tmp_path / "model.ckpt"))
    tfrnn.load_tf1_checkpoint(tmp_path / "model.ckpt", tfrnn.GRUCell(4))  # whole, it loads
    (tmp_path / "model.ckpt.data-00001-of-00002").unlink()
    cell = tfrnn.GRUCell(4)
    with pytest.raises(ValueError) as error:
        tfrnn.load_tf1_checkpoint(tmp_path / "model.ckpt", cell)
    missing = re.findall(r"(\S+): its data file '(\S+)' is missing", str(error.value))
    assert {name for name, _ in missing} == set(names[2:])
    assert {file for _, file in missing} == {str(tmp_path / "model.ckpt.data-00001-of-00002")}
    assert not cell.built


@pytest.mark.parametrize("damage, says", [
    (lambda index: index.unlink(), r"'\S+/model\.ckpt\.index' does not exist"),
    (lambda index: index.write_bytes(b"junk"), r"its index file '\S+/model\.ckpt\.index' cannot be read"),
    (lambda index: index.write_bytes(index.read_bytes()[:100]), r"its index file '\S+/model\.ckpt\.index' cannot be read"),
], ids=["missing", "junk", "truncated"])
def test_a_damaged_index_is_a_value_error_naming_it(damage, says, tmp_path):
    shutil.copytree(GOLDEN / "gru", tmp_path / "gru")
    damage(tmp_path / "gru" / "model.ckpt.index")
    cell = tfrnn.GRUCell(4)
    with pytest.raises(ValueError, match=says):
        tfrnn.load_tf1_checkpoint(tmp_path / "gru" / "model.ckpt", cell)
    assert not cell.built


@pytest.mark.parametrize("name", ["model.ckpt.index", "model.ckpt.data-00000-of-00001", "checkpoint"])
def test_the_index_data_or_state_file_may_be_given(name):
    cell = tfrnn.GRUCell(4)
    tfrnn.load_tf1_checkpoint(GOLDEN / "gru" / name, cell)
    np.testing.assert_array_equal(np.asarray(cell.gates.kernel),
                                  np.load(GOLDEN / "gru.npz")["var:rnn/gru_cell/gates/kernel"])


def test_bare_variables_and_keras_layers_load_by_their_names_in_one_call(tmp_path):
    # A whole model in one mapping: a cell, a bare variable (an embedding) and a
    # user's Keras layer (an output projection), as a TF1 program scoped them.
    rng = np.random.default_rng(1)
    values = {
        "embeddings/encoder": rng.normal(size=(9, 3)), "rnn/gru_cell/gates/kernel": rng.normal(size=(5, 4)),
        "rnn/gru_cell/gates/bias": rng.normal(size=(4,)), "rnn/gru_cell/candidate/kernel": rng.normal(size=(5, 2)),
        "rnn/gru_cell/candidate/bias": rng.normal(size=(2,)), "decoder/output_projection/kernel": rng.normal(size=(2, 9)),
    }
    prefix = write_checkpoint(tmp_path, values)
    embedding = tf.Variable(np.zeros((9, 3), "float32"), name="encoder")
    projection = keras.layers.Dense(9, use_bias=False, name="output_projection")
    projection.build((None, 2))
    cell = tfrnn.GRUCell(2)
    loaded = tfrnn.load_tf1_checkpoint(prefix, {"embeddings": embedding, "rnn": cell, "decoder": projection})
    assert set(loaded) == set(values)
    np.testing.assert_array_equal(embedding.numpy(), values["embeddings/encoder"].astype("float32"))
    np.testing.assert_array_equal(np.asarray(projection.kernel), values["decoder/output_projection/kernel"].astype("float32"))
    np.testing.assert_array_equal(np.asarray(loaded["rnn/gru_cell/candidate/bias"]),
                                  values["rnn/gru_cell/candidate/bias"].astype("float32"))
    assert any(loaded["rnn/gru_cell/candidate/bias"] is weight for weight in cell.weights)


def test_a_variable_no_object_names_under_any_object_of_a_group_is_reported(tmp_path):
    # Two objects in one scope: a weight left behind under the second one's scope (here
    # an attention wrapper's layer the objects do not know of) must not load silently.
    rng = np.random.default_rng(2)
    values = {
        "decoder/memory_layer/kernel": rng.normal(size=(3, 2)),
        "decoder/output_projection/kernel": rng.normal(size=(2, 9)),
        "decoder/output_projection/bias": rng.normal(size=(9,)),
    }
    prefix = write_checkpoint(tmp_path, values)
    memory_layer = keras.layers.Dense(2, use_bias=False, name="memory_layer")
    projection = keras.layers.Dense(9, use_bias=False, name="output_projection")
    memory_layer.build((None, 3))
    projection.build((None, 2))
    before = [np.asarray(memory_layer.kernel), np.asarray(projection.kernel)]
    with pytest.raises(ValueError, match=r"unexpected in the checkpoint under 'decoder/memory_layer/', "
                                         r"'decoder/output_projection/'[\s\S]*decoder/output_projection/bias"):
        tfrnn.load_tf1_checkpoint(prefix, {"decoder": [memory_layer, projection]})
    np.testing.assert_array_equal(np.asarray(memory_layer.kernel), before[0])
    np.testing.assert_array_equal(np.asarray(projection.kernel), before[1])
