"""A Tacotron-2 decoder, a TF1 program with user subclasses, run with only its imports changed.

`tests/golden/tf115_tacotron/tacotron.py.txt` is a TF1 program written after
Rayhane-mamah/Tacotron-2 (`tacotron/models/attention.py`, `custom_decoder.py`,
`helpers.py`, `tacotron.py`, spring 2018) and keithito/tacotron
(`models/rnn_wrappers.py`, `helpers.py`), at toy sizes (batch 3, 4 mels, r = 2,
memory [3, 7, 6] with lengths [7, 5, 3], 8 units). It subclasses every extension
point of `tf.contrib.seq2seq`:

* `LocationSensitiveAttention(BahdanauAttention)` overrides `__call__(query,
  state)`, reads `self.query_layer`, `self.keys` and `self._probability_fn`, adds a
  location `Conv1D` and `Dense` over the previous alignments and keeps cumulative
  alignments as its state;
* `DecoderPrenetWrapper`, `ConcatOutputAndAttentionWrapper`,
  `FrameAndStopProjection` are `RNNCell` subclasses around an `AttentionWrapper(...,
  alignment_history=True, output_attention=False)`, stacked with
  `OutputProjectionWrapper`, `ResidualWrapper(GRUCell)` in a `MultiRNNCell`; the
  cell outputs r mel frames and r <stop_token> logits;
* `TacoTrainingHelper` (teacher forcing, rows end where their stop targets say) and
  `TacoTestHelper` (feeds back the last predicted frame, a row ends when a stop
  probability is > 0.5) are `Helper` subclasses with their own `initialize`,
  `sample` and `next_inputs(..., stop_token_prediction)` (`TacoTestHelper` reduces the
  r stop decisions per row, `reduce_any(axis=1)`; keithito's reduced over the whole
  batch, which ends every row at once);
* `CustomDecoder(Decoder)` returns `CustomDecoderOutput(rnn_output, token_output,
  sample_id)` and sets `tracks_own_finished`: the helper's verdict of each step is
  final, so a row may stop and go on again;
* the alignments come from `final_decoder_state[0].alignment_history.stack()`.

TF 1.15 ran the file as it is (`generate.py` beside it: `training` with its loss and
`synthesis` with `impute_finished=True` and `maximum_iterations=8`, fixed weights in a
TF1 checkpoint, results and the gradients of a loss w.r.t. every variable and the
memory). Here the same file runs with only its import lines replaced
(`TF1_IMPORTS` -> `TFRNN_IMPORTS`), as TF1 ran it: the decoder cell is built and each
decode runs once (TF1's graph construction), ONE `tfrnn.load_tf1_checkpoint` call
restores every variable by its TF1 name (TF1's `saver.restore`), and the decodes run
again under a `GradientTape` (TF1's `session.run`). Every result (lengths exactly),
and every gradient, equals TF 1.15's to 1e-5, also with the decodes traced into one
`tf.function`; `tfrnn.save_tf1_checkpoint` writes the checkpoint back name for name and
value for value. The synthesis rows end at different steps: row 1 on its stop token
after 3 steps, row 0 after 5, and row 2's stop token ends it after its first step, but
the next step's does not, so (`tracks_own_finished`) it goes on to `maximum_iterations`.

What a user changes, from Tacotron-2's code to this file (every change also runs on TF
1.15, which wrote the golden from this file):

* The energy's variables: Tacotron-2 called `tf.get_variable("attention_variable")`
  and `tf.get_variable("attention_bias")` inside `_location_sensitive_score`, i.e. at
  every call of the mechanism, which only a graph built once survives (eagerly, every
  step would make new variables). They are made once in
  `LocationSensitiveAttention.__init__` with `tf.compat.v1.get_variable` (xavier ->
  `tf.compat.v1.glorot_uniform_initializer()`) and passed to the score. Their TF1
  names become `attention_variable` / `attention_bias` at the scope the mechanism is
  built in (before: `.../Location_Sensitive_Attention/attention_variable`).
* The prenet: keithito's `prenet()` called `tf.layers.dense` at every step (a new
  layer per call: graph-only); `DecoderPrenetWrapper.__init__` makes its `Dense`
  layers once and `call` calls them. Its dropout is left out (random draws).
* Names TF 2 keeps only under `tf.compat.v1` move there (`tf.variable_scope`); private
  TensorFlow modules go: `variable_scope.variable_scope` ->
  `tf.compat.v1.variable_scope`, `nest` -> `tf.nest`; `CustomDecoder` drops its type
  checks through `rnn_cell_impl._like_rnncell` / `layers_base.Layer`, its unused
  `output_layer` (read through the private `_compute_output_shape`) and its
  `ops.name_scope(name, default, values)`; `tf.losses.mean_squared_error` ->
  `tf.reduce_mean(tf.square(...))`; `tf.contrib.training.HParams` -> a namedtuple.
* The imports: `tensorflow.contrib.rnn` -> `tfrnn`, `tensorflow.contrib.seq2seq` ->
  `tfrnn.seq2seq`, `tensorflow.layers` -> `keras.layers`.
* Loading: the program's own `RNNCell` subclasses have no TF1 layout, so the load
  names each object by the TF1 scope its variables were built in (`tf1_scopes`), as
  TF1's first call placed them.
"""

