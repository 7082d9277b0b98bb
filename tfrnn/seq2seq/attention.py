"""TF1's attention mechanisms on Keras 3: `BahdanauAttention`, `LuongAttention`,
their extension point `_BaseAttentionMechanism`, and the probability function
`hardmax`.

Design decisions:

* A mechanism is a `keras.layers.Layer` (Keras tracks its variables, it
  serialises in `.keras`), but its call contract is TF1's:
  `mechanism(query, state=previous_state) -> (alignments, next_state)`. The
  attention wrapper calls it exactly so, which is why a TF1 subclass that
  overrides `__call__(self, query, state)` and reads `self.keys`,
  `self.values`, `self.query_layer`, `self.memory_layer` and
  `self._probability_fn` keeps working.
* Memory. TF1's signature takes `memory` in the constructor, and TF1 code
  builds as written. It may also be given later, and again for every batch,
  through `setup_memory(memory, memory_sequence_length=None)` (TF Addons'
  name): one mechanism serves many batches of any batch size and memory
  length. The memory is never in `get_config`. The keys and values are
  prepared from it once per context (`tfrnn.seq2seq.attention_memory`), and
  again by `initial_alignments` (the start of every decode: the wrapper's
  `zero_state` calls it), so that a loop run under a `GradientTape` reads
  keys the tape saw being made and gradients reach the memory and
  `memory_layer`. Memory set up inside a `tf.function` lives only there:
  call `setup_memory` inside it, with the memory as one of its arguments.
* Masking selects (`tf.where`), never multiplies. TF1 multiplied
  `memory * sequence_mask`, so a NaN or infinity in the padding (the log-mel
  frames of padded audio) made the keys and the context NaN. Here padded
  memory is replaced by zeros and padded scores by `score_mask_value`: the
  results equal TF1's wherever TF1's are finite, and are finite where TF1's
  were NaN.
* Variables and TF1 names. `memory_layer/kernel` is created when the memory
  is first set up and TF1 named it in the scope where the mechanism was
  built: `tf1_variable_names(mechanism, scope=...)` names it there (numbered
  `memory_layer`, `memory_layer_1`, ... for several mechanisms in one list),
  through `tf1_parts()`. The scoring variables (`query_layer/kernel`,
  `attention_v`, `attention_g`, `attention_b`, `attention_score_bias`) are
  created at the first call and TF1 named them inside the attention wrapper:
  `<wrapper scope>/bahdanau_attention/...`. The wrapper names them through
  `tf1_query_parts(name)` (see `query_children` for TF1's numbering), which
  is `tf1_layout(query_depth)` under the mechanism's TF1 scope name.
* Mixed precision. Scores are computed in the layer's compute dtype, except
  that under float16 or bfloat16 the dot products of Luong's score, the
  masking and `probability_fn` run in float32 (a float16 score overflows
  near 65504, and a finite large negative `score_mask_value` would round to
  `-inf`); the alignments come back in the compute dtype. Under float32 every
  number is TF1's, whose default `score_mask_value` is `-inf`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfrnn.base import Child, Sublayer, Weight, build_layout
from tfrnn.checks import check_batch_size, check_floating, config_value, from_config_value, state_dtype
from tfrnn.loop_kit import show
from tfrnn.seq2seq.attention_memory import Prepared, build_memory_layer, checked_lengths, checked_memory, prepare

__all__ = ["AttentionMechanism", "BahdanauAttention", "LuongAttention", "hardmax", "query_children"]

_HALF = ("float16", "bfloat16")


class AttentionMechanism:
    """TF1's marker base of every attention mechanism (`isinstance` checks use it).

    Example:

    >>> from tfrnn import seq2seq
    >>> isinstance(seq2seq.LuongAttention(4), seq2seq.AttentionMechanism)
    True
    """

    @property
    def alignments_size(self) -> Any:
        raise NotImplementedError

    @property
    def state_size(self) -> Any:
        raise NotImplementedError


class _BaseAttentionMechanism(AttentionMechanism, keras.layers.Layer):
    """TF1's extension point for attention mechanisms, as a Keras layer.

    Holds the query and memory layers, prepares the memory (`keys`, `values`),
    and masks scores before the probability function. Subclasses define the
    score in `call(query, state)` (or, as TF1 subclasses did, override
    `__call__(self, query, state)`) and return `(alignments, next_state)`.

    TF1 subclasses read: `self.keys` `[batch, max_time, num_units]`,
    `self.values` `[batch, max_time, memory_depth]`, `self.query_layer`,
    `self.memory_layer`, `self.batch_size`, `self.alignments_size`,
    `self.state_size`, `self._probability_fn(score, previous_state)` (masks the
    padded positions with `score_mask_value`, then applies `probability_fn`),
    `initial_alignments(batch_size, dtype)` and `initial_state(batch_size,
    dtype)`. See the module docstring for how memory is held.

    Args:
        query_layer: a Keras layer applied to the query, or None.
        memory: `[batch, max_time, depth]` memory, or None to give it later
            with `setup_memory`.
        probability_fn: `probability_fn(score, previous_state) -> alignments`
            (the base takes TF1's two-argument form).
        memory_sequence_length: `[batch]` int lengths of the memory rows (each
            at least 1), or None for no padding.
        memory_layer: a Keras layer giving the keys from the values, or None
            (the keys are then the values).
        check_inner_dims_defined: whether the memory's depth must be static.
        score_mask_value: the score of padded positions, default `-inf`.
        custom_key_value_fn: `fn(keys, values) -> (keys, values)` applied
            after the memory layer.
        name: the layer's name (in TF1 only a name scope of ops, no variable).
        **kwargs: Keras layer arguments (`dtype`, `trainable`).
    """

    # TF1's variable scope of the scoring variables inside the attention wrapper.
    tf1_scope_name = "attention"

    def __init__(
        self,
        query_layer: Any,
        memory: Any,
        probability_fn: Callable[[Any, Any], Any],
        memory_sequence_length: Any = None,
        memory_layer: Any = None,
        check_inner_dims_defined: bool = True,
        score_mask_value: float | None = None,
        custom_key_value_fn: Callable[[Any, Any], tuple[Any, Any]] | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        for what, layer in (("query_layer", query_layer), ("memory_layer", memory_layer)):
            if layer is not None and not isinstance(layer, keras.layers.Layer):
                raise TypeError(f"{what} is not a Layer: {type(layer).__name__}. Pass a keras.layers.Layer "
                                "(e.g. keras.layers.Dense(num_units, use_bias=False)) or None.")
        if not callable(probability_fn):
            raise TypeError(f"probability_fn must be callable, saw type: {type(probability_fn).__name__}. "
                            "Pass a function of (score, previous_state), e.g. lambda score, _: tf.nn.softmax(score).")
        if score_mask_value is not None and (isinstance(score_mask_value, bool) or not isinstance(
                score_mask_value, (int, float, np.integer, np.floating))):
            raise TypeError(f"score_mask_value must be a number (the score of padded memory steps) or None for "
                            f"-inf, but received {show(score_mask_value)}.")
        if kwargs.get("dtype") is None and memory_layer is not None and memory_layer.dtype_policy.name != "float32":
            kwargs["dtype"] = memory_layer.dtype_policy  # TF1: the mechanism's dtype is its memory layer's
        super().__init__(name=name, **kwargs)
        self._query_layer = query_layer
        self._memory_layer = memory_layer
        self._probability = probability_fn
        self._check_inner_dims_defined = check_inner_dims_defined
        self._score_mask_value = score_mask_value
        self._custom_key_value_fn = custom_key_value_fn
        object.__setattr__(self, "_memory_held", None)  # (memory, lengths): never tracked, never saved
        object.__setattr__(self, "_prepared_now", None)
        if memory is not None:
            self.setup_memory(memory, memory_sequence_length)
        elif memory_sequence_length is not None:
            raise ValueError("memory_sequence_length was given without memory. Pass both, or neither here and "
                             "both later to setup_memory(memory, memory_sequence_length).")

    # --- memory ---------------------------------------------------------------------------

    def setup_memory(self, memory: Any, memory_sequence_length: Any = None) -> None:
        """Sets (or replaces) the memory the mechanism attends over.

        May be called for every batch, with any batch size and memory length
        (the memory depth is fixed once the memory layer is built). Inside a
        `tf.function`, call it inside the function with the memory as an
        argument; give the function `reduce_retracing=True` or an
        `input_signature` with `None` batch and time dimensions so that new
        sizes do not retrace it.

        Args:
            memory: `[batch, max_time, depth]` float tensor, usually an encoder's outputs.
            memory_sequence_length: `[batch]` int32/int64 lengths, each in
                `[1, max_time]` (TF1 asserted they are positive), or None.

        Raises:
            TypeError: memory is not a float tensor; lengths are not integers.
            ValueError: wrong ranks, an unknown memory depth, a depth other
                than the memory layer's, a batch mismatch or a length below 1.
                Nothing changes when it raises.
        """
        memory = checked_memory(memory, self._check_inner_dims_defined, self._memory_layer)
        lengths = checked_lengths(memory_sequence_length, memory)
        if self._memory_layer is not None and memory.shape[2] is not None:
            build_memory_layer(self._memory_layer, int(memory.shape[2]))
        object.__setattr__(self, "_memory_held", (memory, lengths))
        object.__setattr__(self, "_prepared_now", None)
        self._prepare()

    @property
    def memory(self) -> Any:
        """The memory as last given (None before any)."""
        return None if self._memory_held is None else self._memory_held[0]

    @property
    def memory_sequence_length(self) -> Any:
        """The memory's lengths as last given (int32), or None."""
        return None if self._memory_held is None else self._memory_held[1]

    def _prepare(self) -> Prepared:
        """Prepares keys, values and the score mask from the memory in the current context."""
        if self._memory_held is None:
            raise ValueError(f"{type(self).__name__} has no memory yet. Pass memory= to its constructor (TF1's "
                             "way) or call mechanism.setup_memory(memory, memory_sequence_length) first.")
        memory, lengths = self._memory_held
        prepared = prepare(memory, lengths, self.compute_dtype, self._memory_layer, self._custom_key_value_fn)
        object.__setattr__(self, "_prepared_now", prepared)
        return prepared

    def _prepared(self) -> Prepared:
        """The prepared memory, made again if it belongs to a context that cannot be read here."""
        prepared = self._prepared_now
        if prepared is None or not prepared.readable(self._memory_layer):
            prepared = self._prepare()
        return prepared

    @property
    def memory_layer(self) -> Any:
        return self._memory_layer

    @property
    def query_layer(self) -> Any:
        return self._query_layer

    @property
    def keys(self) -> Any:
        """`memory_layer(values)`: `[batch, max_time, num_units]`."""
        return self._prepared().keys

    @property
    def values(self) -> Any:
        """The memory with padded steps replaced by zeros: `[batch, max_time, depth]`."""
        return self._prepared().values

    @property
    def _keys(self) -> Any:  # TF1 subclasses read the private names too
        return self.keys

    @property
    def _values(self) -> Any:
        return self.values

    @property
    def batch_size(self) -> Any:
        """The memory's batch size: an int when static, else a scalar tensor."""
        return _dimension(self.keys, 0)

    @property
    def alignments_size(self) -> Any:
        """The memory's `max_time`: an int when static, else a scalar tensor."""
        return _dimension(self.keys, 1)

    @property
    def state_size(self) -> Any:
        return self.alignments_size

    def initial_alignments(self, batch_size: Any, dtype: Any) -> Any:
        """Zeros `[batch_size, alignments_size]`: the alignments before the first step.

        A decode starts here (the wrapper's `zero_state`), so the memory is
        prepared again in the current context (see the module docstring).
        """
        batch_size, dtype = self._initial_arguments(batch_size, dtype)
        self._prepare()
        return ops.zeros(ops.stack([batch_size, self.alignments_size]) if _symbolic(batch_size, self.alignments_size)
                         else (batch_size, self.alignments_size), dtype=_dtype_name(dtype))

    def _initial_arguments(self, batch_size: Any, dtype: Any) -> tuple[Any, str]:
        where = f"{self.name}.initial_alignments"
        return check_batch_size(batch_size, where), state_dtype(dtype, where)

    def initial_state(self, batch_size: Any, dtype: Any) -> Any:
        """The mechanism's state before the first step: by default `initial_alignments`."""
        return self.initial_alignments(batch_size, dtype)

    # --- scores ------------------------------------------------------------------------------

    def __call__(self, query: Any, state: Any = None, **kwargs: Any) -> Any:
        return super().__call__(self._checked_query(query), state=state, **kwargs)

    def _checked_query(self, query: Any) -> Any:
        """The query as a float `[batch, depth]` tensor whose batch is the memory's (when both are static)."""
        if not (hasattr(query, "shape") and hasattr(query, "dtype")):
            try:
                query = tf.convert_to_tensor(query)
            except (TypeError, ValueError):
                raise TypeError(f"{self.name}: the query must be a [batch, query_depth] float tensor, but received "
                                f"{show(query)} ({type(query).__name__}).") from None
        dtype = keras.backend.standardize_dtype(query.dtype)
        if "float" not in dtype:
            raise TypeError(f"{self.name}: the query must be a [batch, query_depth] float tensor (a cell's output), "
                            f"but received a {dtype} tensor of shape {tuple(query.shape)}.")
        if len(query.shape) != 2:
            raise ValueError(f"{self.name}: the query must be [batch, query_depth] (one decoder step), but received "
                             f"shape {tuple(query.shape)}.")
        memory = self.memory
        expected = None if memory is None else memory.shape[0]
        if query.shape[0] is not None and expected is not None and query.shape[0] != expected:
            raise ValueError(
                f"{self.name}: Non-matching batch sizes between the memory (encoder output, batch size {expected}) "
                f"and the query (batch size {query.shape[0]}). Under beam search, tile the memory and its lengths "
                "with tfrnn.seq2seq.tile_batch."
            )
        return query

    def _probability_fn(self, score: Any, state: Any) -> Any:
        """Masks padded positions with `score_mask_value`, then applies `probability_fn`.

        Under float16/bfloat16 this runs in float32 and returns the score's dtype.
        """
        dtype = score.dtype
        work = tf.float32 if tf.as_dtype(dtype).name in _HALF else dtype
        score = ops.cast(score, work)
        state = tf.nest.map_structure(lambda s: _cast_float(s, work), state)
        mask = self._prepared().mask
        if mask is not None:
            value = -np.inf if self._score_mask_value is None else self._score_mask_value
            score = ops.where(mask, score, ops.cast(value, work))
        return ops.cast(self._probability(score, state), dtype)

    def _alignments(self, score: Any, state: Any) -> Any:
        """`_probability_fn`, in the layer's compute dtype (a half-precision Luong score is float32)."""
        return ops.cast(self._probability_fn(score, state), self.compute_dtype)

    def _query_of(self, query: Any) -> Any:
        """The query in the compute dtype; the query layer applied when there is one."""
        return self._query_layer(query) if self._query_layer is not None else query

    # --- Keras --------------------------------------------------------------------------------

    def build(self, query_shape: Any) -> None:
        """Creates the scoring variables (`tf1_layout`) for queries of depth `query_shape[-1]`."""
        depth = query_shape[-1]
        if depth is None:
            raise ValueError(f"{type(self).__name__} needs a query of static depth, but saw shape {tuple(query_shape)}.")
        self._check_query_depth(int(depth))
        build_layout(self, self.tf1_layout(int(depth)))
        self._built_input_depth = int(depth)
        self.built = True

    def _check_query_depth(self, depth: int) -> None:
        """Subclasses refuse a query they cannot score (Luong: depth must be num_units)."""

    def call(self, query: Any, state: Any = None) -> tuple[Any, Any]:
        raise NotImplementedError(f"{type(self).__name__} must define call(query, state) or __call__(query, state).")

    def get_build_config(self) -> dict[str, Any]:
        memory_layer = self._memory_layer
        memory_depth = getattr(memory_layer, "_tfrnn_input_depth", None) if memory_layer is not None else None
        return {"query_depth": getattr(self, "_built_input_depth", None), "memory_depth": memory_depth}

    def build_from_config(self, config: dict[str, Any]) -> None:
        if config.get("memory_depth") is not None and self._memory_layer is not None:
            build_memory_layer(self._memory_layer, config["memory_depth"])
        if config.get("query_depth") is not None and not self.built:
            self.build((None, config["query_depth"]))

    # --- TF1 names ------------------------------------------------------------------------------

    def tf1_layout(self, input_depth: int) -> Sequence[Weight | Child | Sublayer]:
        """The scoring variables for queries of `input_depth`, in TF1's order, below
        `<wrapper scope>/<tf1_scope_name>` (a query layer first, when there is one).

        A subclass that overrides `__call__(query, state)` (TF1's extension point, e.g.
        Tacotron's location-sensitive attention) scores with its own code, so it gets only
        the query layer, as in TF1, where variables existed once code used them: its base
        class's `attention_v`, `attention_g`, ... are not made. Set `tf1_scope_name` to the
        variable scope its `__call__` opened in TF1 to name the query layer as TF1 did; a
        subclass whose `__call__` still runs the base scoring returns
        `[*super().tf1_layout(depth), *self._scoring_weights()]`.
        """
        layout = [Sublayer(self._query_layer, input_depth)] if self._query_layer is not None else []
        return layout if self._scores_itself() else [*layout, *self._scoring_weights()]

    def _scores_itself(self) -> bool:
        """Whether a subclass overrides `__call__`: then its own code scores."""
        return type(self).__call__ is not _BaseAttentionMechanism.__call__

    def _scoring_weights(self) -> Sequence[Weight | Child | Sublayer]:
        """The variables the class's own score uses, besides the query layer."""
        return []

    def tf1_parts(self) -> list[Any]:
        """What the mechanism names at the scope it was built in: its memory layer
        (`memory_layer/kernel`), numbered TF1's way in a list of mechanisms."""
        return [self._memory_layer] if self._memory_layer is not None else []

    def tf1_query_parts(self, name: str | None = None, scope: str = "") -> Child:
        """The scoring variables as the attention wrapper names them: a `Child` for the
        wrapper's `tf1_layout`, at `scope` (the wrapper's own TF1 name, relative to the
        scope holding it, e.g. `"attention_wrapper"`) under `name` (TF1's numbered scope,
        default `tf1_scope_name`): `<scope>/<name>/query_layer/kernel`, `.../attention_v`.

        The mechanism must have scored a query once (its query depth is then known).
        """
        depth = getattr(self, "_built_input_depth", None)
        if depth is None:
            raise ValueError(f"{self.name} has not scored a query yet, so its query depth (and the shapes of its "
                             "scoring variables) is unknown. Run the attention wrapper once first.")
        return Child(scope, self, depth, name or self.tf1_scope_name)


def query_children(mechanisms: Sequence[Any], scope: str = "") -> list[Child]:
    """The scoring variables of an attention wrapper's mechanisms (`tf1_query_parts`), their
    scopes numbered as TF1 numbered them within the wrapper: `bahdanau_attention`,
    `bahdanau_attention_1`, ... (`luong_attention` counts even when it holds no variable)."""
    counts: dict[str, int] = {}
    children = []
    for mechanism in mechanisms:
        base = mechanism.tf1_scope_name
        name = base if base not in counts else f"{base}_{counts[base]}"
        children.append(mechanism.tf1_query_parts(name, scope))
        counts[base] = counts.get(base, 0) + 1
    return children


class _KnownNameMechanism(_BaseAttentionMechanism):
    """The common constructor and config of tfrnn's own mechanisms (not TF1 API)."""

    tf1_default_name = ""

    def __init__(self, num_units: int, memory: Any, memory_sequence_length: Any, probability_fn: Any,
                 score_mask_value: Any, dtype: Any, custom_key_value_fn: Any, name: str | None,
                 query_layer: bool, **kwargs: Any) -> None:
        num_units = _checked_units(num_units, type(self).__name__)
        check_floating(dtype, f"{type(self).__name__}(dtype=...)", "Pass a float dtype such as 'float32'.")
        self._num_units = num_units
        self._probability_name = probability_fn
        dense = lambda layer_name: keras.layers.Dense(num_units, use_bias=False, name=layer_name, dtype=dtype)  # noqa: E731
        super().__init__(
            query_layer=dense("query_layer") if query_layer else None,
            memory=memory,
            probability_fn=self._two_argument(probability_fn),
            memory_sequence_length=memory_sequence_length,
            memory_layer=dense("memory_layer"),
            score_mask_value=score_mask_value,
            custom_key_value_fn=custom_key_value_fn,
            # TF1's default name named only a name scope; Keras names must be unique in a model.
            name=None if name == self.tf1_default_name else name,
            dtype=dtype,
            **kwargs,
        )

    @staticmethod
    def _two_argument(probability_fn: Any) -> Callable[[Any, Any], Any]:
        function = _probability_function(probability_fn)
        return lambda score, _: function(score)

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments except memory: `probability_fn` as `"softmax"`/`"hardmax"`
        when it is one of those (or None), else serialised by Keras (a lambda loads only
        with `safe_mode=False`); `custom_key_value_fn` likewise."""
        config = super().get_config()
        config.update(num_units=self._num_units, score_mask_value=self._score_mask_value,
                      probability_fn=_probability_config(self, self._probability_name))
        if self._custom_key_value_fn is not None:
            config["custom_key_value_fn"] = config_value(self, "custom_key_value_fn", self._custom_key_value_fn)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Any:
        config = {key: from_config_value(value, custom_objects) for key, value in config.items()}
        return cls(**config)


@keras.saving.register_keras_serializable(package="tfrnn")
class BahdanauAttention(_KnownNameMechanism):
    """Bahdanau-style (additive) attention (Bahdanau et al., 2015), TF1's
    `tf.contrib.seq2seq.BahdanauAttention`.

    With `keys = memory_layer(values)` and `q = query_layer(query)`:

        score[b, t] = sum_u v[u] * tanh(keys[b, t, u] + q[b, u])

    and the normalised form (`normalize=True`, after Salimans & Kingma's
    weight normalisation):

        score[b, t] = sum_u g * v[u] / ||v|| * tanh(keys[b, t, u] + q[b, u] + b[u])

    Padded positions get `score_mask_value` (default `-inf`); then
    `alignments = probability_fn(score)` (default softmax over `t`). The next
    state is the alignments.

    Args:
        num_units: the depth of the query and memory layers.
        memory: `[batch, max_time, depth]` memory, or None (then `setup_memory`).
        memory_sequence_length: `[batch]` int lengths, each at least 1, or None.
        normalize: whether to use the normalised form.
        probability_fn: `fn(score) -> probabilities`, default softmax; also
            `tfrnn.seq2seq.hardmax`, or `"softmax"` / `"hardmax"`.
        score_mask_value: the score of padded positions (default `-inf`).
        dtype: the Keras dtype (policy) of the layers, default float32 (the
            global policy).
        custom_key_value_fn: `fn(keys, values) -> (keys, values)`.
        name: the layer's name (TF1 named only a name scope with it).

    Call arguments:
        query: `[batch, query_depth]`.
        state: the previous alignments `[batch, max_time]` (unused).

    Attributes (TF1 names; see the module docstring for where they sit):
        `memory_layer/kernel [depth, num_units]`, `query_layer/kernel
        [query_depth, num_units]`, `attention_v [num_units]` (glorot uniform),
        and with `normalize`: `attention_g []` (sqrt(1 / num_units)),
        `attention_b [num_units]` (zeros).

    Example:

    >>> import numpy as np
    >>> from tfrnn import seq2seq
    >>> memory = np.ones((2, 3, 4), "float32")
    >>> mechanism = seq2seq.BahdanauAttention(5, memory, memory_sequence_length=[3, 1])
    >>> alignments, state = mechanism(np.ones((2, 6), "float32"), state=mechanism.initial_alignments(2, "float32"))
    >>> np.asarray(alignments, "float64").round(4).tolist()
    [[0.3333, 0.3333, 0.3333], [1.0, 0.0, 0.0]]
    """

    tf1_scope_name = "bahdanau_attention"
    tf1_default_name = "BahdanauAttention"

    def __init__(self, num_units: int, memory: Any = None, memory_sequence_length: Any = None,
                 normalize: bool = False, probability_fn: Any = None, score_mask_value: float | None = None,
                 dtype: Any = None, custom_key_value_fn: Any = None, name: str = "BahdanauAttention",
                 **kwargs: Any) -> None:
        self._normalize = bool(normalize)
        super().__init__(num_units, memory, memory_sequence_length, probability_fn, score_mask_value, dtype,
                         custom_key_value_fn, name, query_layer=True, **kwargs)

    def _scoring_weights(self) -> Sequence[Weight | Child | Sublayer]:
        return bahdanau_weights(self._num_units, self._normalize)

    def call(self, query: Any, state: Any = None) -> tuple[Any, Any]:
        score = bahdanau_score(self._query_of(query), self.keys, self.attention_v,
                               *((self.attention_g, self.attention_b) if self._normalize else ()))
        alignments = self._alignments(score, state)
        return alignments, alignments

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "normalize": self._normalize}


@keras.saving.register_keras_serializable(package="tfrnn")
class LuongAttention(_KnownNameMechanism):
    """Luong-style (multiplicative) attention (Luong et al., 2015), TF1's
    `tf.contrib.seq2seq.LuongAttention`.

    With `keys = memory_layer(values)` (no query layer: `num_units` must equal
    the query depth):

        score[b, t] = sum_u query[b, u] * keys[b, t, u]        (times g if scale)

    Padded positions get `score_mask_value` (default `-inf`); then
    `alignments = probability_fn(score)` (default softmax over `t`).

    Args:
        num_units: the depth of the memory layer, equal to the query depth.
        memory: `[batch, max_time, depth]` memory, or None (then `setup_memory`).
        memory_sequence_length: `[batch]` int lengths, each at least 1, or None.
        scale: whether to multiply the score by a learned scalar `attention_g`.
        probability_fn: `fn(score) -> probabilities`, default softmax; also
            `tfrnn.seq2seq.hardmax`, or `"softmax"` / `"hardmax"`.
        score_mask_value: the score of padded positions (default `-inf`).
        dtype: the Keras dtype (policy) of the memory layer.
        custom_key_value_fn: `fn(keys, values) -> (keys, values)`.
        name: the layer's name (TF1 named only a name scope with it).

    Attributes: `memory_layer/kernel [depth, num_units]`; with `scale`,
    `attention_g []` (ones) under `<wrapper scope>/luong_attention/`.

    Example:

    >>> import numpy as np
    >>> from tfrnn import seq2seq
    >>> mechanism = seq2seq.LuongAttention(2, np.zeros((1, 3, 4), "float32"))
    >>> alignments, _ = mechanism(np.ones((1, 2), "float32"), state=mechanism.initial_alignments(1, "float32"))
    >>> np.asarray(alignments, "float64").round(4).tolist()
    [[0.3333, 0.3333, 0.3333]]
    """

    tf1_scope_name = "luong_attention"
    tf1_default_name = "LuongAttention"

    def __init__(self, num_units: int, memory: Any = None, memory_sequence_length: Any = None, scale: bool = False,
                 probability_fn: Any = None, score_mask_value: float | None = None, dtype: Any = None,
                 custom_key_value_fn: Any = None, name: str = "LuongAttention", **kwargs: Any) -> None:
        self._scale = bool(scale)
        super().__init__(num_units, memory, memory_sequence_length, probability_fn, score_mask_value, dtype,
                         custom_key_value_fn, name, query_layer=False, **kwargs)

    def _scoring_weights(self) -> Sequence[Weight | Child | Sublayer]:
        return luong_weights(self._scale)

    def _check_query_depth(self, depth: int) -> None:
        check_luong_depth(depth, self._num_units)

    def call(self, query: Any, state: Any = None) -> tuple[Any, Any]:
        score = luong_score(query, self.keys, self.attention_g if self._scale else None)
        alignments = self._alignments(score, state)
        return alignments, alignments

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self._scale}


# --- score functions: [batch, max_time] scores from a query and the keys ------------------------


def bahdanau_score(processed_query: Any, keys: Any, attention_v: Any, attention_g: Any = None,
                   attention_b: Any = None) -> Any:
    """`sum_u v * tanh(keys + q)`, or the normalised `sum_u g v/||v|| tanh(keys + q + b)`."""
    processed_query = ops.expand_dims(processed_query, 1)  # [B, 1, U] against keys [B, T, U]
    if attention_g is None:
        return ops.sum(attention_v * ops.tanh(keys + processed_query), axis=2)
    normed_v = attention_g * attention_v * ops.rsqrt(ops.sum(ops.square(attention_v)))
    return ops.sum(normed_v * ops.tanh(keys + processed_query + attention_b), axis=2)


def luong_score(query: Any, keys: Any, scale: Any = None) -> Any:
    """`query . keys[t]` for every `t` (times `scale`); in float32 under half precision."""
    work = tf.float32 if tf.as_dtype(query.dtype).name in _HALF else query.dtype
    score = ops.squeeze(ops.matmul(ops.cast(ops.expand_dims(query, 1), work),
                                   ops.transpose(ops.cast(keys, work), (0, 2, 1))), 1)  # [B, 1, T] -> [B, T]
    return score if scale is None else ops.cast(scale, work) * score


def check_luong_depth(depth: int, num_units: int) -> None:
    """TF1's error for a query whose depth is not the keys' (Luong has no query layer)."""
    if depth != num_units:
        raise ValueError(
            "Incompatible or unknown inner dimensions between query and keys.  "
            f"Query has units: {depth}.  Keys have units: {num_units}.  "
            f"Perhaps you need to set num_units to the keys' dimension ({num_units})? "
            f"Luong attention has no query layer: num_units must equal the query depth ({depth}), "
            "i.e. the wrapped cell's output size."
        )


def bahdanau_weights(num_units: int, normalize: bool) -> list[Weight]:
    """`attention_v`, and `attention_g`, `attention_b` when normalised, with TF1's initializers."""
    weights = [Weight("attention_v", (num_units,), "glorot_uniform")]
    if normalize:
        weights += [Weight("attention_g", (), keras.initializers.Constant(math.sqrt(1.0 / num_units))),
                    Weight("attention_b", (num_units,), "zeros")]
    return weights


def luong_weights(scale: bool) -> list[Weight]:
    """`attention_g` (ones) when scaled."""
    return [Weight("attention_g", (), "ones")] if scale else []


# --- checks and small helpers ----------------------------------------------------------------


def _checked_units(num_units: Any, owner: str) -> int:
    if isinstance(num_units, bool) or not isinstance(num_units, (int, np.integer)) or num_units < 1:
        raise ValueError(f"{owner}(num_units={show(num_units)}): num_units must be a positive int, the depth of "
                         "the attention layers, e.g. 128.")
    return int(num_units)


def _dimension(x: Any, axis: int) -> Any:
    return x.shape[axis] if x.shape[axis] is not None else tf.shape(x)[axis]


def _symbolic(*sizes: Any) -> bool:
    return any(not isinstance(size, (int, np.integer)) for size in sizes)


def hardmax(logits: Any, name: str | None = None) -> Any:
    """One-hot vectors at the largest logit of each row (the first one on a tie).

    Args:
        logits: `[..., depth]` float tensor.
        name: unused (TF1's name scope).

    Returns:
        A tensor of `logits`' shape and dtype: 1 at `argmax(logits, -1)`, else 0.

    Example:

    >>> import numpy as np
    >>> from tfrnn import seq2seq
    >>> np.asarray(seq2seq.hardmax(np.array([[0.1, 0.3, 0.3]], "float32"))).tolist()
    [[0.0, 1.0, 0.0]]
    """
    logits = checked_numbers(logits, "hardmax", "logits", "[..., depth] float tensor", integers=True)
    depth = logits.shape[-1] if logits.shape[-1] is not None else tf.shape(logits)[-1]
    return tf.one_hot(tf.argmax(logits, -1), depth, dtype=logits.dtype)


def checked_numbers(x: Any, function: str, what: str, expected: str, integers: bool = False) -> Any:
    """`x` as a float (or, with `integers`, integer) tensor of rank >= 1; else a clear error
    (`hardmax` here, and the monotonic functions)."""
    try:
        tensor = tf.convert_to_tensor(x)
    except (TypeError, ValueError):
        raise TypeError(f"{function}: {what} must be a {expected}, but received {show(x)} "
                        f"({type(x).__name__}).") from None
    if not (tensor.dtype.is_floating or (integers and tensor.dtype.is_integer)):
        raise TypeError(f"{function}: {what} must be a {expected}, but received a {tensor.dtype.name} tensor of "
                        f"shape {tuple(tensor.shape)}. Cast it, e.g. tf.cast({what}, tf.float32).")
    if tensor.shape.rank == 0:
        raise ValueError(f"{function}: {what} must have at least one axis, but received a scalar ({show(x)}).")
    return tensor


def _dtype_name(dtype: Any) -> str:
    return keras.backend.standardize_dtype(tf.as_dtype(dtype).name if isinstance(dtype, tf.DType) else dtype)


def _cast_float(x: Any, dtype: Any) -> Any:
    return ops.cast(x, dtype) if hasattr(x, "dtype") and tf.as_dtype(x.dtype).is_floating else x


def _probability_function(probability_fn: Any) -> Callable[[Any], Any]:
    """`probability_fn` as a one-argument function: None and `"softmax"` are softmax, `"hardmax"` hardmax."""
    if probability_fn is None or probability_fn == "softmax":
        return tf.nn.softmax  # TF1's default (keras.ops.softmax warns on a memory of length 1)
    if probability_fn == "hardmax":
        return hardmax
    if isinstance(probability_fn, str) or not callable(probability_fn):
        raise TypeError(f"probability_fn must be callable, saw type: {type(probability_fn).__name__} "
                        f"({show(probability_fn)}). Pass a function of the score, e.g. tf.nn.softmax, "
                        "tfrnn.seq2seq.hardmax, or the name 'softmax' / 'hardmax'.")
    return probability_fn


def _probability_config(layer: Any, probability_fn: Any) -> Any:
    """`probability_fn` as a config holds it: a known name when it is one, else Keras' serialisation."""
    if probability_fn is None or isinstance(probability_fn, str):
        return probability_fn
    if probability_fn in (tf.nn.softmax, keras.activations.softmax, ops.softmax):
        return "softmax"
    if getattr(probability_fn, "__name__", None) == "hardmax" and "tfrnn" in getattr(probability_fn, "__module__", ""):
        return "hardmax"
    return config_value(layer, "probability_fn", probability_fn)
