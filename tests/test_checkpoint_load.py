"""Loading TF1 checkpoints (`load_tf1_checkpoint`): all-or-nothing loads, one clear error."""

import pathlib

import numpy as np
import pytest
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