import json
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfrnn

GOLDEN = pathlib.Path(__file__).parent / "golden" / "tf115_tacotron"
PROGRAM = (GOLDEN / "tacotron.py.txt").read_text()
MANIFEST = json.loads((GOLDEN / "MANIFEST.json").read_text())
ATOL = RTOL = 1e-5

TF1_IMPORTS = """\
from tensorflow.contrib.rnn import GRUCell, LSTMCell, MultiRNNCell, OutputProjectionWrapper, ResidualWrapper, RNNCell
from tensorflow.contrib.seq2seq import AttentionWrapper, BahdanauAttention, Decoder, Helper, dynamic_decode
from tensorflow.layers import Conv1D, Dense
"""
TFRNN_IMPORTS = """\
from tfrnn import GRUCell, LSTMCell, MultiRNNCell, OutputProjectionWrapper, ResidualWrapper, RNNCell
from tfrnn.seq2seq import AttentionWrapper, BahdanauAttention, Decoder, Helper, dynamic_decode
from keras.layers import Conv1D, Dense
"""


def tfrnn_program():
    """The TF1 program with its import lines replaced, and nothing else."""
    assert PROGRAM.count(TF1_IMPORTS) == 1
    return PROGRAM.replace(TF1_IMPORTS, TFRNN_IMPORTS)


def golden():
    with np.load(GOLDEN / "tacotron.npz") as data:
        return {key: data[key] for key in data.files}


def flatten(key, structure):
    """`{dotted path: tensor}` as the golden names results (generate.py's `flatten`): namedtuple
    fields, tuple indices, dict keys; TensorArrays left out (the program stacked them)."""
    if isinstance(structure, tf.TensorArray):
        return {}
    if isinstance(structure, tuple) and hasattr(structure, "_fields"):
        items = zip(structure._fields, structure)
    elif isinstance(structure, (tuple, list)):
        items = ((str(i), value) for i, value in enumerate(structure))
    elif isinstance(structure, dict):
        items = sorted(structure.items())
    else:
        return {key: structure}
    flat = {}
    for field, value in items:
        flat.update(flatten(f"{key}.{field}" if key else field, value))
    return flat


def tf1_scopes(output_cell):
    """Every object holding the program's variables, by the TF1 scope its variables were made
    in (`dynamic_decode`'s `decoder`, then each cell's scope): what one load call takes."""
    stack = output_cell._cell  # MultiRNNCell
    projection, residual = stack.cells  # OutputProjectionWrapper(concat cell), ResidualWrapper(GRUCell)
    attention_cell = projection.cell._cell  # ConcatOutputAndAttentionWrapper -> AttentionWrapper
    prenet_cell = attention_cell.cell
    mechanism = attention_cell.attention_mechanisms[0]
    decoder = "decoder/frame_and_stop_projection"
    cell_0 = f"{decoder}/multi_rnn_cell/cell_0/output_projection_wrapper"
    wrapper = f"{cell_0}/concat_output_and_attention_wrapper/attention_wrapper"
    return {
        "": [mechanism, mechanism.v_a, mechanism.b_a],  # memory_layer/kernel: where the mechanism was built
        f"{wrapper}/decoder_prenet_wrapper/decoder_prenet": prenet_cell._prenet,
        f"{wrapper}/decoder_prenet_wrapper": prenet_cell._cell,
        f"{wrapper}/Location_Sensitive_Attention": [
            mechanism.query_layer, mechanism.location_convolution, mechanism.location_layer],
        cell_0: [projection.kernel, projection.bias],
        f"{decoder}/multi_rnn_cell/cell_1": residual,
        decoder: [output_cell._frame_projection, output_cell._stop_projection],
    }


