"""`tile_batch` and `gather_tree`: TF 1.15's numbers and behaviours.

Oracles, in order:

* the TF 1.15 golden `tests/golden/tf115_seq2seq/tile_batch_gather_tree.npz`
  (written by TF 1.15 itself, `generate.py` beside it): `tile_batch` of a matrix,
  a rank-3 tensor and an `LSTMStateTuple`; `gather_tree` with parents that cross
  beams, a short `max_sequence_lengths` and two end tokens;
* TensorFlow 1.15's own tests, ported from TensorFlow 1.15
  tensorflow/contrib/seq2seq/python/kernel_tests/beam_search_ops_test.py
  (`GatherTreeTest`: `testGatherTreeOne`, `testBadParentValuesOnCPU`,
  `testGatherTreeBatch`) and
  tensorflow/contrib/seq2seq/python/kernel_tests/beam_search_decoder_test.py
  (`TestGatherTree.test_gather_tree`, the `gather_tree_from_array` cases through
  the public `gather_tree`, and `BeamSearchDecoderTest`'s `tile_batch` calls)
  (Copyright 2017 The TensorFlow Authors, Apache-2.0). TF 1.15 has no
  `TestTileBatch`: `tile_batch` was only exercised inside the decoder tests;
* a NumPy `gather_tree` (below), itself checked against the golden;
* numbers TF 1.15 printed for the behaviours below (`/opt/tf115/bin/python`, the
  TF1 call quoted beside each).
"""

import itertools
import pathlib

import numpy as np
import pytest
import tensorflow as tf

import tfrnn
from tfrnn import seq2seq

GOLDEN = pathlib.Path(__file__).parent / "golden" / "tf115_seq2seq"
with np.load(GOLDEN / "tile_batch_gather_tree.npz") as _data:
    DATA = {key: _data[key] for key in _data.files}


def numpy_gather_tree(step_ids, parent_ids, max_sequence_lengths, end_token):
    """TF 1.15's GatherTree kernel: walk each beam's parents back from min(T, length) - 1;
    end_token after the length and after a beam's first end token."""
    max_time, batch_size, beam_width = step_ids.shape
    beams = np.full_like(step_ids, end_token)
    for batch, beam in itertools.product(range(batch_size), range(beam_width)):
        length = min(max_time, max_sequence_lengths[batch])
        parent = beam
        for time in reversed(range(max(length, 0))):
            beams[time, batch, beam] = step_ids[time, batch, parent]
            parent = parent_ids[time, batch, parent]
        ended = np.cumsum(beams[:length, batch, beam] == end_token) > 0
        ended = np.concatenate([[False], ended[:-1]]) if length > 0 else ended
        beams[:length, batch, beam][ended] = end_token
    return beams


def _transpose_batch_time(x):
    """TF's test helper: batch-major lists to time-major int32."""
    return np.transpose(x, [1, 0, 2]).astype(np.int32)


# ----- TF 1.15 golden -------------------------------------------------------------------------


def test_tile_batch_equals_tf115():
    np.testing.assert_array_equal(seq2seq.tile_batch(DATA["in:matrix"], 3), DATA["out:tile_batch.matrix"])
    np.testing.assert_array_equal(seq2seq.tile_batch(DATA["in:cube"], 3), DATA["out:tile_batch.cube"])
    state = seq2seq.tile_batch(tfrnn.LSTMStateTuple(DATA["in:c"], DATA["in:h"]), 3)
    assert isinstance(state, tfrnn.LSTMStateTuple)
    np.testing.assert_array_equal(state.c, DATA["out:tile_batch.state.c"])
    np.testing.assert_array_equal(state.h, DATA["out:tile_batch.state.h"])
    # Each entry 3 times in a row ([a, a, a, b, b, b]), not tf.tile's [a, b, a, b, a, b].
    np.testing.assert_array_equal(DATA["out:tile_batch.matrix"], [[1, 2]] * 3 + [[3, 4]] * 3)


@pytest.mark.parametrize("end_token, result", [(9, "out:gather_tree"), (0, "out:gather_tree.end_0")])
def test_gather_tree_equals_tf115(end_token, result):
    inputs = DATA["in:step_ids"], DATA["in:parent_ids"], DATA["in:max_sequence_lengths"]
    beams = seq2seq.gather_tree(*inputs, end_token)
    assert beams.dtype == tf.int32
    np.testing.assert_array_equal(beams, DATA[result])
    np.testing.assert_array_equal(numpy_gather_tree(*inputs, end_token), DATA[result])  # the reference, checked
    compiled = tf.function(lambda *args: seq2seq.gather_tree(*args, end_token), jit_compile=True)
    np.testing.assert_array_equal(compiled(*inputs), DATA[result])


