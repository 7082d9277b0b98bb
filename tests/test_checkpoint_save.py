"""Saving TF1 checkpoints (`save_tf1_checkpoint`), proven by TF1 restoring them.

The cases live in tests/golden/tf115_save/restore_and_run.py (its README says
how): each is TF1 text (`MultiRNNCell([...])`, `bidirectional_dynamic_rnn(...)`)
evaluated with tfrnn's classes and loops, saved by tfrnn as `{scope: cell}`,
then restored by TF1 with `tf.compat.v1.train.Saver().restore` into TF1's own
structure and run on the same inputs:

- core cells, wrappers and loop scopes: by tf_keras' TF1 cells
  (`TF_USE_LEGACY_KERAS=1`), in one subprocess for all cases, on every run;
- tf.contrib.rnn cells and the stacked-bidirectional loops: by real TF 1.15,
  once; its outputs are committed, and the checkpoints it restored must still
  be exactly what tfrnn writes.

Then the mechanics: the round trip through `load_tf1_checkpoint` for every
conformance case, the mapping form, every refusal, and atomic writes.
"""

import importlib.util
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrnn
from cases import CONFORMANCE, random_built
from tfrnn.checkpoint import save
from tfrnn.checkpoint.save import save_tf1_checkpoint

GOLDEN = pathlib.Path(__file__).parent / "golden" / "tf115_save"
ATOL = 1e-5


def _module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


writer = _module("tf115_save_write_checkpoints", GOLDEN / "write_checkpoints.py")
CORE = sorted(case.name for case in writer.CASES if not case.tf115)
CONTRIB = sorted(case.name for case in writer.CASES if case.tf115)


def built(cell, depth=3, dtype="float32"):
    cell(np.zeros((2, depth), dtype), cell.zero_state(2, dtype))
    return cell


def tensors(prefix_or_folder):
    """`{name: array}` of a checkpoint, read back by TF."""
    reader = tf.train.load_checkpoint(str(prefix_or_folder))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def assert_tf1_reproduced(case, cells, checkpoint_folder, golden):
    """TF1 restored exactly the checkpoint's names and values, and computed what tfrnn computes."""
    written = tensors(checkpoint_folder)
    assert sorted(written) == sorted(golden["names"].tolist())  # every TF1 variable, nothing else
    for name, value in written.items():
        np.testing.assert_array_equal(golden[f"var:{name}"], value, err_msg=name)
    leaves = writer.run_call(case, cells, golden)
    assert len(leaves) == len([key for key in golden if key.startswith("out_")])
    for k, leaf in enumerate(leaves):
        np.testing.assert_allclose(np.asarray(leaf), golden[f"out_{k}"], atol=ATOL, err_msg=f"result leaf {k}")


# ------------------------------------------------------------ TF1 restores it


