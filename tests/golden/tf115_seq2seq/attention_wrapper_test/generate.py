"""Dump what TF 1.15's own AttentionWrapper tests initialised, so tfrnn can check their numbers.

TF 1.15's `tensorflow/contrib/seq2seq/python/kernel_tests/attention_wrapper_test.py`
(Copyright 2017 The TensorFlow Authors, Apache License 2.0) asserts hard-coded
summaries (shape, dtype, mean) of a decode's outputs and final state. Those
numbers come from TF1's random initializers under the test case's fixed seeds
and from NumPy's seeded `randn` inputs, which no other program reproduces. This
script reruns each of those test configurations in TF 1.15, inside a
`tf.test.TestCase` (so the seeds are TF's own: NumPy and the graph seeded with
87654321 in `setUp`), building the graph in the test's order (the default
initializers draw op seeds from the graph's op count), and writes per test
`<test name>.npz` with:

    in:decoder_inputs, in:encoder_outputs    the test's randn inputs
    var:<TF1 variable name>                  every variable's initial value
    out:<path>                               the full results (rnn_output, sample_id,
                                             cell_state.c/.h, attention, time,
                                             alignments[.i], attention_state[.i],
                                             alignment_history[.i] stacked time-major)

and `config`, the case's configuration as JSON. It asserts nothing: the tfrnn
test compares these results with the TF1 test's hard-coded summaries. They
agree within that test's own tolerance (atol 1e-3 on means) except for a few
fields listed in `tests/test_seq2seq_attention_wrapper.py`: the summaries were
recorded by earlier TF versions, whose graphs had other op counts before the
glorot-initialised `memory_layer/kernel` (its op seed is the op count), and
TF 1.15 draws other kernels (9 more ops before the mechanism reproduce every
float summary of testBahdanauNotNormalized, testLuongNotNormalized and
testLuongScaled to 1e-9, though not their sample_id means; this script does not
pad: it records what TF 1.15 itself runs).

Usage (TF 1.15's interpreter, on the CPU; about 10 s):
    /opt/tf115/bin/python tests/golden/tf115_seq2seq/attention_wrapper_test/generate.py [--out DIR]

Importing this module has no side effects (TensorFlow is imported in main()).
"""

import argparse
import json
import os
import sys

import numpy as np

# The TF 1.15 test methods' configurations: (test name, [(mechanism class, kwargs, num_units)],
# attention_layer_sizes, output depths of user Dense layers (or None), alignment_history, is_multi).
CASES = (
    ("testBahdanauNotNormalized", [("BahdanauAttention", {}, 3)], [6], None, True, False),
    ("testBahdanauNormalized", [("BahdanauAttention", {"normalize": True}, 3)], [6], None, False, False),
    ("testLuongNotNormalized", [("LuongAttention", {}, 9)], [6], None, False, False),
    ("testLuongScaled", [("LuongAttention", {"scale": True}, 9)], [6], None, False, False),
    ("testNotUseAttentionLayer", [("BahdanauAttention", {}, 3)], None, None, False, False),
    ("testBahdanauMonotonicNotNormalized",
     [("BahdanauMonotonicAttention", {"sigmoid_noise": 1.0, "sigmoid_noise_seed": 3}, 3)], [6], None, True, False),
    ("testBahdanauMonotonicNormalized",
     [("BahdanauMonotonicAttention", {"normalize": True, "sigmoid_noise": 1.0, "sigmoid_noise_seed": 3}, 3)],
     [6], None, True, False),
    ("testLuongMonotonicNotNormalized",
     [("LuongMonotonicAttention", {"sigmoid_noise": 1.0, "sigmoid_noise_seed": 3}, 9)], [6], None, True, False),
    ("testLuongMonotonicScaled",
     [("LuongMonotonicAttention", {"scale": True, "sigmoid_noise": 1.0, "sigmoid_noise_seed": 3}, 9)],
     [6], None, True, False),
    ("testMultiAttention", [("BahdanauAttention", {}, 9), ("LuongAttention", {}, 9)], [3, 4], None, True, True),
    ("testMultiAttentionWithLayerInstances", [("BahdanauAttention", {}, 9), ("LuongAttention", {}, 9)],
     None, [3, 4], True, True),
    ("testMultiAttentionNoAttentionLayer", [("BahdanauAttention", {}, 9), ("LuongAttention", {}, 9)],
     None, None, True, True),
    ("testSingleAttentionAsList", [("BahdanauAttention", {}, 9)], [3], None, True, True),
)

# The test's sizes (`_testWithMaybeMultiAttention`).
ENCODER_SEQUENCE_LENGTH = [3, 2, 3, 1, 1]
DECODER_SEQUENCE_LENGTH = [2, 0, 1, 2, 3]
BATCH, ENCODER_MAX_TIME, DECODER_MAX_TIME, INPUT_DEPTH, ENCODER_DEPTH, CELL_DEPTH = 5, 8, 4, 7, 10, 9


