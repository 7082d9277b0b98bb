"""tfrnn: TensorFlow 1.x's RNN API (`tf.nn.rnn_cell`, ...) on Keras 3 / TensorFlow 2.

`import tfrnn` where TF1 code used `tf.nn.rnn_cell` / `tf.contrib.rnn`: same class
and argument names, same `call(inputs, state) -> (output, new_state)` contract,
same weights, and TF1 checkpoints load by their original variable names.
"""

from tfrnn.base import LSTMStateTuple, RNNCell
from tfrnn.bidirectional import (
    bidirectional_dynamic_rnn,
    stack_bidirectional_dynamic_rnn,
    stack_bidirectional_rnn,
    static_bidirectional_rnn,
)
from tfrnn.cells import BasicLSTMCell, BasicRNNCell, GRUCell, LSTMCell
from tfrnn.checkpoint import from_keras, load_tf1_checkpoint, save_tf1_checkpoint, tf1_variable_names, to_keras
from tfrnn.contrib_cells import GRUBlockCell, LSTMBlockCell, LayerNormBasicLSTMCell
from tfrnn.contrib_wrappers import EmbeddingWrapper, InputProjectionWrapper, OutputProjectionWrapper
from tfrnn.dropout import DropoutWrapper
from tfrnn.rnn import dynamic_rnn, raw_rnn, static_rnn
from tfrnn.wrappers import DeviceWrapper, MultiRNNCell, ResidualWrapper

from tfrnn import seq2seq  # noqa: E402  (tfrnn.seq2seq after `import tfrnn`, as tf.contrib.seq2seq was)

__version__ = "0.1.0"

__all__ = [
    "BasicLSTMCell",
    "BasicRNNCell",
    "DeviceWrapper",
    "DropoutWrapper",
    "EmbeddingWrapper",
    "GRUBlockCell",
    "GRUCell",
    "InputProjectionWrapper",
    "LSTMBlockCell",
    "LSTMCell",
    "LSTMStateTuple",
    "LayerNormBasicLSTMCell",
    "MultiRNNCell",
    "OutputProjectionWrapper",
    "RNNCell",
    "ResidualWrapper",
    "bidirectional_dynamic_rnn",
    "dynamic_rnn",
    "from_keras",
    "load_tf1_checkpoint",
    "raw_rnn",
    "save_tf1_checkpoint",
    "stack_bidirectional_dynamic_rnn",
    "stack_bidirectional_rnn",
    "static_bidirectional_rnn",
    "static_rnn",
    "tf1_variable_names",
    "to_keras",
]
