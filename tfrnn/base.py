"""The TF1 cell contract: `RNNCell`, `LSTMStateTuple`, initial states and input checks.

Every cell in tfrnn is a `keras.layers.Layer` that also speaks TF1's language:
`call(inputs, state) -> (output, new_state)`, `state_size`, `output_size` and
`zero_state(batch_size, dtype)`. This module holds that contract once, so the
concrete cells only hold their math.
"""

import collections
import re

import keras
import numpy as np
from keras import ops

try:
    # `keras.layers.RNN` resets the masks of cells of this class after every call
    # (`cell.reset_dropout_mask()`), even when it is given an `initial_state`.
    # The class is Keras' own mixin for cells with dropout; Keras has no public
    # name for it. Without it (a Keras that moved it), tfrnn cells still start a
    # sequence at `get_initial_state` and in tfrnn's loops, and
    # tests/test_dropout.py says which case was lost.
    from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell as _KerasDropoutCell
except ImportError:  # pragma: no cover - depends on the Keras version
    _KerasDropoutCell = object

_FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")


class LSTMStateTuple(collections.namedtuple("LSTMStateTuple", ("c", "h"))):
    """The state of an LSTM cell: `(c, h)`, cell state first, as in TF1.

    Keras' own LSTM cells order their state `[h, c]`; TF1 and tfrnn use `(c, h)`.
    Inside `keras.layers.RNN` the tuple arrives as a plain sequence, which is why
    cells unpack it positionally (`c, h = state`).

    Attributes:
        c: the cell state, `[batch_size, num_units]` (or the int size in a
            `state_size`).
        h: the output/hidden state, `[batch_size, num_units]` (or `num_proj`).

    Example:

    >>> import tfrnn
    >>> state = tfrnn.LSTMStateTuple(c=1, h=2)
    >>> state.c, state.h
    (1, 2)
    >>> tfrnn.BasicLSTMCell(128).state_size
    LSTMStateTuple(c=128, h=128)
    """

    __slots__ = ()

    @property
    def dtype(self):
        """The dtype shared by `c` and `h`; `TypeError` if they differ."""
        c, h = self
        if c.dtype != h.dtype:
            raise TypeError(
                f"Inconsistent dtypes for internal state: {c.dtype} vs "
                f"{h.dtype}. Cast both parts of the LSTMStateTuple to one dtype."
            )
        return c.dtype


