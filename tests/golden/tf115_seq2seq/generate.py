"""Write the TF 1.15 oracle goldens for tf.contrib.seq2seq (issue #25).

tf.contrib.seq2seq exists only in real TensorFlow 1.x, so this script must run
on TensorFlow 1.15 itself, under Python 3.7 (../tf115/README.md says how to set
that interpreter up; this script uses the same venv).  tfrnn is never imported.

Usage (with the TF 1.15 venv's interpreter):
    /opt/tf115/bin/python tests/golden/tf115_seq2seq/generate.py [--out DIR] [--only CASE ...]

DIR defaults to this script's folder.  For each case it writes DIR/<case>.npz
(inputs, results, loss weights, gradients, variable values) and
DIR/<case>/model.ckpt.* (a TF1 name-based checkpoint); for all cases
DIR/MANIFEST.json (versions, per-case code and metadata) and DIR/INIT_FACTS.json
(what the default initializers produced).  README.md beside this file explains
the keys and the cases.  `--only` is for development: it writes only the named
cases (and whatever they restore from) and no MANIFEST / INIT_FACTS.

Each case is a piece of TF1 code (kept verbatim in MANIFEST.json) executed in a
namespace holding tf, the tf.contrib.seq2seq names, a few cells, the case's
inputs as constants, and the functions `record`, `record_error`, `note` and
`set_train_op` defined below.

Importing this module has no side effects (pytest imports every .py file under
tests/ with TF 2.x): the environment is set and TensorFlow is imported only in
main().
"""

import argparse
import json
import os
import sys
import zipfile
from typing import NamedTuple, Optional, Tuple

import numpy as np

# Shared sizes.  B rows; memory [B, MEM_T, MEM_D] with lengths MEM_LEN (no 0:
# TF1 asserts memory_sequence_length > 0); decoder inputs [B, DEC_T, DEC_D]
# with lengths DEC_LEN; vocabulary V with embedding size E.
B = 4
MEM_T, MEM_D = 5, 4
MEM_LEN = (5, 3, 1, 4)
DEC_T, DEC_D = 4, 3
DEC_LEN = (4, 2, 3, 1)
V, E = 7, 3


class Case(NamedTuple):
    name: str
    seed: int  # fixed per case, so adding or reordering cases changes nothing
    what: str  # one line: what the case exercises
    # (name, kind, spec), drawn / built in this order and bound to `name`:
    #   "normal":  float32 N(0, 1) of shape spec, drawn from the case's rng
    #   "ids:<n>": int32 uniform in [0, n) of shape spec, drawn from the rng
    #   "int32" / "float32": the literal spec (nested lists), nothing drawn
    inputs: Tuple[Tuple[str, str, object], ...]
    code: str  # TF1 code, executed as written; it calls record(...)
    grads: bool = True  # gradients w.r.t. float inputs and trainable variables
    # (full variable name, value): set after the random values (and before a
    # train step), e.g. to make a clip bind.
    overrides: Tuple[Tuple[str, float], ...] = ()
    # Take every variable value from this earlier case's checkpoint instead of
    # drawing random values (the variable names must match).
    restore_from: Optional[str] = None
    init_facts: bool = False  # record default-initializer stats in INIT_FACTS
    init_only: bool = False  # build and record INIT_FACTS only (no npz, no ckpt)
    files: bool = True  # False: MANIFEST entry only (no npz, no checkpoint)


MEMORY = (("memory", "normal", (B, MEM_T, MEM_D)), ("memory_length", "int32", MEM_LEN))
DECODER = (("inputs", "normal", (B, DEC_T, DEC_D)), ("target_length", "int32", DEC_LEN))


# ---------------------------------------------------------------------------
# 1. Attention mechanisms, each under dynamic_rnn and under dynamic_decode.

# (name, seed for the dynamic_rnn case (the dynamic_decode case uses seed + 100),
#  mechanism statement, AttentionWrapper argument string, extra inputs, what,
#  init_facts)
ATTENTION = (
    (
        "bahdanau",
        (301, 401),
        "mechanism = BahdanauAttention(4, memory, memory_sequence_length=memory_length)",
        "LSTMCell(5), mechanism, alignment_history=True",
        (),
        "BahdanauAttention, no attention layer (attention = context, depth 4)",
        True,
    ),
    (
        "bahdanau_norm",
        (302, 402),
        "mechanism = BahdanauAttention(4, memory, memory_sequence_length=memory_length, "
        "normalize=True)",
        "GRUCell(5), mechanism, attention_layer_size=3, alignment_history=True",
        (),
        "BahdanauAttention(normalize=True): attention_g, attention_b; attention layer 3",
        True,
    ),
    (
        "luong",
        (303, 403),
        "mechanism = LuongAttention(5, memory, memory_sequence_length=memory_length)",
        "LSTMCell(5), mechanism, attention_layer_size=4, alignment_history=True",
        (),
        "LuongAttention (num_units = query depth 5), attention layer 4",
        True,
    ),
    (
        "luong_scale_nolen",
        (304, 404),
        "mechanism = LuongAttention(5, memory, scale=True)",
        "GRUCell(5), mechanism, alignment_history=True",
        (),
        "LuongAttention(scale=True): attention_g; no memory_sequence_length",
        True,
    ),
    (
        "bahdanau_mono_parallel",
        (305, 405),
        "mechanism = BahdanauMonotonicAttention(4, memory, "
        "memory_sequence_length=memory_length, normalize=True, score_bias_init=-1.5, "
        'mode="parallel")',
        "LSTMCell(5), mechanism, attention_layer_size=3, alignment_history=True",
        (),
        "BahdanauMonotonicAttention normalize=True, mode parallel",
        True,
    ),
    (
        "bahdanau_mono_recursive",
        (306, 406),
        "mechanism = BahdanauMonotonicAttention(4, memory, "
        "memory_sequence_length=memory_length, score_bias_init=0.5, "
        'mode="recursive")',
        "GRUCell(5), mechanism, alignment_history=True",
        (),
        "BahdanauMonotonicAttention mode recursive",
        True,
    ),
    (
        "bahdanau_mono_hard",
        (330, 484),
        "mechanism = BahdanauMonotonicAttention(4, memory, "
        'memory_sequence_length=memory_length, score_bias_init=1.0, mode="hard")',
        "LSTMCell(5), mechanism, attention_layer_size=3, alignment_history=True",
        (),
        "BahdanauMonotonicAttention mode hard (score > 0 choices; score params get no gradient)",
        False,
    ),
    (
        "luong_mono_parallel",
        (308, 408),
        "mechanism = LuongMonotonicAttention(5, memory, "
        "memory_sequence_length=memory_length, scale=True, score_bias_init=1.0, "
        'mode="parallel")',
        "GRUCell(5), mechanism, attention_layer_size=4, alignment_history=True",
        (),
        "LuongMonotonicAttention scale=True, mode parallel",
        True,
    ),
    (
        "luong_mono_recursive",
        (309, 409),
        "mechanism = LuongMonotonicAttention(5, memory, "
        "memory_sequence_length=memory_length, score_bias_init=-0.5, "
        'mode="recursive")',
        "LSTMCell(5), mechanism, alignment_history=True",
        (),
        "LuongMonotonicAttention mode recursive",
        False,
    ),
    (
        "luong_mono_hard",
        (346, 447),
        "mechanism = LuongMonotonicAttention(5, memory, "
        "memory_sequence_length=memory_length, scale=True, score_bias_init=0.25, "
        'mode="hard")',
        "GRUCell(5), mechanism, attention_layer_size=3, alignment_history=True",
        (),
        "LuongMonotonicAttention scale=True, mode hard",
        False,
    ),
    (
        "hardmax",
        (311, 411),
        "mechanism = LuongAttention(5, memory, memory_sequence_length=memory_length, "
        "probability_fn=hardmax)",
        "LSTMCell(5), mechanism, attention_layer_size=4, alignment_history=True",
        (),
        "LuongAttention(probability_fn=tf.contrib.seq2seq.hardmax): one-hot alignments",
        False,
    ),
    (
        "score_mask_value",
        (312, 412),
        "mechanism = BahdanauAttention(4, memory, memory_sequence_length=memory_length, "
        "score_mask_value=-1.0)",
        "GRUCell(5), mechanism, alignment_history=True",
        (),
        "BahdanauAttention(score_mask_value=-1.0): padded positions keep some weight",
        False,
    ),
    (
        "multi_with_layers",
        (313, 413),
        "mechanism = [BahdanauAttention(4, memory, memory_sequence_length=memory_length), "
        "LuongAttention(5, memory, memory_sequence_length=memory_length, scale=True)]",
        "LSTMCell(5), mechanism, attention_layer_size=[3, 2], alignment_history=True",
        (),
        "two mechanisms (Bahdanau, Luong scale) with attention layers [3, 2]",
        False,
    ),
    (
        "multi_same_class",
        (314, 414),
        "mechanism = [BahdanauAttention(4, memory, memory_sequence_length=memory_length), "
        "BahdanauAttention(3, memory, memory_sequence_length=memory_length, normalize=True)]",
        "GRUCell(5), mechanism, alignment_history=True",
        (),
        "two BahdanauAttention, no attention layers: memory_layer_1, bahdanau_attention_1",
        False,
    ),
    (
        "output_attention_false",
        (315, 415),
        "mechanism = BahdanauAttention(4, memory, memory_sequence_length=memory_length)",
        "LSTMCell(5), mechanism, attention_layer_size=3, output_attention=False",
        (),
        "output_attention=False: the output is the cell output; no alignment history",
        False,
    ),
    (
        "cell_input_fn",
        (316, 416),
        "mechanism = LuongAttention(5, memory, memory_sequence_length=memory_length)",
        "GRUCell(5), mechanism, attention_layer_size=2, "
        "cell_input_fn=lambda inputs, attention: tf.concat([attention, 2.0 * inputs], -1)",
        (),
        "custom cell_input_fn (attention first, inputs doubled)",
        False,
    ),
    (
        "initial_cell_state",
        (317, 417),
        "mechanism = BahdanauAttention(4, memory, memory_sequence_length=memory_length, "
        "normalize=True)",
        "LSTMCell(5), mechanism, attention_layer_size=3, alignment_history=True, "
        "initial_cell_state=LSTMStateTuple(init_c, init_h)",
        (("init_c", "normal", (B, 5)), ("init_h", "normal", (B, 5))),
        "initial_cell_state (random c, h; gradients w.r.t. them)",
        False,
    ),
    (
        "attention_layer_object",
        (318, 418),
        "mechanism = LuongAttention(5, memory, memory_sequence_length=memory_length, "
        "scale=True)",
        "LSTMCell(5), mechanism, "
        'attention_layer=Dense(3, activation=tf.tanh, name="my_attention")',
        (),
        "attention_layer= a user Dense(3, tanh, with bias) named my_attention",
        False,
    ),
    (
        "mono_parallel_clipped",
        (319, 419),
        "mechanism = BahdanauMonotonicAttention(4, memory, "
        "memory_sequence_length=memory_length, score_bias_init=3.0, "
        'mode="parallel")',
        "LSTMCell(5), mechanism, alignment_history=True",
        (),
        "saturated parallel monotonic attention: score bias overridden to 12, so p "
        "is about 1 - 6e-6 and cumprod(1 - p) falls below the 1e-10 clip from the "
        "third memory position (the clipped entries are ~1e-10; "
        "monotonic_attention_fn shows the clips at full size)",
        False,
    ),
)