def test_the_golden_exercises_crossing_parents_lengths_and_end_tokens():
    ends = DATA["out:gather_tree"]
    np.testing.assert_array_equal(DATA["in:max_sequence_lengths"], [6, 4])
    assert (ends[4:, 1] == 9).all() and (ends[:4, 1] != 9).any()  # past the length of entry 1
    assert (DATA["out:gather_tree"] != DATA["out:gather_tree.end_0"]).any()
    # A walk that crosses beams: entry 0, beam 0 does not read beam 0 all the way.
    assert (ends[:2, 0, 0] != DATA["in:step_ids"][:2, 0, 0]).any()


# ----- Ported from TF 1.15's beam_search_ops_test.py ------------------------------------------------------

ONE_STEP_IDS = _transpose_batch_time([[[1, 2, 3], [4, 5, 6], [7, 8, 9], [-1, -1, -1]]])
ONE_PARENT_IDS = _transpose_batch_time([[[0, 0, 0], [0, 1, 1], [2, 1, 2], [-1, -1, -1]]])


def test_tf_gather_tree_one():
    """`testGatherTreeOne`: max_time 4, batch 1, beam 3, length 3, end token 10."""
    beams = seq2seq.gather_tree(step_ids=ONE_STEP_IDS, parent_ids=ONE_PARENT_IDS, max_sequence_lengths=[3],
                                end_token=10)
    expected = _transpose_batch_time([[[2, 2, 2], [6, 5, 6], [7, 8, 9], [10, 10, 10]]])
    np.testing.assert_array_equal(beams, expected)


def test_tf_bad_parent_values():
    """`testBadParentValuesOnCPU`: TF 1.15's kernel raised `InvalidArgumentError: Saw invalid parent
    id -1 at (batch, time, beam) == (0, 0, 1)`; here a `ValueError` when eager."""
    parent_ids = _transpose_batch_time([[[0, 0, 0], [0, -1, 1], [2, 1, 2], [-1, -1, -1]]])
    with pytest.raises(ValueError, match=r"parent id outside \[0, beam_width\) = \[0, 3\).*range from -1 to 2"):
        seq2seq.gather_tree(ONE_STEP_IDS, parent_ids, [3], 10)


def test_tf_gather_tree_batch():
    """`testGatherTreeBatch`: random ids, lengths 0 to 11 over max_time 8, end token 5; TF's
    property checks, and the NumPy reference for every value."""
    batch_size, beam_width, max_time, end_token = 10, 15, 8, 5
    max_sequence_lengths = [0, 1, 2, 4, 7, 8, 9, 10, 11, 0]
    rng = np.random.default_rng(0)
    step_ids = rng.integers(0, end_token + 1, size=(max_time, batch_size, beam_width)).astype(np.int32)
    parent_ids = rng.integers(0, beam_width - 1, size=(max_time, batch_size, beam_width)).astype(np.int32)
    beams = seq2seq.gather_tree(step_ids, parent_ids, max_sequence_lengths, end_token)
    assert beams.shape == (max_time, batch_size, beam_width)
    beams = np.asarray(beams)
    for batch in range(batch_size):  # past max_sequence_lengths[b], all end tokens
        np.testing.assert_array_equal(beams[max_sequence_lengths[batch]:, batch], end_token)
    for batch, beam in itertools.product(range(batch_size), range(beam_width)):
        v = beams[:, batch, beam]
        if end_token in v:
            assert not (v == -1).any()
            found = np.where(v == end_token)[0][0]  # first end token: valid ids before, end tokens after
            assert (v[:found] >= 0).all()
            np.testing.assert_array_equal(v[found + 1:], end_token)
    np.testing.assert_array_equal(beams, numpy_gather_tree(step_ids, parent_ids, max_sequence_lengths, end_token))
    compiled = tf.function(lambda *args: seq2seq.gather_tree(*args, end_token), jit_compile=True)
    np.testing.assert_array_equal(compiled(step_ids, parent_ids, np.array(max_sequence_lengths, "int32")), beams)


