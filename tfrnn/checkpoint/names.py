"""TF1 variable names of tfrnn cells, derived from each cell's `tf1_layout`.

A pure walk over the cell structure: it never parses Keras variable paths
(they depend on where `build` ran). Because tfrnn weights use TF1's layout,
these names are all that loading, saving and inspection need: no weight is
transposed, split or re-ordered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import keras

from tfrnn.base import Cell, Child, Tensor, Weight, built_input_depth

_SHOWN = 60  # characters of a wrong argument's repr shown in an error


@dataclasses.dataclass(frozen=True)
class Entry:
    """One TF1 variable of a cell structure: its full name, shape and where it lives."""

    name: str
    shape: tuple[int, ...]
    cell: Cell
    weight: Weight

    def variable(self) -> Tensor:
        """The Keras variable (the cell must be built)."""
        return self.weight.variable(self.cell)


def tf1_entries(cell: Cell, input_depth: int, scope: str = "") -> Iterator[Entry]:
    """Yields every TF1 variable of `cell` built for `input_depth`, in TF1's order.

    Args:
        cell: a tfrnn cell (or a structure of them).
        input_depth: the depth of the inputs the cell reads.
        scope: the enclosing TF1 scope, `""` for none.

    Raises:
        TypeError: a cell in the structure has no TF1 layout (a Keras cell, a
            user cell that creates its own weights).
    """
    layout = cell.tf1_layout(input_depth) if hasattr(cell, "tf1_layout") else None
    if layout is None:
        raise TypeError(
            f"No TF1 variable layout is known for {type(cell).__name__} "
            f"({getattr(cell, 'name', cell)}). TF1 names are defined for tfrnn's cells "
            "and wrappers (and MultiRNNCell of them); a Keras cell or a cell that "
            "creates its own weights has none."
        )
    for item in layout:
        if isinstance(item, Child):
            yield from tf1_entries(item.cell, item.input_depth, join_scope(scope, item.scope))
        else:
            yield Entry(join_scope(scope, cell.name, item.name), tuple(item.shape), cell, item)


def tf1_variable_names(cell: Cell, scope: str = "rnn") -> dict[str, Tensor]:
    """Maps each weight of a built cell to the name TF1 gives it in a checkpoint.

    The names are those of `tf.compat.v1.train.Saver`: the scope of the loop
    (`rnn` for `dynamic_rnn`, `""` for a cell called directly), the cell's name
    (`basic_lstm_cell`, or its `name=`), then TF1's weight names.
    `MultiRNNCell` adds `multi_rnn_cell/cell_{i}/` before each layer's cell,
    whatever the layers are called in Keras.

    Args:
        cell: a built tfrnn cell, or a `MultiRNNCell` of them.
        scope: the enclosing TF1 variable scope; `""` for none.

    Returns:
        `dict` from TF1 name to the cell's `keras.Variable`, in TF1's order.

    Raises:
        TypeError: `cell` is not a tfrnn cell (a Keras cell, a list of cells:
            wrap those in `MultiRNNCell`), or `scope` is not a string.
        ValueError: the cell is not built yet.

    Example:

    >>> import numpy as np
    >>> import tfrnn
    >>> cell = tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(4), tfrnn.GRUCell(3)])
    >>> _ = cell(np.zeros((2, 5), "float32"), cell.zero_state(2, "float32"))
    >>> for name, variable in tfrnn.tf1_variable_names(cell).items():
    ...     print(name, tuple(variable.shape))
    rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel (9, 16)
    rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias (16,)
    rnn/multi_rnn_cell/cell_1/gru_cell/gates/kernel (7, 6)
    rnn/multi_rnn_cell/cell_1/gru_cell/gates/bias (6,)
    rnn/multi_rnn_cell/cell_1/gru_cell/candidate/kernel (7, 3)
    rnn/multi_rnn_cell/cell_1/gru_cell/candidate/bias (3,)
    """
    require_tf1_cell(cell, "tf1_variable_names")
    require_scope(scope, "tf1_variable_names")
    depth = built_input_depth(cell)
    if not cell.built or depth is None:
        raise ValueError(
            f"tf1_variable_names needs a built cell, but {cell.name} has no weights "
            "yet. Call it once on inputs, or use load_tf1_checkpoint, which builds "
            "an unbuilt cell from the checkpoint's shapes."
        )
    return {entry.name: entry.variable() for entry in tf1_entries(cell, depth, scope)}


def join_scope(*parts: str) -> str:
    """TF1 scopes joined by `/`, empty parts skipped: `("rnn", "", "lstm_cell")` -> `rnn/lstm_cell`."""
    return "/".join(part.strip("/") for part in parts if part and part.strip("/"))


def require_tf1_cell(cell: object, function: str) -> None:
    """Raises a `TypeError` saying what was passed unless `cell` is a cell with TF1 names."""
    if isinstance(cell, keras.layers.Layer) and hasattr(cell, "tf1_layout"):
        return
    if isinstance(cell, (list, tuple)):
        fix = "wrap a stack of cells in tfrnn.MultiRNNCell([...]), as TF1 did"
    elif isinstance(cell, keras.layers.Layer):
        fix = ("Keras' own cells have no TF1 names: use the tfrnn cell your TF1 code used "
               "(e.g. tfrnn.LSTMCell(num_units)); tfrnn.to_keras converts it afterwards")
    else:
        fix = "pass a cell such as tfrnn.LSTMCell(num_units)"
    raise TypeError(
        f"{function} received {shown(cell)}; it expects a tfrnn cell (or a "
        f"MultiRNNCell or wrapper of them): {fix}."
    )


def require_scope(scope: object, function: str) -> None:
    """Raises a `TypeError` unless `scope` is a TF1 scope: a string (or None for none)."""
    if scope is not None and not isinstance(scope, str):
        raise TypeError(
            f"{function} received scope={shown(scope)}; it expects the TF1 variable "
            "scope as a string: 'rnn' (dynamic_rnn's default), '' for a cell called "
            "directly, 'encoder/rnn' inside variable_scope('encoder')."
        )


def shown(value: object) -> str:
    """A wrong argument as an error shows it: its (shortened) repr and its type."""
    text = repr(value)
    text = text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
    return f"{text} (of type {type(value).__name__})"
