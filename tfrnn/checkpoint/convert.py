"""Native Keras 3 cells from tfrnn cells, and back: `to_keras`, `from_keras`.

TF1 and Keras 3 compute the same functions for these cells but store the
weights differently, so converting is a re-layout, never a retraining:

- Keras splits TF1's fused kernel `[D + H, n * H]` at row D into `kernel`
  (input rows) and `recurrent_kernel` (state rows).
- LSTM gate blocks are i, j, f, o in TF1 and i, f, c (= j), o in Keras, and
  TF1 adds `forget_bias` at call time where Keras keeps it in the stored bias.
- TF1's GRU keeps `gates` (r, u) and `candidate` apart; Keras' `GRUCell(
  reset_after=False)` has one kernel with blocks z (= u), r, h.
- States: TF1's `LSTMStateTuple(c, h)` is Keras' `[h, c]`.

Everything here works on NumPy copies of the weights; neither cell shares a
variable with the other afterwards.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any, TypeVar, Union

import keras
import numpy as np

from tfrnn.base import RNNCell, Weight
from tfrnn.checks import built_input_depth
from tfrnn.cells import BasicLSTMCell, BasicRNNCell, GRUCell, LSTMCell
from tfrnn.wrappers import MultiRNNCell

# TF1's LSTM blocks (i, j, f, o) read in this order give Keras' (i, f, c, o); the
# permutation swaps the two middle blocks, so it is its own inverse.
_LSTM_GATE_ORDER = (0, 2, 1, 3)

# The cells converted one by one (a MultiRNNCell converts its cells): their layouts are weights only.
_Convertible = Union[BasicRNNCell, BasicLSTMCell, LSTMCell, GRUCell]
_Cell = TypeVar("_Cell", bound=_Convertible)


def to_keras(cell: RNNCell) -> keras.layers.Layer:
    """Returns the native Keras 3 cell that computes what a tfrnn cell computes.

    The Keras cell is built and holds converted copies of the tfrnn cell's
    weights: kernels split at the input depth, LSTM gates reordered from
    i, j, f, o to i, f, c, o with `forget_bias` folded into the forget bias,
    GRU blocks reordered from (r, u), candidate to z (= u), r, h.

    | tfrnn | Keras 3 |
    | --- | --- |
    | `BasicRNNCell` | `SimpleRNNCell` |
    | `BasicLSTMCell`, `LSTMCell` without peepholes, clipping or projection | `LSTMCell` |
    | `GRUCell` | `GRUCell(reset_after=False)` |
    | `MultiRNNCell` of those | `StackedRNNCells` |

    Outputs are equal; states are equal after reordering: TF1's
    `LSTMStateTuple(c, h)` is Keras' `[h, c]`. Keras' `StackedRNNCells` of a
    single cell returns that cell's state unnested.

    Args:
        cell: a built tfrnn cell (call it once, or load a checkpoint into it).

    Returns:
        A built `keras.layers.SimpleRNNCell`, `LSTMCell`, `GRUCell` or
        `StackedRNNCells`, with the same activation and dtype policy.

    Raises:
        ValueError: the cell is unbuilt, or has no Keras equivalent
            (`LSTMCell` with peepholes, `cell_clip` or `num_proj`).
        TypeError: the cell is not one of the classes above.

    Example:

    >>> import numpy as np
    >>> import tfrnn
    >>> cell = tfrnn.BasicLSTMCell(4)
    >>> x = np.ones((2, 3), "float32")
    >>> output, (c, h) = cell(x, cell.zero_state(2, "float32"))
    >>> keras_cell = tfrnn.to_keras(cell)
    >>> type(keras_cell).__name__, [tuple(w.shape) for w in keras_cell.weights]
    ('LSTMCell', [(3, 16), (4, 16), (16,)])
    >>> keras_output, (keras_h, keras_c) = keras_cell(x, [np.zeros((2, 4), "float32")] * 2)
    >>> bool(np.allclose(output, keras_output, atol=1e-6)), bool(np.allclose(c, keras_c, atol=1e-6))
    (True, True)
    """
    return _to_keras(cell, where=_describe(cell))


def from_keras(keras_cell: keras.layers.Layer, forget_bias: float = 1.0) -> RNNCell:
    """Returns the tfrnn cell that computes what a native Keras 3 cell computes.

    The reverse of `to_keras`: `SimpleRNNCell` gives `BasicRNNCell`, `LSTMCell`
    gives `LSTMCell`, `GRUCell(reset_after=False)` gives `GRUCell` and
    `StackedRNNCells` gives `MultiRNNCell`. The tfrnn cells get TF1's default
    names (`lstm_cell`, ...), so `tf1_variable_names` gives the names TF1 code
    would create, whatever the Keras cells were called.

    Args:
        keras_cell: a built Keras cell of the classes above. Its dropout and
            recurrent dropout must be 0: TF1 cells have none.
        forget_bias: the `forget_bias` of the new LSTM cells; Keras keeps the
            whole forget bias in its stored bias, so `forget_bias` is taken out
            of it again. The default 1.0 is TF1's, so TF1 code
            `LSTMCell(num_units)` restoring these weights computes the same.

    Returns:
        A built tfrnn cell with converted copies of the weights.

    Raises:
        ValueError: the cell is unbuilt, or has no TF1 equivalent: Keras'
            default `GRUCell(reset_after=True)`, a recurrent activation other
            than sigmoid, or dropout; or `forget_bias` is NaN or infinite.
        TypeError: not one of the classes above (for a `keras.layers.LSTM`
            layer, pass its `.cell`), or `forget_bias` is not a number.

    Example:

    >>> import numpy as np
    >>> import keras
    >>> import tfrnn
    >>> keras_cell = keras.layers.GRUCell(4, reset_after=False)
    >>> keras_cell.build((None, 3))
    >>> cell = tfrnn.from_keras(keras_cell)
    >>> sorted(tfrnn.tf1_variable_names(cell))
    ['rnn/gru_cell/candidate/bias', 'rnn/gru_cell/candidate/kernel', 'rnn/gru_cell/gates/bias', 'rnn/gru_cell/gates/kernel']
    >>> x, h = np.ones((2, 3), "float32"), np.zeros((2, 4), "float32")
    >>> bool(np.allclose(cell(x, h)[0], keras_cell(x, h)[0], atol=1e-6))
    True
    """
    _check_forget_bias(forget_bias)
    return _from_keras(keras_cell, forget_bias, where=_describe(keras_cell))


# ----------------------------------------------------------------- tfrnn -> Keras


def _to_keras(cell: RNNCell, where: str) -> keras.layers.Layer:
    # Only a class that names its Keras equivalent itself converts: a subclass
    # may compute something else.
    equivalent = type(cell).__dict__.get("keras_equivalent")
    convert = _TO_KERAS.get(equivalent) if equivalent else None
    if convert is None:
        fix = "Other cells can run in keras.layers.RNN as they are."
        if isinstance(cell, (list, tuple)):
            fix = "To convert a stack, wrap a stack of cells in tfrnn.MultiRNNCell([...]) first."
        raise TypeError(
            f"to_keras received {where}, of type {type(cell).__name__}. It converts "
            f"tfrnn's {', '.join(_convertible_classes())} and MultiRNNCell of them "
            f"(exact classes: a subclass may compute something else). {fix}"
        )
    depth = built_input_depth(cell)
    if not cell.built or depth is None:
        raise ValueError(
            f"to_keras needs a built cell, but {where} has no weights yet. Call it "
            "once on inputs, or load weights with tfrnn.load_tf1_checkpoint, first."
        )
    return convert(cell, depth, where)


def _convertible_classes() -> list[str]:
    """The names of the classes that name a Keras equivalent in their own body."""
    found: list[str] = []
    pending: list[type[RNNCell]] = [RNNCell]
    while pending:
        cls = pending.pop(0)
        pending += cls.__subclasses__()
        if cls.__dict__.get("keras_equivalent") and cls is not MultiRNNCell:
            found.append(cls.__name__)
    return found


def _basic_rnn_to_keras(cell: BasicRNNCell, depth: int, where: str) -> keras.layers.Layer:
    kernel, bias = _values(cell, depth)
    keras_cell = keras.layers.SimpleRNNCell(cell.num_units, activation=cell.activation, dtype=cell.dtype_policy)
    return _built_keras(keras_cell, depth, [kernel[:depth], kernel[depth:], bias])


def _lstm_to_keras(cell: BasicLSTMCell | LSTMCell, depth: int, where: str) -> keras.layers.Layer:
    _require_plain_lstm(cell, where)
    units = cell.num_units
    kernel, bias = _values(cell, depth)[:2]
    bias[2 * units:3 * units] += cell.forget_bias  # TF1's f block; TF1 adds it at call time
    keras_cell = keras.layers.LSTMCell(
        cell.num_units, activation=cell.activation, recurrent_activation="sigmoid", dtype=cell.dtype_policy
    )
    weights = [_reorder_lstm(kernel[:depth]), _reorder_lstm(kernel[depth:]), _reorder_lstm(bias)]
    return _built_keras(keras_cell, depth, weights)


def _gru_to_keras(cell: GRUCell, depth: int, where: str) -> keras.layers.Layer:
    units = cell.num_units
    gates_kernel, gates_bias, candidate_kernel, candidate_bias = _values(cell, depth)

    def keras_blocks(gates: np.ndarray, candidate: np.ndarray) -> np.ndarray:  # (r, u) + c  ->  z (= u), r, h
        return np.concatenate([gates[..., units:], gates[..., :units], candidate], axis=-1)

    kernel = keras_blocks(gates_kernel, candidate_kernel)  # [D + H, 3H]
    keras_cell = keras.layers.GRUCell(
        units, activation=cell.activation, recurrent_activation="sigmoid", reset_after=False,
        dtype=cell.dtype_policy,
    )
    weights = [kernel[:depth], kernel[depth:], keras_blocks(gates_bias, candidate_bias)]
    return _built_keras(keras_cell, depth, weights)


def _multi_to_keras(cell: MultiRNNCell, depth: int, where: str) -> keras.layers.Layer:
    keras_cells = [
        _to_keras(child, f"{where} cells[{position}] ({_describe(child)})")
        for position, child in enumerate(cell.cells)
    ]
    stacked = keras.layers.StackedRNNCells(keras_cells, dtype=cell.dtype_policy)
    stacked.build((None, depth))
    return stacked


def _require_plain_lstm(cell: RNNCell, where: str) -> None:
    extras = [
        text for text, used in (
            ("use_peepholes=True", getattr(cell, "use_peepholes", False)),
            (f"cell_clip={getattr(cell, 'cell_clip', None)!r}", getattr(cell, "cell_clip", None) is not None),
            (f"num_proj={getattr(cell, 'num_proj', None)!r}", bool(getattr(cell, "num_proj", None))),
        ) if used
    ]
    if extras:
        raise ValueError(
            f"to_keras cannot convert {where} with {', '.join(extras)}: Keras 3's "
            "LSTMCell has no peepholes, cell clipping or output projection, so no "
            "Keras cell computes the same function. Keep the tfrnn cell instead: it "
            "is a Keras layer and runs in keras.layers.RNN(cell) as it is."
        )


def _built_keras(keras_cell: keras.layers.Layer, depth: int, weights: list[np.ndarray]) -> keras.layers.Layer:
    keras_cell.build((None, depth))
    keras_cell.set_weights(weights)
    return keras_cell


def _values(cell: _Convertible, depth: int) -> list[np.ndarray]:
    """NumPy copies of a cell's own weights, in the order of its `tf1_layout`."""
    return [np.array(keras.ops.convert_to_numpy(w.variable(cell))) for w in _own_weights(cell, depth)]


