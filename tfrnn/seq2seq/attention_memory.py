"""The memory an attention mechanism attends over: its checks, and the keys and
values prepared from it once per context.

Design decisions (see also `tfrnn.seq2seq.attention`):

* A mechanism holds the memory as given (never tracked, never in a config)
  and prepares `values` (the memory, padded steps replaced by zeros) and
  `keys` (`memory_layer(values)`) from it. The prepared tensors belong to
  the graph they were made in, or to eager execution (`Prepared.readable`):
  read in another context they are made again, so no symbolic tensor of a
  finished `tf.function` is ever returned; eager ones are also made again
  once the memory layer's weights have changed.
* Masking selects (`tf.where`), never multiplies: TF1's `memory *
  sequence_mask` turned NaN or infinite padding into NaN keys and contexts.
* Checks run before anything changes, with TF1's phrases where TF1 had one
  (`All values in memory_sequence_length must be greater than zero.`): a
  float memory of rank 3 with a static depth (the memory layer's, once
  built), integer lengths `[batch]`, each at least 1, one per memory row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
from keras import ops

from tfrnn.loop_kit import show

__all__ = [
    "Prepared", "prepare", "build_memory_layer", "check_reachable", "checked_lengths", "checked_memory", "current_graph",
    "reaches", "weight_values",
]


class Prepared:
    """What one context (a graph, or eager execution) prepared from the memory; when
    eager, also the memory layer's weights it was prepared with."""

    def __init__(self, graph: Any, keys: Any, values: Any, mask: Any, weights: list[np.ndarray] | None) -> None:
        self.graph, self.keys, self.values, self.mask, self.weights = graph, keys, values, mask, weights

    def readable(self, layer: Any) -> bool:
        """Whether these tensors are still right here: same (or enclosing) graph, and,
        when eager, a memory layer whose weights have not changed since (an optimizer
        step or a checkpoint load in between makes eager keys stale)."""
        graph = current_graph()
        if not reaches(graph, self.graph):
            return False
        return graph is not None or self.weights is None or _same_arrays(self.weights, weight_values(layer))


def prepare(memory: Any, lengths: Any, dtype: Any, memory_layer: Any, custom_key_value_fn: Any) -> Prepared:
    """Keys, values and the score mask `[batch, max_time]` (None without lengths) of `memory`
    in the current context; `values` is the memory in `dtype`, padded steps zeros."""
    graph = current_graph()
    check_reachable(memory, graph)
    mask = None if lengths is None else tf.sequence_mask(lengths, maxlen=tf.shape(memory)[1])
    values = ops.cast(memory, dtype)
    if mask is not None:  # select, never multiply: NaN padding stays out
        values = ops.where(mask[:, :, None], values, ops.zeros_like(values))
    keys = memory_layer(values) if memory_layer is not None else values
    if custom_key_value_fn is not None:
        keys, values = custom_key_value_fn(keys, values)
    return Prepared(graph, keys, values, mask, weight_values(memory_layer) if graph is None else None)


def current_graph() -> Any:
    """The graph being built, None when executing eagerly."""
    return None if tf.executing_eagerly() else tf.compat.v1.get_default_graph()


def reaches(graph: Any, target: Any) -> bool:
    """Whether tensors of `target` can be read in `graph`: the same graph, or one nested in it
    (a `while_loop`'s body inside a `tf.function`)."""
    if target is None:
        return graph is None
    while graph is not None:
        if graph is target:
            return True
        graph = getattr(graph, "outer_graph", None)
    return False


def checked_memory(memory: Any, inner_dims_defined: bool, memory_layer: Any) -> Any:
    """The memory as a float tensor of rank 3 with a static depth (matching a built memory layer)."""
    try:
        memory = tf.convert_to_tensor(memory)
    except (TypeError, ValueError):
        raise TypeError(f"memory must be a [batch, max_time, depth] float tensor, but received {show(memory)} "
                        f"({type(memory).__name__}).") from None
    if not memory.dtype.is_floating:
        raise TypeError(f"memory must hold floats, but received a {memory.dtype.name} tensor of shape "
                        f"{tuple(memory.shape)}. Embed integer ids first, or cast: tf.cast(memory, tf.float32).")
    if memory.shape.rank != 3:
        raise ValueError(f"memory must have rank 3, [batch, max_time, depth], but received shape "
                         f"{shape_text(memory)}. Pass the encoder's outputs batch-major (transpose a time-major "
                         "[max_time, batch, depth] memory with tf.transpose(memory, [1, 0, 2])).")
    if inner_dims_defined and memory.shape[2] is None:
        raise ValueError(f"Expected memory to have fully defined inner dims, but saw shape: {shape_text(memory)}. "
                         "Give it a static depth, e.g. tf.ensure_shape(memory, [None, None, depth]).")
    depth = getattr(memory_layer, "_tfrnn_input_depth", None)
    if depth is not None and memory.shape[2] != depth:
        raise ValueError(f"memory has depth {memory.shape[2]}, but this mechanism's memory layer was built for "
                         f"depth {depth}. Every batch's memory must have the depth of the first; make a new "
                         "mechanism for another encoder.")
    return memory