RNN_DRIVER = """\
{mechanism}
cell = AttentionWrapper({wrapper})
outputs, state = dynamic_rnn(cell, inputs, sequence_length=target_length, dtype=tf.float32)
note("state_size", repr(cell.state_size))
note("output_size", repr(cell.output_size))
record("outputs", outputs)
record("state", state)
"""

DECODE_DRIVER = """\
{mechanism}
cell = AttentionWrapper({wrapper})
helper = TrainingHelper(inputs, target_length)
decoder = BasicDecoder(cell, helper, cell.zero_state(4, tf.float32))
outputs, state, lengths = dynamic_decode(decoder)
record("outputs", outputs)
record("state", state)
record("lengths", lengths)
"""

# Overrides, by case name (the clip case's score bias; see ATTENTION).
OVERRIDES = {
    "mono_parallel_clipped__rnn": (
        ("rnn/attention_wrapper/bahdanau_monotonic_attention/attention_score_bias", 12.0),
    ),
    "mono_parallel_clipped__decode": (
        ("decoder/attention_wrapper/bahdanau_monotonic_attention/attention_score_bias", 12.0),
    ),
}


def attention_cases():
    cases = []
    for name, seeds, mechanism, wrapper, extra, what, facts in ATTENTION:
        for driver, template, seed in (
            ("rnn", RNN_DRIVER, seeds[0]),
            ("decode", DECODE_DRIVER, seeds[1]),
        ):
            case_name = "%s__%s" % (name, driver)
            how = (
                "dynamic_rnn(sequence_length=target_length)"
                if driver == "rnn"
                else "dynamic_decode(BasicDecoder(TrainingHelper))"
            )
            cases.append(
                Case(
                    case_name,
                    seed,
                    "%s; %s" % (what, how),
                    MEMORY + DECODER + extra,
                    template.format(mechanism=mechanism, wrapper=wrapper),
                    overrides=OVERRIDES.get(case_name, ()),
                    init_facts=facts,
                )
            )
    return tuple(cases)


# monotonic_attention / safe_cumprod / hardmax on hand-made inputs, where the
# numerical guards of the parallel mode change the result: row 0 has
# p = 1 (1 - p = 0: safe_cumprod clips it to the smallest normal float), row 1
# has p = 0.99999 twice (the exclusive cumprod falls below 1e-10, the clip of
# the divisor), and both have earlier attention mass at later positions; row 2
# is unremarkable.  The hard mode takes 0/1 probabilities.
MONOTONIC_FN = Case(
    "monotonic_attention_fn",
    320,
    "tf.contrib.seq2seq.monotonic_attention (parallel, recursive, hard), "
    "safe_cumprod and hardmax on hand-made inputs where the parallel mode's clips "
    "bind (p = 1, cumprod(1 - p) < 1e-10) and hardmax meets a tie",
    (
        (
            "p_choose_i",
            "float32",
            (
                (0.3, 0.999999, 1.0, 0.5, 0.2),
                (0.99999, 0.99999, 0.5, 0.6, 0.7),
                (0.2, 0.5, 0.4, 0.3, 0.6),
            ),
        ),
        (
            "previous_attention",
            "float32",
            (
                (0.1, 0.2, 0.3, 0.3, 0.1),
                (0.0, 0.1, 0.2, 0.5, 0.2),
                (1.0, 0.0, 0.0, 0.0, 0.0),
            ),
        ),
        (
            "p_hard",
            "float32",
            ((0.0, 1.0, 0.0, 1.0, 1.0), (0.0, 0.0, 0.0, 0.0, 0.0), (1.0, 1.0, 1.0, 1.0, 1.0)),
        ),
        (
            "previous_hard",
            "float32",
            ((0.0, 0.0, 1.0, 0.0, 0.0), (1.0, 0.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0, 0.0)),
        ),
    ),
    """\
record("monotonic_attention.parallel", monotonic_attention(p_choose_i, previous_attention, "parallel"))
record("monotonic_attention.recursive", monotonic_attention(p_choose_i, previous_attention, "recursive"))
# Not in the loss: TF1's gradient of the hard mode is NaN here (cumprod's
# gradient divides by its zero factors).
record("monotonic_attention.hard", monotonic_attention(p_hard, previous_hard, "hard"), loss=False)
record("safe_cumprod.exclusive", safe_cumprod(1.0 - p_choose_i, axis=1, exclusive=True))
record("safe_cumprod.inclusive", safe_cumprod(1.0 - p_choose_i, axis=1))
record("hardmax", hardmax(previous_attention))
""",
)


