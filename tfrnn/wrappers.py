"""Cells made of cells: `MultiRNNCell` (and, later, TF1's wrappers)."""

import keras

from tfrnn.base import RNNCell, built_input_depth


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
        cells: the list of cells; each keeps its own weights.

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

    def __init__(self, cells, state_is_tuple=True, **kwargs):
        _check_cells(cells)
        if not state_is_tuple:
            raise ValueError(
                "MultiRNNCell(state_is_tuple=False) is not supported: the state is "
                "always a tuple with one entry per cell. Drop the argument; TF1 "
                "checkpoints load unchanged (the weights are the same)."
            )
        super().__init__(**kwargs)
        self.cells = list(cells)

    @property
    def state_size(self):
        return tuple(cell.state_size for cell in self.cells)

    @property
    def output_size(self):
        return self.cells[-1].output_size

    def build(self, input_shape):
        depth = self._set_input_depth(input_shape)
        for cell in self.cells:
            if not cell.built:
                cell.build((None, depth))
            depth = cell.output_size

    def call(self, inputs, state):
        self._build_for_step(inputs, state)
        new_states = []
        for cell, cell_state in zip(self.cells, state):
            inputs, new_state = cell(inputs, cell_state)
            new_states.append(new_state)
        return inputs, tuple(new_states)

    def get_config(self):
        config = super().get_config()
        config["cells"] = [keras.saving.serialize_keras_object(cell) for cell in self.cells]
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cells = [keras.saving.deserialize_keras_object(c, custom_objects) for c in config.pop("cells")]
        return cls(cells, **config)


def _check_cells(cells):
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


def _repeated_positions(cells):
    """Groups of positions holding one object, e.g. `[[0, 1, 2]]` for `[cell] * 3`."""
    groups = {}
    for position, cell in enumerate(cells):
        groups.setdefault(id(cell), []).append(position)
    return [positions for positions in groups.values() if len(positions) > 1]


def _check_stacked_depth(below, cell, position):
    depth = built_input_depth(cell)
    if depth is not None and depth != below.output_size:
        raise ValueError(
            f"MultiRNNCell cells[{position}] ({cell.name}) was already built for inputs "
            f"of depth {depth}, but cells[{position - 1}] outputs {below.output_size}. "
            "Use a new, unbuilt cell for that layer."
        )