def _own_weights(cell: _Convertible, depth: int) -> list[Weight]:
    return [item for item in cell.tf1_layout(depth) if isinstance(item, Weight)]


def _reorder_lstm(array: np.ndarray) -> np.ndarray:
    """TF1's i, j, f, o blocks as Keras' i, f, c, o, and back (the swap is symmetric)."""
    blocks = np.split(array, 4, axis=-1)
    return np.concatenate([blocks[k] for k in _LSTM_GATE_ORDER], axis=-1)


_TO_KERAS: dict[str, Callable[[Any, int, str], keras.layers.Layer]] = {
    "SimpleRNNCell": _basic_rnn_to_keras,
    "LSTMCell": _lstm_to_keras,
    "GRUCell": _gru_to_keras,
    "StackedRNNCells": _multi_to_keras,
}


# ----------------------------------------------------------------- Keras -> tfrnn


def _from_keras(keras_cell: keras.layers.Layer, forget_bias: float, where: str) -> RNNCell:
    convert = _FROM_KERAS.get(type(keras_cell))
    if convert is None:
        raise TypeError(_unknown_keras_message(keras_cell, where))
    if not keras_cell.built:
        raise ValueError(
            f"from_keras needs a built Keras cell, but {where} has no weights yet. "
            "Build it first: keras_cell.build((None, input_depth)), or call the "
            "keras.layers.RNN layer that holds it on inputs."
        )
    if type(keras_cell) is not keras.layers.StackedRNNCells:
        _require_tf1_semantics(keras_cell, where)
    return convert(keras_cell, forget_bias, where)


