"""The names tfrnn's annotations use for values TensorFlow and Keras leave untyped.

TensorFlow and Keras ship no type information, so to a type checker their
values are `Any`; these aliases say what a value is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Union

Tensor = Any  # a tf.Tensor, Keras tensor or variable, or NumPy array
Nested = Any  # a Tensor, or a (named) tuple or list of Nested: a state, an output
DType = Any  # "float32", np.float32, tf.float32, or a keras.DTypePolicy (or its name)
Cell = Any  # an RNN cell: a tfrnn.RNNCell, a Keras RNN cell, anything `check_cell` accepts
StateSize = Union[int, Sequence["StateSize"]]  # an int, or a (named) tuple of StateSize
Shape = Sequence[Union[int, None]]  # a static shape: a tuple, list or tf.TensorShape
Activation = Union[str, Callable[[Tensor], Tensor], None]  # a Keras activation name or function
Initializer = Union[str, Callable[..., Tensor], None]  # a Keras initializer name or instance