def checked_lengths(lengths: Any, memory: Any) -> Any:
    """`memory_sequence_length` as int32 `[batch]` with values >= 1, checked against the memory."""
    if lengths is None:
        return None
    try:
        tensor = tf.convert_to_tensor(lengths)
    except (TypeError, ValueError):
        raise TypeError(f"memory_sequence_length must be a [batch] vector of int32 lengths, but received "
                        f"{show(lengths)} ({type(lengths).__name__}).") from None
    if not tensor.dtype.is_integer:
        raise TypeError(f"memory_sequence_length must hold integers, but received {show(lengths)} of dtype "
                        f"{tensor.dtype.name}. Pass int32 lengths, one per memory row, e.g. tf.cast(lengths, tf.int32).")
    if tensor.shape.rank != 1:
        raise ValueError(f"memory_sequence_length must be a vector of length batch_size, but received shape "
                         f"{shape_text(tensor)} ({show(lengths)}). Pass one length per memory row.")
    batch = memory.shape[0]
    if batch is not None and tensor.shape[0] is not None and tensor.shape[0] != batch:
        raise ValueError(f"memory_sequence_length has {tensor.shape[0]} entries but memory has batch size {batch} "
                         f"(shape {shape_text(memory)}). Pass one length per memory row (under beam search, tile "
                         "both with tile_batch).")
    if hasattr(tensor, "numpy") and tf.executing_eagerly():
        values = tensor.numpy()
        bad = np.flatnonzero(values < 1).tolist()
        if bad:
            raise ValueError(f"All values in memory_sequence_length must be greater than zero, but rows {bad} are "
                             f"not (memory_sequence_length={values.tolist()}). A row with no memory cannot be "
                             "attended to: drop it, or give it a length of at least 1.")
        return tf.cast(tensor, tf.int32)
    return _with_length_assertions(tensor, memory)


def _with_length_assertions(lengths: Any, memory: Any) -> Any:
    """Symbolic lengths: TF1's positivity assertion and a batch check, when the graph runs."""
    checks = [
        tf.debugging.assert_positive(lengths, message="All values in memory_sequence_length must be greater than zero."),
        tf.debugging.assert_equal(tf.size(lengths), tf.shape(memory)[0],
                                  message="memory_sequence_length must have one entry per memory row"),
    ]
    with tf.control_dependencies(checks):
        return tf.cast(tf.identity(lengths), tf.int32)


def check_reachable(memory: Any, graph: Any) -> None:
    """A memory set inside one `tf.function` cannot be read outside it."""
    own = getattr(memory, "graph", None) if not hasattr(memory, "numpy") else None
    if own is not None and not reaches(graph, own):
        raise ValueError(
            "The mechanism's memory was set inside another tf.function (or graph), which has ended, so it "
            "cannot be read here. Call mechanism.setup_memory(memory, memory_sequence_length) where the "
            "mechanism is used: inside the tf.function, with the memory as one of its arguments."
        )


def weight_values(layer: Any) -> list[np.ndarray] | None:
    return None if layer is None else [np.asarray(weight) for weight in layer.weights]


def _same_arrays(first: list[np.ndarray], second: list[np.ndarray] | None) -> bool:
    return second is not None and len(first) == len(second) and all(map(np.array_equal, first, second))


def build_memory_layer(layer: Any, depth: int) -> None:
    if not layer.built:
        layer.build((None, None, depth))
    layer._tfrnn_input_depth = depth


def shape_text(x: Any) -> str:
    return str(tuple(x.shape)) if x.shape.rank is not None else "unknown"
