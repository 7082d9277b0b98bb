"""The bad-input table's rows for the loops: `dynamic_rnn`, `static_rnn`, `raw_rnn` and the
bidirectional and stacked loops (see `bad_input.py` for what a row is).

Every public loop has at least a wrong-type, a wrong-rank and a wrong-structure row. Each
row's setup returns the cells it uses, so the table proves that a rejected call created
and changed no weight (an unbuilt cell stays unbuilt). Where an error can only come while
a traced loop runs (symbolic lengths) or after the first step (raw_rnn's later steps),
the setup builds the cell first, and the table proves its weights unchanged.
"""

import numpy as np
import tensorflow as tf

import tfrnn
from bad_input import Row

X = np.zeros((2, 4, 3), "float32")  # [batch, time, depth]
STEPS = list(X.transpose(1, 0, 2))  # 4 steps of [batch, depth]
VECTOR_STEPS = [np.zeros(3, "float32")] * 4  # rank 1: no batch axis
LSTM_STATE = tfrnn.LSTMStateTuple(np.zeros((2, 2), "float32"), np.zeros((2, 2), "float32"))


def cells(**makers):
    """A setup that makes fresh cells: `cells(cell=lambda: GRUCell(2))` -> `{"cell": GRUCell(2)}`."""
    return lambda tmp_path: {name: make() for name, make in makers.items()}


def gru():
    return tfrnn.GRUCell(2)


def lstm():
    return tfrnn.BasicLSTMCell(2)


def dynamic(cell_maker=gru, **kwargs):
    """A row call and setup: `dynamic_rnn(env["cell"], **kwargs)` (inputs X and dtype float32 unless given)."""
    arguments = {"inputs": X, "dtype": tf.float32, **kwargs}
    return dict(call=lambda env: tfrnn.dynamic_rnn(env["cell"], **arguments), setup=cells(cell=cell_maker))


def static(cell_maker=gru, **kwargs):
    arguments = {"inputs": STEPS, "dtype": tf.float32, **kwargs}
    return dict(call=lambda env: tfrnn.static_rnn(env["cell"], **arguments), setup=cells(cell=cell_maker))


def bidirectional(function, inputs, fw=gru, bw=gru, **kwargs):
    """`function(cell_fw, cell_bw, inputs, dtype=tf.float32, **kwargs)`."""
    arguments = {"dtype": tf.float32, **kwargs}
    run = getattr(tfrnn, function)
    return dict(
        call=lambda env: run(env["cell_fw"], env["cell_bw"], inputs, **arguments),
        setup=cells(cell_fw=fw, cell_bw=bw),
    )


def stacked(function, inputs, layers=2, bw=gru, **kwargs):
    """`function(cells_fw, cells_bw, inputs, dtype=tf.float32, **kwargs)` over `layers` GRU layers; the last backward cell from `bw`."""
    arguments = {"dtype": tf.float32, **kwargs}
    run = getattr(tfrnn, function)
    setup = lambda tmp_path: {  # noqa: E731
        "cells_fw": [gru() for _ in range(layers)], "cells_bw": [gru() for _ in range(layers - 1)] + [bw()],
    }
    return dict(call=lambda env: run(env["cells_fw"], env["cells_bw"], inputs, **arguments), setup=setup)


def symbolic_lengths(lengths_dtype=tf.int32):
    """A built GRU cell and `run(x, lengths)`: dynamic_rnn traced with unknown batch and lengths."""
    def setup(tmp_path):
        cell = gru()
        signature = [tf.TensorSpec([None, 4, 3]), tf.TensorSpec([None], lengths_dtype)]
        run = tf.function(
            lambda x, n: tfrnn.dynamic_rnn(cell, x, sequence_length=n, dtype=tf.float32)[0], input_signature=signature
        )
        if lengths_dtype.is_integer:
            run(X, tf.constant([4, 1], lengths_dtype))  # builds the cell: the bad call must leave its weights
        return {"cell": cell, "run": run}

    return setup