@pytest.fixture(scope="module")
def core_oracle(tmp_path_factory):
    """tfrnn writes every core case; one tf_keras TF1 process restores and runs them all."""
    pytest.importorskip("tf_keras")
    folder = tmp_path_factory.mktemp("tf1_save")
    cells = {name: writer.write_case(writer.BY_NAME[name], folder / "checkpoints") for name in CORE}
    command = [sys.executable, str(GOLDEN / "restore_and_run.py"), str(folder / "checkpoints"), str(folder / "out")]
    run = subprocess.run(
        command + CORE, env=dict(os.environ, TF_USE_LEGACY_KERAS="1"), capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, f"TF1 could not restore what tfrnn saved:\n{run.stderr[-4000:]}"
    return folder, cells


@pytest.mark.parametrize("name", CORE)
def test_tf1_restores_what_tfrnn_saved_and_reproduces_its_outputs(core_oracle, name):
    folder, cells = core_oracle
    golden = np.load(folder / "out" / f"{name}.npz")
    assert_tf1_reproduced(writer.BY_NAME[name], cells[name], folder / "checkpoints" / name, golden)


@pytest.mark.parametrize("name", CONTRIB)
def test_tf1_15_restored_what_tfrnn_saves_and_reproduced_its_outputs(tmp_path, name):
    case = writer.BY_NAME[name]
    cells = writer.write_case(case, tmp_path)
    fresh, committed = tensors(tmp_path / name), tensors(GOLDEN / name)
    assert sorted(fresh) == sorted(committed)
    for tf1_name, value in committed.items():  # the very checkpoint TF 1.15 restored
        assert fresh[tf1_name].dtype == value.dtype and fresh[tf1_name].tobytes() == value.tobytes(), tf1_name
    assert_tf1_reproduced(case, cells, GOLDEN / name, np.load(GOLDEN / f"{name}.npz"))


# ------------------------------------------------------------ round trip and forms


# Every conformance case whose class describes its weights (a user's cell may not).
WITH_LAYOUT = [case for case in CONFORMANCE if type(case.make()).tf1_layout is not tfrnn.RNNCell.tf1_layout]


@pytest.mark.parametrize("case", WITH_LAYOUT, ids=str)
def test_save_then_load_gives_identical_weights(tmp_path, case):
    cell = case.make()
    random_built(cell, np.random.default_rng(0), case.depth, ids=case.ids is not None)
    expected = {name: np.asarray(variable) for name, variable in tfrnn.tf1_variable_names(cell).items()}
    save_tf1_checkpoint(tmp_path / "model.ckpt", cell)
    loaded = tfrnn.load_tf1_checkpoint(tmp_path, case.make())  # a fresh, unbuilt cell
    assert list(loaded) == list(expected)
    for name, variable in loaded.items():
        assert variable.dtype == expected[name].dtype
        np.testing.assert_array_equal(np.asarray(variable), expected[name], err_msg=name)


def test_several_structures_by_scope_as_a_mapping_or_pairs(tmp_path):
    encoder, decoder = tfrnn.LSTMCell(4), tfrnn.LSTMCell(4)  # same class, same TF1 cell name
    for cell, seed in ((encoder, 1), (decoder, 2)):
        random_built(cell, np.random.default_rng(seed), 3)
    scopes = {"dynamic_seq2seq/encoder/rnn": encoder, "dynamic_seq2seq/decoder/rnn": decoder}
    (tmp_path / "map").mkdir()
    (tmp_path / "pairs").mkdir()
    save_tf1_checkpoint(tmp_path / "map" / "model.ckpt", scopes)
    save_tf1_checkpoint(tmp_path / "pairs" / "model.ckpt", list(scopes.items()))
    written = tensors(tmp_path / "map")
    assert sorted(written) == [
        f"dynamic_seq2seq/{part}/rnn/lstm_cell/{weight}" for part in ("decoder", "encoder") for weight in ("bias", "kernel")
    ]
    assert {k: v.tobytes() for k, v in tensors(tmp_path / "pairs").items()} == {k: v.tobytes() for k, v in written.items()}
    for scope, cell in scopes.items():
        fresh = tfrnn.LSTMCell(4)
        tfrnn.load_tf1_checkpoint(tmp_path / "map", fresh, scope=scope)
        np.testing.assert_array_equal(np.asarray(fresh.kernel), np.asarray(cell.kernel))


def test_values_keep_the_variables_dtype_and_the_state_file_is_relative(tmp_path):
    cell = built(tfrnn.BasicRNNCell(3, dtype="float64"), depth=2, dtype="float64")
    assert save_tf1_checkpoint(str(tmp_path / 'run "1".ckpt'), cell, scope="") == str(tmp_path / 'run "1".ckpt')
    reader = tf.train.load_checkpoint(str(tmp_path))  # through the `checkpoint` state file
    assert reader.get_variable_to_dtype_map() == {"basic_rnn_cell/kernel": tf.float64, "basic_rnn_cell/bias": tf.float64}
    assert tf.train.latest_checkpoint(str(tmp_path)) == str(tmp_path / 'run "1".ckpt')
    assert (tmp_path / "checkpoint").read_text() == (
        'model_checkpoint_path: "run \\"1\\".ckpt"\nall_model_checkpoint_paths: "run \\"1\\".ckpt"\n'
    )
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", 'run "1".ckpt.data-00000-of-00001', 'run "1".ckpt.index']


def test_the_documented_saver_call_writes_tf1_names(tmp_path):
    """MIGRATION.md: a Keras 3 variable is not a tf.Variable; `Saver` takes its `.value`."""
    cell = built(tfrnn.GRUCell(2))
    names = tfrnn.tf1_variable_names(cell)
    saver = tf.compat.v1.train.Saver(var_list={n: v.value for n, v in names.items()}, save_relative_paths=True)
    saver.save(None, str(tmp_path / "model.ckpt"))
    assert sorted(tensors(tmp_path)) == sorted(names)


# ------------------------------------------------------------ refusals


def assert_refused(call, *phrases, folder):
    before = sorted(os.listdir(folder))
    with pytest.raises(ValueError) as error:
        call()
    message = str(error.value)
    assert "nothing was written" in message
    for phrase in phrases:
        assert phrase in message, message
    assert sorted(os.listdir(folder)) == before
    return message


def test_every_problem_is_listed_in_one_error_and_nothing_is_written(tmp_path):
    unbuilt = tfrnn.BasicLSTMCell(3, name="unbuilt_lstm")
    first, second = built(tfrnn.GRUCell(2)), built(tfrnn.GRUCell(2))
    keras_cell = keras.layers.LSTMCell(2)
    message = assert_refused(
        lambda: save_tf1_checkpoint(
            tmp_path / "missing" / "model.ckpt",
            [("encoder", unbuilt), ("rnn", first), ("rnn/", second), ("decoder", keras_cell)],
        ),
        "unbuilt_lstm (scope 'encoder') is not built", "call it once", "load_tf1_checkpoint into it",
        "4 TF1 name(s) would be written by more than one cell", "rnn/gru_cell/gates/kernel",
        "Keras' own cells have no TF1 names", "does not exist: create it first",
        folder=tmp_path,
    )
    assert not (tmp_path / "missing").exists()
    assert message.startswith(f"Cannot save a TF1 checkpoint to {str(tmp_path / 'missing' / 'model.ckpt')!r}")


@pytest.mark.parametrize("path, phrase", [
    (".", "is a folder"), ("checkpoint", "may not be named 'checkpoint'"),
])
def test_a_path_that_is_not_a_prefix_is_refused(tmp_path, path, phrase):
    assert_refused(lambda: save_tf1_checkpoint(tmp_path / path, built(tfrnn.GRUCell(2))), phrase, folder=tmp_path)


def test_mapping_forms_are_checked(tmp_path):
    cell = built(tfrnn.GRUCell(2))
    assert_refused(lambda: save_tf1_checkpoint(tmp_path / "m", {"a": cell}, scope="b"), "leave scope at 'rnn'",
                   folder=tmp_path)
    assert_refused(lambda: save_tf1_checkpoint(tmp_path / "m", {}), "the mapping is empty", folder=tmp_path)
    assert_refused(lambda: save_tf1_checkpoint(tmp_path / "m", [cell, cell]), "tfrnn.MultiRNNCell([...])",
                   folder=tmp_path)


def test_inside_a_tf_function_it_refuses(tmp_path):
    cell = built(tfrnn.GRUCell(2))
    assert_refused(tf.function(lambda: save_tf1_checkpoint(tmp_path / "model.ckpt", cell)), "call it eagerly",
                   folder=tmp_path)


# ------------------------------------------------------------ atomic writes


def test_a_failure_while_writing_leaves_no_file(tmp_path, monkeypatch):
    def write_then_fail(prefix, values):
        save.tf.raw_ops.SaveV2(prefix=prefix, tensor_names=list(values), shape_and_slices=[""] * len(values),
                               tensors=list(values.values()))
        assert len(os.listdir(tmp_path)) == 2  # the temporary files were there
        raise OSError("No space left on device")

    monkeypatch.setattr(save, "_write_tensors", write_then_fail)
    assert_refused(lambda: save_tf1_checkpoint(tmp_path / "model.ckpt", built(tfrnn.GRUCell(2))),
                   "writing failed (OSError: No space left on device)", "has space", folder=tmp_path)
    assert os.listdir(tmp_path) == []


def test_a_failed_rename_restores_the_checkpoint_it_was_replacing(tmp_path, monkeypatch):
    old_cell, new_cell = built(tfrnn.GRUCell(2)), built(tfrnn.GRUCell(2))
    save_tf1_checkpoint(tmp_path / "model.ckpt", old_cell)
    before = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}
    renames, rename = [], save._rename

    def fail_on_the_index(source, target, overwrite=False):  # after the data file moved in
        renames.append(target)
        if "_temp_" in source and target.endswith(".index"):
            raise OSError("injected")
        rename(source, target, overwrite)

    monkeypatch.setattr(save, "_rename", fail_on_the_index)
    with pytest.raises(ValueError, match="injected"):
        save_tf1_checkpoint(tmp_path / "model.ckpt", new_cell)
    assert any(target.endswith(".data-00000-of-00001") for target in renames)
    assert {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)} == before
    np.testing.assert_array_equal(tensors(tmp_path)["rnn/gru_cell/gates/kernel"], np.asarray(old_cell.gates.kernel))