class Run:
    """The program run as TF1 ran it: build, one load, run again under a tape."""

    def __init__(self):
        data = golden()
        namespace = {"__name__": "tacotron"}
        exec(compile(tfrnn_program(), str(GOLDEN / "tacotron.py.txt"), "exec"), namespace)
        hp = namespace["HParams"](**MANIFEST["hparams"])
        memory = tf.constant(data["in:memory"])
        memory_lengths = tf.constant(data["in:memory_lengths"])
        mel_targets = tf.constant(data["in:mel_targets"])
        stop_token_targets = tf.constant(data["in:stop_token_targets"])
        self.output_cell = output_cell = namespace["decoder_cell"](memory, memory_lengths, hp)

        def decodes():
            return {"train": namespace["training"](output_cell, memory, mel_targets, stop_token_targets, hp),
                    "synth": namespace["synthesis"](output_cell, memory, hp)}

        self.decodes = decodes
        decodes()  # builds every layer, as TF1's graph construction did
        self.loaded = tfrnn.load_tf1_checkpoint(GOLDEN, tf1_scopes(output_cell))
        # A Keras variable's tensor for the tape; tf.compat.v1.get_variable's variables as they are.
        self.variables = variables = [v.value if isinstance(v, keras.Variable) else v
                                      for v in self.loaded.values()] + [memory]
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(memory)
            results = flatten("", decodes())
            synth_loss = tf.add_n([tf.reduce_sum(results[path[2:]] * value)
                                   for path, value in sorted(data.items()) if path.startswith("r:")])
        names = [*self.loaded, "memory"]
        self.grads = {}
        for prefix, loss in (("grad_train", results["train.loss"]), ("grad_synth", synth_loss)):
            for name, grad in zip(names, tape.gradient(loss, variables)):
                self.grads[f"{prefix}:{name}"] = None if grad is None else np.asarray(tf.convert_to_tensor(grad))
        self.results = {path: np.asarray(value) for path, value in results.items()}
        self.data = data


@pytest.fixture(scope="module")
def run():
    return Run()


def test_the_program_is_tf1s_with_only_its_imports_changed():
    code = tfrnn_program()
    assert code != PROGRAM and "from tensorflow" not in code
    assert not [line for line in code.splitlines() if "contrib" in line and not line.startswith("#")]
    assert code.replace(TFRNN_IMPORTS, TF1_IMPORTS) == PROGRAM
    for name in ("class LocationSensitiveAttention(BahdanauAttention)", "def __call__(self, query, state)",
                 "self.query_layer(query)", "self.keys", "self._probability_fn(energy, previous_alignments)",
                 "class CustomDecoder(Decoder)", "def tracks_own_finished(self)", "class TacoTestHelper(Helper)",
                 "final_decoder_state[0].alignment_history.stack()"):
        assert name in code, name


def test_one_load_restores_every_variable_by_its_tf1_name(run):
    reader = tf.train.load_checkpoint(str(GOLDEN))
    saved = reader.get_variable_to_shape_map()
    assert sorted(run.loaded) == sorted(saved) == sorted(name for name, _ in MANIFEST["variables"])
    assert len(run.loaded) == 23
    for name, variable in run.loaded.items():
        np.testing.assert_array_equal(np.asarray(variable), reader.get_tensor(name), err_msg=name)
    assert list(tfrnn.tf1_variable_names(tf1_scopes(run.output_cell))) == list(run.loaded)