# ---------------------------------------------------------------------------
# 2. Decoders and helpers.

EMBEDDING = 'embedding = tf.get_variable("embedding", [%d, %d])\n' % (V, E)
PROJECTION = 'projection = Dense(%d, use_bias=False, name="output_projection")\n' % V

GREEDY = (
    EMBEDDING
    + PROJECTION
    + """\
cell = LSTMCell(5)
helper = GreedyEmbeddingHelper(embedding, start_tokens, {end})
decoder = BasicDecoder(cell, helper, LSTMStateTuple(init_c, init_h), output_layer=projection)
outputs, state, lengths = dynamic_decode(decoder, impute_finished={impute}, maximum_iterations=6)
record("outputs", outputs)
record("state", state)
record("lengths", lengths)
"""
)
GREEDY_INPUTS = (
    ("start_tokens", "int32", (1, 2, 3, 4)),
    ("init_c", "normal", (B, 5)),
    ("init_h", "normal", (B, 5)),
)
# Seed and end token picked by trying seeds: with an unreachable end token the
# greedy ids are [6 2 3 3 3 3], [4 4 4 4 4 3], [5 5 2 4 3 3], [3 3 3 3 3 3],
# so end token 4 ends row 1 at step 0 and row 2 at step 3; rows 0 and 3 never
# emit it and run to maximum_iterations.
GREEDY_SEED, GREEDY_END = 525, 4

DECODERS = (
    Case(
        "training_helper",
        501,
        "TrainingHelper with rows ending early, GRUCell, output_layer, impute_finished=False",
        DECODER,
        PROJECTION
        + """\
cell = GRUCell(5)
helper = TrainingHelper(inputs, target_length)
decoder = BasicDecoder(cell, helper, cell.zero_state(4, tf.float32), output_layer=projection)
note("output_size", repr(decoder.output_size))
note("output_dtype", repr(decoder.output_dtype))
outputs, state, lengths = dynamic_decode(decoder)
record("outputs", outputs)
record("state", state)
record("lengths", lengths)
""",
    ),
    Case(
        "training_helper_impute",
        502,
        "TrainingHelper, LSTMCell, output_layer, impute_finished=True",
        DECODER,
        PROJECTION
        + """\
cell = LSTMCell(5)
helper = TrainingHelper(inputs, target_length)
decoder = BasicDecoder(cell, helper, cell.zero_state(4, tf.float32), output_layer=projection)
outputs, state, lengths = dynamic_decode(decoder, impute_finished=True)
record("outputs", outputs)
record("state", state)
record("lengths", lengths)
""",
    ),
    Case(
        "training_helper_time_major",
        503,
        "TrainingHelper(time_major=True), output_time_major=True, impute_finished=True",
        (("inputs", "normal", (DEC_T, B, DEC_D)), ("target_length", "int32", DEC_LEN)),
        """\
cell = GRUCell(5)
helper = TrainingHelper(inputs, target_length, time_major=True)
decoder = BasicDecoder(cell, helper, cell.zero_state(4, tf.float32))
outputs, state, lengths = dynamic_decode(decoder, output_time_major=True, impute_finished=True)
record("outputs", outputs)
record("state", state)
record("lengths", lengths)
""",
    ),
    Case(
        "training_helper_max_iter",
        504,
        "TrainingHelper cut by maximum_iterations=2 (rows of length 3, 4 never finish)",
        DECODER,
        PROJECTION
        + """\
cell = LSTMCell(5)
helper = TrainingHelper(inputs, target_length)
decoder = BasicDecoder(cell, helper, cell.zero_state(4, tf.float32), output_layer=projection)
outputs, state, lengths = dynamic_decode(decoder, maximum_iterations=2)
record("outputs", outputs)
record("state", state)
record("lengths", lengths)
""",
    ),
    # The two greedy cases share a seed on purpose: same weights and inputs,
    # so they differ only in impute_finished.
    Case(
        "greedy",
        GREEDY_SEED,
        "GreedyEmbeddingHelper, end token reached at step 0 by row 1 and step 3 by row 2, "
        "never by rows 0 and 3; "
        "maximum_iterations=6; impute_finished=False",
        GREEDY_INPUTS,
        GREEDY.format(end=GREEDY_END, impute=False),
    ),
    Case(
        "greedy_impute",
        GREEDY_SEED,
        "as greedy (same seed, weights, inputs) with impute_finished=True",
        GREEDY_INPUTS,
        GREEDY.format(end=GREEDY_END, impute=True),
    ),
    Case(
        "sample_embedding",
        507,
        "SampleEmbeddingHelper(softmax_temperature=0.5, seed=7), maximum_iterations=6; "
        "the sample ids are TF1's draws",
        GREEDY_INPUTS,
        EMBEDDING
        + PROJECTION
        + """\
cell = LSTMCell(5)
helper = SampleEmbeddingHelper(embedding, start_tokens, 5, softmax_temperature=0.5, seed=7)
decoder = BasicDecoder(cell, helper, LSTMStateTuple(init_c, init_h), output_layer=projection)
# parallel_iterations=1 so that the draws are made in step order.
outputs, state, lengths = dynamic_decode(decoder, maximum_iterations=6, parallel_iterations=1)
record("outputs", outputs)
record("state", state)
record("lengths", lengths)
""",
    ),
    Case(
        "scheduled_embedding",
        508,
        "ScheduledEmbeddingTrainingHelper (4 positional args, p=0.5, seed=11, "
        "scheduling_seed=13): sample_id -1 = read the input, else TF1's draw fed back",
        DECODER,
        EMBEDDING
        + PROJECTION
        + """\
cell = GRUCell(5)
helper = ScheduledEmbeddingTrainingHelper(inputs, target_length, embedding, 0.5, seed=11, scheduling_seed=13)
decoder = BasicDecoder(cell, helper, cell.zero_state(4, tf.float32), output_layer=projection)
# parallel_iterations=1: the scheduling draws do not depend on the loop state, so
# with parallel iterations TF 1.15 may make them in another order from run to run.
outputs, state, lengths = dynamic_decode(decoder, parallel_iterations=1)
record("outputs", outputs)
record("state", state)
record("lengths", lengths)
""",
    ),
    Case(
        "scheduled_output",
        509,
        "ScheduledOutputTrainingHelper(p=0.5, seed=17): sample_id 1 = the output was fed back",
        DECODER,
        """\
cell = GRUCell(5)
projection = Dense(3, use_bias=False, name="output_projection")
helper = ScheduledOutputTrainingHelper(inputs, target_length, 0.5, seed=17)
decoder = BasicDecoder(cell, helper, cell.zero_state(4, tf.float32), output_layer=projection)
# parallel_iterations=1: the scheduling draws do not depend on the loop state, so
# with parallel iterations TF 1.15 may make them in another order from run to run.
outputs, state, lengths = dynamic_decode(decoder, parallel_iterations=1)
record("outputs", outputs)
record("state", state)
record("lengths", lengths)
""",
    ),
    Case(
        "scheduled_output_aux",
        510,
        "ScheduledOutputTrainingHelper with next_inputs_fn=tf.tanh and auxiliary_inputs "
        "(p=0.6, seed=19), impute_finished=True",
        DECODER + (("aux", "normal", (B, DEC_T, 2)),),
        """\
cell = LSTMCell(5)
projection = Dense(3, use_bias=False, name="output_projection")
helper = ScheduledOutputTrainingHelper(inputs, target_length, 0.6, seed=19, next_inputs_fn=tf.tanh, auxiliary_inputs=aux)
decoder = BasicDecoder(cell, helper, cell.zero_state(4, tf.float32), output_layer=projection)
# parallel_iterations=1: the scheduling draws do not depend on the loop state, so
# with parallel iterations TF 1.15 may make them in another order from run to run.
outputs, state, lengths = dynamic_decode(decoder, impute_finished=True, parallel_iterations=1)
record("outputs", outputs)
record("state", state)
record("lengths", lengths)
""",
    ),
    Case(
        "inference_helper",
        511,
        "InferenceHelper with float sample ids (tanh of the projection), end_fn on their "
        "mean, next_inputs_fn; maximum_iterations=6",
        (("start_inputs", "normal", (B, 3)),),
        """\
cell = GRUCell(5)
projection = Dense(3, use_bias=False, name="output_projection")
helper = InferenceHelper(
    sample_fn=lambda outputs: tf.tanh(outputs),
    sample_shape=[3],
    sample_dtype=tf.float32,
    start_inputs=start_inputs,
    end_fn=lambda sample_ids: tf.reduce_mean(sample_ids, -1) > 0.05,
    next_inputs_fn=lambda sample_ids: 2.0 * sample_ids)
decoder = BasicDecoder(cell, helper, cell.zero_state(4, tf.float32), output_layer=projection)
outputs, state, lengths = dynamic_decode(decoder, maximum_iterations=6)
record("outputs", outputs)
record("state", state)
record("lengths", lengths)
""",
    ),
)


