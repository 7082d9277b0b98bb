"""The TF1 cell contract: `RNNCell`, `LSTMStateTuple`, the weight description
(`Weight`, `Child`, `Sublayer`) and initial states. The checks it runs live in
`tfrnn.checks`.

Every cell in tfrnn is a `keras.layers.Layer` that also speaks TF1's language:
`call(inputs, state) -> (output, new_state)`, `state_size`, `output_size` and
`zero_state(batch_size, dtype)`. This module holds that contract once, so the
concrete cells only hold their math (`step`) and one description of their
weights (`tf1_layout`: `Weight`s and inner cells, `Child`ren, in TF1's order),
from which `build`, the TF1 names, checkpoint loading, `tfrnn-checkpoint
inspect` and the Keras converters all derive.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import inspect
import os
import re
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from types import FrameType
from typing import Any, TypeVar

import keras
import tensorflow as tf
from keras import ops

# The annotations' vocabulary, part of the contract: other modules import it from here.
from tfrnn.aliases import Activation as Activation
from tfrnn.aliases import Cell as Cell
from tfrnn.aliases import DType as DType
from tfrnn.aliases import Initializer as Initializer
from tfrnn.aliases import Nested as Nested
from tfrnn.aliases import Shape as Shape
from tfrnn.aliases import StateSize as StateSize
from tfrnn.aliases import Tensor as Tensor
from tfrnn.checks import (
    FLOAT_DTYPE_HINT, FLOAT_DTYPES, batch_and_dtype_of, built_input_depth, check_batch_size, check_floating,
    check_step, config_value, constructor_arguments, flat_for_keras, from_config_value, held_flat,
    is_batch_size, keras_initial_state_call, nested_again, single_state, state_dtype, static_depth,
    tensor_float_dtype,
)

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


_Function = TypeVar("_Function", bound=Callable[..., Any])


def no_autograph(function: _Function) -> _Function:
    """`function`, marked for AutoGraph to leave alone (`tf.autograph.experimental.do_not_convert`).

    A user's `tf.function` converts every function it calls that is not
    marked, down to tfrnn's own: `zero_state`, `__call__` and all they call.
    That costs tracing time, changes nothing (tfrnn's code has no tensor
    control flow), and printed AutoGraph's "Please report this to the
    TensorFlow team" warning for a method whose body is only a docstring.
    The entry points a user calls carry this mark; once inside, AutoGraph
    converts nothing. Written as a function so that the marked functions
    keep their signatures for type checkers (TensorFlow's decorator is
    untyped).
    """
    return tf.autograph.experimental.do_not_convert(function)


# Frames in these folders are not the user's (`warn_at_caller`): tfrnn's, Keras' and TensorFlow's.
_LIBRARY_DIRS = tuple(os.path.dirname(path) + os.sep for path in (__file__, keras.__file__, tf.__file__))


def warn_at_caller(message: str) -> None:
    """A `UserWarning` pointing at the user's line: the first frame outside tfrnn, Keras and TensorFlow.

    A fixed `stacklevel` cannot: a cell's step is reached through Keras'
    `__call__`, `keras.layers.RNN`, tfrnn's loops and TensorFlow's
    `tf.function` and `do_not_convert` wrappers, in any combination. A
    function AutoGraph converted runs from a generated file with other line
    numbers; the warning points where that function was called instead.
    """
    frame: FrameType | None = sys._getframe(0)
    level = 1
    while frame is not None and _is_library_frame(frame):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, stacklevel=level)


def _is_library_frame(frame: FrameType) -> bool:
    path = frame.f_code.co_filename
    return path.startswith(_LIBRARY_DIRS) or os.path.basename(path).startswith("__autograph_generated_file")

# The classes whose weights `tfrnn-checkpoint inspect` can recognise: every
# subclass that defines `tf1_options`, in the order defined (core cells first).
TF1_CLASSES: list[type[RNNCell]] = []


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
    def dtype(self) -> DType:
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

    Dtype. As TF1's layers did ("Layer infers the input type"), a cell made
    without `dtype=` under Keras' default `float32` policy takes its dtype
    from the first inputs it is built from, called directly or by tfrnn's
    loops: float64 tensors give float64 weights and outputs, float16 tensors
    a float16 cell; a stack or wrapper passes that dtype to its unbuilt inner
    cells. It does not happen for a cell given `dtype=` (or a policy), under a
    global mixed-precision policy, for NumPy arrays or Python lists (Keras
    casts those to the cell's dtype, `float32`; NumPy's float64 default would
    otherwise decide), nor inside `keras.layers.RNN`, which builds its cell
    from a shape and casts the inputs to its own dtype.

    Configs. `get_config` holds the constructor's arguments, Keras objects
    (initializers, `tf.float32` and other dtypes) serialized; see
    `get_config` for what cannot round-trip under Keras' safe mode.

    Args:
        trainable: whether the cell's weights are trainable.
        name: the cell's name, which is also its TF1 variable scope. Defaults to
            the snake_case class name (`basic_lstm_cell`), as in TF1.
        dtype: the Keras dtype (policy) of the weights and computation; None
            (the default) takes the inputs' dtype (see above).
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
    # The native Keras 3 cell that computes the same function, for `to_keras`:
    # read from the class's own body only (a subclass may compute otherwise).
    keras_equivalent: str | None = None
    _writes_call = False
    _step_takes_training = False
    _warned_training_unset = False  # `warn_if_training_unset` warns once per cell

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A subclass that writes `call` itself (TF1's way) is checked by `__call__`
        # at every step; one that writes `step` is checked once, by `call`.
        cls._writes_call = cls.call is not RNNCell.call
        cls._step_takes_training = "training" in inspect.signature(cls.step).parameters
        if "tf1_options" in cls.__dict__:
            TF1_CLASSES.append(cls)

    def __init__(
        self, trainable: bool = True, name: str | None = None, dtype: DType | None = None, **kwargs: Any,
    ) -> None:
        check_floating(dtype, f"{type(self).__name__}(dtype=...)", FLOAT_DTYPE_HINT)
        # TF1 names a cell's scope after its class, never uniquified: that name is
        # what TF1 checkpoints hold, so it is the Keras name too.
        name = name or default_name(type(self))
        super().__init__(trainable=trainable, name=name, dtype=dtype, **kwargs)
        # TF1's "Layer infers the input type": without a dtype of its own, the
        # cell takes its first inputs' (see `take_input_dtype`).
        self._dtype_follows_inputs = dtype is None

    @property
    def state_size(self) -> StateSize:
        """Size(s) of the state: an int, or a nested tuple of ints."""
        raise NotImplementedError(f"{type(self).__name__} must define state_size.")

    @property
    def output_size(self) -> int:
        """Size of the output: an int."""
        raise NotImplementedError(f"{type(self).__name__} must define output_size.")

    def tf1_layout(self, input_depth: int) -> Sequence[Weight | Child | Sublayer] | None:
        """The cell's weights and inner cells, in TF1's order, for inputs of `input_depth`.

        This one description is what `build` creates, what `tf1_variable_names`
        and `load_tf1_checkpoint` name, what `tfrnn-checkpoint inspect`
        recognises and what the converters read. None (the default) means the
        cell has no TF1 layout; such a cell creates its weights in its own
        `build`, and asking for its TF1 names is a `TypeError`.
        """
        return None

    @classmethod
    def tf1_options(cls, shapes: Mapping[str, Sequence[int]], inner: Cell | None = None) -> dict[str, Any] | None:
        """The constructor arguments a TF1 checkpoint's shapes imply, or None.

        The inverse of `tf1_layout`, only as far as sizes and flags go:
        `shapes` maps the TF1 names below the cell's scope to their shapes
        (`{"kernel": (7, 16), "bias": (16,)}`). A wrapper (`wraps_a_cell`) is
        also given the cell found under its scope as `inner`. `tfrnn-checkpoint
        inspect` builds the class with these arguments and keeps it only when
        its `tf1_layout` gives exactly these names and shapes, so a guess
        here never has to be checked here. Classes that define it are the
        ones `inspect` recognises.
        """
        return None

    # Whether the constructor's first argument is the cell it wraps.
    wraps_a_cell = False

    def build(self, input_shape: Shape) -> None:
        """Creates the weights and builds the inner cells that `tf1_layout` describes."""
        depth = self._set_input_depth(input_shape)
        build_layout(self, self.tf1_layout(depth) or ())

    @no_autograph
    def __call__(self, inputs: Tensor, state: Nested, *args: Any, **kwargs: Any) -> tuple[Tensor, Nested]:
        output, new_state = self._call_nested(inputs, self._unwrap_state(state), *args, **kwargs)
        # Keras holds a deeper state flat (see `get_initial_state`) and wants it back flat.
        return output, (keras.tree.flatten(new_state) if held_flat(state, self.state_size) else new_state)

    def _call_nested(self, inputs: Tensor, state: Nested, *args: Any, **kwargs: Any) -> tuple[Tensor, Nested]:
        # Before Keras builds the layer: a bad input must not create weights. Once
        # built, `call` checks (unless the subclass wrote `call` itself).
        if not self.built or self._writes_call:
            self._check_step(inputs, state)
        if not self.built:
            self.take_input_dtype(tensor_float_dtype(inputs))  # before Keras casts the inputs
        if any(isinstance(leaf, tf.TensorArray) for leaf in tf.nest.flatten(state)):
            # Keras' __call__ refuses a TensorArray among its arguments; TF1's cells took
            # them inside a state, so such a step goes to `call` directly.
            if not self.built:
                self.build(tuple(inputs.shape))
            return self.call(inputs, state, *args, **kwargs)
        return super().__call__(inputs, state, *args, **kwargs)

    @no_autograph
    def call(self, inputs: Tensor, state: Nested, training: bool | None = None) -> tuple[Tensor, Nested]:
        """One time step: checks the inputs and state, builds on first use, runs `step`.

        Both `cell(inputs, state)` and `cell.call(inputs, state)` work, also on
        an unbuilt cell (TF1 tutorials call `.call` directly).
        """
        state = self._unwrap_state(state)
        self.prepare_step(inputs, state)
        if self._step_takes_training:
            return self.step(inputs, state, training=training)  # type: ignore[call-arg]  # this step takes training
        return self.step(inputs, state)

    def _unwrap_state(self, state: Nested) -> Nested:
        # keras.layers.RNN wraps a single-tensor state in a list; TF1's cells expect the tensor.
        if not isinstance(self.state_size, (list, tuple)):
            return single_state(state)
        # ... and holds a nested state flat (see `get_initial_state`): nest it again.
        return nested_again(state, self.state_size)

    def step(self, inputs: Tensor, state: Nested) -> tuple[Tensor, Nested]:
        """The cell's math for one checked step: `(output, new_state)`; subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} must define step (or call).")

    def prepare_step(self, inputs: Tensor, state: Nested) -> None:
        """Checks one step's inputs and state, then builds the cell on first use.

        `call` does it before every step; a fused loop does it once, before
        its first step.
        """
        self._check_step(inputs, state)
        if not self.built:
            self.take_input_dtype(tensor_float_dtype(inputs))
            self.build(tuple(inputs.shape))

    def take_input_dtype(self, dtype: str | None) -> None:
        """Before the first build: make `dtype` the cell's dtype, if the cell follows its inputs.

        TF1's layers took their dtype from their first inputs. A tfrnn cell
        does so when it was made without `dtype=` under Keras' default
        `float32` policy, and the global policy is still `float32`: then a
        float `dtype` (`"float64"`, `"float16"`, ...) becomes its policy. A
        cell given a dtype or made under a mixed-precision policy keeps it;
        None, or a cell already built, changes nothing. `keras.layers.RNN`
        builds its cell from a shape, before any inputs, so Keras' casting
        decides there.
        """
        follows = getattr(self, "_dtype_follows_inputs", False) and not self.built
        default = self.dtype_policy.name == "float32" and keras.config.dtype_policy().name == "float32"
        if follows and default and dtype in FLOAT_DTYPES and dtype != "float32":
            setattr(self, "dtype_policy", keras.DTypePolicy(dtype))  # Keras' property setter, kept out of mypy's inference

    def _check_step(self, inputs: Tensor, state: Nested) -> None:
        check_step(self, inputs, state)

    @no_autograph
    def zero_state(self, batch_size: int | Tensor, dtype: DType) -> Nested:
        """All-zero state: `[batch_size] + s` zeros for each size `s` in `state_size`.

        A size is an int (`[batch_size, s]`) or, as TF1 allowed, a `TensorShape`
        of any rank, `()` included (a scalar per example).

        Args:
            batch_size: int >= 0 or scalar integer tensor.
            dtype: the state dtype, e.g. `"float32"` or `tf.float32`.

        Returns:
            A tensor or nested tuple of tensors shaped like `state_size`.

        Raises:
            TypeError, ValueError: for a `batch_size` that is not one int, or a
                `dtype` that is None or no dtype; nothing is created then.
        """
        where = f"{self.name}.zero_state"
        batch_size = check_batch_size(batch_size, where)
        dtype = state_dtype(dtype, where)
        state = keras.tree.map_structure(
            lambda size: ops.zeros((batch_size, *tf.TensorShape(size).as_list()), dtype=dtype), self.state_size
        )
        new_sequence(self)  # a zero state starts a sequence
        return state

    @no_autograph
    def reset_dropout_mask(self) -> None:
        """Starts a new sequence: variational dropout masks inside are drawn anew.

        Only `DropoutWrapper(variational_recurrent=True)` keeps masks across
        steps; cells made of cells pass the call on. Everything that starts a
        sequence goes through `new_sequence(cell)`, which calls this: tfrnn's
        loops before their first step, `zero_state`, and `keras.layers.RNN`
        after every call (as it does for Keras' own cells with dropout; the
        method has the same meaning there). A hand-written step loop that
        starts from its own state calls it once before the first step.
        """
        for child in self._children():
            new_sequence(child)

    def _children(self) -> list[Cell]:
        depth = built_input_depth(self)
        return [item.cell for item in self.tf1_layout(depth or 0) or () if isinstance(item, Child)]

    def reset_recurrent_dropout_mask(self) -> None:
        """Part of Keras' dropout-cell protocol; `reset_dropout_mask` does all the work."""
        return None  # a statement, not only a docstring: AutoGraph cannot parse an empty body

    def get_dropout_mask(self, step_input: Tensor) -> None:
        """Part of Keras' dropout-cell protocol: tfrnn caches no mask, so None."""
        return None

    def get_recurrent_dropout_mask(self, step_input: Tensor) -> None:
        """Part of Keras' dropout-cell protocol: tfrnn caches no mask, so None."""
        return None

    @no_autograph
    def get_initial_state(
        self, inputs: Tensor | None = None, batch_size: int | Tensor | None = None, dtype: DType | None = None,
    ) -> Nested:
        """Zero state, as TF1's `get_initial_state` and `keras.layers.RNN` ask for it.

        The arguments are TF1's, in TF1's order: `get_initial_state(inputs,
        batch_size, dtype)`. Keras 3's `RNN` calls `get_initial_state(
        batch_size=n)`, and Keras users write `get_initial_state(32)`: a first
        argument that is a batch size (an int, or a scalar integer tensor) is
        read as `batch_size` (then a second one as `dtype`), never as inputs.

        Args:
            inputs: optional `[batch_size, ...]` tensor to take the batch size
                and dtype from. With `batch_size` or `dtype` also given, they
                must agree with it (TF1's "batch size from input tensor is
                different from the input param"; an unknown static batch
                disagrees with a number, as in TF1).
            batch_size: int or scalar integer tensor.
            dtype: state dtype; defaults to `inputs.dtype`, else the cell's
                compute dtype (TF1 required it; Keras does not pass it).

        Returns:
            Same as `zero_state(batch_size, dtype)`; a wrapper returns its
            wrapped cell's initial state. One exception, for Keras: asked
            Keras' way (a batch size alone, as `keras.layers.RNN` asks), a
            cell whose state nests deeper than one level (a `MultiRNNCell`,
            or a wrapper around one) returns it flat, a list with one tensor
            per leaf of `state_size`: Keras' `RNN` holds one variable per
            state tensor (`stateful=True`, `reset_states`) and cannot hold
            nested ones. Every tfrnn cell takes its state in that flat form
            too, nests it again by `state_size`, and returns its new state flat.

        Raises:
            ValueError: neither `inputs` nor `batch_size` given (TF1's
                "batch_size and dtype cannot be None"), or `inputs` that
                disagree with `batch_size` / `dtype`.
        """
        keras_form = keras_initial_state_call(inputs, batch_size, dtype)
        batch_size, dtype = self._initial_state_arguments(inputs, batch_size, dtype)
        return flat_for_keras(self, self.zero_state(batch_size, dtype), keras_form)

    def _initial_state_arguments(
        self, inputs: Tensor | None, batch_size: int | Tensor | None, dtype: DType | None,
    ) -> tuple[int | Tensor, DType]:
        """`(batch_size, dtype)` from `get_initial_state`'s arguments, by the rule its docstring states."""
        where = f"{self.name}.get_initial_state"
        if is_batch_size(inputs):  # Keras' habit: get_initial_state(32) or (32, dtype)
            if batch_size is not None and dtype is None and not is_batch_size(batch_size):
                batch_size, dtype = None, batch_size
            if batch_size is None:
                inputs, batch_size = None, inputs
        if batch_size is not None:
            batch_size = check_batch_size(batch_size, where)
        if inputs is not None:
            batch_size, dtype = batch_and_dtype_of(inputs, batch_size, dtype, where)
        if batch_size is None:
            raise ValueError(
                f"batch_size and dtype cannot be None while constructing initial state: batch_size=None, "
                f"dtype={dtype}. {where}() needs batch_size (or inputs) to build the initial state: "
                "pass e.g. get_initial_state(batch_size=32, dtype=tf.float32), or inputs=x."
            )
        return batch_size, dtype or self.compute_dtype

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        instance = super().__new__(cls, *args, **kwargs)
        if cls.get_config is RNNCell.get_config:  # a class that writes get_config records nothing
            # Kept off Keras' and TensorFlow's tracking (object.__setattr__): a
            # wrapped cell in here must not become a second dependency.
            object.__setattr__(instance, "constructor_arguments", constructor_arguments(cls, args, kwargs))
        return instance

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments, serialized: what `from_config` rebuilds the cell from.

        Keras' own automatic config takes only plain values; this one also
        takes initializer, regularizer and constraint objects, activation
        functions and dtype objects (`tf.float32`), each serialized by
        `keras.saving.serialize_keras_object`. A lambda or local function
        round-trips only where Keras loads it (`safe_mode=False`); a named
        function of your own, once registered with
        `keras.saving.register_keras_serializable()`. A tensor argument has no
        config: pass a number. A cell that follows its inputs' dtype and is
        not yet built has `"dtype": None`, so that its copy follows them too.
        """
        config = super().get_config()
        arguments = getattr(self, "constructor_arguments", None)
        if arguments is not None:
            config.update({key: config_value(self, key, value) for key, value in arguments.items()})
        if getattr(self, "_dtype_follows_inputs", False) and not self.built and self.dtype_policy.name == "float32":
            config["dtype"] = None
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Any:
        """The cell `get_config` describes; Keras objects in it are deserialized (with `custom_objects`)."""
        config = {key: from_config_value(value, custom_objects) for key, value in config.items()}
        return super().from_config(config)

    def get_build_config(self) -> dict[str, Any]:
        # Cells built by `keras.layers.RNN` or by a direct `.call` skip the hook
        # that records Keras' build config; the input depth is enough to rebuild.
        depth = built_input_depth(self)
        if depth is None:
            return super().get_build_config()
        return {"input_shape": (None, depth)}

    def _set_input_depth(self, input_shape: Shape) -> int:
        """Record the depth this cell is built for, so a later mismatch is caught.

        Kept apart from Keras' `input_spec`, whose check would run before
        `check_step` and say less.
        """
        depth = static_depth(self, input_shape)
        self._built_input_depth = depth
        return depth


@dataclasses.dataclass(frozen=True)
class Weight:
    """One weight of a cell, as TF1 names and shapes it.

    Attributes:
        name: the TF1 name below the cell's scope, e.g. `kernel` or
            `gates/kernel` (TF1's `<scope>/<cell name>/gates/kernel`).
        shape: the TF1 shape, which is also the Keras variable's.
        initializer: Keras initializer (name, instance or callable).
        attribute: where the cell holds the variable, `/`-separated through
            sublayers and dicts; defaults to `name` (`cell.gates.kernel`).
    """

    name: str
    shape: tuple[int, ...]
    initializer: Initializer = "glorot_uniform"
    attribute: str | None = None

    @property
    def path(self) -> list[str]:
        """`attribute` (or `name`) split at `/`: the sublayers, then the variable."""
        return (self.attribute or self.name).split("/")

    def variable(self, cell: Cell) -> Tensor:
        """The cell's variable for this weight."""
        return functools.reduce(_item, self.path, cell)


@dataclasses.dataclass(frozen=True)
class Child:
    """A cell inside a cell, e.g. the cell a wrapper wraps or a layer of a stack.

    Attributes:
        scope: the TF1 scope the child's names sit under, relative to the scope
            that holds the parent (`""` for TF1's core wrappers, which add no
            scope; `multi_rnn_cell/cell_0` for a stack's first layer).
        cell: the inner cell, or any layer with a `tf1_layout` (an attention
            mechanism inside its wrapper).
        input_depth: the depth of the inputs the inner cell reads.
        name: the TF1 name of the child's own scope when it is not the
            child's Keras name: the parent decides it (an attention wrapper
            numbers its mechanisms `bahdanau_attention`, `bahdanau_attention_1`).
    """

    scope: str
    cell: Cell
    input_depth: int
    name: str | None = None


@dataclasses.dataclass(frozen=True)
class Sublayer:
    """A Keras layer of the user's that a cell calls, e.g. an `attention_layer`.

    The layer creates its own weights (`build` only builds it, for inputs of
    `input_depth`); TF1 named them `<cell scope>/<layer name>/<weight name>`,
    e.g. `attention_wrapper/my_attention/kernel`.
    """

    layer: Any
    input_depth: int


def build_layout(owner: keras.layers.Layer, layout: Sequence[Weight | Child | Sublayer]) -> None:
    """Creates `owner`'s weights and builds its inner cells and layers, as `layout` describes them.

    `RNNCell.build` and every other layer with a `tf1_layout` (attention
    mechanisms) build through it.
    """
    for item in layout:
        if isinstance(item, Child):
            if not item.cell.built:
                if isinstance(item.cell, RNNCell):
                    item.cell.take_input_dtype(owner.dtype_policy.name)  # a float64 stack has float64 layers
                item.cell.build((None, item.input_depth))
        elif isinstance(item, Sublayer):
            if not item.layer.built:
                item.layer.build((None, item.input_depth))
        else:
            add_tf1_weight(owner, item)


def add_tf1_weight(owner: keras.layers.Layer, weight: Weight) -> None:
    """Creates the variable `weight` describes, held where its `attribute` path says."""
    *holders, leaf = weight.path
    holder = functools.reduce(_holder_of, holders, owner)
    variable = holder.add_weight(shape=weight.shape, initializer=weight.initializer, name=leaf)
    setattr(holder, leaf, variable)


class WeightGroup(keras.layers.Layer):
    """A sublayer that only holds weights its cell creates: TF1's `<scope>/kernel`
    below a cell (Keras 3 forbids `/` in a weight's name)."""

    def __init__(self, name: str, dtype: DType | None = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.built = True


def _holder_of(owner: Any, name: str) -> Any:
    """The sublayer (or dict entry) `name` of `owner`, made on first use."""
    holder = _item(owner, name, None)
    if holder is None:
        holder = WeightGroup(name, dtype=owner.dtype_policy)
        setattr(owner, name, holder)
    return holder


def _item(owner: Any, name: str, *default: Any) -> Any:
    if isinstance(owner, dict):
        return owner.get(name, *default) if default else owner[name]
    return getattr(owner, name, *default)


def default_name(cls: type[RNNCell]) -> str:
    """TF1's default scope name of a cell class: `BasicLSTMCell` -> `basic_lstm_cell`.

    A class whose TF1 default differs from its snake_case name says so in its
    constructor, as TF1 did (`GRUBlockCell(..., name="gru_cell")`).
    """
    declared = inspect.signature(cls.__init__).parameters.get("name")
    if declared is not None and isinstance(declared.default, str):
        return declared.default
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", cls.__name__)
    return words.lower()


@no_autograph
def new_sequence(cell: Cell) -> None:
    """Starts a new sequence for `cell`: its dropout masks are drawn anew.

    The one entry point for "a sequence starts here": `zero_state`, every
    tfrnn loop and (through `reset_dropout_mask`) `keras.layers.RNN` come
    through it. tfrnn cells define `reset_dropout_mask`; Keras' RNN cells with
    dropout define it and `reset_recurrent_dropout_mask` (they cache their
    masks on the layer, so a stale mask would otherwise be reused by the next
    call).
    """
    if isinstance(cell, keras.layers.StackedRNNCells):
        for inner in cell.cells:
            new_sequence(inner)
    for method in ("reset_dropout_mask", "reset_recurrent_dropout_mask"):
        reset = getattr(cell, method, None)
        if callable(reset):
            reset()
