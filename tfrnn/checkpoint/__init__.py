"""TF1 checkpoints: the names tfrnn cells have in TF1, loading `tf.train.Saver`
checkpoints by those names, and converting cells to and from native Keras 3.

All TF1-compatibility knowledge derives from each cell's `tf1_layout`.
"""

from tfrnn.checkpoint.convert import from_keras, to_keras
from tfrnn.checkpoint.load import load_tf1_checkpoint
from tfrnn.checkpoint.names import tf1_entries, tf1_variable_names

__all__ = ["from_keras", "load_tf1_checkpoint", "tf1_entries", "tf1_variable_names", "to_keras"]