def _check_forget_bias(forget_bias: object) -> None:
    if isinstance(forget_bias, bool) or not isinstance(forget_bias, numbers.Real):
        raise TypeError(
            f"from_keras received forget_bias={forget_bias!r} (of type {type(forget_bias).__name__}); "
            "it expects a number: the forget_bias of the TF1 cells to build (TF1's default 1.0)."
        )
    if not math.isfinite(forget_bias):
        raise ValueError(
            f"from_keras received forget_bias={forget_bias!r}; it expects a finite number, the "
            "forget_bias of the TF1 cells to build (TF1's default 1.0): it is subtracted from "
            "the Keras forget bias, and a non-finite one would leave no finite forget bias."
        )


def _simple_rnn_from_keras(keras_cell: keras.layers.Layer, forget_bias: float, where: str) -> BasicRNNCell:
    kernel, bias = _keras_kernel_and_bias(keras_cell)
    cell = BasicRNNCell(keras_cell.units, activation=keras_cell.activation, dtype=keras_cell.dtype_policy)
    return _built_tfrnn(cell, keras_cell, [kernel, bias])


def _lstm_from_keras(keras_cell: keras.layers.Layer, forget_bias: float, where: str) -> LSTMCell:
    units = keras_cell.units
    kernel, bias = _keras_kernel_and_bias(keras_cell)
    bias[units:2 * units] -= forget_bias  # Keras' f block; TF1 adds forget_bias back
    cell = LSTMCell(
        keras_cell.units, forget_bias=forget_bias, activation=keras_cell.activation, dtype=keras_cell.dtype_policy
    )
    return _built_tfrnn(cell, keras_cell, [_reorder_lstm(kernel), _reorder_lstm(bias)])


