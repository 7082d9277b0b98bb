"""TF1 variable names of tfrnn cells, derived from each cell's `tf1_layout`.

A pure walk over the cell structure: it never parses Keras variable paths
(they depend on where `build` ran). Because tfrnn weights use TF1's layout,
these names are all that loading, saving and inspection need: no weight is
transposed, split or re-ordered.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

import keras
import tensorflow as tf

from tfrnn.base import Cell, Child, Sublayer, Tensor, Weight
from tfrnn.checks import built_input_depth

_SHOWN = 60  # characters of a wrong argument's repr shown in an error


@dataclasses.dataclass(frozen=True)
class Entry:
    """One TF1 variable of a cell structure: its full name, shape and where it lives."""

    name: str
    shape: tuple[int, ...]
    cell: Cell  # the cell or Keras layer that holds it; None for a bare variable
    weight: Weight
    held: Tensor | None = None  # the variable itself, where no layout describes it (a user's layer)

    def variable(self) -> Tensor:
        """The Keras variable (the cell must be built)."""
        return self.held if self.held is not None else self.weight.variable(self.cell)


def tf1_entries(cell: Cell, input_depth: int, scope: str = "", name: str | None = None) -> Iterator[Entry]:
    """Yields every TF1 variable of `cell` built for `input_depth`, in TF1's order.

    Args:
        cell: a tfrnn cell (or a structure of them), or another layer with a
            `tf1_layout` (an attention mechanism).
        input_depth: the depth of the inputs the cell reads.
        scope: the enclosing TF1 scope, `""` for none.
        name: the TF1 name of the cell's own scope, if not its Keras name.

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
    own = cell.name if name is None else name
    for item in layout:
        if isinstance(item, Child):
            yield from tf1_entries(item.cell, item.input_depth, join_scope(scope, item.scope), item.name)
        elif isinstance(item, Sublayer):
            if item.layer.built:
                yield from layer_entries(item.layer, join_scope(scope, own))
            else:  # its weights appear when its cell is built (a load builds it after checking)
                yield from _unbuilt_layer_entries(item.layer, item.input_depth, join_scope(scope, own))
        else:
            yield Entry(join_scope(scope, own, item.name), tuple(item.shape), cell, item)


def layer_entries(layer: keras.layers.Layer, scope: str, name: str | None = None) -> Iterator[Entry]:
    """The variables of a Keras layer without a TF1 layout (a `Dense` output or attention
    layer, an `Embedding`), named as TF1 named a `tf.layers` layer's: `<scope>/<layer name>/<weight>`."""
    for variable in layer.weights:
        leaf = variable_name(variable)
        yield Entry(join_scope(scope, name or layer.name, leaf), tuple(variable.shape), layer, Weight(leaf, ()), variable)


@dataclasses.dataclass(frozen=True)
class _LayerWeight(Weight):
    """A weight a Keras layer creates itself, found by its name once the layer is built."""

    def variable(self, cell: Cell) -> Tensor:
        return next(v for v in cell.weights if variable_name(v) == self.name)


def _unbuilt_layer_entries(layer: keras.layers.Layer, input_depth: int, scope: str) -> Iterator[Entry]:
    """The entries `layer_entries` gives once `layer` is built for `input_depth`, read from a
    copy built now: the layer itself stays unbuilt, and the entries find its weights later."""
    copy = type(layer).from_config(layer.get_config())
    copy.build((None, input_depth))
    for variable in copy.weights:
        leaf, shape = variable_name(variable), tuple(variable.shape)
        yield Entry(join_scope(scope, layer.name, leaf), shape, layer, _LayerWeight(leaf, shape))


def variable_name(variable: Tensor) -> str:
    """A variable's own name, without TensorFlow's `:0` or the path of the layer holding it."""
    return str(variable.name).split(":")[0].split("/")[-1]


def structure_entries(structure: Any, scope: str, depth_of: Any = None) -> Iterator[Entry]:
    """Every TF1 variable of one object, a list of objects, or `{scope: object(s)}`.

    An object is a tfrnn cell, a seq2seq object (`tf1_parts()` says what holds
    its variables: a decoder's cell and output layer, a mechanism's memory
    layer), a Keras layer or a variable. Objects of one scope with the same name
    are numbered as TF1 numbered them: `memory_layer`, `memory_layer_1`, ...
    `depth_of(cell, scope, name)` gives the input depth of an unbuilt cell (loading
    infers it from the checkpoint); without it an unbuilt cell is a `ValueError`.
    """
    if isinstance(structure, Mapping):
        for key, value in structure.items():
            yield from structure_entries(value, join_scope(scope, key), depth_of)
        return
    parts = list(_parts(structure))
    counts: collections.Counter[str] = collections.Counter()
    for part in parts:
        base = _own_name(part)
        name = base if counts[base] == 0 else f"{base}_{counts[base]}"
        counts[base] += 1
        yield from _part_entries(part, scope, name, depth_of)


