"""The bad-input table's rows for `sequence_loss`, `SequenceLoss`, `tile_batch` and
`gather_tree` (see `bad_input.py` for what a row is).

Each function has wrong-type, wrong-rank and wrong-structure (mismatched shapes) rows.
Where TF 1.15 raised, the row matches TF 1.15's sentence (the three rank errors of
`sequence_loss` are the TF 1.15 golden's `errors`, the flag pairs its `sequence_loss`
case's); where TF 1.15 accepted the call and computed something else, the row says so:

* a `softmax_loss_function` passed positionally after the two average flags landed in
  `sum_over_timesteps` (TF 1.15's signature puts the sum flags first): a flag error, or
  with `average_across_timesteps=False` a silent `sum_over_timesteps=True`;
* a string flag was truthy (`average_across_timesteps="no"` averaged);
* `[time, batch]` weights with as many entries as `[batch, time]` were reshaped into
  place, misaligned, without an error;
* a parent id equal to `beam_width` read outside the beam;
* `tile_batch(t, True)` tiled once and `tile_batch(t, 0)` returned an empty batch.
"""

import json
import pathlib
import re

import numpy as np
import tensorflow as tf

from bad_input import Row
from tfrnn import seq2seq

_MANIFEST = json.loads((pathlib.Path(__file__).parent / "golden" / "tf115_seq2seq" / "MANIFEST.json").read_text())
TF115_ERRORS = {key: text.split(": ", 1)[1] for case in _MANIFEST["cases"] for key, text in case.get("errors", {}).items()}

LOGITS = np.zeros((2, 3, 4), "float32")  # [batch, time, classes]
TARGETS = np.zeros((2, 3), "int32")
WEIGHTS = np.ones((2, 3), "float32")
XENT = lambda labels, logits: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)  # noqa: E731


def loss(*args, **kwargs):
    """A row call: `sequence_loss(LOGITS, TARGETS, WEIGHTS)` with the given arguments replacing them."""
    arguments = dict(zip(("logits", "targets", "weights"), args)) if args else {}
    arguments = {"logits": LOGITS, "targets": TARGETS, "weights": WEIGHTS, **arguments, **kwargs}
    return dict(call=lambda env: seq2seq.sequence_loss(**arguments))


def keras_loss(y_true=TARGETS, y_pred=LOGITS, sample_weight=WEIGHTS, **flags):
    return dict(call=lambda env: seq2seq.SequenceLoss(**flags)(y_true, y_pred, sample_weight))


def tf115(key):
    return re.escape(TF115_ERRORS[key])


M = np.array([[1, 2], [3, 4]], "int32")
# gather_tree's TF 1.15 test inputs: max_time 4, batch 1, beam 3.
STEP_IDS = np.array([[[1, 2, 3]], [[4, 5, 6]], [[7, 8, 9]], [[-1, -1, -1]]], "int32")
PARENT_IDS = np.array([[[0, 0, 0]], [[0, 1, 1]], [[2, 1, 2]], [[-1, -1, -1]]], "int32")


def tree(step_ids=STEP_IDS, parent_ids=PARENT_IDS, lengths=(3,), end_token=10):
    return dict(call=lambda env: seq2seq.gather_tree(step_ids, parent_ids, list(lengths) if isinstance(
        lengths, tuple) else lengths, end_token))