# ---------------------------------------------------------------------------
# 3. sequence_loss, every flag combination.

LOSS_WEIGHTS = (
    (1.0, 1.0, 1.0, 0.0, 1.0),
    (2.0, 0.5, 0.0, 0.0, 1.5),
    (0.0, 0.0, 0.0, 0.0, 0.0),
    (1.0, 0.0, 3.0, 0.0, 0.0),
)

SEQUENCE_LOSS = Case(
    "sequence_loss",
    601,
    "sequence_loss for all 16 flag combinations (7 rejected: the error text is in "
    "MANIFEST errors); weights with non-binary values, an all-zero row and an all-zero "
    "step; a custom softmax_loss_function; per-combination gradients",
    (
        ("logits", "normal", (4, 5, V)),
        ("targets", "ids:%d" % V, (4, 5)),
        ("weights", "float32", LOSS_WEIGHTS),
    ),
    """\
for aat in (False, True):
    for aab in (False, True):
        for sot in (False, True):
            for sob in (False, True):
                key = "aat%d_aab%d_sot%d_sob%d" % (aat, aab, sot, sob)
                try:
                    loss = sequence_loss(logits, targets, weights,
                                         average_across_timesteps=aat,
                                         average_across_batch=aab,
                                         sum_over_timesteps=sot,
                                         sum_over_batch=sob)
                except ValueError as e:
                    record_error(key, e)
                    continue
                record("loss." + key, loss)
                record("grad_logits." + key, tf.gradients(loss, logits)[0], loss=False)
                grad_weights = tf.gradients(loss, weights)[0]
                if grad_weights is not None:
                    record("grad_weights." + key, grad_weights, loss=False)
                else:
                    note("grad_weights." + key, "None")

def smoothed(labels, logits):
    one_hot = tf.one_hot(labels, 7)
    return tf.nn.softmax_cross_entropy_with_logits_v2(
        labels=0.9 * one_hot + 0.1 / 7, logits=logits)

loss = sequence_loss(logits, targets, weights, softmax_loss_function=smoothed)
record("loss.custom_softmax_loss_function", loss)
record("grad_logits.custom_softmax_loss_function", tf.gradients(loss, logits)[0], loss=False)
""",
)


# ---------------------------------------------------------------------------
# 4. tile_batch, gather_tree, BeamSearchDecoder.

# gather_tree inputs: [max_time 6, batch 2, beam 3].  Row 0: parents cross
# beams at every step, beam 2 emits the end token 9 at step 2, max length 6.
# Row 1: max length 4, so steps 4 and 5 are filled with the end token; beam 0
# reaches the end token at step 1.
GT_STEP_IDS = (
    ((1, 2, 3), (4, 9, 6)),
    ((5, 6, 7), (9, 1, 2)),
    ((8, 1, 9), (3, 4, 5)),
    ((2, 3, 4), (6, 7, 8)),
    ((9, 5, 6), (1, 2, 3)),
    ((7, 8, 1), (4, 5, 6)),
)
GT_PARENT_IDS = (
    ((0, 0, 0), (0, 0, 0)),
    ((2, 0, 1), (1, 1, 0)),
    ((1, 1, 0), (2, 0, 2)),
    ((0, 2, 2), (0, 1, 2)),
    ((2, 1, 0), (1, 0, 0)),
    ((1, 0, 2), (2, 2, 1)),
)

TILE_GATHER = Case(
    "tile_batch_gather_tree",
    701,
    "tile_batch of a matrix, a rank-3 tensor and an LSTMStateTuple (multiplier 3); "
    "gather_tree with crossing parents, an end token and a short max_sequence_length",
    (
        ("matrix", "int32", ((1, 2), (3, 4))),
        ("cube", "normal", (2, 2, 3)),
        ("c", "normal", (2, 3)),
        ("h", "normal", (2, 3)),
        ("step_ids", "int32", GT_STEP_IDS),
        ("parent_ids", "int32", GT_PARENT_IDS),
        ("max_sequence_lengths", "int32", (6, 4)),
    ),
    """\
record("tile_batch.matrix", tile_batch(matrix, 3))
record("tile_batch.cube", tile_batch(cube, 3))
record("tile_batch.state", tile_batch(LSTMStateTuple(c, h), 3))
record("gather_tree", gather_tree(step_ids, parent_ids, max_sequence_lengths, 9))
record("gather_tree.end_0", gather_tree(step_ids, parent_ids, max_sequence_lengths, 0))
""",
    grads=False,
)

BEAM = (
    EMBEDDING
    + PROJECTION
    + """\
tiled_memory = tile_batch(memory, 3)
tiled_length = tile_batch(memory_length, 3)
mechanism = BahdanauAttention(4, tiled_memory, memory_sequence_length=tiled_length)
cell = AttentionWrapper(LSTMCell(5), mechanism, attention_layer_size=4, alignment_history={history})
initial_state = cell.zero_state(2 * 3, tf.float32).clone(
    cell_state=tile_batch(LSTMStateTuple(init_c, init_h), 3))
decoder = BeamSearchDecoder(cell, embedding, start_tokens, {end}, initial_state, 3,
                            output_layer=projection, length_penalty_weight={lp},
                            coverage_penalty_weight={cp})
outputs, state, lengths = dynamic_decode(decoder, maximum_iterations=7)
record("outputs", outputs)
record("state", state)
record("lengths", lengths)
"""
)
BEAM_INPUTS = (
    ("memory", "normal", (2, MEM_T, MEM_D)),
    ("memory_length", "int32", (5, 3)),
    ("start_tokens", "int32", (1, 2)),
    ("init_c", "normal", (2, 5)),
    ("init_h", "normal", (2, 5)),
)
# Seed and end token picked by trying seeds so that beams finish at different
# steps and some never finish (see README).
BEAM_SEED, BEAM_END = 839, 5

BEAMS = (
    # The three beam cases share a seed: same weights and inputs.
    Case(
        "beam_search",
        BEAM_SEED,
        "BeamSearchDecoder beam 3 over AttentionWrapper(Bahdanau) with tiled memory, "
        "length_penalty_weight=0, maximum_iterations=7",
        BEAM_INPUTS,
        BEAM.format(end=BEAM_END, history=False, lp=0.0, cp=0.0),
        grads=False,
    ),
    Case(
        "beam_search_length_penalty",
        BEAM_SEED,
        "as beam_search (same seed) with length_penalty_weight=0.5",
        BEAM_INPUTS,
        BEAM.format(end=BEAM_END, history=False, lp=0.5, cp=0.0),
        grads=False,
    ),
    Case(
        "beam_search_coverage",
        BEAM_SEED,
        "as beam_search (same seed) with length_penalty_weight=0.5, "
        "coverage_penalty_weight=0.4 and alignment_history=True",
        BEAM_INPUTS,
        BEAM.format(end=BEAM_END, history=True, lp=0.5, cp=0.4),
        grads=False,
    ),
)


