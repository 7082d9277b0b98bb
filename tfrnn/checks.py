"""Input checks and state forms shared by the cell contract and the loops.

TF1's checks on cells, states, batch sizes and dtypes (with TF1's phrases and a
fix), the constructor-argument record behind every cell's `get_config`, and the
two forms of a deep state: TF1's nested tuples and the flat list
`keras.layers.RNN` holds.
"""

from __future__ import annotations

import inspect
import reprlib
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfrnn.aliases import Cell, DType, Nested, Shape, StateSize, Tensor

if TYPE_CHECKING:
    from typing_extensions import TypeIs  # typing.TypeIs from Python 3.13 on

FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")


def check_cell(cell: Cell) -> None:
    """TF1's `assert_like_rnncell`, with TF1's message: a `TypeError` naming what is missing."""
    if isinstance(cell, type):  # a class has the properties and methods, as unbound attributes
        raise TypeError(
            f"The argument 'cell' ({cell.__name__}) is not an RNNCell: it is a class, not a cell. "
            f"Create one, e.g. {cell.__name__}(num_units), and pass that."
        )
    problems = []
    if not hasattr(cell, "output_size"):
        problems.append("'output_size' property is missing")
    if not hasattr(cell, "state_size"):
        problems.append("'state_size' property is missing")
    if not (hasattr(cell, "zero_state") or hasattr(cell, "get_initial_state")):
        problems.append("either 'zero_state' or 'get_initial_state' method is required")
    if not callable(cell):
        problems.append("is not callable")
    if problems:
        raise TypeError(f"The argument 'cell' ({cell!r}) is not an RNNCell: {', '.join(problems)}.")


def single_state(state: Nested) -> Nested:
    """The one tensor of a single-tensor state; `keras.layers.RNN` wraps it in a list."""
    if isinstance(state, (list, tuple)) and len(state) == 1:
        return state[0]
    return state


def built_input_depth(cell: Cell) -> int | None:
    """The input depth a cell was built for, or None if unknown (unbuilt, user cell)."""
    return getattr(cell, "_built_input_depth", None)


def check_step(cell: Cell, inputs: Tensor, state: Nested) -> None:
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
    static_depth(cell, shape)
    if getattr(cell, "floating_point_inputs", True):
        check_floating(_raw_dtype_of(inputs), f"{name} inputs", _IDS_HINT)
    depth = built_input_depth(cell)
    if depth is not None and shape[-1] != depth:
        raise ValueError(
            f"{name} was built for inputs of depth {depth}, but received inputs of "
            f"shape {shape}. A cell's kernel fixes its input depth; create a new "
            "cell for inputs of another depth."
        )
    check_state(cell, state, shape[0])


def check_state(cell: Cell, state: Nested, batch_size: int | None) -> None:
    """Raise a `ValueError` if `state` does not match `cell.state_size` and the batch size."""
    problem = _state_structure_problem(state, cell.state_size)
    if problem is None:
        for tensor, size in _flat_state(state, cell.state_size):
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


def _state_structure_problem(state: Nested, size: StateSize) -> str | None:
    if isinstance(state, tf.TensorArray):  # TF1 carried TensorArrays in a state as they are
        return None
    if not _is_sequence(size):
        if _is_sequence(state) and len(state) == 1:  # keras.layers.RNN's [h]
            state = state[0]
        return "a nested sequence where a tensor was expected" if _is_sequence(state) else None
    if not _is_sequence(state):
        what = "a single tensor" if hasattr(state, "shape") else _describe(state)
        # TF1's words too ("Expected state to be a tuple of length 2"): TF1 code matches them.
        return f"{what} where a tuple of {len(size)} was expected (Expected state to be a tuple of length {len(size)})"
    if len(state) != len(size):
        return f"{len(state)} parts where {len(size)} were expected"
    for part, part_size in zip(state, size):
        problem = _state_structure_problem(part, part_size)
        if problem:
            return problem
    return None


