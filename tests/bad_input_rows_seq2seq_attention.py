"""The bad-input table's rows for seq2seq attention: the mechanisms (`attention.py`), the
monotonic functions and mechanisms (`monotonic.py`) and the attention wrapper
(`attention_wrapper.py`: `AttentionWrapper`, `AttentionWrapperState.clone`,
`_compute_attention`) and `AttentionRNN` (`attention_rnn.py`); see `bad_input.py` for
what a row is.

Every public callable has at least a wrong-type, a wrong-rank and a wrong-structure row.
Each setup returns the layers the call uses, so the table proves that a refused call
created and changed no weight (an unbuilt wrapper stays unbuilt; a mechanism's memory
layer keeps its kernel). Calls on a one-step wrapper are refused before its first step.
"""

import keras
import numpy as np
import tensorflow as tf

import tfrnn
from bad_input import Row
from tfrnn import seq2seq
from tfrnn.seq2seq.attention_wrapper import _compute_attention

MEMORY = np.zeros((2, 3, 4), "float32")  # [batch, memory_time, depth]
LENGTHS = np.array([3, 1], "int32")
X = np.zeros((2, 5, 2), "float32")  # [batch, time, depth]
STEP = np.zeros((2, 2), "float32")  # one step of X
P = np.full((2, 3), 0.5, "float32")  # [batch, memory_time] probabilities
START = np.array([[1, 0, 0], [1, 0, 0]], "float32")
F32 = tf.float32


def fresh(**makers):
    """A setup making fresh objects: `fresh(mechanism=bahdanau)` -> `{"mechanism": bahdanau()}`."""
    return lambda tmp_path: {name: make() for name, make in makers.items()}


def bahdanau():
    return seq2seq.BahdanauAttention(4, MEMORY, LENGTHS)


def luong():
    return seq2seq.LuongAttention(4, MEMORY, LENGTHS)


def wrapper(mechanism=bahdanau, **kwargs):
    return lambda: seq2seq.AttentionWrapper(tfrnn.GRUCell(5), mechanism(), attention_layer_size=3, **kwargs)


def construct(cls, *args, **kwargs):
    return dict(call=lambda env: cls(*args, **kwargs))


def score(make, query, batch=2):
    """`mechanism(query, state=initial_alignments)` on a fresh mechanism."""
    return dict(setup=fresh(mechanism=make),
                call=lambda env: env["mechanism"](query, state=env["mechanism"].initial_alignments(batch, F32)))


def wrap_with(mechanisms, **kwargs):
    """`AttentionWrapper(GRUCell(5), mechanisms(), **kwargs)`, the mechanisms made in the setup."""
    return dict(setup=fresh(mechanism=mechanisms),
                call=lambda env: seq2seq.AttentionWrapper(tfrnn.GRUCell(5), env["mechanism"], **kwargs))


def step(inputs=STEP, state=lambda cell: cell.zero_state(2, F32), make=wrapper()):
    """`wrapper(inputs, state(wrapper))` on a fresh, unbuilt wrapper."""
    return dict(setup=fresh(cell=make), call=lambda env: env["cell"](inputs, state(env["cell"])))


def clone(**fields):
    return dict(setup=fresh(cell=wrapper()), call=lambda env: env["cell"].zero_state(2, F32).clone(**fields))


def compute(cell_output, layer=None, mechanism=None):
    def call(env):
        chosen = env["mechanism"] if mechanism is None else mechanism
        return _compute_attention(chosen, cell_output, env["mechanism"].initial_alignments(2, F32), layer)

    return dict(setup=fresh(mechanism=bahdanau), call=call)


def attention_rnn(*args, **kwargs):
    """`layer(*args, **kwargs)` on a fresh `AttentionRNN`, built by one good call first (Keras builds a
    layer before its `call` sees the values, so the table proves the built weights unchanged)."""
    def setup(tmp_path):
        layer = seq2seq.AttentionRNN(wrapper()())
        layer(X, MEMORY, LENGTHS)
        return {"layer": layer}

    return dict(setup=setup, call=lambda env: env["layer"](*args, **kwargs))


