"""The bad-input table's rows for checkpoints and the CLI: `load_tf1_checkpoint`,
`tf1_variable_names`, `to_keras`, `from_keras` and `tfrnn-checkpoint` (see `bad_input.py`
for what a row is).

Every public function has at least a wrong-type, a wrong-shape and a wrong-structure
row. Damaged checkpoints are made from a TF1-written golden (`tests/golden/gru`: a
`GRUCell(4)` read from depth 3, under `rnn`), copied into the row's folder; that folder
is in the env, so the table also proves that a failed load or convert did not touch
the checkpoint and wrote nothing beside it.

The command line answers with an exit status, not an exception: `cli` runs
`tool.main` in-process and raises `CommandFailed("exit <status>: <stderr>")` when it
fails (an `AssertionError` if it printed anything on stdout), and `one_line` makes the
row's `match`: that status, then exactly one `tfrnn-checkpoint: error:` line with the
phrase. The output folder is in the env, so no file (no `.partial-*`) may be left.
"""

import contextlib
import errno
import io
import pathlib
import shutil
import zipfile

import h5py
import keras
import numpy as np
import tensorflow as tf

import tfrnn
from bad_input import Row
from tfrnn.checkpoint import tool

GOLDEN = pathlib.Path(__file__).parent / "golden"
GRU_DATA = "model.ckpt.data-00000-of-00001"


# ------------------------------------------------------------------- setups


def built(cell, depth=3):
    cell(np.zeros((1, depth), "float32"), cell.zero_state(1, "float32"))
    return cell


def golden(tmp_path, name="gru", damage=None):
    """A copy of `tests/golden/<name>` in `tmp_path/ckpt`, damaged by `damage(folder)` if given."""
    folder = tmp_path / "ckpt"
    shutil.copytree(GOLDEN / name, folder)
    if damage:
        damage(folder)
    return folder


def written(tmp_path, values):
    """A checkpoint of `values` as given (strings, float64) in `tmp_path/ckpt`."""
    folder = tmp_path / "ckpt"
    folder.mkdir()
    tf.raw_ops.SaveV2(prefix=str(folder / "model.ckpt"), tensor_names=list(values),
                      shape_and_slices=[""] * len(values), tensors=list(values.values()))
    return folder


def truncated(folder):
    data = folder / GRU_DATA
    data.write_bytes(data.read_bytes()[:100])


def garbage(folder):
    data = folder / GRU_DATA
    data.write_bytes(np.random.default_rng(0).bytes(data.stat().st_size))


def flipped(folder):
    data = folder / GRU_DATA
    raw = bytearray(data.read_bytes())
    raw[-1] ^= 0xFF
    data.write_bytes(bytes(raw))


def without(name):
    return lambda folder: (folder / name).unlink()


def junk_index(folder):
    (folder / "model.ckpt.index").write_bytes(b"not a checkpoint index")


STRING_BIAS = {"rnn/gru_cell/gates/kernel": np.ones((7, 8), "float32"),
               "rnn/gru_cell/gates/bias": np.array([b"1.0"] * 8),
               "rnn/gru_cell/candidate/kernel": np.ones((7, 4), "float32"),
               "rnn/gru_cell/candidate/bias": np.ones(4, "float32")}
HUGE_KERNEL = {**STRING_BIAS, "rnn/gru_cell/gates/bias": np.ones(8, "float64"),
               "rnn/gru_cell/candidate/kernel": np.full((7, 4), 1e300)}


def load_row(id, error, match, cell, ckpt=golden, path="model.ckpt", **kwargs):
    """`load_tf1_checkpoint(<ckpt folder>/<path>, env["cell"], **kwargs)`; `ckpt(tmp_path)` makes the folder."""
    def setup(tmp_path):
        return {"ckpt": ckpt(tmp_path), "cell": cell()}

    return Row(id, lambda env: tfrnn.load_tf1_checkpoint(env["ckpt"] / path, env["cell"], **kwargs),
               error, match, setup)


