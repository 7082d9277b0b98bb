"""The loop kit's own behaviour: selecting (never multiplying) finished rows and padding,
the lengths check, and the small helpers every loop shares."""

import numpy as np
import pytest
import tensorflow as tf

import tfrnn
from tfrnn import loop_kit

GARBAGE = [np.nan, np.inf, -np.inf]


@pytest.mark.parametrize("garbage", GARBAGE)
def test_copy_through_selects_so_garbage_reaches_neither_value_nor_gradient(garbage):
    finished = tf.constant([True, False])
    old = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    new = tf.constant([[garbage, garbage], [5.0, 6.0]])
    with tf.GradientTape() as tape:
        tape.watch([old, new])
        kept = loop_kit.copy_through(finished, old, new)
        loss = tf.reduce_sum(kept * 2.0)
    d_old, d_new = tape.gradient(loss, [old, new])
    np.testing.assert_array_equal(kept, [[1, 2], [5, 6]])
    np.testing.assert_array_equal(d_old, [[2, 2], [0, 0]])
    np.testing.assert_array_equal(d_new, [[0, 0], [2, 2]])  # exactly zero where garbage was not taken


def test_copy_through_broadcasts_over_trailing_axes_and_adds_no_op_when_ranks_agree():
    finished = tf.constant([[True], [False]])  # [B, 1]
    old, new = tf.zeros((2, 3)), tf.ones((2, 3))
    np.testing.assert_array_equal(loop_kit.copy_through(tf.constant([True, False]), old, new), [[0] * 3, [1] * 3])
    graph = tf.function(loop_kit.copy_through).get_concrete_function(finished, old, new).graph
    assert [op.type for op in graph.get_operations() if op.type not in ("Placeholder", "Identity")] == ["SelectV2"]


def test_copy_through_gives_scalars_and_tensor_arrays_the_new_value():
    """They have no rows: TF1 takes the new value, as for a step counter in a state."""
    finished = tf.constant([True, False])
    assert float(loop_kit.copy_through(finished, tf.constant(1.0), tf.constant(2.0))) == 2.0
    array = tf.TensorArray(tf.float32, size=1)
    assert loop_kit.copy_through(finished, tf.TensorArray(tf.float32, size=1), array) is array


def test_finished_steps_and_empty_rows():
    lengths = tf.constant([3, 1, 0])
    np.testing.assert_array_equal(
        loop_kit.finished_steps(lengths, 3), [[False, False, True], [False, True, True], [False, True, True]]
    )
    np.testing.assert_array_equal(loop_kit.empty_rows(lengths), [False, False, True])


@pytest.mark.parametrize("garbage", GARBAGE)
def test_zero_where_zeros_the_padding_of_time_major_inputs_with_a_zero_gradient(garbage):
    lengths = tf.constant([2, 0])
    x = np.arange(12, dtype="float32").reshape(3, 2, 2)  # [T, B, D]
    x[2, 0] = x[:, 1] = garbage
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        zeroed = loop_kit.zero_where(loop_kit.finished_steps(lengths, 3), x)
        loss = tf.reduce_sum(zeroed)
    np.testing.assert_array_equal(zeroed[:, 1], np.zeros((3, 2)))
    np.testing.assert_array_equal(zeroed[:, 0], [[0, 1], [4, 5], [0, 0]])
    np.testing.assert_array_equal(tape.gradient(loss, x)[:, 0], [[1, 1], [1, 1], [0, 0]])


def test_zero_where_takes_nested_values_numpy_arrays_and_leaves_tensor_arrays():
    array = tf.TensorArray(tf.float32, size=1)
    got = loop_kit.zero_where(tf.constant([True, False]), (np.ones((2, 2), "float32"), array))
    np.testing.assert_array_equal(got[0], [[0, 0], [1, 1]])
    assert got[1] is array


def test_take_initial_returns_the_initial_state_of_the_rows_as_given_nan_included():
    final = tfrnn.LSTMStateTuple(tf.ones((2, 2), tf.float16), tf.ones((2, 2), tf.float16))
    initial = tfrnn.LSTMStateTuple(tf.fill((2, 2), np.nan), tf.fill((2, 2), 7.0))  # float32: cast to the loop's dtype
    got = loop_kit.take_initial(tf.constant([True, False]), final, initial)
    assert isinstance(got, tfrnn.LSTMStateTuple) and got.c.dtype == tf.float16
    np.testing.assert_array_equal(got.c, [[np.nan, np.nan], [1, 1]])
    np.testing.assert_array_equal(got.h, [[7, 7], [1, 1]])


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "uint64"])
def test_lengths_of_any_integer_dtype_come_back_int32(dtype):
    lengths = loop_kit.check_sequence_length(np.array([3, 0], dtype), 2, 3)
    assert lengths.dtype == tf.int32 and lengths.numpy().tolist() == [3, 0]


@pytest.mark.parametrize(
    ("lengths", "match"),
    [([-2, 1, 9], r"but rows \[0\] are negative and rows \[2\] exceed it \(sequence_length=\[-2, 1, 9\]\)"),
     ([-2, 1, -1], r"but rows \[0, 2\] are negative \(sequence_length"),
     ([5, 1, 9], r"but rows \[0, 2\] exceed it \(sequence_length"),
     (np.array([2**31, 1, 2**32 + 1]), r"but rows \[0, 2\] exceed it \(sequence_length=\[2147483648, 1, 4294967297\]")],
)
def test_lengths_out_of_range_name_only_the_wrong_rows_before_any_cast(lengths, match):
    with pytest.raises(ValueError, match=match) as error:
        loop_kit.check_sequence_length(lengths, 3, 4)
    assert "[]" not in str(error.value)


