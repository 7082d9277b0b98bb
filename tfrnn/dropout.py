"""TF1's `DropoutWrapper`: dropout on a cell's inputs, outputs and new state,
with TF1's variational (one mask per sequence) option.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfrnn.base import Cell, DType, LSTMStateTuple, Nested, Tensor, no_autograph
from tfrnn.cells import keep_prob_arg, seed_arg, warn_if_training_unset
from tfrnn.wrappers import CellWrapper

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from Python 3.11 on

# `dropout_state_filter_visitor(part)`: a bool, or for a tuple a tuple of them (see `state_dropout_flags`).
StateFilter = Callable[[Nested], Any]

# Salts that make the input, state and output masks of one wrapper independent.
_SALTS = {"input": 1, "state": 2, "output": 3}


@keras.saving.register_keras_serializable(package="tfrnn")
class DropoutWrapper(CellWrapper):
    """Dropout on a cell's inputs, outputs and new state. TF1's `DropoutWrapper`.

    Dropout (Srivastava et al., 2014) with keep probabilities: each value is
    kept with probability `p` and then scaled by `1 / p`, so expectations do
    not change; `p = 1.0` means no dropout. Dropout only acts when training:
    `keras.layers.RNN` passes `training` (on in `fit`, off in `predict`), as do
    tfrnn's loops given `training=True`, and a direct call takes
    `training=True`; a `tfrnn.dynamic_rnn` inside a layer's `call` inherits it
    from that call. With `training` False or None the wrapper is the identity
    around its cell. (TF1 always dropped: it had no `training`.) Because a TF1
    training loop moved over without `training=True` would train without
    dropout, a wrapper that runs with `training` None warns once (a
    `UserWarning`): pass `training=True` for training, `training=False` for
    inference.

    Equations (one step; `d_p` drops with keep probability `p`):

        x' = d_input(x)                     # input_keep_prob
        y, s' = cell(x', s)
        s'' = d_state(s')                   # state_keep_prob, on the filtered parts
        output = d_output(y); state = s''   # output_keep_prob

    The default state filter drops every state part except the `c` of an
    `LSTMStateTuple` (the memory is never dropped, as in Gal & Ghahramani);
    `dropout_state_filter_visitor(substate)` replaces it and returns a bool,
    or for a tuple a tuple of bools, saying which parts to drop.

    Masks. With `variational_recurrent=False` every step draws new masks, per
    element. With `variational_recurrent=True` (Gal & Ghahramani, 2016) each
    component has one mask `[1, depth]`, shared by all batch rows as in TF1,
    the same at every step of a sequence and drawn anew for every sequence:
    a value is `v / p * floor(p + u)` with `u ~ U[0, 1)`. A cell only sees
    steps, so a sequence is what lies between two calls of
    `reset_dropout_mask()`, which tfrnn's loops make before their first step
    and `zero_state` / `get_initial_state` make too. The masks' randomness is
    a `keras.random.SeedGenerator` (a variable): each step derives its masks
    statelessly from the generator's value and `reset_dropout_mask` advances
    it, so no tensor is kept between steps and masks change between calls in
    `tf.function` and XLA too, as TF1's graph mode drew them per
    `session.run` (its eager mode drew them once, at construction).

    `keras.layers.RNN` also resets its cell after every call, as it does for
    its own cells with dropout, so an RNN layer given an explicit
    `initial_state` (which never asks the cell for a state) gets new masks
    per call too.

    Args:
        cell: the cell to wrap.
        input_keep_prob, output_keep_prob, state_keep_prob: floats in [0, 1]
            (`ValueError` otherwise); a tensor's value is read once, here.
        variational_recurrent: one mask per sequence (see above).
        input_size: accepted for TF1 compatibility and unused: tfrnn reads
            the depths from the inputs (TF1 required it for variational input
            dropout).
        dtype: the Keras dtype of the wrapper (TF1 required it for variational
            dropout; here the masks take each value's dtype).
        seed: optional int, for reproducible masks.
        dropout_state_filter_visitor: optional callable, see above.
        **kwargs: other `RNNCell` arguments.

    Call arguments:
        inputs: `[B, D]`.
        state: the wrapped cell's state.
        training: Python bool; dropout only when True.

    Serialization: a custom `dropout_state_filter_visitor` goes into
    `get_config` through `keras.saving.serialize_keras_object`: a lambda or
    local function loads only with `safe_mode=False`; a named function loads
    in safe mode once registered with
    `@keras.saving.register_keras_serializable(package="my_model")`.

    Checkpoints: an object-based checkpoint (`tf.train.Checkpoint`) holds one
    dependency, `cell`, as TF1's did (the masks' seed is not saved: restored
    training draws new masks). A SavedModel also holds `seed_state`, the
    seed's variable, so that its exported functions draw masks.

    Attributes:
        cell: the wrapped cell (also `wrapped_cell`, TF1's name); the
            wrapper's `.weights` are its weights.
        seed_generator: the `keras.random.SeedGenerator` of the masks (its
            state is a non-trainable variable, not in `.weights`); None when
            every keep probability is 1.
        seed_state: a `tf.Module` holding that variable, so `tf.saved_model`
            exports it (absent when `seed_generator` is None).

    Example:

    >>> import numpy as np
    >>> import tfrnn
    >>> cell = tfrnn.DropoutWrapper(tfrnn.BasicLSTMCell(4), output_keep_prob=0.5, seed=1)
    >>> x, state = np.ones((2, 3), "float32"), cell.zero_state(2, "float32")
    >>> kept, _ = cell(x, state, training=False)   # inference: no dropout
    >>> dropped, _ = cell(x, state, training=True)
    >>> ratios = np.round(np.asarray(dropped) / np.asarray(kept), 4)
    >>> bool(np.all((ratios == 0.0) | (ratios == 2.0)))  # dropped, or kept and scaled by 1/0.5
    True
    """

    def __init__(
        self, cell: Cell, input_keep_prob: float | Tensor = 1.0, output_keep_prob: float | Tensor = 1.0,
        state_keep_prob: float | Tensor = 1.0, variational_recurrent: bool = False, input_size: object = None,
        dtype: DType | None = None, seed: int | None = None, dropout_state_filter_visitor: StateFilter | None = None,
        **kwargs: Any,
    ) -> None:
        if dropout_state_filter_visitor is not None and not callable(dropout_state_filter_visitor):
            raise TypeError(
                "dropout_state_filter_visitor must be callable. Received: "
                f"{dropout_state_filter_visitor!r}. Pass a function of one state part "
                "that returns a bool (or a tuple of bools for a tuple)."
            )
        keep = [keep_prob_arg(type(self).__name__, arg, value) for arg, value in (
            ("input_keep_prob", input_keep_prob), ("output_keep_prob", output_keep_prob),
            ("state_keep_prob", state_keep_prob),
        )]
        seed = seed_arg(type(self).__name__, "seed", seed)
        super().__init__(cell, dtype=dtype, **kwargs)
        self.input_keep_prob, self.output_keep_prob, self.state_keep_prob = keep
        self.variational_recurrent = bool(variational_recurrent)
        self.input_size = input_size
        self.seed = seed
        self.dropout_state_filter_visitor = dropout_state_filter_visitor or default_dropout_state_filter_visitor
        self.seed_generator = keras.random.SeedGenerator(self.seed) if min(keep) < 1.0 else None
        if self.seed_generator is not None:
            # `zero_state` advances the generator, so exported functions use its
            # variable; tf.saved_model finds variables through TF's object graph,
            # which does not look inside a SeedGenerator (Keras' own tracking,
            # used by `.keras` files and `.weights`, is unaffected by a tf.Module).
            self.seed_state = tf.Module()
            self.seed_state.variable = self.seed_generator.state

    def _trackable_children(self, save_type: str = "checkpoint", **kwargs: Any) -> dict[str, Any]:
        # TF's object graph (tf.train.Checkpoint, SavedModel) asks this. A checkpoint
        # records TF1's one dependency, the cell; only a SavedModel needs the seed.
        children = super()._trackable_children(save_type, **kwargs)
        if save_type == "checkpoint":
            children.pop("seed_state", None)
        return dict(children)

    def step(self, inputs: Tensor, state: Nested, training: bool | None = None) -> tuple[Tensor, Nested]:
        if self.seed_generator is None:
            return self.cell(inputs, state)
        warn_if_training_unset(self, training)
        if not training:
            return self.cell(inputs, state)
        seed = self._sequence_seed() if self.variational_recurrent else None
        inputs = self._dropout(inputs, self.input_keep_prob, "input", seed)
        output, new_state = self.cell(inputs, state)
        if self.state_keep_prob < 1.0:
            new_state = keras.tree.pack_sequence_as(self.cell.state_size, keras.tree.flatten(new_state))
            flags = state_dropout_flags(self.dropout_state_filter_visitor, new_state)
            new_state = self._dropout(new_state, self.state_keep_prob, "state", seed, flags)
        return self._dropout(output, self.output_keep_prob, "output", seed), new_state

    def _dropout(
        self, values: Nested, keep_prob: float, kind: str, seed: Tensor | None, flags: list[bool] | None = None,
    ) -> Nested:
        """Drop the leaves of `values` (those whose flag is True) with keep probability `keep_prob`."""
        if keep_prob >= 1.0:
            return values
        leaves = keras.tree.flatten(values)
        flags = flags or [True] * len(leaves)
        dropped = [
            self._drop(leaf, keep_prob, kind, index, seed) if flag else leaf
            for index, (leaf, flag) in enumerate(zip(leaves, flags))
        ]
        return keras.tree.pack_sequence_as(values, dropped)

    def _drop(self, value: Tensor, keep_prob: float, kind: str, index: int, seed: Tensor | None) -> Tensor:
        if seed is None:  # a new mask for this step
            return keras.random.dropout(value, rate=1.0 - keep_prob, seed=self.seed_generator)
        component_seed = tf.random.experimental.stateless_fold_in(
            tf.random.experimental.stateless_fold_in(seed, _SALTS[kind]), index
        )
        return variational_dropout(value, keep_prob, component_seed)

    @no_autograph
    def reset_dropout_mask(self) -> None:
        """Starts a new sequence: the next steps share new variational masks.

        tfrnn's loops call it before their first step, `zero_state` /
        `get_initial_state` call it, and `keras.layers.RNN` calls it after
        each call. Without variational masks it only passes the call on to
        the wrapped cell.

        >>> import numpy as np
        >>> import tensorflow as tf
        >>> import tfrnn
        >>> cell = tfrnn.DropoutWrapper(tfrnn.GRUCell(64), output_keep_prob=0.5, variational_recurrent=True, seed=2)
        >>> x, state = tf.ones([1, 3]), tf.zeros([1, 64])
        >>> def mask():
        ...     return np.asarray(cell(x, state, training=True)[0]) != 0
        >>> bool(np.all(mask() == mask()))           # one sequence: one mask
        True
        >>> first = mask()
        >>> cell.reset_dropout_mask()                 # a new sequence: a new mask
        >>> bool(np.all(mask() == first))
        False
        >>> outputs, _ = tfrnn.dynamic_rnn(cell, tf.ones([1, 5, 3]), dtype=tf.float32, training=True)
        >>> kept = np.asarray(outputs) != 0             # the loop resets before its first step
        >>> bool(np.all(kept == kept[:, :1]))         # and keeps its mask for every step
        True
        """
        if self.variational_recurrent and self.seed_generator is not None:
            self.seed_generator.next()
        super().reset_dropout_mask()

    def _sequence_seed(self) -> Tensor:
        """The seed of this sequence's variational masks: the generator's current state.

        Read, not advanced: every step of a sequence reads the same value, and
        `reset_dropout_mask` advances it between sequences. Nothing is cached
        on the layer, so steps traced inside any loop (`tf.function`, XLA)
        see the value of their own run.
        """
        assert self.seed_generator is not None  # `step` asks only when masks are drawn
        # int32 seeds, as XLA's stateless random ops need (as Keras does).
        return tf.cast(tf.math.floormod(self.seed_generator.state.value, tf.int32.max - 1), tf.int32)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        visitor = self.dropout_state_filter_visitor
        custom = visitor is not default_dropout_state_filter_visitor
        config.update(
            input_keep_prob=self.input_keep_prob, output_keep_prob=self.output_keep_prob,
            state_keep_prob=self.state_keep_prob, variational_recurrent=self.variational_recurrent, seed=self.seed,
            dropout_state_filter_visitor=keras.saving.serialize_keras_object(visitor) if custom else None,
        )
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Self:
        config = dict(config)
        visitor = config.pop("dropout_state_filter_visitor", None)
        if visitor is not None:
            config["dropout_state_filter_visitor"] = keras.saving.deserialize_keras_object(visitor, custom_objects)
        return super().from_config(config, custom_objects)


def variational_dropout(value: Tensor, keep_prob: float, seed: Tensor) -> Tensor:
    """TF1's variational dropout of `value` `[B, depth]`: `value / p * floor(p + u)`.

    `u ~ U[0, 1)` has shape `[1, depth]` (one mask for all batch rows, as in
    TF1) and is a pure function of `seed`, so equal seeds give equal masks.
    """
    if keep_prob == 0.0:
        return ops.zeros_like(value)
    noise = tf.random.stateless_uniform([1, value.shape[-1]], seed=seed, dtype=value.dtype)
    return value / keep_prob * ops.floor(keep_prob + noise)


def default_dropout_state_filter_visitor(substate: Nested) -> bool | LSTMStateTuple:
    """TF1's default state filter: drop all but an `LSTMStateTuple`'s `c`; never a TensorArray."""
    if isinstance(substate, LSTMStateTuple):
        return LSTMStateTuple(c=False, h=True)
    if isinstance(substate, tf.TensorArray):
        return False
    return True


def state_dropout_flags(visitor: StateFilter, state: Nested) -> list[bool]:
    """One bool per leaf of `state`: whether state dropout applies (TF1's traversal rules).

    `visitor(part)` returns a bool for a whole part (True on a tuple means: ask
    again for each of its parts), or for a tuple a tuple of bools, one per part.
    """
    decision = visitor(state)
    if not isinstance(state, (list, tuple)):
        return [_filter_bool(decision, state)]
    decisions = [decision] * len(state) if isinstance(decision, (bool, np.bool_)) else list(decision)
    if len(decisions) != len(state):
        raise TypeError(
            f"dropout_state_filter_visitor returned {decision!r} for a state with "
            f"{len(state)} parts; return one bool, or one bool per part."
        )
    flags: list[bool] = []
    for part, traverse in zip(state, decisions):
        traversed = _filter_bool(traverse, part)
        flags += state_dropout_flags(visitor, part) if traversed else [False] * len(keras.tree.flatten(part))
    return flags


def _filter_bool(decision: object, part: Nested) -> bool:
    if not isinstance(decision, (bool, np.bool_)):
        raise TypeError(
            f"dropout_state_filter_visitor must return a bool for a state tensor "
            f"(or a tuple of bools for a tuple), but returned {decision!r} for {part!r}."
        )
    return bool(decision)