def _flat_state(state: Nested, size: StateSize) -> list[tuple[Tensor, Any]]:
    """`(leaf, size)` pairs; a TensorArray is a leaf whatever its size says."""
    if isinstance(state, tf.TensorArray) or not _is_sequence(size):
        return [(single_state(state), size)]
    return [pair for part, s in zip(state, size) for pair in _flat_state(part, s)]


def _state_leaf_problem(tensor: Tensor, size: Any, batch_size: int | None) -> str | None:
    if isinstance(tensor, tf.TensorArray):
        return None
    per_example = tuple(tf.TensorShape(size).as_list())  # an int size or a TensorShape
    expected = "[batch_size" + "".join(f", {d}" for d in per_example) + "]"
    if not hasattr(tensor, "shape") and not isinstance(tensor, (list, float, int)):
        return f"{_describe(tensor)} where a {expected} tensor was expected"
    shape = _shape_of(tensor)
    if len(shape) == 0 and not per_example:
        return None  # a scalar state (size `()`, TF1's step counter) has no batch axis; TF1 accepted it
    if len(shape) != 1 + len(per_example) or any(
        d is not None and e is not None and d != e for d, e in zip(shape[1:], per_example)
    ):
        return f"a part of shape {shape} where {expected} was expected"
    if None not in (shape[0], batch_size) and shape[0] != batch_size:
        return f"a part with batch size {shape[0]} but the inputs' batch size is {batch_size}"
    return None


def _concat_hint(cell: Cell, state: Nested) -> str:
    sizes = keras.tree.flatten(cell.state_size)
    shape = None if _is_sequence(state) else _shape_of(state)
    if shape and len(shape) == 2 and len(sizes) > 1 and shape[1] == sum(sizes):
        return (
            " This looks like a concatenated state (TF1's state_is_tuple=False); "
            "tfrnn only uses tuple states: split it into the parts of state_size, "
            "e.g. LSTMStateTuple(c=state[:, :num_units], h=state[:, num_units:])."
        )
    return ""


def static_depth(cell: Cell, shape: Shape) -> int:
    depth = tuple(shape)[-1] if len(shape) else None
    if depth is None:
        raise ValueError(
            f"{cell.name} needs the last dimension of its inputs to be known to "
            f"create its kernel, but received shape {tuple(shape)}. Give the inputs "
            "a static depth, e.g. with tf.ensure_shape(x, [None, depth])."
        )
    return int(depth)


FLOAT_DTYPE_HINT = "Pass a float dtype such as 'float32', or a Keras policy such as 'mixed_float16'."
_IDS_HINT = (
    "Cast features to a float type first (e.g. tf.cast(x, tf.float32)); if these are integer token "
    "ids, embed your ids first: tfrnn.EmbeddingWrapper(cell, embedding_classes, embedding_size) "
    "or keras.layers.Embedding before the loop."
)


def check_floating(dtype: DType | None, what: str, fix: str) -> None:
    if dtype is None:
        return
    try:
        if isinstance(dtype, (str, dict, keras.DTypePolicy)):  # a Keras policy, its name or config
            dtype = keras.dtype_policies.get(dtype).compute_dtype
        dtype = keras.backend.standardize_dtype(dtype)
    except (ValueError, TypeError):
        raise ValueError(
            f"RNN cell only supports floating point inputs, but {what} has dtype {dtype}, not a number type. {fix}"
        ) from None
    if dtype not in FLOAT_DTYPES:
        raise ValueError(f"RNN cell only supports floating point inputs, but {what} has dtype {dtype}. {fix}")


def check_batch_size(batch_size: int | Tensor, where: str) -> int | Tensor:
    """`batch_size` as an int (or a symbolic scalar integer tensor, unchanged); else a clear error."""
    if _is_tensor(batch_size):
        return _check_batch_tensor(batch_size, where)
    if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(
            f"{where}: batch_size must be an int or a scalar integer tensor, but received {batch_size!r} "
            f"({type(batch_size).__name__}). Pass the number of rows, e.g. zero_state(32, tf.float32)."
        )
    if batch_size < 0:
        raise ValueError(f"{where}: batch_size must be >= 0, but received {batch_size}. Pass the number of rows.")
    return int(batch_size)