# ---------------------------------------------------------------------------
# 5. tensorflow/nmt's layout: training step, then greedy and beam inference
# from the training checkpoint.

# nmt's hparams here: unit_type=lstm, num_units=4, num_layers=2 (encoder and
# decoder), encoder_type=uni, attention=normed_bahdanau,
# attention_architecture=standard, output_attention=True,
# pass_hidden_state=True, time_major=True, dropout=0, num_gpus=0 (so
# DeviceWrapper("/cpu:0") around every cell), optimizer=adam, learning_rate=0.01,
# max_gradient_norm=5, init_op=uniform, init_weight=0.1, src/tgt vocabularies
# 8 / 9, sos = 1, eos = 2.  The code inlines nmt's model.py, attention_model.py
# and model_helper.py (create_emb_for_encoder_and_decoder, _single_cell,
# create_rnn_cell, _build_encoder, _build_decoder, _build_decoder_cell,
# create_attention_mechanism, _compute_loss, the Adam update).
NMT_COMMON = """\
batch_size = tf.size(source_length)
global_step = tf.Variable(0, trainable=False)
tf.get_variable_scope().set_initializer(tf.random_uniform_initializer(-0.1, 0.1, seed=7))

with tf.variable_scope("embeddings", dtype=tf.float32):
    with tf.variable_scope("encoder"):
        embedding_encoder = tf.get_variable("embedding_encoder", [8, 4], tf.float32)
    with tf.variable_scope("decoder"):
        embedding_decoder = tf.get_variable("embedding_decoder", [9, 4], tf.float32)

with tf.variable_scope("build_network"):
    with tf.variable_scope("decoder/output_projection"):
        output_layer = tf.layers.Dense(9, use_bias=False, name="output_projection")

def create_rnn_cell():
    cells = [tf.contrib.rnn.DeviceWrapper(tf.contrib.rnn.BasicLSTMCell(4, forget_bias=1.0), "/cpu:0")
             for i in range(2)]
    return tf.contrib.rnn.MultiRNNCell(cells)

with tf.variable_scope("dynamic_seq2seq", dtype=tf.float32):
    with tf.variable_scope("encoder") as scope:
        encoder_emb_inp = tf.nn.embedding_lookup(embedding_encoder, tf.transpose(source))
        encoder_outputs, encoder_state = tf.nn.dynamic_rnn(
            create_rnn_cell(), encoder_emb_inp, dtype=scope.dtype,
            sequence_length=source_length, time_major=True, swap_memory=True)
    with tf.variable_scope("decoder") as decoder_scope:
        memory = tf.transpose(encoder_outputs, [1, 0, 2])
"""

NMT_TRAIN = (
    NMT_COMMON
    + """\
        attention_mechanism = tf.contrib.seq2seq.BahdanauAttention(
            4, memory, memory_sequence_length=source_length, normalize=True)
        cell = tf.contrib.seq2seq.AttentionWrapper(
            create_rnn_cell(), attention_mechanism, attention_layer_size=4,
            alignment_history=False, output_attention=True, name="attention")
        cell = tf.contrib.rnn.DeviceWrapper(cell, "/cpu:0")
        decoder_initial_state = cell.zero_state(batch_size, tf.float32).clone(
            cell_state=encoder_state)
        decoder_emb_inp = tf.nn.embedding_lookup(embedding_decoder, tf.transpose(target_input))
        helper = tf.contrib.seq2seq.TrainingHelper(decoder_emb_inp, target_length, time_major=True)
        my_decoder = tf.contrib.seq2seq.BasicDecoder(cell, helper, decoder_initial_state)
        outputs, final_context_state, _ = tf.contrib.seq2seq.dynamic_decode(
            my_decoder, output_time_major=True, swap_memory=True, scope=decoder_scope)
        sample_id = outputs.sample_id
        logits = output_layer(outputs.rnn_output)
    crossent = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.transpose(target_output), logits=logits)
    target_weights = tf.transpose(tf.sequence_mask(target_length, 4, dtype=tf.float32))
    train_loss = tf.reduce_sum(crossent * target_weights) / tf.to_float(batch_size)

params = tf.trainable_variables()
opt = tf.train.AdamOptimizer(0.01)
gradients = tf.gradients(train_loss, params)
clipped_grads, grad_norm = tf.clip_by_global_norm(gradients, 5.0)
update = opt.apply_gradients(zip(clipped_grads, params), global_step=global_step)
set_train_op(update)

record("encoder_outputs", encoder_outputs)
record("encoder_state", encoder_state)
record("rnn_output", outputs.rnn_output)
record("logits", logits)
record("sample_id", sample_id)
record("final_context_state", final_context_state)
record("train_loss", train_loss)
"""
)

NMT_INFER_GREEDY = (
    NMT_COMMON
    + """\
        attention_mechanism = tf.contrib.seq2seq.BahdanauAttention(
            4, memory, memory_sequence_length=source_length, normalize=True)
        cell = tf.contrib.seq2seq.AttentionWrapper(
            create_rnn_cell(), attention_mechanism, attention_layer_size=4,
            alignment_history=True, output_attention=True, name="attention")
        cell = tf.contrib.rnn.DeviceWrapper(cell, "/cpu:0")
        decoder_initial_state = cell.zero_state(batch_size, tf.float32).clone(
            cell_state=encoder_state)
        maximum_iterations = tf.to_int32(tf.round(tf.to_float(tf.reduce_max(source_length)) * 2.0))
        helper = tf.contrib.seq2seq.GreedyEmbeddingHelper(
            embedding_decoder, tf.fill([batch_size], 1), {eos})
        my_decoder = tf.contrib.seq2seq.BasicDecoder(
            cell, helper, decoder_initial_state, output_layer=output_layer)
        outputs, final_context_state, lengths = tf.contrib.seq2seq.dynamic_decode(
            my_decoder, maximum_iterations=maximum_iterations, output_time_major=True,
            swap_memory=True, scope=decoder_scope)

record("outputs", outputs)
record("final_context_state", final_context_state)
record("lengths", lengths)
"""
)

NMT_INFER_BEAM = (
    NMT_COMMON
    + """\
        memory = tf.contrib.seq2seq.tile_batch(memory, multiplier=3)
        tiled_length = tf.contrib.seq2seq.tile_batch(source_length, multiplier=3)
        encoder_state = tf.contrib.seq2seq.tile_batch(encoder_state, multiplier=3)
        attention_mechanism = tf.contrib.seq2seq.BahdanauAttention(
            4, memory, memory_sequence_length=tiled_length, normalize=True)
        cell = tf.contrib.seq2seq.AttentionWrapper(
            create_rnn_cell(), attention_mechanism, attention_layer_size=4,
            alignment_history=False, output_attention=True, name="attention")
        cell = tf.contrib.rnn.DeviceWrapper(cell, "/cpu:0")
        decoder_initial_state = cell.zero_state(batch_size * 3, tf.float32).clone(
            cell_state=encoder_state)
        maximum_iterations = tf.to_int32(tf.round(tf.to_float(tf.reduce_max(source_length)) * 2.0))
        my_decoder = tf.contrib.seq2seq.BeamSearchDecoder(
            cell=cell, embedding=embedding_decoder, start_tokens=tf.fill([batch_size], 1),
            end_token={eos}, initial_state=decoder_initial_state, beam_width=3,
            output_layer=output_layer, length_penalty_weight=0.0,
            coverage_penalty_weight=0.0)
        outputs, final_context_state, lengths = tf.contrib.seq2seq.dynamic_decode(
            my_decoder, maximum_iterations=maximum_iterations, output_time_major=True,
            swap_memory=True, scope=decoder_scope)

record("outputs", outputs)
record("final_context_state", final_context_state)
record("lengths", lengths)
"""
)