def cell_row(id, function, error, match, cell, **kwargs):
    """`function(env["cell"], **kwargs)` on a fresh `cell()`."""
    return Row(id, lambda env: function(env["cell"], **kwargs), error, match, lambda tmp_path: {"cell": cell()})


def keras_gru(**kwargs):
    cell = keras.layers.GRUCell(3, **kwargs)
    cell.build((None, 2))
    return cell


def keras_lstm():
    cell = keras.layers.LSTMCell(3)
    cell.build((None, 2))
    return cell


# ------------------------------------------------------------------- the command line


class CommandFailed(RuntimeError):
    """`tfrnn-checkpoint` exited non-zero; the message is `exit <status>: <its stderr>`."""


def cli(*argv):
    """Runs `tfrnn-checkpoint argv` in-process; raises `CommandFailed` if it failed."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = tool.main([str(arg) for arg in argv])
    if status and out.getvalue():
        raise AssertionError(f"a failed run printed on stdout: {out.getvalue()!r}")
    if status:
        raise CommandFailed(f"exit {status}: {err.getvalue()}")


def one_line(status, phrase):
    """A row's `match`: the exit status, then one error line that contains `phrase` (a regex)."""
    return rf"\Aexit {status}: tfrnn-checkpoint: error: [^\n]*{phrase}[^\n]*\n\Z"


@contextlib.contextmanager
def patched(owner, name, value):
    old = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, old)


def write_half_then(raised):
    """A Keras save that starts the file, then fails as a full disk or a signal would."""
    def save(model, path, *args, **kwargs):
        pathlib.Path(path).write_bytes(b"half a file")
        raise raised

    return save


def failing_save(raised, *argv):
    """A row call: `convert` with Keras' saves failing with `raised` after half a file."""
    def call(env):
        with patched(keras.Model, "save", write_half_then(raised)), \
                patched(keras.Model, "save_weights", write_half_then(raised)):
            cli("convert", env["ckpt"], *[env["out"] / arg if "." in arg else arg for arg in argv])

    return call


def command_row(id, status, phrase, *argv, ckpt=golden, out=()):
    """`tfrnn-checkpoint argv`: `CKPT` is the checkpoint folder, `OUT/x` a path in the output folder.

    `out` names files put in the output folder first (an existing output; a `/` makes a folder).
    """
    def setup(tmp_path):
        folder = tmp_path / "out"
        folder.mkdir()
        for name in out:
            (folder / name).mkdir() if name.endswith("/") else (folder / name).write_bytes(b"earlier work")
        return {"ckpt": ckpt(tmp_path), "out": folder}

    def call(env):
        cli(*[str(arg).replace("CKPT", str(env["ckpt"])).replace("OUT", str(env["out"])) for arg in argv])

    return Row(f"tfrnn-checkpoint-{id}", call, CommandFailed, one_line(status, phrase), setup)


def a_keras_file(tmp_path):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    with zipfile.ZipFile(folder / "model.keras", "w") as archive:
        archive.writestr("config.json", "{}")
    with h5py.File(folder / "model.weights.h5", "w") as weights:
        weights["layers/rnn/cell/vars/0"] = np.zeros((2, 2))
    (folder / "notes.txt").write_text("model.ckpt is in the other folder\n")
    return folder


def gru():
    return tfrnn.GRUCell(4)