def _gru_from_keras(keras_cell: keras.layers.Layer, forget_bias: float, where: str) -> GRUCell:
    if keras_cell.reset_after:
        raise ValueError(
            f"from_keras cannot convert {where}: reset_after=True (Keras 3's default) "
            "applies the reset gate after the recurrent matmul and has two bias "
            "rows, a different function from TF1's GRUCell, so no weights reproduce "
            "it. Keep the Keras cell, or train keras.layers.GRUCell(units, "
            "reset_after=False), which converts exactly."
        )
    units = keras_cell.units
    kernel, bias = _keras_kernel_and_bias(keras_cell)

    def tf1_blocks(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # z (= u), r, h  ->  gates (r, u), candidate
        z, r, h = array[..., :units], array[..., units:2 * units], array[..., 2 * units:]
        return np.concatenate([r, z], axis=-1), h

    (gates_kernel, candidate_kernel), (gates_bias, candidate_bias) = tf1_blocks(kernel), tf1_blocks(bias)
    cell = GRUCell(units, activation=keras_cell.activation, dtype=keras_cell.dtype_policy)
    return _built_tfrnn(cell, keras_cell, [gates_kernel, gates_bias, candidate_kernel, candidate_bias])


def _stacked_from_keras(keras_cell: keras.layers.Layer, forget_bias: float, where: str) -> MultiRNNCell:
    cells = [
        _from_keras(child, forget_bias, f"{where} cells[{position}] ({_describe(child)})")
        for position, child in enumerate(keras_cell.cells)
    ]
    stack = MultiRNNCell(cells, dtype=keras_cell.dtype_policy)
    stack.build((None, built_input_depth(cells[0])))
    return stack


def _require_tf1_semantics(keras_cell: keras.layers.Layer, where: str) -> None:
    recurrent = getattr(keras_cell, "recurrent_activation", None)
    if recurrent is not None and getattr(recurrent, "__name__", None) != "sigmoid":
        raise ValueError(
            f"from_keras cannot convert {where} with recurrent_activation="
            f"{getattr(recurrent, '__name__', recurrent)!r}: TF1's cells always use "
            "sigmoid gates. Only cells with recurrent_activation='sigmoid' (the "
            "Keras default) have a TF1 equivalent."
        )
    if keras_cell.dropout or keras_cell.recurrent_dropout:
        raise ValueError(
            f"from_keras cannot convert {where} with dropout={keras_cell.dropout} and "
            f"recurrent_dropout={keras_cell.recurrent_dropout}: TF1's cells have no "
            "dropout of their own. The weights are unaffected; to convert them, "
            "set keras_cell.dropout = keras_cell.recurrent_dropout = 0.0 first."
        )


def _keras_kernel_and_bias(keras_cell: keras.layers.Layer) -> tuple[np.ndarray, np.ndarray]:
    """TF1's fused `[D + H, n * H]` kernel (Keras' two stacked) and the bias (zeros if none)."""
    kernel = np.concatenate([np.array(keras_cell.kernel), np.array(keras_cell.recurrent_kernel)], axis=0)
    bias = np.zeros(kernel.shape[-1], kernel.dtype) if keras_cell.bias is None else np.array(keras_cell.bias)
    return kernel, bias


def _built_tfrnn(cell: _Cell, keras_cell: keras.layers.Layer, values: list[np.ndarray]) -> _Cell:
    """`cell` built for the Keras cell's input depth, its weights set to `values` (layout order)."""
    depth = keras_cell.kernel.shape[0]
    cell.build((None, depth))
    for weight, value in zip(_own_weights(cell, depth), values):
        weight.variable(cell).assign(value)
    return cell


def _unknown_keras_message(keras_cell: keras.layers.Layer, where: str) -> str:
    if isinstance(keras_cell, keras.layers.RNN):
        return (
            f"from_keras received the layer {where}; it converts cells. Pass the "
            f"layer's cell: from_keras(layer.cell)."
        )
    return (
        f"from_keras received {where}, of type {type(keras_cell).__name__}. It converts "
        "keras.layers.SimpleRNNCell, LSTMCell, GRUCell(reset_after=False) and "
        "StackedRNNCells of them; other Keras cells have no TF1 equivalent."
    )


def _describe(layer: object) -> str:
    name = getattr(layer, "name", None)
    return f"{name!r}" if name else repr(layer)


_FROM_KERAS: dict[type, Callable[[Any, float, str], RNNCell]] = {
    keras.layers.SimpleRNNCell: _simple_rnn_from_keras,
    keras.layers.LSTMCell: _lstm_from_keras,
    keras.layers.GRUCell: _gru_from_keras,
    keras.layers.StackedRNNCells: _stacked_from_keras,
}