class RNNCell(keras.layers.Layer, _KerasDropoutCell):
    """Abstract base of every tfrnn cell: TF1's `tf.nn.rnn_cell.RNNCell` on Keras 3.

    A cell computes one time step. Subclasses define `state_size`, `output_size`
    and `call(inputs, state) -> (output, new_state)`, and create their weights in
    `build(input_shape)`, exactly as a TF1 `LayerRNNCell` did. The base class gives
    them `zero_state`, `get_initial_state` (so `keras.layers.RNN` and
    `tf.compat.v1.nn.dynamic_rnn` can drive them) and input checks that run before
    any weight is created.

    Both `cell(inputs, state)` and `cell.call(inputs, state)` work, also on a cell
    that was never built: the first call builds it from the inputs' depth.

    Args:
        trainable: whether the cell's weights are trainable.
        name: the cell's name, which is also its TF1 variable scope. Defaults to
            the snake_case class name (`basic_lstm_cell`), as in TF1.
        dtype: the Keras dtype (policy) of the weights and computation.
        **kwargs: other `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `[batch_size, input_depth]` floating-point tensor.
        state: a tensor or nested tuple of tensors matching `state_size`, each
            `[batch_size, size]`.

    Example: a TF1-style cell that only defines the contract.

    >>> import numpy as np
    >>> import tfrnn
    >>> class CounterCell(tfrnn.RNNCell):
    ...     @property
    ...     def state_size(self):
    ...         return 1
    ...     @property
    ...     def output_size(self):
    ...         return 1
    ...     def call(self, inputs, state):
    ...         new_state = state + 1.0
    ...         return new_state, new_state
    >>> cell = CounterCell()
    >>> output, state = cell(np.zeros((2, 3), "float32"), cell.zero_state(2, "float32"))
    >>> np.asarray(state).ravel().tolist()
    [1.0, 1.0]
    """

    # Whether `check_step` requires floating-point inputs (TF1's "RNN cell only
    # supports floating point inputs"). A cell that reads integer ids, like
    # `EmbeddingWrapper`, sets it to False and checks its inputs itself.
    floating_point_inputs = True

    def __init__(self, trainable=True, name=None, dtype=None, **kwargs):
        _check_floating(dtype, f"{type(self).__name__}(dtype=...)")
        # TF1 names a cell's scope after its class, never uniquified: that name is
        # what TF1 checkpoints hold, so it is the Keras name too.
        name = name or default_name(type(self))
        super().__init__(trainable=trainable, name=name, dtype=dtype, **kwargs)

    @property
    def state_size(self):
        """Size(s) of the state: an int, or a nested tuple of ints."""
        raise NotImplementedError(f"{type(self).__name__} must define state_size.")

    @property
    def output_size(self):
        """Size of the output: an int."""
        raise NotImplementedError(f"{type(self).__name__} must define output_size.")

    def __call__(self, inputs, state, *args, **kwargs):
        # keras.layers.RNN wraps a single-tensor state in a list; a TF1-style
        # `call` expects the tensor itself.
        if not isinstance(self.state_size, (list, tuple)):
            state = single_state(state)
        # Checked here as well as in `call`: Keras builds the layer between
        # `__call__` and `call`, and a bad input must not create weights.
        check_step(self, inputs, state)
        return super().__call__(inputs, state, *args, **kwargs)

    def zero_state(self, batch_size, dtype):
        """All-zero state: a tensor `[batch_size, s]` for each int `s` in `state_size`.

        Args:
            batch_size: int or scalar integer tensor.
            dtype: the state dtype, e.g. `"float32"` or `tf.float32`.

        Returns:
            A tensor or nested tuple of tensors shaped like `state_size`.
        """
        dtype = keras.backend.standardize_dtype(dtype)
        state = keras.tree.map_structure(lambda size: ops.zeros((batch_size, size), dtype=dtype), self.state_size)
        self.reset_dropout_mask()  # a zero state starts a sequence
        return state

    def reset_dropout_mask(self):
        """Starts a new sequence: variational dropout masks inside are drawn anew.

        Only `DropoutWrapper(variational_recurrent=True)` keeps masks across
        steps; cells made of cells pass the call on. tfrnn's loops call it
        before their first step and `zero_state` calls it, so a hand-written
        step loop that starts from its own state calls it once before the
        first step. `keras.layers.RNN` calls it after every call, as it does
        for Keras' own cells with dropout (the method has the same meaning
        there).
        """

    def reset_recurrent_dropout_mask(self):
        """Part of Keras' dropout-cell protocol; `reset_dropout_mask` does all the work."""

    def get_dropout_mask(self, step_input):
        """Part of Keras' dropout-cell protocol: tfrnn caches no mask, so None."""
        return None

    def get_recurrent_dropout_mask(self, step_input):
        """Part of Keras' dropout-cell protocol: tfrnn caches no mask, so None."""
        return None

    def get_initial_state(self, batch_size=None, dtype=None, inputs=None):
        """Zero state, as `keras.layers.RNN` and TF's loops ask for it.

        Args:
            batch_size: int or scalar tensor; taken from `inputs` when omitted.
            dtype: state dtype; defaults to `inputs.dtype`, else the cell's
                compute dtype.
            inputs: optional `[batch_size, ...]` tensor to take both from.

        Returns:
            Same as `zero_state(batch_size, dtype)`.
        """
        if inputs is not None:
            batch_size, dtype = _batch_and_dtype_of(inputs, batch_size, dtype)
        if batch_size is None:
            raise ValueError(
                f"{self.name}.get_initial_state() needs batch_size (or inputs) to "
                "build the initial state; received batch_size=None and inputs=None."
            )
        return self.zero_state(batch_size, dtype or self.compute_dtype)

    def get_build_config(self):
        # Cells built by `keras.layers.RNN` or by a direct `.call` skip the hook
        # that records Keras' build config; the input depth is enough to rebuild.
        depth = built_input_depth(self)
        if depth is None:
            return super().get_build_config()
        return {"input_shape": (None, depth)}

    def _build_for_step(self, inputs, state):
        """Check one step's inputs and build on first use (seed-004 calls `.call` unbuilt)."""
        check_step(self, inputs, state)
        if not self.built:
            self.build(tuple(inputs.shape))

    def _set_input_depth(self, input_shape):
        """Record the depth this cell is built for, so a later mismatch is caught."""
        depth = _static_depth(self, input_shape)
        self.input_spec = keras.InputSpec(ndim=2, axes={-1: depth})
        return depth