def _check_batch_tensor(batch_size: Tensor, where: str) -> int | Tensor:
    dtype = keras.backend.standardize_dtype(batch_size.dtype)
    if "int" in dtype and len(batch_size.shape) == 0:
        return check_batch_size(int(batch_size), where) if is_concrete(batch_size) else batch_size
    raise TypeError(
        f"{where}: batch_size must be an int or a scalar integer tensor, but received a {dtype} tensor of "
        f"shape {tuple(batch_size.shape)}. Pass the batch size, e.g. tf.shape(inputs)[0]."
    )


def state_dtype(dtype: DType, where: str) -> str:
    problem = "None" if dtype is None else None
    if problem is None:
        try:
            return keras.backend.standardize_dtype(dtype)
        except (ValueError, TypeError):
            problem = repr(dtype)
    raise TypeError(
        f"{where}: dtype must be the state's dtype, but received {problem}. Pass one, e.g. "
        "zero_state(batch_size, tf.float32), as TF1 required."
    )


def _is_tensor(value: object) -> bool:
    """A tensor or array with a dtype and a shape (NumPy scalars count), not a Python number."""
    return hasattr(value, "dtype") and hasattr(value, "shape") and not isinstance(value, (int, float))


def is_concrete(value: Tensor) -> bool:
    """Whether `value` has a value now: a NumPy array, or a tensor outside any graph being traced."""
    return isinstance(value, (np.ndarray, np.generic)) or (hasattr(value, "numpy") and tf.executing_eagerly())


def batch_and_dtype_of(
    inputs: Tensor, batch_size: int | Tensor | None, dtype: DType | None, where: str,
) -> tuple[int | Tensor, str]:
    if not _is_tensor(inputs) or len(inputs.shape) == 0:
        received = f"shape {tuple(inputs.shape)}" if _is_tensor(inputs) else _describe(inputs)
        raise ValueError(
            f"{where}: inputs must be one tensor [batch_size, ...] to read the batch size and dtype from, "
            f"but received {received}. Pass the step's inputs, or batch_size= and dtype= instead."
        )
    inferred_batch = _shape_of(inputs)[0]
    if inferred_batch is None:
        inferred_batch = ops.shape(inputs)[0]
    inferred_dtype = _dtype_of(inputs)
    if batch_size is not None:
        static_batch, static_param = _shape_of(inputs)[0], tf.get_static_value(batch_size)
        static_param = None if static_param is None else int(static_param)
        if static_batch != static_param:  # TF1's rule: an unknown batch differs from a number
            raise ValueError(
                f"batch size from input tensor is different from the input param: inputs have static batch "
                f"size {static_batch}, batch_size={static_param if static_param is not None else batch_size}. "
                "Pass only inputs= (the batch size is read from them), or a matching batch_size."
            )
    if dtype is not None and keras.backend.standardize_dtype(dtype) != inferred_dtype:
        raise ValueError(
            f"dtype from input tensor is different from the input param: inputs "
            f"have dtype {inferred_dtype}, dtype={dtype}."
        )
    return (inferred_batch if batch_size is None else batch_size), inferred_dtype


# Arguments Keras' own Layer config holds already.
_LAYER_ARGUMENTS = ("name", "dtype", "trainable")