def test_save_writes_tf1s_checkpoint_back(run, tmp_path):
    prefix = tfrnn.save_tf1_checkpoint(tmp_path / "model.ckpt", tf1_scopes(run.output_cell))
    written, golden = tf.train.load_checkpoint(prefix), tf.train.load_checkpoint(str(GOLDEN))
    assert written.get_variable_to_shape_map() == golden.get_variable_to_shape_map()
    for name in run.loaded:
        np.testing.assert_array_equal(written.get_tensor(name), golden.get_tensor(name), err_msg=name)


def test_results_equal_tf1s(run):
    assert sorted(run.results) == sorted(path for path, _, _ in MANIFEST["results"])
    for path, dtype, shape in MANIFEST["results"]:
        got, want = run.results[path], run.data[f"out:{path}"]
        assert (str(got.dtype), list(got.shape)) == (dtype, shape), path
        if got.dtype.kind in "iub":
            np.testing.assert_array_equal(got, want, err_msg=path)
        else:
            np.testing.assert_allclose(got, want, atol=ATOL, rtol=RTOL, err_msg=path)


def test_gradients_equal_tf1s(run):
    expected = {key for key in run.data if key.startswith("grad_")}
    assert sorted(run.grads) == sorted(expected) and not MANIFEST["no_gradient"]
    assert len(expected) == 2 * (23 + 1)  # two losses: every variable and the memory
    for key, grad in run.grads.items():
        assert grad is not None, key
        np.testing.assert_allclose(grad, run.data[key], atol=ATOL, rtol=RTOL, err_msg=key)


def test_a_tf_function_gives_tf1s_numbers_too(run):
    """The same objects, the decodes traced once into a graph: TF1's results and training gradients."""
    memory = run.variables[-1]

    @tf.function
    def decodes():
        with tf.GradientTape() as tape:
            tape.watch(memory)
            results = flatten("", run.decodes())  # TensorArrays stay inside the function
        return results, tape.gradient(results["train.loss"], run.variables)

    results, grads = decodes()
    for path, _, _ in MANIFEST["results"]:
        np.testing.assert_allclose(results[path], run.data[f"out:{path}"], atol=ATOL, rtol=RTOL, err_msg=path)
    for name, grad in zip([*run.loaded, "memory"], grads):
        key = f"grad_train:{name}"
        np.testing.assert_allclose(tf.convert_to_tensor(grad), run.data[key], atol=ATOL, rtol=RTOL, err_msg=key)


def test_rows_end_at_different_steps(run):
    r = MANIFEST["hparams"]["outputs_per_step"]
    # Training: where the stop targets turn 1 (frames 12, 8, 10, r = 2).
    assert run.results["train.lengths"].tolist() == [6, 4, 5]
    assert run.results["train.final_state.0.time"] == 6
    # Synthesis: rows 0 and 1 end on their stop token, row 2 runs to maximum_iterations (8).
    assert run.results["synth.lengths"].tolist() == [5, 3, 8]
    assert run.results["synth.final_state.0.time"] == 8
    frames = run.results["synth.decoder_output"].reshape(3, 8, r, -1)
    imputed = np.all(frames == 0, axis=(2, 3)).tolist()  # impute_finished: a finished row's steps are zeros
    assert imputed[0] == [False] * 5 + [True] * 3
    assert imputed[1] == [False] * 3 + [True] * 5
    # Row 2 was finished after step 0 (step 1 imputed) but not after step 1: the decoder tracks
    # its own finished, so the row went on (or'ing the verdicts would have ended it at length 1).
    assert imputed[2] == [False, True] + [False] * 6
    fired = (run.results["synth.stop_token_prediction"].reshape(3, 8, r) > 0).any(axis=2).tolist()
    assert fired[0][:5] == [False] * 4 + [True]
    assert fired[1][:3] == [False] * 2 + [True]
    assert fired[2] == [True] + [False] * 7  # step 1's logits are imputed zeros
    # Attention images [batch, memory_time, decoder_steps]: no weight on padded memory.
    alignments = run.results["synth.alignments"]
    assert alignments.shape == (3, 7, 8)
    for row, length in enumerate(run.data["in:memory_lengths"]):
        assert np.all(alignments[row, length:] == 0) and np.all(alignments[row, :length].sum(0) > 0.99)