ROWS = [
    # ------------------------------------------------------------- load_tf1_checkpoint
    Row("load_tf1_checkpoint-path-is-an-int", lambda env: tfrnn.load_tf1_checkpoint(3, env["cell"]), TypeError,
        r"received ckpt_path=3 \(of type int\); it expects the checkpoint prefix as a str or pathlib.Path",
        lambda tmp_path: {"cell": gru()}),
    Row("load_tf1_checkpoint-path-is-a-list", lambda env: tfrnn.load_tf1_checkpoint([env["ckpt"]], env["cell"]),
        TypeError, r"received ckpt_path=\[PosixPath\(.*\(of type list\)",
        lambda tmp_path: {"ckpt": golden(tmp_path), "cell": gru()}),
    load_row("load_tf1_checkpoint-cell-is-a-string", TypeError,
             r"received 'not a cell' \(of type str\); it expects a tfrnn cell", lambda: "not a cell"),
    load_row("load_tf1_checkpoint-cell-is-a-list-of-cells", TypeError,
             r"\(of type list\); .*wrap a stack of cells in tfrnn.MultiRNNCell", lambda: [gru()]),
    load_row("load_tf1_checkpoint-cell-is-a-keras-cell", TypeError,
             r"\(of type GRUCell\); .*Keras' own cells have no TF1 names", lambda: keras.layers.GRUCell(4)),
    load_row("load_tf1_checkpoint-scope-is-a-list", TypeError,
             r"received scope=\['rnn'\] \(of type list\); it expects the TF1 variable scope as a string",
             gru, scope=["rnn"]),
    load_row("load_tf1_checkpoint-built-for-another-depth", ValueError,
             r"mis-shaped \(2\):\n    rnn/gru_cell/gates/kernel: checkpoint \[7, 8\], cell expects \[9, 8\]",
             lambda: built(gru(), depth=5)),
    load_row("load_tf1_checkpoint-other-number-of-units", ValueError,
             r"nothing was assigned.\n  mis-shaped \(4\):\n    rnn/gru_cell/gates/kernel: checkpoint \[7, 8\], "
             r"cell expects \[7, 10\]", lambda: tfrnn.GRUCell(5)),
    load_row("load_tf1_checkpoint-other-cell-class", ValueError,
             r"missing from the checkpoint \(2\):\n    rnn/lstm_cell/kernel", lambda: tfrnn.LSTMCell(4)),
    load_row("load_tf1_checkpoint-multi-layers-do-not-match", ValueError,
             r"missing from the checkpoint \(4\):\n    multi_rnn_cell/cell_1/gru_cell/gates/kernel \[5, 4\][\s\S]*"
             r"unexpected in the checkpoint under 'multi_rnn_cell/' \(2\)",
             lambda: tfrnn.MultiRNNCell([tfrnn.GRUCell(3), tfrnn.GRUCell(2)]),
             ckpt=lambda tmp_path: golden(tmp_path, "direct_multi"), scope=""),
    load_row("load_tf1_checkpoint-multi-for-a-single-cell", ValueError,
             r"missing from the checkpoint[\s\S]*hint: no 'multi_rnn_cell/cell_0/gru_cell/gates/kernel' anywhere",
             lambda: tfrnn.MultiRNNCell([gru()])),
    load_row("load_tf1_checkpoint-wrong-scope", ValueError,
             r"hint: the checkpoint holds 'gru_cell/gates/kernel' under scope\(s\) \['rnn'\]", gru, scope="encoder"),
    load_row("load_tf1_checkpoint-bias-of-strings", ValueError,
             r"not real numbers \(1\):\n    rnn/gru_cell/gates/bias: checkpoint holds string values, the variable is "
             r"float32", gru, ckpt=lambda tmp_path: written(tmp_path, STRING_BIAS)),
    load_row("load_tf1_checkpoint-bias-of-strings-built-cell", ValueError, r"not real numbers \(1\)",
             lambda: built(gru()), ckpt=lambda tmp_path: written(tmp_path, STRING_BIAS)),
    load_row("load_tf1_checkpoint-float64-too-large-for-float32", ValueError,
             r"rnn/gru_cell/candidate/kernel: value 1e\+300 \(largest finite 3.4028e\+38\) does not fit the "
             r"variable's float32", gru, ckpt=lambda tmp_path: written(tmp_path, HUGE_KERNEL)),
    load_row("load_tf1_checkpoint-truncated-data", ValueError,
             rf"rnn/gru_cell/gates/kernel: its data file '\S+/{GRU_DATA}' is truncated", gru,
             ckpt=lambda tmp_path: golden(tmp_path, damage=truncated)),
    load_row("load_tf1_checkpoint-garbage-data", ValueError,
             rf"unreadable \(4\):\n    rnn/gru_cell/gates/kernel: its data file '\S+/{GRU_DATA}' is corrupt",
             lambda: built(gru()), ckpt=lambda tmp_path: golden(tmp_path, damage=garbage)),
    load_row("load_tf1_checkpoint-checksum-mismatch", ValueError,
             rf"unreadable \(1\):\n    rnn/gru_cell/\S+: its data file '\S+/{GRU_DATA}' is corrupt \(checksum mismatch\)",
             gru, ckpt=lambda tmp_path: golden(tmp_path, damage=flipped)),
    load_row("load_tf1_checkpoint-missing-shard", ValueError,
             rf"rnn/gru_cell/gates/kernel: its data file '\S+/{GRU_DATA}' is missing", gru,
             ckpt=lambda tmp_path: golden(tmp_path, damage=without(GRU_DATA))),
    load_row("load_tf1_checkpoint-missing-index", ValueError,
             r"Cannot read a TF1 checkpoint at '\S+/model.ckpt': '\S+/model.ckpt.index' does not exist", gru,
             ckpt=lambda tmp_path: golden(tmp_path, damage=without("model.ckpt.index"))),
    load_row("load_tf1_checkpoint-garbage-index", ValueError,
             r"its index file '\S+/model.ckpt.index' cannot be read", gru,
             ckpt=lambda tmp_path: golden(tmp_path, damage=junk_index)),
    load_row("load_tf1_checkpoint-directory-without-checkpoint-file", ValueError,
             r"the directory '\S+' has no readable 'checkpoint' file", gru,
             ckpt=lambda tmp_path: golden(tmp_path, damage=without("checkpoint")), path=""),
    load_row("load_tf1_checkpoint-a-keras-file", ValueError, r"'\S+/model.keras.index' does not exist", gru,
             ckpt=a_keras_file, path="model.keras"),
    # ------------------------------------------------------------- tf1_variable_names
    cell_row("tf1_variable_names-cell-is-a-string", tfrnn.tf1_variable_names, TypeError,
             r"tf1_variable_names received 'lstm' \(of type str\); it expects a tfrnn cell", lambda: "lstm"),
    cell_row("tf1_variable_names-cell-is-a-list-of-cells", tfrnn.tf1_variable_names, TypeError,
             r"wrap a stack of cells in tfrnn.MultiRNNCell", lambda: [built(gru()), built(gru(), depth=4)]),
    cell_row("tf1_variable_names-cell-is-a-keras-cell", tfrnn.tf1_variable_names, TypeError,
             r"\(of type LSTMCell\); .*Keras' own cells have no TF1 names", keras_lstm),
    cell_row("tf1_variable_names-scope-is-an-int", tfrnn.tf1_variable_names, TypeError,
             r"received scope=0 \(of type int\)", lambda: built(gru()), scope=0),
    cell_row("tf1_variable_names-unbuilt-cell", tfrnn.tf1_variable_names, ValueError,
             r"needs a built cell, but gru_cell has no weights yet", gru),
    # ------------------------------------------------------------- to_keras
    cell_row("to_keras-dense-layer", tfrnn.to_keras, TypeError, r"to_keras received 'dense\w*', of type Dense",
             lambda: keras.layers.Dense(3)),
    cell_row("to_keras-string", tfrnn.to_keras, TypeError, r"to_keras received 'gru', of type str", lambda: "gru"),
    cell_row("to_keras-list-of-cells", tfrnn.to_keras, TypeError,
             r"of type list\. .*wrap a stack of cells in tfrnn.MultiRNNCell", lambda: [built(gru())]),
    cell_row("to_keras-unbuilt-cell", tfrnn.to_keras, ValueError, r"to_keras needs a built cell", gru),
    cell_row("to_keras-lstm-with-peepholes", tfrnn.to_keras, ValueError,
             r"cannot convert 'lstm_cell' with use_peepholes=True", lambda: built(tfrnn.LSTMCell(3, use_peepholes=True))),
    cell_row("to_keras-multi-holding-a-projected-lstm", tfrnn.to_keras, ValueError,
             r"cells\[1\] \('lstm_cell\w*'\) with num_proj=2",
             lambda: built(tfrnn.MultiRNNCell([gru(), tfrnn.LSTMCell(3, num_proj=2)]))),
    cell_row("to_keras-dropout-wrapper", tfrnn.to_keras, TypeError, r"of type DropoutWrapper",
             lambda: built(tfrnn.DropoutWrapper(gru(), output_keep_prob=1.0))),
    # ------------------------------------------------------------- from_keras
    cell_row("from_keras-rnn-layer", tfrnn.from_keras, TypeError, r"it converts cells. Pass the layer's cell",
             lambda: keras.layers.RNN(keras_gru(reset_after=False))),
    cell_row("from_keras-dense-layer", tfrnn.from_keras, TypeError, r"of type Dense", lambda: keras.layers.Dense(3)),
    cell_row("from_keras-string", tfrnn.from_keras, TypeError, r"from_keras received 'lstm', of type str",
             lambda: "lstm"),
    cell_row("from_keras-unbuilt-cell", tfrnn.from_keras, ValueError, r"needs a built Keras cell",
             lambda: keras.layers.LSTMCell(3)),
    cell_row("from_keras-gru-reset-after", tfrnn.from_keras, ValueError, r"reset_after=True \(Keras 3's default\)",
             keras_gru),
    cell_row("from_keras-stack-holding-a-reset-after-gru", tfrnn.from_keras, ValueError,
             r"cells\[1\] \('gru_cell\w*'\): reset_after=True",
             lambda: _stack([keras.layers.GRUCell(3, reset_after=False), keras.layers.GRUCell(3)])),
    cell_row("from_keras-hard-sigmoid-gates", tfrnn.from_keras, ValueError, r"recurrent_activation='hard_sigmoid'",
             lambda: keras_gru(reset_after=False, recurrent_activation="hard_sigmoid")),
    cell_row("from_keras-dropout", tfrnn.from_keras, ValueError, r"with dropout=0.5 and recurrent_dropout=0.0",
             lambda: keras_gru(reset_after=False, dropout=0.5)),
    cell_row("from_keras-forget-bias-string", tfrnn.from_keras, TypeError,
             r"forget_bias='1.0' \(of type str\); it expects a number", keras_lstm, forget_bias="1.0"),
    cell_row("from_keras-forget-bias-nan", tfrnn.from_keras, ValueError, r"forget_bias=nan; it expects a finite number",
             keras_lstm, forget_bias=float("nan")),
    # ------------------------------------------------------------- tfrnn-checkpoint: where to write
    command_row("convert-output-exists", 1, r"output \S+/gru.keras already exists; pass --force to overwrite it",
                "convert", "CKPT", "OUT/gru.keras", out=["gru.keras"]),
    command_row("convert-output-is-a-directory", 1, r"output \S+/gru.keras is a directory; pass a file path",
                "convert", "CKPT", "OUT/gru.keras", "--force", out=["gru.keras/"]),
    command_row("convert-output-folder-missing", 1, r"cannot write \S+: directory \S+/nowhere does not exist",
                "convert", "CKPT", "OUT/nowhere/gru.keras"),
    command_row("convert-output-suffix", 2, r"output \S+/gru.h5 must end in .weights.h5 \(weights only\) or .keras",
                "convert", "CKPT", "OUT/gru.h5"),
    Row("tfrnn-checkpoint-convert-folder-not-writable",
        lambda env: _with_access_denied(env["out"], lambda: cli("convert", env["ckpt"], env["out"] / "gru.keras")),
        CommandFailed, one_line(1, r"cannot write \S+/gru.keras: the folder \S+ is not writable"),
        lambda tmp_path: {"ckpt": golden(tmp_path), "out": _folder(tmp_path / "out")}),
    Row("tfrnn-checkpoint-convert-disk-full", failing_save(OSError(errno.ENOSPC, "No space left on device"),
                                                           "gru.keras"),
        CommandFailed, one_line(1, r"cannot write \S+/gru.keras: No space left on device \(errno 28\); "
                                   r"nothing was written"),
        lambda tmp_path: {"ckpt": golden(tmp_path), "out": _folder(tmp_path / "out")}),
    Row("tfrnn-checkpoint-convert-disk-full-over-an-existing-output",
        failing_save(OSError(errno.ENOSPC, "No space left on device"), "gru.weights.h5", "--force"),
        CommandFailed, one_line(1, r"No space left on device"),
        lambda tmp_path: {"ckpt": golden(tmp_path), "out": _folder(tmp_path / "out", "gru.weights.h5")}),
    Row("tfrnn-checkpoint-convert-permission-denied-while-writing",
        failing_save(PermissionError(errno.EACCES, "Permission denied"), "gru.weights.h5"),
        CommandFailed, one_line(1, r"cannot write \S+: Permission denied \(errno 13\)"),
        lambda tmp_path: {"ckpt": golden(tmp_path), "out": _folder(tmp_path / "out")}),
    Row("tfrnn-checkpoint-convert-interrupted", failing_save(KeyboardInterrupt(), "gru.keras"),
        CommandFailed, one_line(130, r"interrupted; nothing was written"),
        lambda tmp_path: {"ckpt": golden(tmp_path), "out": _folder(tmp_path / "out")}),
    Row("tfrnn-checkpoint-convert-unexpected-error", failing_save(RuntimeError("h5py broke"), "gru.keras"),
        CommandFailed, one_line(1, r"unexpected RuntimeError: h5py broke \(please report this to tfrnn\)"),
        lambda tmp_path: {"ckpt": golden(tmp_path), "out": _folder(tmp_path / "out")}),
    # ------------------------------------------------------------- tfrnn-checkpoint: what to read
    command_row("convert-truncated-data", 1, rf"rnn/gru_cell/gates/kernel: its data file '\S+/{GRU_DATA}' is "
                r"truncated", "convert", "CKPT", "OUT/gru.keras", ckpt=lambda tmp_path: golden(tmp_path, damage=truncated)),
    command_row("convert-checksum-mismatch", 1, r"is corrupt \(checksum mismatch\)", "convert", "CKPT",
                "OUT/gru.keras", ckpt=lambda tmp_path: golden(tmp_path, damage=flipped)),
    command_row("convert-missing-shard", 1, rf"its data file '\S+/{GRU_DATA}' is missing", "convert", "CKPT",
                "OUT/gru.keras", ckpt=lambda tmp_path: golden(tmp_path, damage=without(GRU_DATA))),
    command_row("convert-missing-index", 1, r"no TF1 checkpoint at \S+/model.ckpt: \S+/model.ckpt.index does not "
                r"exist", "convert", "CKPT/model.ckpt", "OUT/gru.keras",
                ckpt=lambda tmp_path: golden(tmp_path, damage=without("model.ckpt.index"))),
    command_row("convert-garbage-index", 1, r"\S+/model.ckpt is not a TF1 checkpoint: \S+/model.ckpt.index cannot be "
                r"read", "convert", "CKPT", "OUT/gru.keras", ckpt=lambda tmp_path: golden(tmp_path, damage=junk_index)),
    command_row("convert-bias-of-strings", 1, r"rnn/gru_cell/gates/bias: checkpoint holds string values", "convert",
                "CKPT/model.ckpt", "OUT/gru.keras", ckpt=lambda tmp_path: written(tmp_path, STRING_BIAS)),
    command_row("convert-float64-too-large", 1, r"value 1e\+300 \(largest finite 3.4028e\+38\) does not fit",
                "convert", "CKPT/model.ckpt", "OUT/gru.keras", ckpt=lambda tmp_path: written(tmp_path, HUGE_KERNEL)),
    command_row("convert-a-keras-file", 1, r"\S+/model.keras is not a TF1 checkpoint: it is a zip archive",
                "convert", "CKPT/model.keras", "OUT/gru.keras", ckpt=a_keras_file),
    command_row("inspect-a-keras-file", 1, r"\S+/model.keras is not a TF1 checkpoint: it is a zip archive "
                r"\(a Keras 3 .keras model\?\)", "inspect", "CKPT/model.keras", ckpt=a_keras_file),
    command_row("inspect-a-weights-file", 1, r"model.weights.h5 is not a TF1 checkpoint: it is an HDF5 file",
                "inspect", "CKPT/model.weights.h5", ckpt=a_keras_file),
    command_row("inspect-a-text-file", 1, r"notes.txt is not a TF1 checkpoint: it is a text file", "inspect",
                "CKPT/notes.txt", ckpt=a_keras_file),
    command_row("inspect-garbage-index", 1, r"is not a TF1 checkpoint: \S+/model.ckpt.index cannot be read",
                "inspect", "CKPT/model.ckpt", ckpt=lambda tmp_path: golden(tmp_path, damage=junk_index)),
    command_row("inspect-no-such-path", 1, r"no TF1 checkpoint at \S+/nothing: \S+/nothing.index does not exist",
                "inspect", "CKPT/nothing"),
    command_row("inspect-directory-without-checkpoint-file", 1, r"\S+ is a directory without a readable "
                r"'checkpoint' file", "inspect", "CKPT", ckpt=lambda tmp_path: golden(tmp_path, damage=without("checkpoint"))),
    # ------------------------------------------------------------- tfrnn-checkpoint: options
    command_row("convert-forget-bias-nan", 2, r"argument --forget-bias: 'nan' is not a finite number", "convert",
                "CKPT", "OUT/gru.keras", "--forget-bias", "nan"),
    command_row("convert-forget-bias-inf", 2, r"argument --forget-bias: 'inf' is not a finite number", "convert",
                "CKPT", "OUT/gru.keras", "--forget-bias", "inf"),
    command_row("convert-forget-bias-an-expression", 2, r"argument --forget-bias: .__import__\('os'\). is not a "
                r"number", "convert", "CKPT", "OUT/gru.keras", "--forget-bias", "__import__('os')"),
    command_row("convert-unknown-scope", 1, r"no RNN cell at scope 'encoder' in \S+; its cells' scopes are: 'rnn'",
                "convert", "CKPT", "OUT/gru.keras", "--scope", "encoder"),
    command_row("convert-bidirectional-scope", 1, r"scope 'bidirectional_rnn' holds a bidirectional structure",
                "convert", "CKPT", "OUT/x.keras", "--scope", "bidirectional_rnn",
                ckpt=lambda tmp_path: golden(tmp_path, "loops/bidi_len")),
    command_row("convert-two-cells-without-scope", 2, r"holds 2 RNN cells; choose one with --scope", "convert",
                "CKPT", "OUT/x.keras", ckpt=lambda tmp_path: golden(tmp_path, "loops/bidi_len")),
    command_row("convert-no-keras-equivalent", 1, r"use_peepholes=True.*\(--to tfrnn keeps TF1's cell\)", "convert",
                "CKPT", "OUT/x.keras", ckpt=lambda tmp_path: golden(tmp_path, "lstm_peep")),
    command_row("convert-unknown-to", 2, r"argument --to: invalid choice: 'torch'", "convert", "CKPT",
                "OUT/x.keras", "--to", "torch"),
    command_row("convert-missing-out", 2, r"the following arguments are required: out", "convert", "CKPT"),
    command_row("no-command", 2, r"the following arguments are required: \{inspect,convert\}"),
    command_row("unknown-command", 2, r"invalid choice: 'load'", "load", "CKPT"),
]


def _stack(cells):
    stack = keras.layers.StackedRNNCells(cells)
    stack.build((None, 2))
    return stack


def _folder(path, *files):
    path.mkdir()
    for name in files:
        (path / name).write_bytes(b"earlier work")
    return path


def _with_access_denied(folder, call):
    """`call()` while `os.access` says `folder` is not writable (root writes anywhere, so it is simulated)."""
    access = tool.os.access
    with patched(tool.os, "access", lambda path, mode, **kwargs: str(path) != str(folder) and access(path, mode)):
        call()