NMT_SOURCE = (
    ("source", "int32", ((3, 4, 5, 6, 7), (5, 3, 7, 0, 0), (4, 0, 0, 0, 0), (6, 6, 3, 5, 0))),
    ("source_length", "int32", MEM_LEN),
)
NMT_EOS = 2

NMT = (
    Case(
        "nmt_train",
        913,  # picked so that greedy and beam inference end some rows / beams early
        "tensorflow/nmt training graph (normed_bahdanau, 2-layer LSTM, time-major, "
        "AttentionWrapper name='attention', DeviceWrapper) after one Adam step; the "
        "checkpoint holds Adam slots, beta powers and global_step",
        NMT_SOURCE
        + (
            ("target_input", "int32", ((1, 4, 5, 6), (1, 7, 0, 0), (1, 8, 3, 0), (1, 0, 0, 0))),
            ("target_output", "int32", ((4, 5, 6, 2), (7, 2, 0, 0), (8, 3, 2, 0), (2, 0, 0, 0))),
            ("target_length", "int32", DEC_LEN),
        ),
        NMT_TRAIN,
        init_facts=True,
    ),
    Case(
        "nmt_infer_greedy",
        902,
        "tensorflow/nmt greedy inference graph restored from nmt_train's checkpoint "
        "(alignment_history=True, maximum_iterations = round(2 * max source length))",
        NMT_SOURCE,
        NMT_INFER_GREEDY.format(eos=NMT_EOS),
        restore_from="nmt_train",
    ),
    Case(
        "nmt_infer_beam",
        903,
        "tensorflow/nmt beam-search inference graph (beam 3, nmt's default "
        "length_penalty_weight=0) "
        "restored from nmt_train's checkpoint",
        NMT_SOURCE,
        NMT_INFER_BEAM.format(eos=NMT_EOS),
        grads=False,
        restore_from="nmt_train",
    ),
)


# ---------------------------------------------------------------------------
# Errors TF 1.15 raises (MANIFEST errors only; the npz has the inputs).

ERRORS = Case(
    "errors",
    951,
    "the exception type and message TF 1.15 gives for bad arguments (MANIFEST "
    "errors; no npz, no checkpoint)",
    MEMORY + DECODER,
    """\
cell = LSTMCell(5)
state = cell.zero_state(4, tf.float32)
helper = TrainingHelper(inputs, target_length)
embedding = tf.get_variable("embedding", [7, 3])
mechanism = BahdanauAttention(4, memory, memory_sequence_length=memory_length)

def attempt(key, fn):
    try:
        fn()
    except Exception as e:
        record_error(key, e)
    else:
        note(key, "no error")

attempt("BasicDecoder.helper", lambda: BasicDecoder(cell, "not a helper", state))
attempt("BasicDecoder.output_layer", lambda: BasicDecoder(cell, helper, state, output_layer="not a layer"))
attempt("BasicDecoder.keras_dense", lambda: BasicDecoder(cell, helper, state, output_layer=tf.keras.layers.Dense(7)))
attempt("GreedyEmbeddingHelper.start_tokens", lambda: GreedyEmbeddingHelper(embedding, [[1, 2]], 3))
attempt("GreedyEmbeddingHelper.end_token", lambda: GreedyEmbeddingHelper(embedding, [1, 2], [3]))
attempt("TrainingHelper.sequence_length", lambda: TrainingHelper(inputs, [[4, 2, 3, 1]]))
attempt("ScheduledEmbeddingTrainingHelper.sampling_probability",
        lambda: ScheduledEmbeddingTrainingHelper(inputs, target_length, embedding, [[0.5]]))
attempt("BeamSearchDecoder.start_tokens",
        lambda: BeamSearchDecoder(cell, embedding, [[1, 2]], 3, state, 2))
attempt("BeamSearchDecoder.end_token",
        lambda: BeamSearchDecoder(cell, embedding, [1, 2], [3], state, 2))
attempt("AttentionWrapper.mechanism", lambda: AttentionWrapper(LSTMCell(5), "not a mechanism"))
attempt("AttentionWrapper.attention_layer_size_count",
        lambda: AttentionWrapper(LSTMCell(5), [mechanism], attention_layer_size=[3, 4]))
attempt("AttentionWrapper.layer_and_size",
        lambda: AttentionWrapper(LSTMCell(5), mechanism, attention_layer_size=3,
                                 attention_layer=Dense(3)))
attempt("LuongAttention.num_units",
        lambda: dynamic_rnn(AttentionWrapper(LSTMCell(5), LuongAttention(3, memory)),
                            inputs, dtype=tf.float32, scope="luong_mismatch"))
attempt("monotonic.mode",
        lambda: dynamic_rnn(AttentionWrapper(LSTMCell(5), BahdanauMonotonicAttention(4, memory, mode="soft")),
                            inputs, dtype=tf.float32, scope="bad_mode"))
attempt("dynamic_rnn.no_dtype",
        lambda: dynamic_rnn(AttentionWrapper(LSTMCell(5), BahdanauAttention(4, memory)), inputs,
                            initial_state=AttentionWrapper(LSTMCell(5), BahdanauAttention(4, memory)).zero_state(4, tf.float32),
                            scope="no_dtype"))
attempt("dynamic_decode.maximum_iterations",
        lambda: dynamic_decode(BasicDecoder(cell, helper, state), maximum_iterations=[3, 4]))
attempt("dynamic_decode.decoder", lambda: dynamic_decode("not a decoder"))
attempt("BeamSearchDecoder.coverage_without_attention",
        lambda: dynamic_decode(BeamSearchDecoder(cell, embedding, [1, 2], 3, tile_batch(cell.zero_state(2, tf.float32), 3), 3,
                                                 coverage_penalty_weight=0.4), maximum_iterations=2,
                               scope="coverage"))
attempt("sequence_loss.logits_rank",
        lambda: sequence_loss(tf.zeros([4, 7]), tf.zeros([4, 5], tf.int32), tf.ones([4, 5])))
attempt("sequence_loss.targets_rank",
        lambda: sequence_loss(tf.zeros([4, 5, 7]), tf.zeros([4], tf.int32), tf.ones([4, 5])))
attempt("sequence_loss.weights_rank",
        lambda: sequence_loss(tf.zeros([4, 5, 7]), tf.zeros([4, 5], tf.int32), tf.ones([4])))

attempt("memory_sequence_length.zero_constant",
        lambda: dynamic_rnn(AttentionWrapper(LSTMCell(5), BahdanauAttention(4, memory, memory_sequence_length=[5, 0, 1, 4])),
                            inputs, dtype=tf.float32, scope="zero_constant"))

# Errors raised when the graph runs (the first line of the message is kept).
zero_length = BahdanauAttention(4, memory, memory_sequence_length=tf.placeholder_with_default([5, 0, 1, 4], [4]))
out, _ = dynamic_rnn(AttentionWrapper(LSTMCell(5), zero_length), inputs, dtype=tf.float32,
                     scope="zero_length")
record_run_error("memory_sequence_length.zero_runtime", out)
wrong_batch = AttentionWrapper(LSTMCell(5), BahdanauAttention(4, memory))
attempt("AttentionWrapper.zero_state_batch_constant", lambda: wrong_batch.zero_state(3, tf.float32))
record_run_error("AttentionWrapper.zero_state_batch_runtime",
                 tf.nest.flatten(wrong_batch.zero_state(tf.placeholder_with_default(3, []), tf.float32))[0])
""",
    grads=False,
    files=False,
)

# An init-only case with wide layers, so the default initializers' limits show.
INIT_DEFAULTS = Case(
    "init_defaults",
    961,
    "default initializers with 32 units (INIT_FACTS only): every mechanism, one "
    "attention layer per mechanism",
    (("memory", "normal", (2, 3, 8)), ("inputs", "normal", (2, 1, 3))),
    """\
mechanism = [
    BahdanauAttention(32, memory, normalize=True),
    LuongAttention(32, memory, scale=True),
    BahdanauMonotonicAttention(32, memory, normalize=True, score_bias_init=-2.5),
    LuongMonotonicAttention(32, memory, scale=True, score_bias_init=1.5),
]
cell = AttentionWrapper(LSTMCell(32), mechanism, attention_layer_size=[16, 16, 16, 16])
outputs, state = dynamic_rnn(cell, inputs, dtype=tf.float32)
""",
    grads=False,
    init_facts=True,
    init_only=True,
)