ROWS = [
    # sequence_loss -----------------------------------------------------------------------------
    Row("sequence_loss-logits-of-rank-2", **loss(np.zeros((4, 7), "float32"), np.zeros((4, 5), "int32"),
                                                 np.ones((4, 5), "float32")),
        error=ValueError, match=tf115("sequence_loss.logits_rank") + r", but received shape \(4, 7\)\. Pass batch-major"),
    Row("sequence_loss-targets-of-rank-1", **loss(targets=np.zeros(2, "int32")), error=ValueError,
        match=tf115("sequence_loss.targets_rank") + r", but received shape \(2,\)"),
    Row("sequence_loss-weights-of-rank-1", **loss(weights=np.ones(2, "float32")), error=ValueError,
        match=tf115("sequence_loss.weights_rank") + r", but received shape \(2,\)"),
    Row("sequence_loss-weights-of-rank-3", **loss(weights=np.ones((2, 3, 1), "float32")), error=ValueError,
        match=r"Weights must be a \[batch_size x sequence_length\] tensor, but received shape \(2, 3, 1\)"),
    Row("sequence_loss-logits-is-none", **loss(logits=None), error=TypeError,
        match=r"sequence_loss: logits must be a tensor, but received None \(NoneType\)"),
    Row("sequence_loss-logits-a-string", **loss(logits="logits"), error=TypeError,
        match="logits must be floats, but have dtype string"),
    Row("sequence_loss-integer-logits", **loss(logits=np.zeros((2, 3, 4), "int32")), error=TypeError,
        match=r"logits must be floats, but have dtype int32.*tf.cast\(logits, tf.float32\)"),
    Row("sequence_loss-float-targets", **loss(targets=np.zeros((2, 3), "float32")), error=TypeError,
        match=r"targets must be integer class ids, but have dtype float32. Cast them: tf.cast\(targets, tf.int32\)"),
    Row("sequence_loss-float64-weights-for-float32-logits", **loss(weights=np.ones((2, 3))), error=TypeError,
        match=r"weights must have logits' dtype float32, but have dtype float64. Cast them"),
    Row("sequence_loss-boolean-mask-weights", **loss(weights=np.ones((2, 3), bool)), error=TypeError,
        match=r"but have dtype bool. Cast them: tf.cast\(weights, logits.dtype\) \(a boolean mask too\)"),
    Row("sequence_loss-targets-of-another-length", **loss(targets=np.zeros((2, 4), "int32")), error=ValueError,
        match=r"targets has shape \(2, 4\), but logits' \[batch_size, sequence_length\] is \(2, 3\)"),
    Row("sequence_loss-time-major-weights", **loss(weights=np.ones((3, 2), "float32"),
                                                   average_across_timesteps=False, average_across_batch=False),
        error=ValueError, match=r"weights has shape \(3, 2\), but logits' \[batch_size, sequence_length\] is \(2, 3\)"),
    Row("sequence_loss-average-and-sum-over-timesteps", **loss(sum_over_timesteps=True), error=ValueError,
        match=re.escape(TF115_ERRORS["aat1_aab1_sot1_sob0"]) + " Set one of them"),
    Row("sequence_loss-average-and-sum-over-batch", **loss(average_across_timesteps=False, sum_over_batch=True),
        error=ValueError, match=re.escape(TF115_ERRORS["aat0_aab1_sot0_sob1"]) + " Set one of them"),
    Row("sequence_loss-loss-function-passed-positionally", call=lambda env: seq2seq.sequence_loss(
        LOGITS, TARGETS, WEIGHTS, True, True, XENT), error=TypeError,
        match=r"sum_over_timesteps must be a bool, but received a callable .*pass softmax_loss_function=\.\.\. by keyword"),
    Row("sequence_loss-flag-a-string", **loss(average_across_timesteps="no"), error=TypeError,
        match=r"average_across_timesteps must be a bool, but received 'no' \(str\). Pass True or False"),
    Row("sequence_loss-flag-a-float", **loss(sum_over_batch=0.5, average_across_batch=False), error=TypeError,
        match=r"sum_over_batch must be a bool, but received 0.5 \(float\)"),
    Row("sequence_loss-loss-function-not-callable", **loss(softmax_loss_function="xent"), error=TypeError,
        match=r"softmax_loss_function must be callable as fn\(labels=\.\.\., logits=\.\.\.\) or None, but received 'xent'"),
    # SequenceLoss ------------------------------------------------------------------------------
    Row("SequenceLoss-average-and-sum-over-timesteps", call=lambda env: seq2seq.SequenceLoss(
        average_across_timesteps=True), error=ValueError, match=re.escape(TF115_ERRORS["aat1_aab0_sot1_sob0"])),
    Row("SequenceLoss-average-and-sum-over-batch", call=lambda env: seq2seq.SequenceLoss(
        average_across_batch=True), error=ValueError, match=re.escape(TF115_ERRORS["aat0_aab1_sot0_sob1"])),
    Row("SequenceLoss-flag-string", call=lambda env: seq2seq.SequenceLoss(sum_over_batch="no"), error=TypeError,
        match=r"sum_over_batch must be a bool, but received 'no' \(str\)"),
    Row("SequenceLoss-loss-function-not-callable", call=lambda env: seq2seq.SequenceLoss(softmax_loss_function=3),
        error=TypeError, match=r"softmax_loss_function must be callable.*received 3 \(int\)"),
    Row("SequenceLoss-y-true-is-none", **keras_loss(y_true=None), error=TypeError,
        match=r"SequenceLoss: y_true must be \[batch_size, sequence_length\] integer class ids, but received None"),
    Row("SequenceLoss-y-true-strings", **keras_loss(y_true=np.full((2, 3), "a")), error=TypeError,
        match="y_true must be .* integer class ids, but received dtype string"),
    Row("SequenceLoss-y-pred-a-string", **keras_loss(y_pred="logits"), error=TypeError,
        match=r"SequenceLoss: y_pred must be \[batch_size, sequence_length, classes\] float logits, but received "
              "dtype string"),
    Row("SequenceLoss-y-pred-of-rank-2", **keras_loss(y_pred=LOGITS[..., 0]), error=ValueError,
        match=r"Logits must be a \[batch_size x sequence_length x logits\] tensor, but received shape \(2, 3\)"),
    Row("SequenceLoss-y-true-of-rank-3", **keras_loss(y_true=TARGETS[..., None]), error=ValueError,
        match=r"Targets must be a \[batch_size x sequence_length\] tensor, but received shape \(2, 3, 1\)"),
    Row("SequenceLoss-sample-weight-a-dict", **keras_loss(sample_weight={"w": 1.0}), error=TypeError,
        match=r"sample_weight must be \[batch_size, sequence_length\] or \[batch_size\] float weights, or None, but "
              r"received \{'w': 1.0\} \(dict\)"),
    Row("SequenceLoss-sample-weight-strings", **keras_loss(sample_weight=np.full((2, 3), "a")), error=TypeError,
        match="sample_weight must be .* but received dtype string"),
    Row("SequenceLoss-per-sequence-weight-of-another-batch", **keras_loss(sample_weight=np.ones(3, "float32")),
        error=ValueError, match=r"one weight per batch entry \(2\), but has shape \(3,\). Pass \[batch_size\] or"),
    Row("SequenceLoss-time-major-sample-weight", **keras_loss(sample_weight=np.ones((3, 2), "float32")),
        error=ValueError, match=r"weights has shape \(3, 2\), but logits' \[batch_size, sequence_length\] is \(2, 3\)"),
    Row("SequenceLoss-sample-weight-of-rank-3", **keras_loss(sample_weight=np.ones((2, 3, 1), "float32")),
        error=ValueError, match=r"Weights must be a \[batch_size x sequence_length\] tensor, but received shape"),
    # tile_batch --------------------------------------------------------------------------------
    Row("tile_batch-t-is-none", call=lambda env: seq2seq.tile_batch(None, 3), error=TypeError,
        match=r"tile_batch: entry 0 of t \(in tf.nest.flatten order\) is not a tensor: None \(NoneType\). Pass tensors"),
    Row("tile_batch-none-inside-a-structure", call=lambda env: seq2seq.tile_batch((M, None), 3), error=TypeError,
        match=r"entry 1 of t .* is not a tensor: None"),
    Row("tile_batch-t-an-object", call=lambda env: seq2seq.tile_batch(object(), 3), error=TypeError,
        match=r"entry 0 of t .* is not a tensor: <object object at .*> \(object\)"),
    Row("tile_batch-scalar", call=lambda env: seq2seq.tile_batch(np.float32(3.0), 3), error=ValueError,
        match=r"t must have statically known rank: entry 0 of t has rank 0, but tile_batch needs rank >= 1"),
    Row("tile_batch-a-list-of-python-numbers", call=lambda env: seq2seq.tile_batch([1, 2], 3), error=ValueError,
        match=r"t must have statically known rank: entry 0 of t has rank 0.*a leading batch dimension"),
    Row("tile_batch-unknown-rank", error=ValueError, match=r"entry 0 of t has rank unknown.*tf.ensure_shape",
        call=lambda env: tf.function(lambda t: seq2seq.tile_batch(t, 3), input_signature=[tf.TensorSpec(None)])(M)),
    Row("tile_batch-multiplier-a-float", call=lambda env: seq2seq.tile_batch(M, 2.0), error=TypeError,
        match=r"multiplier must be a Python int >= 1 \(the beam width\), but received 2.0 \(float\)"),
    Row("tile_batch-multiplier-a-bool", call=lambda env: seq2seq.tile_batch(M, True), error=TypeError,
        match=r"multiplier must be a Python int >= 1 .*received True \(bool\)"),
    Row("tile_batch-multiplier-a-tensor", call=lambda env: seq2seq.tile_batch(M, tf.constant(3)), error=TypeError,
        match=r"multiplier must be a Python int >= 1 .*received 3 \(EagerTensor\)"),
    Row("tile_batch-multiplier-a-string", call=lambda env: seq2seq.tile_batch(M, "3"), error=TypeError,
        match=r"received '3' \(str\). Pass e.g. beam_width=3 as an int"),
    Row("tile_batch-multiplier-zero", call=lambda env: seq2seq.tile_batch(M, 0), error=ValueError,
        match=r"multiplier must be a Python int >= 1 .*received 0 \(int\)"),
    # gather_tree -------------------------------------------------------------------------------
    Row("gather_tree-float-step-ids", **tree(step_ids=STEP_IDS.astype("float32")), error=TypeError,
        match=r"step_ids must be \[max_time, batch_size, beam_width\] ids of an integer dtype, but received dtype "
              r"float32. Cast it: tf.cast\(step_ids, tf.int32\)"),
    Row("gather_tree-step-ids-a-string", **tree(step_ids="ids"), error=TypeError,
        match="step_ids must be .* of an integer dtype, but received dtype string"),
    Row("gather_tree-lengths-none", **tree(lengths=None), error=TypeError,
        match=r"max_sequence_lengths must be \[batch_size\] lengths, but received None \(NoneType\)"),
    Row("gather_tree-float-end-token", **tree(end_token=10.0), error=TypeError,
        match=r"end_token must be a scalar id of an integer dtype, but received dtype float32"),
    Row("gather_tree-step-ids-of-rank-2", **tree(step_ids=STEP_IDS[:, 0], parent_ids=PARENT_IDS[:, 0]),
        error=ValueError, match=r"step_ids must be a 3-tensor, saw shape: \(4, 3\). Pass time-major"),
    Row("gather_tree-lengths-a-matrix", **tree(lengths=[[3]]), error=ValueError,
        match=r"max_sequence_lengths must be a vector, saw shape: \(1, 1\). Pass one length per batch entry"),
    Row("gather_tree-end-token-a-vector", **tree(end_token=[10]), error=ValueError,
        match=r"end_token must be a scalar, saw shape: \(1,\) \(\[10\]\). Pass one id"),
    Row("gather_tree-parent-ids-of-another-time", **tree(parent_ids=PARENT_IDS[:3]), error=ValueError,
        match=r"step_ids.shape must match parent_ids.shape, but shapes are: \(4, 1, 3\) and \(3, 1, 3\)"),
    Row("gather_tree-lengths-of-another-batch", **tree(lengths=(3, 3)), error=ValueError,
        match=r"step_ids.shape\[1\] and max_sequence_lengths.shape\[0\] must match, but shapes are: \(4, 1, 3\) and "
              r"\(2,\)"),
    Row("gather_tree-negative-parent-on-a-walk", **tree(parent_ids=np.where(PARENT_IDS == 1, -1, PARENT_IDS)),
        error=ValueError, match=r"met a parent id outside \[0, beam_width\) = \[0, 3\).*range from -1 to 2"),
    Row("gather_tree-parent-equal-to-beam-width", **tree(parent_ids=np.where(PARENT_IDS == 1, 3, PARENT_IDS)),
        error=ValueError, match=r"met a parent id outside \[0, beam_width\) = \[0, 3\).*range from -1 to 3"),
    Row("gather_tree-walk-reaching-unset-parents", **tree(lengths=(4,)), error=ValueError,
        match=r"check that the lengths match the ids"),
]