def default_name(cls):
    """TF1's default scope name of a cell class: `BasicLSTMCell` -> `basic_lstm_cell`."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", cls.__name__)
    return words.lower()


def reset_dropout_mask(cell):
    """Starts a new sequence for `cell`: its dropout masks are drawn anew.

    tfrnn cells define `reset_dropout_mask`; Keras' RNN cells with dropout
    define it and `reset_recurrent_dropout_mask` (they cache their masks on
    the layer, so a stale mask would otherwise be reused by the next call).
    """
    if isinstance(cell, keras.layers.StackedRNNCells):
        for inner in cell.cells:
            reset_dropout_mask(inner)
    for method in ("reset_dropout_mask", "reset_recurrent_dropout_mask"):
        reset = getattr(cell, method, None)
        if callable(reset):
            reset()


def single_state(state):
    """The one tensor of a single-tensor state; `keras.layers.RNN` wraps it in a list."""
    if isinstance(state, (list, tuple)) and len(state) == 1:
        return state[0]
    return state


def built_input_depth(cell):
    """The input depth a cell was built for, or None if unknown (unbuilt, user cell)."""
    spec = getattr(cell, "input_spec", None)
    if isinstance(spec, keras.InputSpec) and spec.axes:
        return spec.axes.get(-1)
    return None


def check_step(cell, inputs, state):
    """Raise a `ValueError` naming the problem if one step's inputs or state are wrong.

    Only static shapes and dtypes are read, so this costs nothing at run time in
    a traced loop.
    """
    name = cell.name
    shape = _shape_of(inputs)
    if len(shape) != 2:
        raise ValueError(
            f"{name} expects inputs of shape [batch_size, input_depth] for one time "
            f"step, but received shape {shape}. To run a [batch, time, depth] "
            "sequence, wrap the cell in keras.layers.RNN(cell) or a dynamic_rnn loop."
        )
    _static_depth(cell, shape)
    if getattr(cell, "floating_point_inputs", True):
        _check_floating(_dtype_of(inputs), f"{name} inputs")
    depth = built_input_depth(cell)
    if depth is not None and shape[-1] != depth:
        raise ValueError(
            f"{name} was built for inputs of depth {depth}, but received inputs of "
            f"shape {shape}. A cell's kernel fixes its input depth; create a new "
            "cell for inputs of another depth."
        )
    check_state(cell, state, shape[0])


def check_state(cell, state, batch_size):
    """Raise a `ValueError` if `state` does not match `cell.state_size` and the batch size."""
    sizes = keras.tree.flatten(cell.state_size)
    problem = _state_structure_problem(state, cell.state_size)
    if problem is None:
        for tensor, size in zip(_flat_state(state, cell.state_size), sizes):
            problem = _state_leaf_problem(tensor, size, batch_size)
            if problem:
                break
    if problem:
        raise ValueError(
            f"{getattr(cell, 'name', type(cell).__name__)} expects a state matching state_size={cell.state_size} "
            f"with batch size {batch_size}, but received {_describe(state)}: "
            f"{problem}. Pass cell.zero_state(batch_size, dtype) or the state the "
            f"previous step returned.{_concat_hint(cell, state)}"
        )


def _state_structure_problem(state, size):
    if not _is_sequence(size):
        if _is_sequence(state) and len(state) == 1:  # keras.layers.RNN's [h]
            state = state[0]
        return "a nested sequence where a tensor was expected" if _is_sequence(state) else None
    if not _is_sequence(state):
        return f"a single tensor where a tuple of {len(size)} was expected"
    if len(state) != len(size):
        return f"{len(state)} parts where {len(size)} were expected"
    for part, part_size in zip(state, size):
        problem = _state_structure_problem(part, part_size)
        if problem:
            return problem
    return None


def _flat_state(state, size):
    if not _is_sequence(size):
        return [single_state(state)]
    return [leaf for part, s in zip(state, size) for leaf in _flat_state(part, s)]


def _state_leaf_problem(tensor, size, batch_size):
    shape = _shape_of(tensor)
    if len(shape) != 2:
        return f"a part of shape {shape} where [batch_size, {size}] was expected"
    if shape[1] is not None and shape[1] != size:
        return f"a part of shape {shape} where [batch_size, {size}] was expected"
    if None not in (shape[0], batch_size) and shape[0] != batch_size:
        return f"a part with batch size {shape[0]} but the inputs' batch size is {batch_size}"
    return None


def _concat_hint(cell, state):
    sizes = keras.tree.flatten(cell.state_size)
    shape = None if _is_sequence(state) else _shape_of(state)
    if shape and len(shape) == 2 and len(sizes) > 1 and shape[1] == sum(sizes):
        return (
            " This looks like a concatenated state (TF1's state_is_tuple=False); "
            "tfrnn only uses tuple states: split it into the parts of state_size, "
            "e.g. LSTMStateTuple(c=state[:, :num_units], h=state[:, num_units:])."
        )
    return ""


def _static_depth(cell, shape):
    depth = tuple(shape)[-1] if len(shape) else None
    if depth is None:
        raise ValueError(
            f"{cell.name} needs the last dimension of its inputs to be known to "
            f"create its kernel, but received shape {tuple(shape)}. Give the inputs "
            "a static depth, e.g. with tf.ensure_shape(x, [None, depth])."
        )
    return int(depth)


def _check_floating(dtype, what):
    if dtype is None:
        return
    if isinstance(dtype, (str, dict, keras.DTypePolicy)):  # a Keras policy, its name or config
        dtype = keras.dtype_policies.get(dtype).compute_dtype
    dtype = keras.backend.standardize_dtype(dtype)
    if dtype not in _FLOAT_DTYPES:
        raise ValueError(
            f"RNN cell only supports floating point inputs, but {what} has dtype "
            f"{dtype}. Cast to a float type first (e.g. tf.cast(x, tf.float32)); "
            "for integer token ids use an embedding lookup."
        )


def _batch_and_dtype_of(inputs, batch_size, dtype):
    inferred_batch = _shape_of(inputs)[0]
    if inferred_batch is None:
        inferred_batch = ops.shape(inputs)[0]
    inferred_dtype = _dtype_of(inputs)
    if batch_size is not None and _is_static(batch_size) and _is_static(inferred_batch):
        if int(batch_size) != int(inferred_batch):
            raise ValueError(
                f"batch size from input tensor is different from the input param: "
                f"inputs have batch size {inferred_batch}, batch_size={batch_size}."
            )
    if dtype is not None and keras.backend.standardize_dtype(dtype) != inferred_dtype:
        raise ValueError(
            f"dtype from input tensor is different from the input param: inputs "
            f"have dtype {inferred_dtype}, dtype={dtype}."
        )
    return (inferred_batch if batch_size is None else batch_size), inferred_dtype


def _is_static(value):
    return isinstance(value, (int, np.integer))


def _is_sequence(value):
    return isinstance(value, (list, tuple))


def _shape_of(x):
    shape = getattr(x, "shape", None)
    return tuple(np.shape(x) if shape is None else shape)


def _dtype_of(x):
    dtype = getattr(x, "dtype", None)
    return keras.backend.standardize_dtype(np.asarray(x).dtype if dtype is None else dtype)


def _describe(state):
    if _is_sequence(state):
        inner = ", ".join(_describe(part) for part in state)
        return f"{type(state).__name__}({inner})"
    return f"tensor of shape {_shape_of(state)}"