CASES = (
    attention_cases()
    + (MONOTONIC_FN,)
    + DECODERS
    + (SEQUENCE_LOSS, TILE_GATHER)
    + BEAMS
    + NMT
    + (ERRORS, INIT_DEFAULTS)
)


# ---------------------------------------------------------------------------
# Machinery.

SAFE_BUILTINS = {
    name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    for name in (
        "range",
        "len",
        "zip",
        "tuple",
        "list",
        "dict",
        "float",
        "int",
        "str",
        "repr",
        "isinstance",
        "Exception",
        "ValueError",
        "TypeError",
    )
}


class Recorder(object):
    """What the case code hands back: results, errors, notes, a train op."""

    def __init__(self, tf):
        self.tf = tf
        self.records = []  # (key, tensor, in_loss)
        self.errors = {}
        self.run_errors = []  # (key, tensor)
        self.notes = {}
        self.train_op = None

    def _flatten(self, prefix, value):
        tf = self.tf
        if isinstance(value, tf.TensorArray):
            # alignment_history and other TensorArrays: stacked, time-major.
            yield prefix, value.stack()
        elif isinstance(value, (tf.Tensor, tf.Variable)):
            yield prefix, value
        elif hasattr(value, "_fields"):  # namedtuple
            for field in value._fields:
                for item in self._flatten(prefix + "." + field, getattr(value, field)):
                    yield item
        elif isinstance(value, (tuple, list)):
            for i, v in enumerate(value):
                for item in self._flatten("%s.%d" % (prefix, i), v):
                    yield item
        elif value is None:
            return
        else:
            raise TypeError("record: cannot record %r at %s" % (value, prefix))

    def record(self, key, value, loss=True):
        for path, tensor in self._flatten(key, value):
            if any(path == k for k, _, _ in self.records):
                raise ValueError("record: duplicate key %s" % path)
            self.records.append((path, tensor, loss and tensor.dtype.is_floating))

    def record_error(self, key, error):
        message = str(error)
        if "in converted code:" in message:
            # autograph prepends a traceback with this machine's paths; keep
            # the error itself (the last paragraph).
            message = "\n".join(
                line.strip() for line in message.split("\n\n")[-1].split("\n")
            ).strip()
            message = message.split(": ", 1)[1] if ": " in message else message
        self.errors[key] = "%s: %s" % (type(error).__name__, message)

    def record_run_error(self, key, tensor):
        self.run_errors.append((key, tensor))

    def note(self, key, value):
        self.notes[key] = value

    def set_train_op(self, op):
        self.train_op = op


def namespace(tf, recorder):
    """Names the case code may use (plus its inputs)."""
    s2s = tf.contrib.seq2seq
    ns = {"__builtins__": SAFE_BUILTINS, "tf": tf}
    for name in (
        "AttentionWrapper",
        "AttentionWrapperState",
        "BahdanauAttention",
        "BahdanauMonotonicAttention",
        "LuongAttention",
        "LuongMonotonicAttention",
        "BasicDecoder",
        "BasicDecoderOutput",
        "BeamSearchDecoder",
        "dynamic_decode",
        "TrainingHelper",
        "GreedyEmbeddingHelper",
        "SampleEmbeddingHelper",
        "ScheduledEmbeddingTrainingHelper",
        "ScheduledOutputTrainingHelper",
        "InferenceHelper",
        "CustomHelper",
        "sequence_loss",
        "tile_batch",
        "gather_tree",
        "hardmax",
        "safe_cumprod",
        "monotonic_attention",
    ):
        ns[name] = getattr(s2s, name)
    rnn_cell = tf.nn.rnn_cell
    ns.update(
        LSTMCell=rnn_cell.LSTMCell,
        GRUCell=rnn_cell.GRUCell,
        BasicLSTMCell=rnn_cell.BasicLSTMCell,
        MultiRNNCell=rnn_cell.MultiRNNCell,
        LSTMStateTuple=rnn_cell.LSTMStateTuple,
        dynamic_rnn=tf.nn.dynamic_rnn,
        Dense=tf.layers.Dense,
        record=recorder.record,
        record_error=recorder.record_error,
        record_run_error=recorder.record_run_error,
        note=recorder.note,
        set_train_op=recorder.set_train_op,
    )
    return ns


def make_inputs(tf, case, rng):
    """The case's inputs as (name, numpy value, tensor), drawn in order."""
    made = []
    for name, kind, spec in case.inputs:
        if kind == "normal":
            value = rng.normal(size=spec).astype(np.float32)
        elif kind.startswith("ids:"):
            value = rng.integers(0, int(kind[4:]), size=spec).astype(np.int32)
        elif kind in ("int32", "float32"):
            value = np.array(spec, dtype=kind)
        else:
            raise ValueError("%s: unknown input kind %s" % (case.name, kind))
        made.append((name, value, tf.constant(value, name=name)))
    return made


def stats(value):
    value = np.asarray(value, np.float64)
    return {
        "shape": list(value.shape),
        "min": float(value.min()),
        "max": float(value.max()),
        "mean": float(value.mean()),
        "std": float(value.std()),
    }


def session_config(tf):
    return tf.ConfigProto(
        intra_op_parallelism_threads=1,
        inter_op_parallelism_threads=1,
        device_count={"GPU": 0},
    )