def constructor_arguments(cls: type[Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """`{argument: value}` of one constructor call (defaults included); None if they do not bind."""
    signature = inspect.signature(cls.__init__)
    try:
        bound = signature.bind(None, *args, **kwargs)
    except TypeError:
        return None  # the constructor raises its own error
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    for name, parameter in signature.parameters.items():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            arguments.update(arguments.pop(name, {}))
        elif parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            arguments.pop(name, None)
    del arguments[next(iter(signature.parameters))]  # self
    return {key: value for key, value in arguments.items() if key not in _LAYER_ARGUMENTS}


def config_value(cell: Cell, key: str, value: Any) -> Any:
    """`value` as a config holds it: plain values as they are, Keras objects and functions serialized."""
    if isinstance(value, (tf.DType, np.dtype)) or (isinstance(value, type) and issubclass(value, np.generic)):
        return keras.backend.standardize_dtype(value)
    if _is_tensor(value) or isinstance(value, tf.TensorArray):
        raise TypeError(
            f"{type(cell).__name__}.get_config(): argument {key} is a tensor ({_describe(value)}), which has no "
            "config. Pass a Python number or a Keras object instead."
        )
    return keras.saving.serialize_keras_object(value)


def from_config_value(value: Any, custom_objects: dict[str, Any] | None) -> Any:
    if isinstance(value, dict) and "class_name" in value:
        return keras.saving.deserialize_keras_object(value, custom_objects)
    return value


def keras_initial_state_call(inputs: Any, batch_size: Any, dtype: Any) -> bool:
    """Whether `get_initial_state` was asked Keras' way: a batch size alone (`batch_size=n`, or `(n)`)."""
    return dtype is None and ((inputs is None and batch_size is not None) or (batch_size is None and is_batch_size(inputs)))


def _nests_deeper(state_size: StateSize) -> bool:
    return isinstance(state_size, (list, tuple)) and any(isinstance(size, (list, tuple)) for size in state_size)


def flat_for_keras(cell: Cell, state: Nested, keras_form: bool) -> Nested:
    """`state` as `get_initial_state` returns it: flat for Keras when it nests deeper than one level."""
    if keras_form and _nests_deeper(cell.state_size):
        return keras.tree.flatten(state)
    return state


def held_flat(state: Nested, state_size: StateSize) -> bool:
    """Whether `state` is a deeper `state_size`'s state as Keras holds it: one tensor per leaf."""
    if not (isinstance(state_size, (list, tuple)) and _nests_deeper(state_size) and _is_sequence(state)):
        return False
    leaves = keras.tree.flatten(state_size)
    return len(state) == len(leaves) != len(state_size) and not any(_is_sequence(part) for part in state)


def nested_again(state: Nested, state_size: StateSize) -> Nested:
    """A state Keras holds flat (one tensor per leaf of a deeper `state_size`), nested again; else `state`."""
    return keras.tree.pack_sequence_as(state_size, list(state)) if held_flat(state, state_size) else state


def tensor_float_dtype(inputs: Tensor) -> str | None:
    """The float dtype of a tensor (`tf.Tensor`, variable, Keras tensor); None for anything else.

    NumPy arrays and Python lists give None: Keras casts them to the layer's
    dtype, and NumPy's float64 default would otherwise make float64 cells.
    """
    if isinstance(inputs, (np.ndarray, np.generic)) or not _is_tensor(inputs):
        return None
    dtype = _dtype_of(inputs)
    return dtype if dtype in FLOAT_DTYPES else None


def is_batch_size(value: Any) -> bool:
    """An int, or a scalar integer tensor: what `get_initial_state` reads as a batch size."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, np.integer)):
        return True
    return _is_tensor(value) and len(value.shape) == 0 and "int" in keras.backend.standardize_dtype(value.dtype)


def _is_sequence(value: object) -> TypeIs[list[Any] | tuple[Any, ...]]:
    return isinstance(value, (list, tuple))


def _shape_of(x: Tensor) -> tuple[int | None, ...]:
    shape = getattr(x, "shape", None)
    return tuple(np.shape(x) if shape is None else shape)


def _dtype_of(x: Tensor) -> str:
    return keras.backend.standardize_dtype(_raw_dtype_of(x))


def _raw_dtype_of(x: Tensor) -> DType:
    dtype = getattr(x, "dtype", None)
    return np.asarray(x).dtype if dtype is None else dtype


def _describe(state: Nested) -> str:
    if _is_sequence(state):
        inner = ", ".join(_describe(part) for part in state)
        return f"{type(state).__name__}({inner})"
    if state is None:
        return "None"
    if not hasattr(state, "shape"):  # a string, a dict...: say what it is
        return f"{type(state).__name__} {reprlib.repr(state)}"
    return f"tensor of shape {_shape_of(state)}"