# ----- Ported from TF 1.15's beam_search_decoder_test.py ---------------------------------------------------


def test_tf_test_gather_tree():
    """`TestGatherTree.test_gather_tree`: max_time 3, batch 2, beam 3, end token 11."""
    predicted_ids = np.array([[[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[2, 3, 4], [5, 6, 7], [8, 9, 10]]],
                             dtype=np.int32).transpose([1, 0, 2])
    parent_ids = np.array([[[0, 0, 0], [0, 1, 1], [2, 1, 2]], [[0, 0, 0], [1, 2, 0], [2, 1, 1]]],
                          dtype=np.int32).transpose([1, 0, 2])
    expected = np.array([[[2, 2, 2], [6, 5, 6], [7, 8, 9]], [[2, 4, 4], [7, 6, 6], [8, 9, 10]]]).transpose([1, 0, 2])
    beams = seq2seq.gather_tree(predicted_ids, parent_ids, max_sequence_lengths=[3, 3], end_token=11)
    np.testing.assert_array_equal(beams, expected)


def _gather_tree_from_array(array, parent_ids, sequence_length):
    """TF 1.15's `gather_tree_from_array` (the decoder's reordering of per-step values), written
    with the public `gather_tree`: walk the values with an end token they never hold, up to each
    entry's longest beam, and keep the value unchanged where t >= that beam's own length."""
    sequence_length = np.asarray(sequence_length)
    never = int(array.max()) + 1
    walked = np.asarray(seq2seq.gather_tree(array, parent_ids, sequence_length.max(axis=1), never))
    in_beam = np.arange(array.shape[0])[:, None, None] < sequence_length[None]
    return np.where(in_beam, walked, array)


def test_tf_gather_tree_from_array():
    """`_test_gather_tree_from_array` (depth 0): per-beam lengths [[3, 3, 3], [4, 4, 3]]; the -1
    parents of entry 0 at t = 3 are never walked."""
    array = np.array([[[1, 2, 3], [4, 5, 6], [7, 8, 9], [0, 0, 0]],
                      [[2, 3, 4], [5, 6, 7], [8, 9, 10], [11, 12, 0]]]).transpose([1, 0, 2]).astype(np.int32)
    parent_ids = np.array([[[0, 0, 0], [0, 1, 1], [2, 1, 2], [-1, -1, -1]],
                           [[0, 0, 0], [1, 1, 0], [2, 0, 1], [0, 1, 0]]]).transpose([1, 0, 2]).astype(np.int32)
    expected = np.array([[[2, 2, 2], [6, 5, 6], [7, 8, 9], [0, 0, 0]],
                         [[2, 3, 2], [7, 5, 7], [8, 9, 8], [11, 12, 0]]]).transpose([1, 0, 2])
    np.testing.assert_array_equal(_gather_tree_from_array(array, parent_ids, [[3, 3, 3], [4, 4, 3]]), expected)


def test_tf_gather_tree_from_array_complex_trajectory():
    """`test_gather_tree_from_array_complex_trajectory`: max_time 7, batch 1, beam 5."""
    array = np.array([[[25, 12, 114, 89, 97]], [[9, 91, 64, 11, 162]], [[34, 34, 34, 34, 34]], [[2, 4, 2, 2, 4]],
                      [[2, 3, 6, 2, 2]], [[2, 2, 2, 3, 2]], [[2, 2, 2, 2, 2]]], np.int32)
    parent_ids = np.array([[[0, 0, 0, 0, 0]], [[0, 0, 0, 0, 0]], [[0, 1, 2, 3, 4]], [[0, 0, 1, 2, 1]],
                           [[0, 1, 1, 2, 3]], [[0, 1, 3, 1, 2]], [[0, 1, 2, 3, 4]]], np.int32)
    expected = np.array([[[25, 25, 25, 25, 25]], [[9, 9, 91, 9, 9]], [[34, 34, 34, 34, 34]], [[2, 4, 2, 4, 4]],
                         [[2, 3, 6, 3, 6]], [[2, 2, 2, 3, 2]], [[2, 2, 2, 2, 2]]])
    np.testing.assert_array_equal(_gather_tree_from_array(array, parent_ids, [[4, 6, 4, 7, 6]]), expected)


def test_tf_decoder_test_tile_batch_calls():
    """`BeamSearchDecoderTest`'s `tile_batch` calls: a [5, 4, 7] memory fed through a
    placeholder of shape (None, None, 7), NumPy encoder lengths, an LSTMCell zero state."""
    rng = np.random.default_rng(1)
    inputs = rng.standard_normal((5, 4, 7)).astype(np.float32)
    tile = tf.function(lambda x: seq2seq.tile_batch(x, multiplier=3), input_signature=[tf.TensorSpec([None, None, 7])])
    assert tile.get_concrete_function().structured_outputs.shape.as_list() == [None, None, 7]  # as TF1's set_shape
    np.testing.assert_array_equal(tile(inputs), np.repeat(inputs, 3, axis=0))
    lengths = seq2seq.tile_batch(np.array([3, 2, 3, 1, 1]), multiplier=3)
    np.testing.assert_array_equal(lengths, [3, 3, 3, 2, 2, 2, 3, 3, 3, 1, 1, 1, 1, 1, 1])
    state = seq2seq.tile_batch(tfrnn.LSTMCell(9).zero_state(5, tf.float32), multiplier=3)
    assert isinstance(state, tfrnn.LSTMStateTuple) and state.c.shape == (15, 9) and state.h.shape == (15, 9)
    np.testing.assert_array_equal(state.h, np.zeros((15, 9)))


# ----- gather_tree: TF 1.15's behaviours --------------------------------------------------------------------------


def test_gather_tree_end_token_met_on_a_walk():
    """TF 1.15: `gather_tree(ids, parents, [3], 5)` and `(..., 2)`: every step after a beam's first
    end token is the end token; an end token at t = 0 ends every beam that walks to it."""
    beams = seq2seq.gather_tree(ONE_STEP_IDS, ONE_PARENT_IDS, [3], 5)
    np.testing.assert_array_equal(beams[:, 0], [[2, 2, 2], [6, 5, 6], [7, 5, 9], [5, 5, 5]])
    np.testing.assert_array_equal(seq2seq.gather_tree(ONE_STEP_IDS, ONE_PARENT_IDS, [3], 2)[:, 0], np.full((4, 3), 2))


def test_gather_tree_lengths_outside_zero_to_max_time():
    """Lengths <= 0: all end tokens; lengths > max_time: max_time (TF 1.15's kernel clamps)."""
    step_ids, parent_ids = ONE_STEP_IDS[:3], ONE_PARENT_IDS[:3]  # max_time 3, valid parents everywhere
    batch = lambda x: np.concatenate([x] * 3, axis=1)  # noqa: E731
    beams = np.asarray(seq2seq.gather_tree(batch(step_ids), batch(parent_ids), [0, -2, 9], 10))
    np.testing.assert_array_equal(beams[:, :2], np.full((3, 2, 3), 10))
    np.testing.assert_array_equal(beams[:, 2], [[2, 2, 2], [6, 5, 6], [7, 8, 9]])


def test_gather_tree_empty_time_and_beam():
    """TF 1.15 returned empty results for max_time 0 and beam_width 0."""
    assert seq2seq.gather_tree(np.zeros((0, 1, 3), "int32"), np.zeros((0, 1, 3), "int32"), [3], 10).shape == (0, 1, 3)
    assert seq2seq.gather_tree(np.zeros((2, 1, 0), "int32"), np.zeros((2, 1, 0), "int32"), [2], 10).shape == (2, 1, 0)


def test_gather_tree_dtypes():
    """TF 1.15's op took int32 ids only (int32 or int64 lengths); int64 ids work here and keep their dtype."""
    expected = seq2seq.gather_tree(ONE_STEP_IDS, ONE_PARENT_IDS, [3], 10)
    beams = seq2seq.gather_tree(ONE_STEP_IDS.astype("int64"), ONE_PARENT_IDS.astype("int64"),
                                np.array([3], "int64"), np.int64(10))
    assert beams.dtype == tf.int64
    np.testing.assert_array_equal(beams, expected)


def test_gather_tree_parent_equal_to_beam_width_is_rejected():
    """TF 1.15's kernel only rejected parents < 0 or > beam_width: a parent == beam_width read
    outside the beam (it returned `[[2, 4, 2], ...]` here, the 4 from another step)."""
    parent_ids = _transpose_batch_time([[[0, 0, 0], [0, 3, 1], [2, 1, 2], [-1, -1, -1]]])
    with pytest.raises(ValueError, match=r"outside \[0, beam_width\) = \[0, 3\)"):
        seq2seq.gather_tree(ONE_STEP_IDS, parent_ids, [3], 10)


def test_gather_tree_traced_checks_and_xla_clamping():
    """In a traced graph with unknown shapes the checks run with the graph (`InvalidArgumentError`,
    as TF 1.15's kernel raised); under XLA, where assertions are dropped, a walked parent outside
    the beam is clamped to [0, beam_width)."""
    ids_spec = tf.TensorSpec([None, None, None], tf.int32)
    run = tf.function(lambda s, p, n: seq2seq.gather_tree(s, p, n, 10),
                      input_signature=[ids_spec, ids_spec, tf.TensorSpec([None], tf.int32)])
    np.testing.assert_array_equal(run(ONE_STEP_IDS, ONE_PARENT_IDS, tf.constant([3])),
                                  seq2seq.gather_tree(ONE_STEP_IDS, ONE_PARENT_IDS, [3], 10))
    bad_parents = np.where(ONE_PARENT_IDS == 1, 7, ONE_PARENT_IDS).astype(np.int32)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"met a parent id outside \[0, beam_width\)"):
        run(ONE_STEP_IDS, bad_parents, tf.constant([3]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="step_ids.shape must match parent_ids.shape"):
        run(ONE_STEP_IDS, ONE_PARENT_IDS[:3], tf.constant([3]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="max_sequence_lengths.shape.0. must match"):
        run(ONE_STEP_IDS, ONE_PARENT_IDS, tf.constant([3, 3]))
    step_ids = np.arange(6, dtype=np.int32).reshape(2, 1, 3)
    compiled = tf.function(lambda s, p: seq2seq.gather_tree(s, p, [2], 10), jit_compile=True)
    np.testing.assert_array_equal(compiled(step_ids, np.full((2, 1, 3), 5, np.int32))[:, 0], [[2, 2, 2], [3, 4, 5]])


# ----- tile_batch: TF 1.15's behaviours ---------------------------------------------------------------------------


def test_tile_batch_nested_structures():
    """TF 1.15 (`tile_batch({"a": m, "b": (m[:, 0], [m])}, 2)`): every tensor of any nest is tiled,
    the structure kept; an empty tuple stays empty; string and bool tensors tile too."""
    m = np.array([[1, 2], [3, 4]], "int32")
    tiled = seq2seq.tile_batch({"a": m, "b": (m[:, 0], [m])}, 2)
    assert isinstance(tiled, dict) and isinstance(tiled["b"], tuple) and isinstance(tiled["b"][1], list)
    np.testing.assert_array_equal(tiled["a"], [[1, 2], [1, 2], [3, 4], [3, 4]])
    np.testing.assert_array_equal(tiled["b"][0], [1, 1, 3, 3])
    np.testing.assert_array_equal(tiled["b"][1][0], tiled["a"])
    assert seq2seq.tile_batch((), 2) == ()
    np.testing.assert_array_equal(seq2seq.tile_batch(np.array(["a", "b"]), 2), [b"a", b"a", b"b", b"b"])
    np.testing.assert_array_equal(seq2seq.tile_batch(np.array([True, False]), 2), [True, True, False, False])
    np.testing.assert_array_equal(seq2seq.tile_batch(m, np.int64(2)), tiled["a"])  # a NumPy int multiplier
    assert seq2seq.tile_batch(m, 1).shape == (2, 2)


def test_tile_batch_gradient_sums_the_copies():
    """TF 1.15: `tf.gradients(tile_batch(x, 3), x, grad_ys=r)` with x [2, 3] and r = arange(18)/10
    reshaped [6, 3] gave [[0.9, 1.2, 1.5], [3.6, 3.9, 4.2]]: each entry's gradient is the sum over
    its copies."""
    x = tf.constant(np.arange(6, dtype="float32").reshape(2, 3))
    r = np.arange(18, dtype="float32").reshape(6, 3) / 10
    with tf.GradientTape() as tape:
        tape.watch(x)
        tiled = seq2seq.tile_batch(x, 3)
    gradient = tape.gradient(tiled, x, output_gradients=tf.constant(r))
    np.testing.assert_allclose(gradient, [[0.9, 1.2, 1.5], [3.6, 3.9, 4.2]], rtol=1e-6)
    compiled = tf.function(lambda t: seq2seq.tile_batch(t, 3), jit_compile=True)
    np.testing.assert_array_equal(compiled(x), tiled)