def loop_fn_returning(*, at_start, later=None, batch=2, depth=3):
    """A raw_rnn loop_fn: `at_start(zeros_input, lstm_or_gru_state_fn)` at time 0, `later(...)` after (default: finished)."""
    def loop_fn(time, cell_output, cell_state, loop_state):
        if cell_output is None:
            return at_start(tf.zeros([batch, depth]))
        if later is not None:
            return later(tf.zeros([batch, depth]), cell_output, cell_state)
        return tf.fill([batch], True), tf.zeros([batch, depth]), cell_state, None, None

    return loop_fn


def raw(loop_fn, cell_maker=gru, built=False):
    def setup(tmp_path):
        cell = cell_maker()
        if built:  # the error comes after a first step; the cell must be as it was
            cell(X[:, 0], cell.zero_state(2, tf.float32))
        return {"cell": cell}

    return dict(call=lambda env: tfrnn.raw_rnn(env["cell"], loop_fn), setup=setup)


NOT_FINISHED = tf.zeros([2], tf.bool)

ROWS = [
    # dynamic_rnn ---------------------------------------------------------------------------
    Row("dynamic_rnn-cell-is-a-string", lambda env: tfrnn.dynamic_rnn("gru", X, dtype=tf.float32), TypeError,
        r"The argument 'cell' \('gru'\) is not an RNNCell"),
    Row("dynamic_rnn-inputs-is-a-string", **dynamic(inputs="abc"), error=TypeError,
        match=r"inputs must be a float tensor, but received a string tensor of shape \(\)"),
    Row("dynamic_rnn-inputs-is-none", **dynamic(inputs=None), error=TypeError,
        match=r"inputs must be a \[batch, time, depth\] float tensor .*received None"),
    Row("dynamic_rnn-inputs-of-rank-2", **dynamic(inputs=X[0]), error=ValueError,
        match=r"Shape \(4, 3\) must have rank at least 3: the loops expect \[batch, time, depth\]"),
    Row("dynamic_rnn-inputs-a-list-of-steps", **dynamic(inputs=STEPS), error=ValueError,
        match=r"list of 4 tensors of shape \(2, 3\): static_rnn's inputs.*tf.stack\(steps, axis=1\)"),
    Row("dynamic_rnn-integer-ids-of-rank-2", **dynamic(inputs=np.zeros((2, 4), "int32")), error=ValueError,
        match=r"Shape \(2, 4\) must have rank at least 3.*integer ids \(int32\): embed your ids first"),
    Row("dynamic_rnn-integer-inputs", **dynamic(inputs=np.zeros((2, 4, 3), "int32")), error=ValueError,
        match="only supports floating point inputs, but received dtype: <dtype: 'int32'>"),
    Row("dynamic_rnn-nested-inputs-of-two-batch-sizes", **dynamic(inputs=(X, X[:1])), error=ValueError,
        match=r"Nested inputs must share time and batch, but received shapes \(2, 4, 3\) and \(1, 4, 3\)"),
    Row("dynamic_rnn-unknown-depth", error=ValueError, match=r"Input size \(depth of inputs\) must be accessible",
        setup=cells(cell=gru), call=lambda env: tf.function(
            lambda x: tfrnn.dynamic_rnn(env["cell"], x, dtype=tf.float32),
            input_signature=[tf.TensorSpec([None, None, None])])(X)),
    Row("dynamic_rnn-no-dtype-nor-initial-state", **dynamic(dtype=None), error=ValueError,
        match="If no initial_state is provided, argument `dtype` must be specified"),
    Row("dynamic_rnn-dtype-float64-for-float32-inputs", **dynamic(dtype=tf.float64), error=ValueError,
        match=r"dtype=float64, but the inputs are float32: float32 inputs would meet a float64 state.*"
              r"TF 1.15 raised.*pass dtype=tf.float32"),
    Row("dynamic_rnn-initial-state-float64-for-float32-inputs",
        **dynamic(initial_state=np.zeros((2, 2)), dtype=None), error=ValueError,
        match="initial_state has dtype float64, but the inputs are float32.*cast the state to float32"),
    Row("dynamic_rnn-initial-state-of-two-dtypes",
        **dynamic(lstm, initial_state=tfrnn.LSTMStateTuple(np.zeros((2, 2), "float32"), np.zeros((2, 2))), dtype=None),
        error=ValueError, match=r"one dtype, but received \['float32', 'float64'\]"),
    Row("dynamic_rnn-initial-state-a-tensor-for-an-lstm", **dynamic(lstm, initial_state=np.zeros((2, 2), "float32")),
        error=ValueError, match="a single tensor where a tuple of 2 was expected"),
    Row("dynamic_rnn-initial-state-with-three-layers-for-two",
        **dynamic(lambda: tfrnn.MultiRNNCell([gru(), gru()]), initial_state=(np.zeros((2, 2), "float32"),) * 3),
        error=ValueError, match="3 parts where 2 were expected"),
    Row("dynamic_rnn-initial-state-of-another-batch", **dynamic(initial_state=np.zeros((3, 2), "float32")),
        error=ValueError, match="batch size 3 but the inputs' batch size is 2"),
    Row("dynamic_rnn-initial-state-is-a-string", **dynamic(initial_state="zeros"), error=TypeError,
        match="initial_state must be a float tensor, but received a string tensor"),
    Row("dynamic_rnn-sequence-length-floats", **dynamic(sequence_length=[2.7, 3.9]), error=TypeError,
        match=r"sequence_length must hold integers, but received sequence_length=\[2.7, 3.9\] of dtype float32. "
              r"Pass int32 lengths.*TF1 truncated floats"),
    Row("dynamic_rnn-sequence-length-strings", **dynamic(sequence_length=["3", "2"]), error=TypeError,
        match=r"must hold integers, but received sequence_length=\['3', '2'\] of dtype string. Pass int32 lengths"),
    Row("dynamic_rnn-sequence-length-bools", **dynamic(sequence_length=np.array([True, False])), error=TypeError,
        match="must hold integers.*of dtype bool"),
    Row("dynamic_rnn-sequence-length-is-a-dict", **dynamic(sequence_length={"a": 3}), error=TypeError,
        match=r"sequence_length must be a \[batch\] vector of int32 lengths.*received \{'a': 3\} \(dict\)"),
    Row("dynamic_rnn-sequence-length-int64-beyond-int32",
        **dynamic(sequence_length=np.array([2**32 + 2, 1], "int64")), error=ValueError,
        match=r"must lie in \[0, 4\].*but rows \[0\] exceed it \(sequence_length=\[4294967298, 1\]\)"),
    Row("dynamic_rnn-sequence-length-negative", **dynamic(sequence_length=[-1, 2]), error=ValueError,
        match=r"but rows \[0\] are negative \(sequence_length=\[-1, 2\]\)"),
    Row("dynamic_rnn-sequence-length-beyond-time", **dynamic(sequence_length=[2, 7]), error=ValueError,
        match=r"must lie in \[0, 4\] \(the time dimension\), but rows \[1\] exceed it \(sequence_length=\[2, 7\]\)"),
    Row("dynamic_rnn-sequence-length-negative-and-beyond-time", **dynamic(sequence_length=[-1, 7]), error=ValueError,
        match=r"but rows \[0\] are negative and rows \[1\] exceed it"),
    Row("dynamic_rnn-sequence-length-a-matrix", **dynamic(sequence_length=[[1, 2]]), error=ValueError,
        match=r"must be a vector of length batch_size.*shape: \(1, 2\)"),
    Row("dynamic_rnn-sequence-length-of-another-batch", **dynamic(sequence_length=[1, 2, 3]), error=ValueError,
        match=r"must be a vector of length batch_size \(2\), but it has 3 entries"),
    Row("dynamic_rnn-symbolic-sequence-length-floats", setup=symbolic_lengths(tf.float32), error=TypeError,
        call=lambda env: env["run"](X, tf.constant([2.0, 3.0])), match="must hold integers.*float32"),
    Row("dynamic_rnn-symbolic-sequence-length-beyond-time", setup=symbolic_lengths(), error=tf.errors.InvalidArgumentError,
        call=lambda env: env["run"](np.zeros((3, 4, 3), "float32"), tf.constant([2, 9, 1])),
        match=r"\[but rows\] \[1\] \[exceed it\] \[\(sequence_length:\] \[2 9 1\]"),
    Row("dynamic_rnn-symbolic-sequence-length-negative-and-beyond-time", setup=symbolic_lengths(),
        call=lambda env: env["run"](np.zeros((3, 4, 3), "float32"), tf.constant([2, 9, -1])),
        error=tf.errors.InvalidArgumentError, match=r"\[but rows\] \[2\] \[are negative and rows\] \[1\] \[exceed it\]"),
    Row("dynamic_rnn-symbolic-sequence-length-of-another-batch", setup=symbolic_lengths(),
        call=lambda env: env["run"](np.zeros((3, 4, 3), "float32"), tf.constant([2, 3])),
        error=tf.errors.InvalidArgumentError, match="one entry per batch row"),
    # static_rnn ----------------------------------------------------------------------------
    Row("static_rnn-inputs-a-tensor", **static(inputs=X), error=TypeError,
        match=r"`inputs` must be a sequence.*received ndarray.*use dynamic_rnn or tf.unstack\(x, axis=1\)"),
    Row("static_rnn-inputs-a-dict", **static(inputs={"x": X}), error=TypeError,
        match="`inputs` must be a sequence.*received dict"),
    Row("static_rnn-inputs-empty", **static(inputs=[]), error=ValueError, match="must not be empty"),
    Row("static_rnn-steps-are-strings", **static(inputs=["a", "b"]), error=TypeError,
        match="static_rnn's inputs must be a float tensor, but received a string tensor"),
    Row("static_rnn-steps-of-rank-1", **static(inputs=VECTOR_STEPS), error=ValueError,
        match=r"each step as a \[batch, depth\] tensor, but steps \[0, 1, 2, 3\] have shape \(3,\)"),
    Row("static_rnn-integer-id-steps", **static(inputs=[np.zeros(2, "int32")] * 4), error=ValueError,
        match=r"steps \[0, 1, 2, 3\] have shape \(2,\).*embed your ids first"),
    Row("static_rnn-steps-of-two-shapes",
        **static(inputs=STEPS[:2] + [np.zeros((2, 5), "float32"), STEPS[3], np.zeros((2, 5), "float32")]),
        error=ValueError, match=r"step 0 has shape \(2, 3\) and steps \[2, 4\] have shape \(2, 5\)\. Pad or slice"),
    Row("static_rnn-steps-of-two-structures", **static(inputs=STEPS[:2] + [(STEPS[2], STEPS[2])] + STEPS[3:]),
        error=ValueError, match=r"steps must share one structure, but step 0 is '\*' and steps \[2\] are not"),
    Row("static_rnn-initial-state-a-tensor-for-an-lstm", **static(lstm, initial_state=np.zeros((2, 2), "float32")),
        error=ValueError, match="a single tensor where a tuple of 2 was expected"),
    Row("static_rnn-sequence-length-floats", **static(sequence_length=[2.5, 1.0]), error=TypeError,
        match="sequence_length must hold integers"),
    Row("static_rnn-sequence-length-beyond-time", **static(sequence_length=[5, 4]), error=ValueError,
        match=r"must lie in \[0, 4\].*but rows \[0\] exceed it \("),
    Row("static_rnn-dtype-float64-for-float32-inputs", **static(dtype=tf.float64), error=ValueError,
        match="dtype=float64, but the inputs are float32"),
    Row("static_rnn-no-dtype-nor-initial-state", **static(dtype=None), error=ValueError,
        match="argument `dtype` must be specified"),
    # raw_rnn -------------------------------------------------------------------------------
    Row("raw_rnn-cell-is-a-string", lambda env: tfrnn.raw_rnn("gru", lambda *args: None), TypeError,
        "is not an RNNCell"),
    Row("raw_rnn-loop-fn-is-a-string", **raw("loop_fn"), error=TypeError,
        match=r"loop_fn must be a callable, but received 'loop_fn' \(str\)"),
    Row("raw_rnn-loop-fn-returns-4-values",
        **raw(loop_fn_returning(at_start=lambda x: (NOT_FINISHED, x, tf.zeros((2, 2)), None))),
        error=ValueError, match=r"loop_fn must return the 5 values TF1's raw_rnn expects, \(finished, next_input, "
                                r"next_cell_state, emit_output, next_loop_state\), but it returned 4 values"),
    Row("raw_rnn-loop-fn-returns-a-tensor", **raw(loop_fn_returning(at_start=lambda x: x)), error=TypeError,
        match=r"must return the 5 values.*but it returned \[\[0.0, 0.0, 0.0\], \[0.0, 0.0, 0.0\]\] \(EagerTensor\)"),
    Row("raw_rnn-loop-fn-returns-6-values-later", error=ValueError, match="but it returned 6 values",
        **raw(loop_fn_returning(at_start=lambda x: (NOT_FINISHED, x, tf.zeros((2, 2)), None, None),
                                later=lambda x, out, state: (NOT_FINISHED, x, state, None, None, None)), built=True)),
    Row("raw_rnn-finished-not-bool",
        **raw(loop_fn_returning(at_start=lambda x: (tf.zeros([2], tf.int32), x, tf.zeros((2, 2)), None, None))),
        error=TypeError, match=r"finished must be a \[batch\] bool tensor.*int32 tensor of shape \(2,\)"),
    Row("raw_rnn-next-input-of-rank-1",
        **raw(loop_fn_returning(at_start=lambda x: (NOT_FINISHED, x[0], tf.zeros((2, 2)), None, None))),
        error=ValueError, match=r"next_input must be \[batch, depth\].*at time 0 it returned shape \(3,\)"),
    Row("raw_rnn-next-input-is-a-string",
        **raw(loop_fn_returning(at_start=lambda x: (NOT_FINISHED, "x", tf.zeros((2, 2)), None, None))),
        error=TypeError, match="next_input must be a float tensor, but received a string tensor"),
    Row("raw_rnn-initial-state-a-tensor-for-an-lstm",
        **raw(loop_fn_returning(at_start=lambda x: (NOT_FINISHED, x, tf.zeros((2, 2)), None, None)), lstm),
        error=ValueError, match="a single tensor where a tuple of 2 was expected"),
    Row("raw_rnn-initial-state-none",
        **raw(loop_fn_returning(at_start=lambda x: (NOT_FINISHED, x, None, None, None))),
        error=ValueError, match="loop_fn must return the initial cell state as next_cell_state at time 0"),
    Row("raw_rnn-emit-output-changes-structure", error=ValueError,
        match=r"emit_output must keep one structure",
        **raw(loop_fn_returning(at_start=lambda x: (NOT_FINISHED, x, tf.zeros((2, 2)), None, None),
                                later=lambda x, out, state: (NOT_FINISHED, x, state, (out, out), None)), built=True)),
    # bidirectional_dynamic_rnn -------------------------------------------------------------
    Row("bidirectional_dynamic_rnn-cell-bw-is-a-string", error=TypeError, match=r"'cell' \('gru'\) is not an RNNCell",
        setup=cells(cell_fw=gru), call=lambda env: tfrnn.bidirectional_dynamic_rnn(env["cell_fw"], "gru", X, dtype=tf.float32)),
    Row("bidirectional_dynamic_rnn-inputs-is-a-dict-of-strings", **bidirectional("bidirectional_dynamic_rnn", {"x": "abc"}),
        error=TypeError, match="inputs must be a float tensor, but received a string tensor"),
    Row("bidirectional_dynamic_rnn-inputs-of-rank-2", **bidirectional("bidirectional_dynamic_rnn", X[0]),
        error=ValueError, match=r"Shape \(4, 3\) must have rank at least 3"),
    Row("bidirectional_dynamic_rnn-integer-ids-of-rank-2",
        **bidirectional("bidirectional_dynamic_rnn", np.zeros((2, 4), "int64")), error=ValueError,
        match="embed your ids first"),
    Row("bidirectional_dynamic_rnn-initial-state-bw-a-tensor-for-an-lstm",
        **bidirectional("bidirectional_dynamic_rnn", X, bw=lstm, initial_state_bw=np.zeros((2, 2), "float32")),
        error=ValueError, match="a single tensor where a tuple of 2 was expected"),
    Row("bidirectional_dynamic_rnn-sequence-length-floats",
        **bidirectional("bidirectional_dynamic_rnn", X, sequence_length=[1.5, 2.0]), error=TypeError,
        match="sequence_length must hold integers"),
    Row("bidirectional_dynamic_rnn-sequence-length-negative",
        **bidirectional("bidirectional_dynamic_rnn", X, sequence_length=[2, -2]), error=ValueError,
        match=r"but rows \[1\] are negative \("),
    Row("bidirectional_dynamic_rnn-dtype-float64-for-float32-inputs",
        **bidirectional("bidirectional_dynamic_rnn", X, dtype=tf.float64), error=ValueError,
        match="dtype=float64, but the inputs are float32"),
    # static_bidirectional_rnn --------------------------------------------------------------
    Row("static_bidirectional_rnn-inputs-is-a-string", **bidirectional("static_bidirectional_rnn", "abc"),
        error=TypeError, match="must be a non-empty list of \\[batch, depth\\] tensors.*received 'abc'"),
    Row("static_bidirectional_rnn-cell-fw-is-a-dict", error=TypeError, match="is not an RNNCell",
        setup=cells(cell_bw=gru),
        call=lambda env: tfrnn.static_bidirectional_rnn({"cell": gru()}, env["cell_bw"], STEPS, dtype=tf.float32)),
    Row("static_bidirectional_rnn-steps-of-rank-1", **bidirectional("static_bidirectional_rnn", VECTOR_STEPS),
        error=ValueError, match=r"steps \[0, 1, 2, 3\] have shape \(3,\)"),
    Row("static_bidirectional_rnn-steps-of-two-shapes",
        **bidirectional("static_bidirectional_rnn", STEPS[:3] + [np.zeros((2, 1), "float32")]),
        error=ValueError, match=r"steps \[3\] have shape \(2, 1\)"),
    Row("static_bidirectional_rnn-initial-state-bw-a-tensor-for-an-lstm",
        **bidirectional("static_bidirectional_rnn", STEPS, bw=lstm, initial_state_bw=np.zeros((2, 2), "float32")),
        error=ValueError, match="a single tensor where a tuple of 2 was expected"),
    Row("static_bidirectional_rnn-sequence-length-strings",
        **bidirectional("static_bidirectional_rnn", STEPS, sequence_length=["1", "2"]), error=TypeError,
        match="must hold integers.*string"),
    # stack_bidirectional_dynamic_rnn -------------------------------------------------------
    Row("stack_bidirectional_dynamic_rnn-cells-fw-a-cell", error=ValueError,
        match="cells_fw must be a list of RNNCells \\(one per layer\\), but received <GRUCell", setup=cells(cell=gru),
        call=lambda env: tfrnn.stack_bidirectional_dynamic_rnn(env["cell"], [env["cell"]], X, dtype=tf.float32)),
    Row("stack_bidirectional_dynamic_rnn-a-string-among-the-cells",
        **stacked("stack_bidirectional_dynamic_rnn", X, bw=lambda: "gru"), error=TypeError,
        match=r"'cell' \('gru'\) is not an RNNCell"),
    Row("stack_bidirectional_dynamic_rnn-inputs-of-rank-2", **stacked("stack_bidirectional_dynamic_rnn", X[0]),
        error=ValueError, match=r"Shape \(4, 3\) must have rank at least 3"),
    Row("stack_bidirectional_dynamic_rnn-inputs-is-none", **stacked("stack_bidirectional_dynamic_rnn", None),
        error=TypeError, match="inputs must be a .*received None"),
    Row("stack_bidirectional_dynamic_rnn-initial-state-of-layer-2-a-tensor-for-an-lstm",
        **stacked("stack_bidirectional_dynamic_rnn", X, bw=lstm,
                  initial_states_bw=[np.zeros((2, 2), "float32")] * 2), error=ValueError,
        match="a single tensor where a tuple of 2 was expected"),
    Row("stack_bidirectional_dynamic_rnn-initial-states-for-one-of-two-layers",
        **stacked("stack_bidirectional_dynamic_rnn", X, initial_states_fw=[np.zeros((2, 2), "float32")]),
        error=ValueError, match="initial_states_fw must be a list of state tensors \\(one per layer\\): 2 expected"),
    Row("stack_bidirectional_dynamic_rnn-two-forward-layers-and-one-backward", error=ValueError,
        match="Forward and Backward cells must have the same depth: 2 forward and 1 backward cells",
        setup=lambda tmp_path: {"cells_fw": [gru(), gru()], "cells_bw": [gru()]},
        call=lambda env: tfrnn.stack_bidirectional_dynamic_rnn(env["cells_fw"], env["cells_bw"], X, dtype=tf.float32)),
    Row("stack_bidirectional_dynamic_rnn-dtype-float64-for-float32-inputs",
        **stacked("stack_bidirectional_dynamic_rnn", X, dtype=tf.float64), error=ValueError,
        match="dtype=float64, but the inputs are float32"),
    Row("stack_bidirectional_dynamic_rnn-sequence-length-floats",
        **stacked("stack_bidirectional_dynamic_rnn", X, sequence_length=[2.0, 1.0]), error=TypeError,
        match="sequence_length must hold integers"),
    # stack_bidirectional_rnn ---------------------------------------------------------------
    Row("stack_bidirectional_rnn-inputs-is-a-string", **stacked("stack_bidirectional_rnn", "abc"),
        error=TypeError, match="non-empty list of \\[batch, depth\\] tensors"),
    Row("stack_bidirectional_rnn-cells-bw-is-a-dict", error=ValueError, match="cells_bw must be a list of RNNCells",
        setup=cells(cell=gru),
        call=lambda env: tfrnn.stack_bidirectional_rnn([env["cell"]], {"layer": gru()}, STEPS, dtype=tf.float32)),
    Row("stack_bidirectional_rnn-steps-of-rank-1", **stacked("stack_bidirectional_rnn", VECTOR_STEPS),
        error=ValueError, match=r"steps \[0, 1, 2, 3\] have shape \(3,\)"),
    Row("stack_bidirectional_rnn-initial-state-of-layer-2-a-tensor-for-an-lstm",
        **stacked("stack_bidirectional_rnn", STEPS, bw=lstm, initial_states_bw=[np.zeros((2, 2), "float32")] * 2),
        error=ValueError, match="a single tensor where a tuple of 2 was expected"),
    Row("stack_bidirectional_rnn-steps-of-two-structures",
        **stacked("stack_bidirectional_rnn", [(s, s) for s in STEPS[:2]] + STEPS[2:]), error=ValueError,
        match=r"steps must share one structure.*steps \[2, 3\] are not"),
]
