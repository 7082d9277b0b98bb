"""Cells made of cells: `MultiRNNCell`, the wrapper base `CellWrapper`, and TF1's
wrappers `ResidualWrapper` and `DeviceWrapper` (`DropoutWrapper` has its own module).

A wrapper is a cell around a cell: it has the wrapped cell's sizes, tracks it
as a sublayer (so its `.weights` include the wrapped cell's, which TF1's did
not) and adds no level to TF1 variable names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfrnn.base import Cell, Child, DType, Nested, RNNCell, StateSize, Tensor, Weight, new_sequence, no_autograph
from tfrnn.checks import built_input_depth, check_cell, flat_for_keras, keras_initial_state_call

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from Python 3.11 on


@keras.saving.register_keras_serializable(package="tfrnn")
class MultiRNNCell(RNNCell):
    """Stacks cells: layer i's input is layer i-1's output. TF1's `MultiRNNCell`.

    The stack is itself a cell. Its state is the tuple of its cells' states and
    its output is the last cell's output. In TF1 checkpoints each layer's
    variables sit under `multi_rnn_cell/cell_{i}/`.

    Equations (for cells `C_0 .. C_{n-1}`):

        x_0 = inputs
        x_{i+1}, s'_i = C_i(x_i, s_i)
        output = x_n;  state = (s'_0, ..., s'_{n-1})

    Args:
        cells: list or tuple of distinct cells, bottom layer first. Each needs
            its own object: `[cell] * 3` raises a `ValueError` (see below).
        state_is_tuple: must be True (the default); False raises `ValueError`.

    Call arguments:
        inputs: `[B, D]`.
        state: tuple with one state per cell.

    Attributes:
        cells: the list of cells; each keeps its own weights. In object-based
            checkpoints (`tf.train.Checkpoint`, SavedModel) they are TF1's
            dependencies `cell-0`, `cell-1`, ...

    Example:

    >>> import numpy as np
    >>> import tfrnn
    >>> def get_a_cell():
    ...     return tfrnn.BasicRNNCell(num_units=128)
    >>> cell = tfrnn.MultiRNNCell([get_a_cell() for _ in range(3)])
    >>> cell.state_size
    (128, 128, 128)
    >>> h0 = cell.zero_state(32, np.float32)
    >>> output, h1 = cell.call(np.zeros((32, 100), "float32"), h0)
    >>> [tuple(h.shape) for h in h1]
    [(32, 128), (32, 128), (32, 128)]

    Compatibility: TF >= 1.2 let `MultiRNNCell([cell] * 3)` share one set of
    weights between the layers (with a logged warning, and a shape error when
    the input depth differs from `num_units`); TF 1.0 gave each layer its own.
    tfrnn refuses the ambiguity at construction and names the repeated positions.
    """

    keras_equivalent = "StackedRNNCells"

    def __init__(self, cells: list[Cell] | tuple[Cell, ...], state_is_tuple: bool = True, **kwargs: Any) -> None:
        _check_cells(cells)
        if not state_is_tuple:
            raise ValueError(
                "MultiRNNCell(state_is_tuple=False) is not supported: the state is "
                "always a tuple with one entry per cell. Drop the argument; TF1 "
                "checkpoints load unchanged (the weights are the same)."
            )
        super().__init__(**kwargs)
        self.cells = list(cells)
        for position, cell in enumerate(self.cells):
            # Object-based checkpoints (tf.train.Checkpoint, SavedModel) find the
            # layers under TF1's dependency names; Keras' list tracking is not
            # TensorFlow's. `_track_trackable` is what TensorFlow's attribute
            # tracking calls; a name with `-` keeps it out of Keras' `.keras` paths.
            if isinstance(cell, tf.__internal__.tracking.Trackable):
                self._track_trackable(cell, name=f"cell-{position}")

    @property
    def state_size(self) -> tuple[StateSize, ...]:
        return tuple(cell.state_size for cell in self.cells)

    @property
    def output_size(self) -> int:
        return self.cells[-1].output_size

    @no_autograph
    def zero_state(self, batch_size: int | Tensor, dtype: DType) -> tuple[Nested, ...]:
        """Each cell's own `zero_state`, as TF1's: a cell with its own initial state (an
        `AttentionWrapper`: its `time`, its `alignment_history` `TensorArray`) keeps it in
        the stack. A Keras cell (no `zero_state`) gets zeros shaped by its `state_size`."""
        zeros = super().zero_state(batch_size, dtype)  # checks the arguments, starts a new sequence
        return tuple(cell.zero_state(batch_size, dtype) if hasattr(cell, "zero_state") else zero
                     for cell, zero in zip(self.cells, zeros))

    def tf1_layout(self, input_depth: int) -> list[Child]:
        layout = []
        for position, cell in enumerate(self.cells):
            layout.append(Child(f"{self.name}/cell_{position}", cell, input_depth))
            input_depth = cell.output_size
        return layout

    def step(self, inputs: Tensor, state: Sequence[Nested]) -> tuple[Tensor, tuple[Nested, ...]]:
        new_states = []
        for cell, cell_state in zip(self.cells, state):
            inputs, new_state = cell(inputs, cell_state)
            new_states.append(new_state)
        return inputs, tuple(new_states)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["cells"] = [keras.saving.serialize_keras_object(cell) for cell in self.cells]
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Self:
        config = dict(config)
        cells = [keras.saving.deserialize_keras_object(c, custom_objects) for c in config.pop("cells")]
        return cls(cells, **config)


def _check_cells(cells: object) -> None:
    if not isinstance(cells, (list, tuple)):
        raise TypeError(
            f"cells must be a list or tuple, but received: {cells!r}. Write "
            "MultiRNNCell([cell_0, cell_1, ...])."
        )
    if not cells:
        raise ValueError("Must specify at least one cell for MultiRNNCell.")
    for position, cell in enumerate(cells):
        missing = [a for a in ("state_size", "output_size") if not hasattr(cell, a)]
        if missing or not callable(cell):
            raise TypeError(
                f"MultiRNNCell cells[{position}] is not an RNN cell: {cell!r} "
                f"(missing {', '.join(missing) or '__call__'}). Pass tfrnn cells or "
                "Keras cells."
            )
    repeats = _repeated_positions(cells)
    if repeats:
        raise ValueError(
            f"MultiRNNCell received the same cell object more than once, at positions "
            f"{repeats}: `[cell] * n` repeats one object, it does not make n layers. "
            "TF >= 1.2 silently shared one set of weights between those layers "
            "(and failed when the input depth differed from num_units). Create one "
            "cell per layer instead: MultiRNNCell([make_cell() for _ in range(n)])."
        )
    for position, cell in enumerate(cells[1:], start=1):
        _check_stacked_depth(cells[position - 1], cell, position)


def _repeated_positions(cells: Sequence[Cell]) -> list[list[int]]:
    """Groups of positions holding one object, e.g. `[[0, 1, 2]]` for `[cell] * 3`."""
    groups: dict[int, list[int]] = {}
    for position, cell in enumerate(cells):
        groups.setdefault(id(cell), []).append(position)
    return [positions for positions in groups.values() if len(positions) > 1]


def _check_stacked_depth(below: Cell, cell: Cell, position: int) -> None:
    depth = built_input_depth(cell)
    if depth is not None and depth != below.output_size:
        raise ValueError(
            f"MultiRNNCell cells[{position}] ({cell.name}) was already built for inputs "
            f"of depth {depth}, but cells[{position - 1}] outputs {below.output_size}. "
            "Use a new, unbuilt cell for that layer."
        )


class CellWrapper(RNNCell):
    """Base of the wrappers (TF1's `_RNNCellWrapperV1`): a cell around `cell`.

    It has the wrapped cell's sizes and initial state (`zero_state` and
    `get_initial_state` ask the wrapped cell, as in TF1), names it
    `wrapped_cell` (TF1) and `cell`, tracks it as a sublayer (so `.weights`
    lists its weights; TF1's wrappers listed none) and as the checkpoint
    dependency `cell`, and serializes it in `get_config`. A non-cell is TF1's `TypeError`. Subclasses define `step`;
    the wrapped cell is a `Child` of the layout at the wrapper's own scope
    level (TF1's core wrappers add no scope).
    """

    wraps_a_cell = True

    def __init__(self, cell: Cell, **kwargs: Any) -> None:
        check_cell(cell)
        super().__init__(**kwargs)
        self.cell = cell

    @property
    def wrapped_cell(self) -> Cell:
        """The wrapped cell, under TF1's name (also `cell`)."""
        return self.cell

    @property
    def state_size(self) -> StateSize:
        return self.cell.state_size

    @property
    def output_size(self) -> int:
        return self.cell.output_size

    @no_autograph
    def zero_state(self, batch_size: int | Tensor, dtype: DType) -> Nested:
        """The wrapped cell's `zero_state` (TF1): a cell with its own initial state keeps it once wrapped.

        A wrapped Keras cell (no `zero_state`) gets zeros shaped by its
        `state_size`. Either way the wrapper starts a new sequence.
        """
        if not hasattr(self.cell, "zero_state"):
            return super().zero_state(batch_size, dtype)
        state = self.cell.zero_state(batch_size, dtype)
        new_sequence(self)
        return state

    @no_autograph
    def get_initial_state(
        self, inputs: Tensor | None = None, batch_size: int | Tensor | None = None, dtype: DType | None = None,
    ) -> Nested:
        """The wrapped cell's `get_initial_state`, with `RNNCell.get_initial_state`'s arguments and rules."""
        keras_form = keras_initial_state_call(inputs, batch_size, dtype)
        batch_size, dtype = self._initial_state_arguments(inputs, batch_size, dtype)
        if not isinstance(self.cell, RNNCell):  # a user's TF1 cell: its zero_state; a Keras cell: zeros
            return flat_for_keras(self, self.zero_state(batch_size, dtype), keras_form)
        state = self.cell.get_initial_state(batch_size=batch_size, dtype=dtype)
        new_sequence(self)
        return flat_for_keras(self, state, keras_form)

    def tf1_layout(self, input_depth: int) -> list[Weight | Child]:
        return [Child("", self.cell, input_depth)]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["cell"] = keras.saving.serialize_keras_object(self.cell)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Self:
        config = dict(config)
        cell = keras.saving.deserialize_keras_object(config.pop("cell"), custom_objects)
        return cls(cell, **config)


@keras.saving.register_keras_serializable(package="tfrnn")
class ResidualWrapper(CellWrapper):
    """Adds a cell's inputs to its outputs (He et al., 2016). TF1's `ResidualWrapper`.

    Equations:

        y, s' = cell(x, s)
        output = residual_fn(x, y)   # default: x + y, element-wise
        state = s'

    The default needs the input depth to equal the cell's `output_size`;
    otherwise a `ValueError` is raised before anything is built.

    Args:
        cell: the cell to wrap.
        residual_fn: optional `residual_fn(inputs, outputs) -> outputs`.
        **kwargs: other `RNNCell` arguments.

    Call arguments:
        inputs: `[B, D]`, with `D == cell.output_size` for the default.
        state: the wrapped cell's state.

    Attributes:
        cell: the wrapped cell (also `wrapped_cell`, TF1's name); the
            wrapper's `.weights` are its weights.

    Serialization: `get_config` stores `residual_fn` with
    `keras.saving.serialize_keras_object`. A lambda or a local function
    loads only with `safe_mode=False` (`keras.models.load_model(...,
    safe_mode=False)`, or `keras.config.enable_unsafe_deserialization()`);
    a named function loads in safe mode once registered:
    `@keras.saving.register_keras_serializable(package="my_model")` above
    its `def`, imported before loading.

    Example:

    >>> import numpy as np
    >>> import tfrnn
    >>> gru = tfrnn.GRUCell(3)
    >>> cell = tfrnn.ResidualWrapper(gru)
    >>> x, h = np.ones((2, 3), "float32"), np.zeros((2, 3), "float32")
    >>> output, state = cell(x, h)
    >>> gru_output, gru_state = gru(x, h)
    >>> bool(np.allclose(output, np.asarray(gru_output) + x)), bool(np.allclose(state, gru_state))  # state: the GRU's
    (True, True)
    """

    def __init__(
        self, cell: Cell, residual_fn: Callable[[Nested, Nested], Nested] | None = None, **kwargs: Any,
    ) -> None:
        if residual_fn is not None and not callable(residual_fn):
            raise TypeError(f"residual_fn must be callable or None, but received {residual_fn!r}.")
        super().__init__(cell, **kwargs)
        self.residual_fn = residual_fn

    def step(self, inputs: Tensor, state: Nested) -> tuple[Tensor, Nested]:
        output, new_state = self.cell(inputs, state)
        if self.residual_fn is not None:
            return self.residual_fn(inputs, output), new_state
        return ops.add(inputs, output), new_state

    def _check_step(self, inputs: Tensor, state: Nested) -> None:
        super()._check_step(inputs, state)  # rank, dtype and state first: what the sum needs
        shape = tuple(getattr(inputs, "shape", np.shape(inputs)))
        if self.residual_fn is None and shape and shape[-1] not in (None, self.cell.output_size):
            raise ValueError(
                f"Shapes {shape} and {shape[:-1] + (self.cell.output_size,)} are incompatible: "
                f"{self.name} adds its inputs (depth {shape[-1]}) to the output of "
                f"{self.cell.name} (output_size {self.cell.output_size}). Give the cell "
                "num_units equal to the input depth, or pass residual_fn=..."
            )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["residual_fn"] = keras.saving.serialize_keras_object(self.residual_fn)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Self:
        config = dict(config)
        config["residual_fn"] = keras.saving.deserialize_keras_object(config.get("residual_fn"), custom_objects)
        return super().from_config(config, custom_objects)


@keras.saving.register_keras_serializable(package="tfrnn")
class DeviceWrapper(CellWrapper):
    """Runs a cell (and creates its weights) on a device. TF1's `DeviceWrapper`.

    Equations: `output, state = cell(x, s)`, placed with `tf.device(device)`;
    `zero_state` is placed there too.

    Args:
        cell: the cell to wrap.
        device: a device string (`"/cpu:0"`, `"/gpu:1"`) or `tf.DeviceSpec`.
            TF1 also took a device function; TF2's `tf.device` does not, so a
            callable raises a `TypeError`.
        **kwargs: other `RNNCell` arguments.

    Call arguments:
        inputs: `[B, D]`.
        state: the wrapped cell's state.

    Attributes:
        cell: the wrapped cell (also `wrapped_cell`); the wrapper's `.weights` are its weights.
        device: the device string.

    Example:

    >>> import numpy as np
    >>> import tfrnn
    >>> cell = tfrnn.DeviceWrapper(tfrnn.BasicRNNCell(2), "/cpu:0")
    >>> output, state = cell(np.ones((1, 3), "float32"), cell.zero_state(1, "float32"))
    >>> output.device.endswith("CPU:0"), len(cell.weights)
    (True, 2)
    """

    def __init__(self, cell: Cell, device: str | tf.DeviceSpec, **kwargs: Any) -> None:
        if isinstance(device, tf.DeviceSpec):
            device = device.to_string()
        if not isinstance(device, str):
            raise TypeError(
                f"DeviceWrapper needs a device string such as '/cpu:0', but received "
                f"{device!r}. TF1 also accepted device functions; tf.device in TF2 does "
                "not, so pick the device string the function returned."
            )
        super().__init__(cell, **kwargs)
        self.device = device

    @no_autograph
    def zero_state(self, batch_size: int | Tensor, dtype: DType) -> Nested:
        with tf.device(self.device):
            return super().zero_state(batch_size, dtype)

    @no_autograph
    def get_initial_state(
        self, inputs: Tensor | None = None, batch_size: int | Tensor | None = None, dtype: DType | None = None,
    ) -> Nested:
        with tf.device(self.device):
            return super().get_initial_state(inputs, batch_size, dtype)

    @no_autograph
    def call(self, inputs: Tensor, state: Nested, training: bool | None = None) -> tuple[Tensor, Nested]:
        with tf.device(self.device):  # weights are created here too
            return super().call(inputs, state, training=training)

    def step(self, inputs: Tensor, state: Nested) -> tuple[Tensor, Nested]:
        return self.cell(inputs, state)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["device"] = self.device
        return config