def flatten(key, value, out):
    """`{path: array}` with namedtuple fields and tuple indices, as the tfrnn test names them."""
    if hasattr(value, "_fields"):
        for field, item in zip(value._fields, value):
            flatten(key + "." + field if key else field, item, out)
    elif isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            flatten(key + "." + str(i), item, out)
    else:
        out[key] = np.asarray(value)
    return out


def make_test_class(tf, out_dir):
    from tensorflow.contrib.seq2seq.python.ops import attention_wrapper as wrapper
    from tensorflow.contrib.seq2seq.python.ops import basic_decoder, decoder, helper as helper_py
    from tensorflow.python.layers import core as layers_core

    class Dump(tf.test.TestCase):
        """One method per TF1 test; each builds the graph as the TF1 test's helper did."""

        def run_case(self, name, mechanisms, sizes, layer_depths, alignment_history, is_multi):
            # As in the TF1 test method: its user layers are made before the helper runs.
            layers = [layers_core.Dense(d, use_bias=False) for d in layer_depths] if layer_depths else None
            decoder_inputs_value = np.random.randn(BATCH, DECODER_MAX_TIME, INPUT_DEPTH).astype(np.float32)
            decoder_inputs = tf.placeholder_with_default(decoder_inputs_value, shape=(None, None, INPUT_DEPTH))
            encoder_outputs_value = np.random.randn(BATCH, ENCODER_MAX_TIME, ENCODER_DEPTH).astype(np.float32)
            encoder_outputs = tf.placeholder_with_default(encoder_outputs_value, shape=(None, None, ENCODER_DEPTH))
            attention_mechanisms = [
                getattr(wrapper, cls)(num_units=depth, memory=encoder_outputs,
                                      memory_sequence_length=ENCODER_SEQUENCE_LENGTH, **kwargs)
                for cls, kwargs, depth in mechanisms]
            with self.test_session(use_gpu=True) as sess:
                with tf.variable_scope("root", initializer=tf.random_normal_initializer(stddev=0.01, seed=3)):
                    size, layer = sizes, layers
                    if not is_multi:
                        size = None if size is None else size[0]
                        layer = None if layer is None else layer[0]
                    cell = wrapper.AttentionWrapper(
                        tf.nn.rnn_cell.LSTMCell(CELL_DEPTH),
                        attention_mechanisms if is_multi else attention_mechanisms[0],
                        attention_layer_size=size, alignment_history=alignment_history, attention_layer=layer)
                    helper = helper_py.TrainingHelper(decoder_inputs, DECODER_SEQUENCE_LENGTH)
                    my_decoder = basic_decoder.BasicDecoder(
                        cell=cell, helper=helper, initial_state=cell.zero_state(dtype=tf.float32, batch_size=BATCH))
                    final_outputs, final_state, _ = decoder.dynamic_decode(my_decoder)
                if alignment_history:
                    history = final_state.alignment_history
                    history = tuple(h.stack() for h in history) if is_multi else history.stack()
                    final_state = final_state._replace(alignment_history=history)
                sess.run(tf.global_variables_initializer())
                variables = {v.op.name: v for v in tf.global_variables()}
                results, values = sess.run(((final_outputs, final_state), variables))
            arrays = {}
            flatten("", results[0], arrays)
            flatten("", results[1], arrays)
            config = dict(mechanisms=mechanisms, attention_layer_sizes=sizes, attention_layer_depths=layer_depths,
                          alignment_history=alignment_history, is_multi=is_multi,
                          encoder_sequence_length=ENCODER_SEQUENCE_LENGTH,
                          decoder_sequence_length=DECODER_SEQUENCE_LENGTH, cell_depth=CELL_DEPTH)
            data = {"config": np.array(json.dumps(config)), "in:decoder_inputs": decoder_inputs_value,
                    "in:encoder_outputs": encoder_outputs_value}
            data.update(("var:" + key, value) for key, value in values.items())
            data.update(("out:" + key, value) for key, value in arrays.items())
            np.savez(os.path.join(out_dir, name + ".npz"), **data)
            print(name, sorted((k, v.shape) for k, v in values.items()))

    for name, *config in CASES:
        setattr(Dump, name, lambda self, name=name, config=config: self.run_case(name, *config))
    return Dump


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    args = parser.parse_args()
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if not tf.__version__.startswith("1.15"):
        print("needs TensorFlow 1.15, found", tf.__version__)
        sys.exit(2)
    import unittest

    suite = unittest.TestLoader().loadTestsFromTestCase(make_test_class(tf, args.out))
    result = unittest.TextTestRunner(verbosity=1).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