def built_wrapper(**kwargs):
    """A setup: a built wrapper (keras.layers.RNN builds its cell before asking for the initial state)."""
    def setup(tmp_path):
        cell = wrapper(**kwargs)()
        cell.build((None, 2))
        return {"cell": cell}

    return setup


def xla_with_history(env):
    cell = env["cell"]

    @tf.function(jit_compile=True)
    def run(memory, inputs):
        cell.attention_mechanisms[0].setup_memory(memory)
        return tfrnn.dynamic_rnn(cell, inputs, dtype=F32)[0]

    return run(MEMORY, X)


def functional_depthless(env):
    inputs, memory = keras.Input((None, 2)), keras.Input((None, None))
    return env["layer"](inputs, memory)


ROWS = [
    # hardmax -------------------------------------------------------------------------------
    Row("hardmax-logits-is-a-string", lambda env: seq2seq.hardmax("abc"), TypeError,
        r"hardmax: logits must be a \[\.\.\., depth\] float tensor, but received a string tensor"),
    Row("hardmax-logits-a-scalar", lambda env: seq2seq.hardmax(np.float32(1.0)), ValueError,
        "hardmax: logits must have at least one axis, but received a scalar"),
    Row("hardmax-logits-ragged-rows", lambda env: seq2seq.hardmax([[1.0, 2.0], [1.0]]), TypeError,
        r"logits must be a .*but received \[\[1.0, 2.0\], \[1.0\]\] \(list\)"),
    # safe_cumprod --------------------------------------------------------------------------
    Row("safe_cumprod-x-integers", lambda env: seq2seq.safe_cumprod(np.array([1, 2])), TypeError,
        "safe_cumprod: x must be a float tensor of probabilities, but received a int64 tensor"),
    Row("safe_cumprod-x-a-scalar", lambda env: seq2seq.safe_cumprod(np.float32(0.5), axis=0), ValueError,
        "x must have at least one axis, but received a scalar"),
    Row("safe_cumprod-x-is-a-dict", lambda env: seq2seq.safe_cumprod({"p": P}), TypeError,
        r"x must be a float tensor of probabilities, but received \{'p': array"),
    # monotonic_attention -------------------------------------------------------------------
    Row("monotonic_attention-p-choose-i-is-a-string", lambda env: seq2seq.monotonic_attention("p", START, "parallel"),
        TypeError, r"p_choose_i must be a \[batch, time\] float tensor, but received a string tensor"),
    Row("monotonic_attention-integer-p-choose-i",
        lambda env: seq2seq.monotonic_attention(np.ones((2, 3), "int32"), START, "recursive"), TypeError,
        r"p_choose_i must be a \[batch, time\] float tensor, but received a int32 tensor of shape \(2, 3\)"),
    Row("monotonic_attention-p-choose-i-of-rank-1", lambda env: seq2seq.monotonic_attention(P[0], START[0], "recursive"),
        ValueError, r"p_choose_i must be \[batch, time\], but received shape \(3,\)"),
    Row("monotonic_attention-p-choose-i-of-rank-3", lambda env: seq2seq.monotonic_attention(P[None], START, "parallel"),
        ValueError, r"p_choose_i must be \[batch, time\], but received shape \(1, 2, 3\)"),
    Row("monotonic_attention-previous-attention-of-another-batch",
        lambda env: seq2seq.monotonic_attention(P, START[:1], "hard"), ValueError,
        r"must have one shape \[batch, time\], but received \(2, 3\) and \(1, 3\)"),
    Row("monotonic_attention-unknown-mode", lambda env: seq2seq.monotonic_attention(P, START, "soft"), ValueError,
        "mode must be 'recursive', 'parallel', or 'hard'. Received mode='soft'"),
    # BahdanauMonotonicAttention --------------------------------------------------------------
    Row("BahdanauMonotonicAttention-sigmoid-noise-is-a-string",
        **construct(seq2seq.BahdanauMonotonicAttention, 4, MEMORY, sigmoid_noise="1.0"), error=TypeError,
        match=r"BahdanauMonotonicAttention\(sigmoid_noise='1.0'\): sigmoid_noise must be a number"),
    Row("BahdanauMonotonicAttention-negative-sigmoid-noise",
        **construct(seq2seq.BahdanauMonotonicAttention, 4, MEMORY, sigmoid_noise=-1.0), error=ValueError,
        match="standard deviation must be >= 0"),
    Row("BahdanauMonotonicAttention-memory-of-rank-2", **construct(seq2seq.BahdanauMonotonicAttention, 4, MEMORY[0]),
        error=ValueError, match=r"memory must have rank 3, \[batch, max_time, depth\], but received shape \(3, 4\)"),
    Row("BahdanauMonotonicAttention-memory-and-lengths-as-one-tuple",
        **construct(seq2seq.BahdanauMonotonicAttention, 4, (MEMORY, LENGTHS)), error=TypeError,
        match=r"memory must be a \[batch, max_time, depth\] float tensor, but received \(array"),
    Row("BahdanauMonotonicAttention-unknown-mode", **construct(seq2seq.BahdanauMonotonicAttention, 4, MEMORY, mode="soft"),
        error=ValueError, match="mode must be 'recursive', 'parallel', or 'hard'"),
    Row("BahdanauMonotonicAttention-query-of-another-batch",
        **score(lambda: seq2seq.BahdanauMonotonicAttention(4, MEMORY, LENGTHS), np.zeros((3, 5), "float32")),
        error=ValueError, match=r"Non-matching batch sizes between the memory .*batch size 2\) and the query "
                                r"\(batch size 3\).*tile_batch"),
    # LuongMonotonicAttention -----------------------------------------------------------------
    Row("LuongMonotonicAttention-sigmoid-noise-seed-is-a-string",
        **construct(seq2seq.LuongMonotonicAttention, 4, MEMORY, sigmoid_noise=1.0, sigmoid_noise_seed="3"),
        error=TypeError, match=r"sigmoid_noise_seed='3'\): the seed must be an int or None"),
    Row("LuongMonotonicAttention-memory-of-rank-4", **construct(seq2seq.LuongMonotonicAttention, 4, MEMORY[None]),
        error=ValueError, match=r"memory must have rank 3.*\(1, 2, 3, 4\)"),
    Row("LuongMonotonicAttention-lengths-a-dict",
        **construct(seq2seq.LuongMonotonicAttention, 4, MEMORY, {"row": 3}), error=TypeError,
        match=r"memory_sequence_length must be a \[batch\] vector of int32 lengths, but received \{'row': 3\}"),
    Row("LuongMonotonicAttention-num-units-not-the-query-depth",
        **score(lambda: seq2seq.LuongMonotonicAttention(4, MEMORY), np.zeros((2, 5), "float32")), error=ValueError,
        match=r"Query has units: 5.  Keys have units: 4.  Perhaps you need to set num_units"),
    # BahdanauAttention -----------------------------------------------------------------------
    Row("BahdanauAttention-num-units-is-a-string", **construct(seq2seq.BahdanauAttention, "4", MEMORY),
        error=ValueError, match=r"BahdanauAttention\(num_units='4'\): num_units must be a positive int"),
    Row("BahdanauAttention-memory-of-rank-2", **construct(seq2seq.BahdanauAttention, 4, MEMORY[0], [3, 1]),
        error=ValueError, match=r"memory must have rank 3.*\(3, 4\).*tf.transpose"),
    Row("BahdanauAttention-memory-is-a-dict", **construct(seq2seq.BahdanauAttention, 4, {"memory": MEMORY}),
        error=TypeError, match=r"memory must be a \[batch, max_time, depth\] float tensor, but received \{'memory'"),
    Row("BahdanauAttention-memory-sequence-length-floats", **construct(seq2seq.BahdanauAttention, 4, MEMORY, [3.0, 1.0]),
        error=TypeError, match=r"memory_sequence_length must hold integers, but received \[3.0, 1.0\] of dtype float32"),
    Row("BahdanauAttention-memory-sequence-length-zero", **construct(seq2seq.BahdanauAttention, 4, MEMORY, [3, 0]),
        error=ValueError, match=r"All values in memory_sequence_length must be greater than zero, but rows \[1\]"),
    Row("BahdanauAttention-memory-and-lengths-of-two-batch-sizes",
        **construct(seq2seq.BahdanauAttention, 4, MEMORY, [3, 1, 2]), error=ValueError,
        match="memory_sequence_length has 3 entries but memory has batch size 2"),
    Row("BahdanauAttention-score-mask-value-is-a-string",
        **construct(seq2seq.BahdanauAttention, 4, MEMORY, score_mask_value="-inf"), error=TypeError,
        match="score_mask_value must be a number .* but received '-inf'"),
    Row("BahdanauAttention-query-is-a-string", **score(bahdanau, "query"), error=TypeError,
        match=r"the query must be a \[batch, query_depth\] float tensor .*but received a string tensor"),
    Row("BahdanauAttention-query-of-rank-3", **score(bahdanau, np.zeros((2, 1, 5), "float32")), error=ValueError,
        match=r"the query must be \[batch, query_depth\] \(one decoder step\), but received shape \(2, 1, 5\)"),
    Row("BahdanauAttention-query-of-another-batch", **score(bahdanau, np.zeros((3, 5), "float32")), error=ValueError,
        match=r"Non-matching batch sizes .*\(batch size 3\)"),
    Row("BahdanauAttention-query-integers", **score(bahdanau, np.zeros((2, 5), "int32")), error=TypeError,
        match="the query must be .* float tensor .*but received a int32 tensor"),
    Row("BahdanauAttention-setup-memory-of-another-depth", setup=fresh(mechanism=bahdanau), error=ValueError,
        call=lambda env: env["mechanism"].setup_memory(np.zeros((2, 3, 6), "float32")),
        match="memory has depth 6, but this mechanism's memory layer was built for depth 4"),
    Row("BahdanauAttention-setup-memory-lengths-a-matrix", setup=fresh(mechanism=bahdanau), error=ValueError,
        call=lambda env: env["mechanism"].setup_memory(MEMORY, [[3, 1]]),
        match=r"must be a vector of length batch_size, but received shape \(1, 2\)"),
    Row("BahdanauAttention-initial-alignments-batch-is-a-string", setup=fresh(mechanism=bahdanau), error=TypeError,
        call=lambda env: env["mechanism"].initial_alignments("2", F32),
        match=r"initial_alignments: batch_size must be an int or a scalar integer tensor, but received '2'"),
    Row("BahdanauAttention-no-memory-yet", **score(lambda: seq2seq.BahdanauAttention(4), np.zeros((2, 5), "float32")),
        error=ValueError, match=r"has no memory yet.*setup_memory\(memory, memory_sequence_length\)"),
    # LuongAttention --------------------------------------------------------------------------
    Row("LuongAttention-num-units-not-the-query-depth", **score(luong, np.zeros((2, 5), "float32")), error=ValueError,
        match=r"Incompatible or unknown inner dimensions between query and keys.*Query has units: 5.*"
              r"Perhaps you need to set num_units to the keys' dimension \(4\)"),
    Row("LuongAttention-dtype-int32", **construct(seq2seq.LuongAttention, 4, MEMORY, dtype="int32"), error=ValueError,
        match=r"LuongAttention\(dtype=...\) has dtype int32. Pass a float dtype"),
    Row("LuongAttention-memory-is-a-string", **construct(seq2seq.LuongAttention, 4, "encoder outputs"), error=TypeError,
        match="memory must hold floats, but received a string tensor"),
    Row("LuongAttention-memory-sequence-length-a-column", **construct(seq2seq.LuongAttention, 4, MEMORY, [[3], [1]]),
        error=ValueError, match=r"must be a vector of length batch_size, but received shape \(2, 1\)"),
    Row("LuongAttention-query-of-rank-1", **score(luong, np.zeros(4, "float32")), error=ValueError,
        match=r"the query must be \[batch, query_depth\].*shape \(4,\)"),
    # AttentionWrapper ------------------------------------------------------------------------
    Row("AttentionWrapper-attention-mechanism-is-a-string", **wrap_with(lambda: "bahdanau"), error=TypeError,
        match="attention_mechanism must be an AttentionMechanism .*saw type: str"),
    Row("AttentionWrapper-attention-mechanism-a-keras-attention-layer", **wrap_with(keras.layers.Attention),
        error=TypeError, match="saw type: Attention. Pass e.g. tfrnn.seq2seq.BahdanauAttention"),
    Row("AttentionWrapper-cell-is-a-string", lambda env: seq2seq.AttentionWrapper("gru", bahdanau()), TypeError,
        r"The argument 'cell' \('gru'\) is not an RNNCell"),
    Row("AttentionWrapper-attention-mechanism-an-empty-list", **wrap_with(list), error=ValueError,
        match="attention_mechanism is an empty list"),
    Row("AttentionWrapper-a-mechanism-list-holding-a-string", **wrap_with(lambda: [bahdanau(), "luong"]), error=TypeError,
        match=r"attention_mechanism\[1\] must be an AttentionMechanism"),
    Row("AttentionWrapper-attention-layer-size-list-of-another-length",
        **wrap_with(lambda: [bahdanau(), luong()], attention_layer_size=[3]), error=ValueError,
        match="attention_layer_size must contain exactly one integer per attention_mechanism, saw: 1 vs 2"),
    Row("AttentionWrapper-attention-layer-size-list-for-one-mechanism",
        **wrap_with(bahdanau, attention_layer_size=[3, 4]), error=ValueError, match="saw: 2 vs 1"),
    Row("AttentionWrapper-attention-layer-size-is-a-string", **wrap_with(bahdanau, attention_layer_size="3"),
        error=ValueError, match=r"attention_layer_size must hold positive ints, saw '3'"),
    Row("AttentionWrapper-attention-layer-size-and-attention-layer",
        **wrap_with(bahdanau, attention_layer_size=3, attention_layer=keras.layers.Dense(3, name="mine")), error=ValueError,
        match="Only one of attention_layer_size and attention_layer should be set"),
    Row("AttentionWrapper-attention-layer-not-a-layer", **wrap_with(bahdanau, attention_layer="dense"),
        error=TypeError, match="attention_layer must hold Keras layers, saw type: str"),
    Row("AttentionWrapper-cell-input-fn-not-callable", **wrap_with(bahdanau, cell_input_fn="concat"),
        error=TypeError, match="cell_input_fn must be callable, saw type: str"),
    Row("AttentionWrapper-initial-cell-state-of-another-batch",
        **wrap_with(bahdanau, initial_cell_state=np.zeros((3, 5), "float32")), error=ValueError,
        match=r"Non-matching batch sizes between the memory \(encoder output\) and initial_cell_state \(2 vs 3\).*"
              r"tile_batch"),
    Row("AttentionWrapper-zero-state-of-another-batch", setup=fresh(cell=wrapper()), error=ValueError,
        call=lambda env: env["cell"].zero_state(3, F32),
        match=r"Non-matching batch sizes.*tile_batch.*\(batch size 3, memory batch size 2\)"),
    Row("AttentionWrapper-zero-state-batch-is-a-string", setup=fresh(cell=wrapper()), error=TypeError,
        call=lambda env: env["cell"].zero_state("2", F32), match="batch_size must be an int or a scalar integer tensor"),
    Row("AttentionWrapper-zero-state-batch-a-matrix", setup=fresh(cell=wrapper()), error=TypeError,
        call=lambda env: env["cell"].zero_state([[2]], F32), match=r"received \[\[2\]\] \(list\)"),
    Row("AttentionWrapper-zero-state-dtype-unknown", setup=fresh(cell=wrapper()), error=TypeError,
        call=lambda env: env["cell"].zero_state(2, "floaty"), match="dtype must be the state's dtype"),
    Row("AttentionWrapper-step-state-a-tuple", **step(state=lambda cell: (np.zeros((2, 5), "float32"),)),
        error=TypeError, match="Expected state to be instance of AttentionWrapperState. Received type <class 'tuple'>"),
    Row("AttentionWrapper-step-state-none", **step(state=lambda cell: None), error=TypeError,
        match="Expected state to be instance of AttentionWrapperState. Received type <class 'NoneType'>"),
    Row("AttentionWrapper-step-inputs-of-rank-3", **step(inputs=X), error=ValueError,
        match=r"expects inputs of shape \[batch_size, input_depth\] for one time step, but received shape \(2, 5, 2\)"),
    Row("AttentionWrapper-step-inputs-is-a-string", **step(inputs="x"), error=ValueError,
        match=r"expects inputs of shape \[batch_size, input_depth\].*received shape \(\)"),
    Row("AttentionWrapper-step-inputs-of-another-batch", **step(inputs=np.zeros((3, 2), "float32")), error=ValueError,
        match=r"received inputs of batch size 3 but a state of batch size 2"),
    Row("AttentionWrapper-step-attention-of-another-depth", error=ValueError,
        **step(state=lambda cell: cell.zero_state(2, F32)._replace(attention=np.zeros((2, 7), "float32"))),
        match=r"expects state.attention of shape \[batch, 3\], but received shape \(2, 7\)"),
    Row("AttentionWrapper-luong-num-units-not-the-cell-output", setup=fresh(cell=wrapper(luong)), error=ValueError,
        call=lambda env: tfrnn.dynamic_rnn(env["cell"], X, dtype=F32),
        match=r"Query has units: 5.  Keys have units: 4.  Perhaps you need to set num_units"),
    Row("AttentionWrapper-inputs-of-another-batch-than-the-memory", setup=fresh(cell=wrapper()), error=ValueError,
        call=lambda env: tfrnn.dynamic_rnn(env["cell"], np.zeros((3, 5, 2), "float32"), dtype=F32),
        match=r"When calling zero_state .*Non-matching batch sizes.*tile_batch"),
    Row("AttentionWrapper-mechanism-without-memory", error=ValueError,
        setup=fresh(cell=wrapper(lambda: seq2seq.BahdanauAttention(4))),
        call=lambda env: tfrnn.dynamic_rnn(env["cell"], X, dtype=F32), match="has no memory yet"),
    Row("AttentionWrapper-alignment-history-in-keras-rnn", setup=built_wrapper(alignment_history=True),
        call=lambda env: keras.layers.RNN(env["cell"])(X), error=ValueError,
        match="keeps alignment_history, a TensorArray, which keras.layers.RNN cannot carry.*AttentionRNN"),
    Row("AttentionWrapper-alignment-history-under-xla", setup=fresh(cell=wrapper(alignment_history=True)),
        call=xla_with_history, error=ValueError,
        match=r"keeps alignment_history.*XLA \(jit_compile=True\) cannot grow.*alignment_history=False"),
    # AttentionWrapperState.clone -------------------------------------------------------------
    Row("AttentionWrapperState.clone-unknown-field", **clone(atention=np.zeros((2, 3), "float32")), error=ValueError,
        match=r"clone got unexpected field names \['atention'\]"),
    Row("AttentionWrapperState.clone-another-shape", **clone(attention=tf.zeros([4, 3])), error=ValueError,
        match=r"The shape of the AttentionWrapperState is expected to be same as the one to clone. "
              r"self.shape: \(2, 3\), input.shape: \(4, 3\)"),
    Row("AttentionWrapperState.clone-an-array-of-another-rank", **clone(attention=np.zeros((2, 3, 1), "float32")),
        error=ValueError, match=r"self.shape: \(2, 3\), input.shape: \(2, 3, 1\)"),
    Row("AttentionWrapperState.clone-a-string", **clone(attention="zeros"), error=ValueError,
        match=r"self.shape: \(2, 3\), input.shape: \(\)"),
    Row("AttentionWrapperState.clone-cell-state-of-another-structure",
        **clone(cell_state=tfrnn.LSTMStateTuple(tf.zeros([2, 5]), tf.zeros([2, 5]))), error=ValueError,
        match=r"clone\(cell_state=...\) received a value whose structure is not the state's"),
    # _compute_attention ----------------------------------------------------------------------
    Row("_compute_attention-mechanism-is-a-string", **compute(tf.zeros([2, 5]), mechanism="bahdanau"), error=TypeError,
        match="_compute_attention: attention_mechanism must be an AttentionMechanism, saw type: str"),
    Row("_compute_attention-cell-output-of-rank-1", **compute(tf.zeros([5])), error=ValueError,
        match=r"the query must be \[batch, query_depth\].*shape \(5,\)"),
    Row("_compute_attention-cell-output-of-another-batch", **compute(tf.zeros([3, 5])), error=ValueError,
        match=r"Non-matching batch sizes .*\(batch size 3\)"),
    Row("_compute_attention-attention-layer-is-a-string", **compute(tf.zeros([2, 5]), layer="dense"), error=TypeError,
        match="attention_layer must be a Keras layer or None, saw type: str"),
    # AttentionRNN ----------------------------------------------------------------------------
    Row("AttentionRNN-cell-without-attention", lambda env: seq2seq.AttentionRNN(tfrnn.GRUCell(3)), TypeError,
        "AttentionRNN needs a cell with attention, but received GRUCell"),
    Row("AttentionRNN-cell-is-a-string", lambda env: seq2seq.AttentionRNN("wrapper"), TypeError,
        "AttentionRNN needs a cell with attention, but received str"),
    Row("AttentionRNN-memory-of-rank-2", **attention_rnn(X, MEMORY[0]), error=ValueError,
        match=r"memory must have rank 3.*\(3, 4\)"),
    Row("AttentionRNN-memory-is-a-string", **attention_rnn(X, memory="encoder"), error=TypeError,
        match="memory must hold floats, but received a string tensor"),
    Row("AttentionRNN-memory-of-another-batch", **attention_rnn(X, np.zeros((3, 3, 4), "float32")), error=ValueError,
        match="Non-matching batch sizes .*tile_batch"),
    Row("AttentionRNN-inputs-of-rank-2", **attention_rnn(X[0], MEMORY), error=ValueError,
        match=r"Shape \(5, 2\) must have rank at least 3"),
    Row("AttentionRNN-memory-sequence-length-floats", **attention_rnn(X, MEMORY, np.array([3.0, 1.0], "float32")),
        error=TypeError, match="memory_sequence_length must hold integers.*float32"),
    Row("AttentionRNN-memory-sequence-length-zero", **attention_rnn(X, MEMORY, np.array([3, 0], "int32")),
        error=ValueError, match="must be greater than zero"),
    Row("AttentionRNN-memory-sequence-length-of-another-batch",
        **attention_rnn(X, MEMORY, np.array([3, 1, 1], "int32")), error=ValueError,
        match="memory_sequence_length has 3 entries but memory has batch size 2"),
    Row("AttentionRNN-memory-of-unknown-depth", setup=fresh(layer=lambda: seq2seq.AttentionRNN(wrapper()())),
        call=functional_depthless, error=ValueError, match=r"needs a memory of static depth, but saw shape \(None"),
]