def run_case(tf, case, out_dir):
    """Build, run and save one case; return (manifest entry, init facts or None)."""
    rng = np.random.default_rng(case.seed)
    with tf.Graph().as_default():
        # Only the default initializers and the sampling helpers draw from
        # TF's RNG; a graph seed keeps both fixed.
        tf.set_random_seed(case.seed)
        inputs = make_inputs(tf, case, rng)
        recorder = Recorder(tf)
        ns = namespace(tf, recorder)
        for name, _, tensor in inputs:
            ns[name] = tensor
        exec(case.code, ns)  # noqa: S102 - literal code from CASES

        created = tf.global_variables()
        trainable = sorted(tf.trainable_variables(), key=lambda v: v.op.name)
        entry_vars = {
            "variables": [[v.op.name, v.shape.as_list()] for v in trainable],
            "variables_created": [
                [v.op.name, v.shape.as_list(), v in set(tf.trainable_variables())]
                for v in created
            ],
        }
        facts = None
        if case.init_only:
            with tf.Session(config=session_config(tf)) as sess:
                sess.run(tf.global_variables_initializer())
                facts = {
                    v.op.name: stats(val)
                    for v, val in zip(trainable, sess.run(trainable))
                }
            entry = {"name": case.name, "seed": case.seed, "what": case.what,
                     "code": case.code, "init_only": True}
            entry.update(entry_vars)
            return entry, facts

        keys = [k for k, _, _ in recorder.records]
        tensors = [t for _, t, _ in recorder.records]
        loss_idx = [
            i for i, (_, _, in_loss) in enumerate(recorder.records) if in_loss and case.grads
        ]
        float_inputs = [(n, t) for n, _, t in inputs if t.dtype.is_floating]
        grads, grad_ys, grad_none = [], [], []
        grad_names_all = ["in:" + n for n, _ in float_inputs] + [v.op.name for v in trainable]
        if case.grads and loss_idx:
            grad_ys = [
                tf.placeholder(tensors[i].dtype, name="r_%d" % i) for i in loss_idx
            ]
            wrt = [t for _, t in float_inputs] + trainable
            raw = tf.gradients([tensors[i] for i in loss_idx], wrt, grad_ys=grad_ys)
            for name, target, g in zip(grad_names_all, wrt, raw):
                if g is None:
                    grad_none.append(name)
                    g = tf.zeros_like(target)
                grads.append(tf.convert_to_tensor(g))

        placeholders = {
            v: tf.placeholder(v.dtype.base_dtype, v.shape) for v in created
        }
        load_all = tf.group(*[v.assign(p) for v, p in placeholders.items()])
        # Cases without variables (sequence_loss, tile_batch) get no checkpoint.
        saver = tf.train.Saver(created, save_relative_paths=True) if created else None

        # Session 1: set the values (random, restored, overridden, trained)
        # and learn the results' shapes.  Random ops keep their state per
        # session, so session 2 makes the same draws again (as long as they
        # are made in the same order: see parallel_iterations=1 in the
        # sampling cases); the results of the two sessions are compared.
        with tf.Session(config=session_config(tf)) as sess:
            sess.run(tf.global_variables_initializer())
            if case.init_facts:
                facts = {
                    v.op.name: stats(val)
                    for v, val in zip(trainable, sess.run(trainable))
                }
            if case.restore_from:
                tf.train.Saver(created).restore(
                    sess, os.path.join(out_dir, case.restore_from, "model.ckpt")
                )
            else:
                # U(-0.5, 0.5) for every trainable variable, sorted by name,
                # drawn after the inputs.
                sess.run(
                    [
                        v.assign(
                            rng.uniform(-0.5, 0.5, v.shape.as_list()).astype(np.float32)
                        )
                        for v in trainable
                    ]
                )
            by_name = {v.op.name: v for v in created}
            for name, value in case.overrides:
                var = by_name[name]
                sess.run(var.assign(np.full(var.shape.as_list(), value, np.float32)))
            if recorder.train_op is not None:
                sess.run(recorder.train_op)
            values = sess.run(created)
            first = sess.run(tensors)

        # One N(0, 1) loss weight per float result in the loss, drawn after
        # the variable values, shaped like the result.
        r = [rng.normal(size=np.shape(first[i])).astype(np.float32) for i in loss_idx]
        for i in loss_idx:
            if not np.all(np.isfinite(first[i])):
                raise RuntimeError("%s: %s is not finite" % (case.name, keys[i]))

        # Session 2: the same values; results and gradients in one run.
        with tf.Session(config=session_config(tf)) as sess:
            sess.run(load_all, {placeholders[v]: val for v, val in zip(created, values)})
            fetched = sess.run(
                {"results": tensors, "grads": grads, "vars": trainable},
                dict(zip(grad_ys, r)),
            )
            for k, a, b in zip(keys, first, fetched["results"]):
                try:  # NaN equals NaN here
                    np.testing.assert_array_equal(a, b)
                except AssertionError:
                    raise RuntimeError("%s: %s differs between sessions" % (case.name, k))
            for name, g in zip(grad_names_all, fetched["grads"]):
                if not np.all(np.isfinite(g)):
                    raise RuntimeError("%s: gradient for %s is not finite" % (case.name, name))
            run_errors = {}
            for key, tensor in recorder.run_errors:
                try:
                    sess.run(tensor)
                except tf.errors.OpError as e:
                    run_errors[key] = "%s: %s" % (
                        type(e).__name__,
                        e.message.split("\n")[0],
                    )
                else:
                    run_errors[key] = "no error"
            if saver is not None and case.files:
                ckpt_dir = os.path.join(out_dir, case.name)
                os.makedirs(ckpt_dir, exist_ok=True)
                saver.save(
                    sess, os.path.join(ckpt_dir, "model.ckpt"), write_meta_graph=False
                )

    arrays = {}
    for name, value, _ in inputs:
        arrays["in:" + name] = value
    for k, value in zip(keys, fetched["results"]):
        arrays["out:" + k] = value
    for i, rv in zip(loss_idx, r):
        arrays["r:" + keys[i]] = rv
    for name, g in zip(grad_names_all, fetched["grads"]):
        arrays["grad_" + name if name.startswith("in:") else "grad:" + name] = g
    names = [v.op.name for v in trainable]
    for name, value in zip(names, fetched["vars"]):
        arrays["var:" + name] = value
    arrays["names"] = np.array(names, dtype=np.str_)
    if case.files:
        write_npz(os.path.join(out_dir, case.name + ".npz"), arrays)

    errors = dict(recorder.errors)
    errors.update(run_errors)
    entry = {
        "name": case.name,
        "seed": case.seed,
        "what": case.what,
        "code": case.code,
        "inputs": [
            {
                "name": name,
                "kind": kind,
                "shape": list(np.shape(value)),
                "dtype": str(value.dtype),
            }
            for (name, kind, _), (_, value, _) in zip(case.inputs, inputs)
        ],
        "results": [
            [k, str(v.dtype), list(v.shape), i in loss_idx]
            for i, (k, v) in enumerate(zip(keys, fetched["results"]))
        ],
        "grads": bool(case.grads and loss_idx),
        "grad_none": grad_none,
        "overrides": [list(o) for o in case.overrides],
        "restore_from": case.restore_from,
        "train_step": recorder.train_op is not None,
        "files": case.files,
        "checkpoint": saver is not None and case.files,
        "notes": recorder.notes,
        "errors": errors,
    }
    entry.update(entry_vars)
    return entry, facts


def write_npz(path, arrays):
    """Like np.savez_compressed, but byte-reproducible.

    np.savez stamps each member with the current time; a fixed timestamp and
    sorted member order make a regenerated file identical to the committed one.
    """
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(
                    f, np.asanyarray(arrays[key]), allow_pickle=False
                )


def import_tf115():
    # Plain CPU kernels only, every run the same way.
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings

    warnings.filterwarnings("ignore")
    import tensorflow as tf

    if not tf.__version__.startswith("1.15."):
        sys.stderr.write(
            "generate.py: needs TensorFlow 1.15 (found %s); see "
            "../tf115/README.md for the Python 3.7 venv.\n" % tf.__version__
        )
        sys.exit(2)
    # FATAL: the errors case leaves unused TensorArrays, which TF logs at ERROR.
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.FATAL)
    tf.contrib.seq2seq  # noqa: B018 - load contrib (prints its notice) before use
    return tf


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        default=os.path.dirname(os.path.abspath(__file__)),
        help="output folder (default: this script's folder)",
    )
    parser.add_argument("--only", nargs="*", help="development: only these cases")
    args = parser.parse_args(argv)
    tf = import_tf115()
    os.makedirs(args.out, exist_ok=True)

    names = [c.name for c in CASES]
    if len(set(names)) != len(names):
        raise RuntimeError("duplicate case names")
    selected = CASES
    if args.only:
        wanted = set(args.only)
        for c in CASES:
            if c.name in wanted and c.restore_from:
                wanted.add(c.restore_from)
        selected = [c for c in CASES if c.name in wanted]

    entries, facts = [], {}
    for case in selected:
        entry, case_facts = run_case(tf, case, args.out)
        entries.append(entry)
        if case_facts is not None:
            facts[case.name] = case_facts
        print("  %s" % case.name)
    if args.only:
        print("wrote %d cases to %s (no MANIFEST)" % (len(selected), args.out))
        return

    versions = {
        "python": "%d.%d.%d" % sys.version_info[:3],
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
    }
    sizes = {
        "B": B, "MEM_T": MEM_T, "MEM_D": MEM_D, "MEM_LEN": list(MEM_LEN),
        "DEC_T": DEC_T, "DEC_D": DEC_D, "DEC_LEN": list(DEC_LEN), "V": V, "E": E,
    }
    manifest = dict(versions, sizes=sizes, cases=entries)
    with open(os.path.join(args.out, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    init_facts_doc = dict(
        versions,
        note="Variable statistics right after global_variables_initializer "
        "(graph seed = case seed), before the U(-0.5, 0.5) assignment.",
        cases=facts,
    )
    with open(os.path.join(args.out, "INIT_FACTS.json"), "w") as f:
        json.dump(init_facts_doc, f, indent=1)
        f.write("\n")
    print("wrote %d cases to %s" % (len(selected), args.out))


if __name__ == "__main__":
    main()