def _parts(structure: Any) -> Iterator[Any]:
    if isinstance(structure, (list, tuple)) and not hasattr(structure, "_fields"):
        for item in structure:
            yield from _parts(item)
    elif hasattr(structure, "tf1_parts"):
        # What holds a seq2seq object's variables at this scope: a decoder's cell and
        # output layer; a mechanism's memory layer (its scoring variables are named
        # inside the attention wrapper, through its tf1_layout).
        yield from _parts(structure.tf1_parts())
    else:
        yield structure


def _own_name(part: Any) -> str:
    if isinstance(part, (tf.Variable, keras.Variable)):
        return variable_name(part)
    return str(getattr(part, "name", ""))


def _part_entries(part: Any, scope: str, name: str, depth_of: Any) -> Iterator[Entry]:
    if isinstance(part, (tf.Variable, keras.Variable)):
        yield Entry(join_scope(scope, name), tuple(part.shape), None, Weight(name, ()), part)
    elif hasattr(part, "tf1_layout"):
        depth = built_input_depth(part) if part.built else None
        if depth is None and depth_of is not None:
            depth = depth_of(part, scope, name)
        if depth is None:
            raise ValueError(_unbuilt_message(part))
        yield from tf1_entries(part, depth, scope, name)
    elif isinstance(part, keras.layers.Layer) and not hasattr(part, "state_size"):  # not a Keras cell
        if not part.built:
            raise ValueError(_unbuilt_message(part))
        yield from layer_entries(part, scope, name)
    else:
        require_tf1_cell(part, "tf1_variable_names")


def _unbuilt_message(part: Any) -> str:
    return (
        f"tf1_variable_names needs a built cell, but {part.name} has no weights "
        "yet. Call it once on inputs, or use load_tf1_checkpoint, which builds "
        "an unbuilt cell from the checkpoint's shapes."
    )


def tf1_variable_names(cell: Any, scope: str = "rnn") -> dict[str, Tensor]:
    """Maps each weight of a built cell to the name TF1 gives it in a checkpoint.

    The names are those of `tf.compat.v1.train.Saver`: the scope of the loop
    (`rnn` for `dynamic_rnn`, `""` for a cell called directly), the cell's name
    (`basic_lstm_cell`, or its `name=`), then TF1's weight names.
    `MultiRNNCell` adds `multi_rnn_cell/cell_{i}/` before each layer's cell,
    whatever the layers are called in Keras.

    Seq2seq objects have TF1's names too. An `AttentionWrapper` names its cell,
    its mechanisms' scoring variables (`bahdanau_attention/query_layer/kernel`,
    `attention_v`, ...) and its attention layers; a mechanism names its
    `memory_layer/kernel`, which TF1 created where the mechanism was built; a
    `BasicDecoder` names its cell and its output layer (give `dynamic_decode`'s
    scope, e.g. `"decoder"`). A list of objects shares `scope`, and objects of
    one name in one scope are numbered as TF1 numbered them (`memory_layer`,
    `memory_layer_1`); a mapping `{scope: object or list}` names several
    structures at once (an encoder, a decoder, the embeddings' variables).

    Args:
        cell: a built tfrnn cell, or a `MultiRNNCell` of them; a seq2seq object
            (attention wrapper, mechanism, decoder); a Keras layer or variable;
            a list of these, or a mapping `{scope: these}`.
        scope: the enclosing TF1 variable scope; `""` for none. With a mapping,
            each key is a full scope and `scope` stays `"rnn"` (any other
            value is put before every key).

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
    require_structure(cell, "tf1_variable_names")
    require_scope(scope, "tf1_variable_names")
    if isinstance(cell, Mapping):
        scope = "" if scope == "rnn" else scope
    return {entry.name: entry.variable() for entry in structure_entries(cell, scope)}


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


def require_structure(structure: object, function: str) -> None:
    """Raises a `TypeError` unless `structure` is something TF1 names can be given to.

    A cell, a seq2seq object, a variable (an embedding), a Keras layer that
    is not a cell (an output projection), a mapping `{scope: ...}` or a list
    mixing them pass (their parts are checked as they are named); a list of
    cells alone is refused with the hint TF1 code needs (`MultiRNNCell([...])`).
    """
    if isinstance(structure, Mapping) or hasattr(structure, "tf1_parts") or _is_named_as_it_is(structure):
        return
    if isinstance(structure, (list, tuple)) and not all(
        hasattr(item, "state_size") and not hasattr(item, "tf1_parts") for item in structure  # mechanisms have state_size
    ):
        return
    require_tf1_cell(structure, function)


def _is_named_as_it_is(part: object) -> bool:
    """A variable, or a Keras layer that is not a cell: `structure_entries` names its weights as they are."""
    if isinstance(part, (tf.Variable, keras.Variable)):
        return True
    return isinstance(part, keras.layers.Layer) and not hasattr(part, "state_size") and not hasattr(part, "tf1_layout")


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