@pytest.mark.parametrize("lengths", [[2.7, 4.9], np.array([2.0, 1.0]), ["3", "2"], [True, False]])
def test_lengths_that_are_not_integers_are_refused_not_truncated(lengths):
    with pytest.raises(TypeError, match="sequence_length must hold integers.*Pass int32 lengths"):
        loop_kit.check_sequence_length(lengths, 2, 5)


def test_symbolic_lengths_are_checked_when_the_loop_runs_with_the_eager_wording():
    check = tf.function(lambda n: loop_kit.check_sequence_length(n, tf.size(n), 4), input_signature=[tf.TensorSpec([None], tf.int64)])
    np.testing.assert_array_equal(check(tf.constant([4, 0], tf.int64)), [4, 0])
    for lengths, only in (([-1, 2], r"\[but rows\] \[0\] \[are negative\] \[\(sequence_length:\]"),
                          ([1, 2**32 + 2], r"\[but rows\] \[1\] \[exceed it\] \[\(sequence_length:\]")):
        with pytest.raises(tf.errors.InvalidArgumentError, match=only):
            check(tf.constant(lengths, tf.int64))


def test_check_sequence_inputs_returns_static_sizes_or_tensors():
    assert loop_kit.check_sequence_inputs([tf.zeros((2, 5, 3))], time_major=False) == (5, 2)
    unknown = tf.function(
        lambda x: loop_kit.check_sequence_inputs([x], time_major=True)[0], input_signature=[tf.TensorSpec([None, 2, 3])]
    )
    assert int(unknown(tf.zeros((7, 2, 3)))) == 7


def test_ids_hint_only_for_integers_of_the_ids_rank():
    assert "embed your ids first" in loop_kit.ids_hint(tf.zeros((2, 5), tf.int32), 2)
    assert loop_kit.ids_hint(tf.zeros((2, 5)), 2) == "" and loop_kit.ids_hint(tf.zeros((2, 5, 1), tf.int32), 2) == ""


def test_show_gives_values_of_concrete_tensors_and_cuts_long_ones():
    assert loop_kit.show(tf.constant([1, 2])) == "[1, 2]"
    assert len(loop_kit.show(list(range(1000)))) == 80
    shown = []
    tf.function(lambda x: shown.append(loop_kit.show(x))).get_concrete_function(tf.TensorSpec([None], tf.int32))
    assert shown == ["a symbolic int32 tensor of shape (None,)"]


@pytest.mark.parametrize(
    ("initial_state", "dtype", "match"),
    [(None, tf.float64, "dtype=float64, but the inputs are float32.*pass dtype=tf.float32.*tf.cast\\(x, tf.float64\\)"),
     (None, "float16", "dtype=float16, but the inputs are float32"),
     (np.zeros((2, 3)), None, "initial_state has dtype float64, but the inputs are float32.*cast the state to float32")],
)
def test_a_state_dtype_other_than_the_inputs_is_refused(initial_state, dtype, match):
    with pytest.raises(ValueError, match=match):
        loop_kit.check_initial_state(tfrnn.GRUCell(3), initial_state, 2, dtype, tf.float32)


def test_integer_inputs_of_an_id_reading_cell_take_any_state_dtype():
    assert loop_kit.check_initial_state(tfrnn.GRUCell(3), None, 2, tf.float32, tf.int32) is None


def test_carry_state_keeps_any_rank_and_passes_scalars_and_tensor_arrays():
    """TF1's copy-through for every state leaf: rows of any rank, a scalar and a TensorArray take the new value."""
    finished = tf.constant([True, False])
    old, new = tf.zeros((2, 3, 4, 5), tf.float64), tf.ones((2, 3, 4, 5), tf.float32)
    kept = loop_kit.carry_state(finished, old, new)
    assert kept.dtype == tf.float32 and kept.shape == (2, 3, 4, 5)
    np.testing.assert_array_equal(kept[:, 0, 0, 0], [0, 1])
    assert int(loop_kit.carry_state(finished, tf.constant(3), tf.constant(4))) == 4
    array = tf.TensorArray(tf.float32, size=1)
    assert loop_kit.carry_state(finished, tf.TensorArray(tf.float32, size=1), array) is array


def test_set_leading_shape_gives_back_the_static_time_and_batch():
    def run(x):
        outputs = tf.reshape(x, [-1, tf.shape(x)[1], 3])  # [None, 2, 3] as a fused loop's stack
        return loop_kit.set_leading_shape({"out": outputs, "scalar": tf.constant(1.0)}, [8, 2])

    graph = tf.function(run).get_concrete_function(tf.TensorSpec([8, 2, 3]))
    assert graph.structured_outputs["out"].shape.as_list() == [8, 2, 3]
    assert graph.structured_outputs["scalar"].shape.rank == 0
    wrong = tf.zeros((3, 2, 3))  # leaves whose sizes disagree are left alone
    assert loop_kit.set_leading_shape(wrong, [8, 2]).shape == (3, 2, 3)
