"""TF1's decoding helpers (`tf.contrib.seq2seq.Helper` and its subclasses).

A helper tells `BasicDecoder` what one decoding step reads and when a row is
done: `initialize() -> (finished, first_inputs)`, `sample(time, outputs,
state) -> sample_ids` and `next_inputs(time, outputs, state, sample_ids) ->
(finished, next_inputs, next_state)`. TF1's signatures (positional too),
checks and numbers; the subclasses are TF1's public extension point and keep
working when a user subclasses `Helper` or any helper here.

Design decisions:

* Training inputs are kept time-major and read per step with a clamped index,
  selected to zeros once every row is done (TF1 read a `TensorArray` under a
  `tf.cond`): the same values and gradients, in eager, `tf.function` and XLA.
* What TF1 computed in a helper's constructor from tensors (the time-major
  inputs, the start tokens' embeddings) is computed in `initialize`, which
  `dynamic_decode` calls: in eager code a `GradientTape` around the decode
  sees it even when the helper was made before the tape.
* Scheduled sampling selects (`tf.where`) between the sampled and the read
  input where TF1 gathered the sampled rows, scattered and added. The values
  and gradients are TF1's; a `next_inputs_fn` is applied to every row's output
  and the sampled rows kept, which equals TF1 for row-wise functions (a Dense
  layer, `tanh`).
* Random draws are two small methods, `_categorical_draw(time, logits)` and
  `_bernoulli_draw(time, probability)`, that a subclass may override (to
  replay recorded draws, or to use a stateless generator). TF1's random streams
  cannot be reproduced in TF 2: the same `seed` gives other draws than TF1's.
* `sampling_probability` may be a scalar or a `[batch]` vector (one probability
  per row). TF 1.15 accepted the vector but then failed inside the decode loop
  (its draw was `[batch, batch]`); here it works as TF Addons made it work.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from tfrnn.aliases import DType, Nested, Tensor
from tfrnn.checks import is_concrete
from tfrnn.loop_kit import as_tensor, check_sequence_length, show, transpose_batch_time

__all__ = [
    "CustomHelper",
    "GreedyEmbeddingHelper",
    "Helper",
    "InferenceHelper",
    "SampleEmbeddingHelper",
    "ScheduledEmbeddingTrainingHelper",
    "ScheduledOutputTrainingHelper",
    "TrainingHelper",
]


class Helper(abc.ABC):
    """Interface for sampling in seq2seq decoders (TF1's `tf.contrib.seq2seq.Helper`).

    `BasicDecoder` calls `initialize()` once, then per step `sample` on the
    step's outputs and `next_inputs` for the next step's inputs. Subclass it
    for a custom decoding scheme (TF1's public extension point).
    
    Example: a helper that feeds each step's output back as the next input
    and ends every row after four steps.

    >>> import tensorflow as tf
    >>> import tfrnn
    >>> from tfrnn import seq2seq
    >>> class FeedBackHelper(seq2seq.Helper):
    ...     batch_size, sample_ids_shape, sample_ids_dtype = 2, tf.TensorShape([]), tf.int32
    ...     def initialize(self, name=None):
    ...         return tf.constant([False, False]), tf.zeros([2, 3])
    ...     def sample(self, time, outputs, state, name=None):
    ...         return tf.argmax(outputs, -1, output_type=tf.int32)
    ...     def next_inputs(self, time, outputs, state, sample_ids, name=None):
    ...         return tf.fill([2], time + 1 >= 4), outputs, state
    >>> decoder = seq2seq.BasicDecoder(tfrnn.GRUCell(3), FeedBackHelper(), tf.zeros([2, 3]))
    >>> outputs, _, lengths = seq2seq.dynamic_decode(decoder)
    >>> lengths.numpy().tolist(), tuple(outputs.rnn_output.shape)
    ([4, 4], (2, 4, 3))
    """

    @property
    @abc.abstractmethod
    def batch_size(self) -> int | Tensor:
        """Batch size of the tensor `sample` returns (an int where static, else a scalar int32 tensor)."""

    @property
    @abc.abstractmethod
    def sample_ids_shape(self) -> tf.TensorShape:
        """Shape of one row of `sample`'s result, without the batch axis."""

    @property
    @abc.abstractmethod
    def sample_ids_dtype(self) -> tf.DType:
        """DType of `sample`'s result."""

    @abc.abstractmethod
    def initialize(self, name: str | None = None) -> tuple[Tensor, Nested]:
        """Returns `(initial_finished, initial_inputs)`."""

    @abc.abstractmethod
    def sample(self, time: Tensor, outputs: Nested, state: Nested, name: str | None = None) -> Tensor:
        """Returns `sample_ids`."""

    @abc.abstractmethod
    def next_inputs(
        self, time: Tensor, outputs: Nested, state: Nested, sample_ids: Tensor, name: str | None = None,
    ) -> tuple[Tensor, Nested, Nested]:
        """Returns `(finished, next_inputs, next_state)`."""


class CustomHelper(Helper):
    """A helper made of three functions (TF1's `CustomHelper`).

    Args:
        initialize_fn: `() -> (finished, next_inputs)` for the first step.
        sample_fn: `(time=, outputs=, state=) -> sample_ids` (called by keyword).
        next_inputs_fn: `(time=, outputs=, state=, sample_ids=) -> (finished,
            next_inputs, next_state)` (called by keyword).
        sample_ids_shape: shape of one row's sample ids; default a scalar.
        sample_ids_dtype: their dtype; default int32.

    `batch_size` is known once `initialize` ran (the size of its `finished`).
    
    Example:

    >>> import tensorflow as tf
    >>> import tfrnn
    >>> from tfrnn import seq2seq
    >>> helper = seq2seq.CustomHelper(
    ...     initialize_fn=lambda: (tf.constant([False, False]), tf.zeros([2, 3])),
    ...     sample_fn=lambda time, outputs, state: tf.argmax(outputs, -1, output_type=tf.int32),
    ...     next_inputs_fn=lambda time, outputs, state, sample_ids: (tf.fill([2], time + 1 >= 2), outputs, state))
    >>> decoder = seq2seq.BasicDecoder(tfrnn.GRUCell(3), helper, tf.zeros([2, 3]))
    >>> outputs, _, lengths = seq2seq.dynamic_decode(decoder)
    >>> lengths.numpy().tolist(), helper.batch_size
    ([2, 2], 2)
    """

    def __init__(
        self, initialize_fn: Callable[[], tuple[Tensor, Nested]], sample_fn: Callable[..., Tensor],
        next_inputs_fn: Callable[..., tuple[Tensor, Nested, Nested]], sample_ids_shape: Any = None,
        sample_ids_dtype: DType | None = None,
    ) -> None:
        for what, function in (("initialize_fn", initialize_fn), ("sample_fn", sample_fn),
                               ("next_inputs_fn", next_inputs_fn)):
            if not callable(function):
                raise TypeError(f"CustomHelper's {what} must be a callable, but received {show(function)}.")
        self._initialize_fn = initialize_fn
        self._sample_fn = sample_fn
        self._next_inputs_fn = next_inputs_fn
        self._batch_size: int | Tensor | None = None
        self._sample_ids_shape = tf.TensorShape(sample_ids_shape or [])
        self._sample_ids_dtype = tf.as_dtype(sample_ids_dtype or tf.int32)

    @property
    def batch_size(self) -> int | Tensor:
        if self._batch_size is None:
            raise ValueError(
                "batch_size accessed before initialize was called: CustomHelper learns the batch size "
                "from initialize_fn's finished. Call helper.initialize() first (dynamic_decode does)."
            )
        return self._batch_size

    @property
    def sample_ids_shape(self) -> tf.TensorShape:
        return self._sample_ids_shape

    @property
    def sample_ids_dtype(self) -> tf.DType:
        return self._sample_ids_dtype

    def initialize(self, name: str | None = None) -> tuple[Tensor, Nested]:
        finished, next_inputs = self._initialize_fn()
        if self._batch_size is None:
            self._batch_size = _size(tf.convert_to_tensor(finished))
        return finished, next_inputs

    def sample(self, time: Tensor, outputs: Nested, state: Nested, name: str | None = None) -> Tensor:
        return self._sample_fn(time=time, outputs=outputs, state=state)

    def next_inputs(
        self, time: Tensor, outputs: Nested, state: Nested, sample_ids: Tensor, name: str | None = None,
    ) -> tuple[Tensor, Nested, Nested]:
        return self._next_inputs_fn(time=time, outputs=outputs, state=state, sample_ids=sample_ids)


class TrainingHelper(Helper):
    """Teacher forcing: step `t` reads `inputs[:, t]` (TF1's `TrainingHelper`).

    Row `b` is finished after step `t` when `t + 1 >= sequence_length[b]`; a
    row of length 0 is finished from the start. Once every row is finished the
    next input is zeros. `sample` gives `argmax(outputs, -1)` as int32.

    Args:
        inputs: `[batch, time, depth]` float tensor (or a nested structure of
            them), `[time, batch, depth]` with `time_major=True`.
        sequence_length: `[batch]` integer vector, each in `[0, time]`.
        time_major: whether `inputs` is time-major.
        name: accepted for TF1 compatibility (a name scope); no effect.

    Example:

    >>> import numpy as np
    >>> import tfrnn
    >>> from tfrnn import seq2seq
    >>> helper = seq2seq.TrainingHelper(np.ones((2, 3, 4), "float32"), [3, 1])
    >>> finished, first_inputs = helper.initialize()
    >>> finished.numpy().tolist(), tuple(first_inputs.shape)
    ([False, False], (2, 4))
    >>> finished, _, _ = helper.next_inputs(0, None, None, None)
    >>> finished.numpy().tolist()
    [False, True]
    """

    def __init__(self, inputs: Nested, sequence_length: Any, time_major: bool = False, name: str | None = None) -> None:
        self._inputs = tf.nest.map_structure(lambda x: _float_tensor(x, "TrainingHelper's inputs"), inputs)
        self._time_major = time_major
        first = tf.nest.flatten(self._inputs)[0]
        time_axis, batch_axis = (0, 1) if time_major else (1, 0)
        self._max_time = _dim(first, time_axis)
        self._sequence_length = _training_lengths(sequence_length, _dim(first, batch_axis), self._max_time)
        self._batch_size = _size(self._sequence_length)
        self._steps: Nested = None  # the time-major inputs, made by `initialize` (inside the caller's tape)

    def _time_major_steps(self) -> Nested:
        """The inputs time-major `[time, batch, depth]`, as the steps read them."""
        return self._inputs if self._time_major else tf.nest.map_structure(_to_time_major, self._inputs)

    @property
    def inputs(self) -> Nested:
        """The inputs as given (batch-major unless `time_major`)."""
        return self._inputs

    @property
    def sequence_length(self) -> Tensor:
        """The lengths, int32 `[batch]`."""
        return self._sequence_length

    @property
    def batch_size(self) -> int | Tensor:
        return self._batch_size

    @property
    def sample_ids_shape(self) -> tf.TensorShape:
        return tf.TensorShape([])

    @property
    def sample_ids_dtype(self) -> tf.DType:
        return tf.int32

    def initialize(self, name: str | None = None) -> tuple[Tensor, Nested]:
        # Transposed here, not in the constructor (TF1's place): a decode's tape sees it.
        self._steps = self._time_major_steps()
        finished = tf.equal(0, self._sequence_length)
        return finished, self._read(0, tf.reduce_all(finished))

    def sample(self, time: Tensor, outputs: Tensor, state: Nested = None, name: str | None = None, **unused_kwargs: Any) -> Tensor:
        return tf.argmax(outputs, axis=-1, output_type=tf.int32)

    def next_inputs(
        self, time: Tensor, outputs: Nested, state: Nested, sample_ids: Tensor = None, name: str | None = None,
        **unused_kwargs: Any,
    ) -> tuple[Tensor, Nested, Nested]:
        next_time = time + 1
        finished = next_time >= self._sequence_length
        return finished, self._read(next_time, tf.reduce_all(finished)), state

    def _read(self, time: Tensor | int, all_finished: Tensor) -> Nested:
        """The inputs of step `time`, or zeros once every row is finished (TF1's `cond`, as a select)."""
        def read(x: Tensor) -> Tensor:
            zero = tf.zeros(tf.shape(x)[1:], x.dtype)
            if x.shape[0] == 0:  # no steps at all: every row has length 0
                return zero
            step = x[tf.clip_by_value(time, 0, self._max_time - 1)]  # a slice: dense gradient, as TF1's TensorArray
            return tf.where(all_finished, zero, step)

        if self._steps is None:  # next_inputs called without initialize
            self._steps = self._time_major_steps()
        return tf.nest.map_structure(read, self._steps)


class _Draws:
    """The random draws of the sampling helpers, as overridable methods (see the module docstring)."""

    _seed: int | None = None

    def _categorical_draw(self, time: Tensor, logits: Tensor) -> Tensor:
        """One id per row from `softmax(logits)`, int32 `[batch]` (TF1: `multinomial(logits, 1, seed)`)."""
        return tf.random.categorical(logits, 1, dtype=tf.int32, seed=self._seed)[:, 0]

    def _bernoulli_draw(self, time: Tensor, probability: Tensor, batch_size: int | Tensor, seed: int | None) -> Tensor:
        """One bool per row, True with `probability` (a scalar or `[batch]`): `uniform < p`, as TF1."""
        uniform = tf.random.uniform(tf.reshape(batch_size, [1]), seed=seed, dtype=probability.dtype)
        return uniform < probability


class ScheduledEmbeddingTrainingHelper(_Draws, TrainingHelper):
    """Scheduled sampling of embedded ids (TF1's `ScheduledEmbeddingTrainingHelper`).

    At every step each row is chosen with `sampling_probability` (a Bernoulli
    draw, `scheduling_seed`); a chosen row's next input is the embedding of an
    id drawn from `softmax(outputs)` (`seed`), the others read `inputs` as
    `TrainingHelper` does. `sample_id` is the drawn id where chosen and -1
    elsewhere (TF1 draws an id for every row and keeps the chosen ones).

    Args:
        inputs, sequence_length, time_major, name: as `TrainingHelper`.
        embedding: a callable `ids -> embedded`, or the `params` of
            `tf.nn.embedding_lookup` (a `[vocabulary, depth]` tensor or variable).
        sampling_probability: float scalar, or `[batch]` vector, in `[0, 1]`.
        seed: seed of the id draws; scheduling_seed: seed of the choices. The
            same seeds give other draws than TF1's (see `_categorical_draw`).
    
    Example: with probability 1 every row reads its drawn id's embedding
    (here the outputs make id 2 and id 0 certain).

    >>> import numpy as np
    >>> from tfrnn import seq2seq
    >>> helper = seq2seq.ScheduledEmbeddingTrainingHelper(
    ...     np.zeros((2, 3, 3), "float32"), [3, 3], np.eye(3, dtype="float32"), sampling_probability=1.0)
    >>> _ = helper.initialize()
    >>> ids = helper.sample(0, np.array([[0., 0., 60.], [60., 0., 0.]], "float32"))
    >>> _, next_inputs, _ = helper.next_inputs(0, None, None, ids)
    >>> ids.numpy().tolist(), next_inputs.numpy().tolist()
    ([2, 0], [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    """

    def __init__(
        self, inputs: Nested, sequence_length: Any, embedding: Any, sampling_probability: Any,
        time_major: bool = False, seed: int | None = None, scheduling_seed: int | None = None, name: str | None = None,
    ) -> None:
        self._embedding_fn = embedding_function(embedding)
        self._sampling_probability = _sampling_probability(sampling_probability)
        self._seed = seed
        self._scheduling_seed = scheduling_seed
        super().__init__(inputs, sequence_length, time_major=time_major, name=name)

    def sample(self, time: Tensor, outputs: Tensor, state: Nested = None, name: str | None = None, **unused_kwargs: Any) -> Tensor:
        chosen = self._bernoulli_draw(time, self._sampling_probability, self.batch_size, self._scheduling_seed)
        return tf.where(chosen, self._categorical_draw(time, outputs), -1)

    def next_inputs(
        self, time: Tensor, outputs: Nested, state: Nested, sample_ids: Tensor = None, name: str | None = None,
        **unused_kwargs: Any,
    ) -> tuple[Tensor, Nested, Nested]:
        finished, base_next_inputs, state = super().next_inputs(time, outputs, state)
        sampled = (sample_ids > -1) & ~tf.reduce_all(finished)
        embedded = self._embedding_fn(tf.maximum(sample_ids, 0))
        return finished, tf.where(sampled[:, None], embedded, base_next_inputs), state


class ScheduledOutputTrainingHelper(_Draws, TrainingHelper):
    """Scheduled sampling of the outputs themselves (TF1's `ScheduledOutputTrainingHelper`).

    At every step each row is chosen with `sampling_probability` (`seed`); a
    chosen row's next input is its output (through `next_inputs_fn` if given),
    the others read `inputs`. `auxiliary_inputs` are concatenated (last axis)
    to both. `sample_id` is int32, 1 where chosen and 0 elsewhere.

    Args:
        inputs, sequence_length, time_major, name: as `TrainingHelper`.
        sampling_probability: float scalar, or `[batch]` vector, in `[0, 1]`.
        seed: seed of the choices (other draws than TF1's for the same seed).
        next_inputs_fn: optional callable applied to the outputs when sampling
            (applied to every row and the chosen rows kept: see the module docstring).
        auxiliary_inputs: optional tensor (or structure) shaped like `inputs`
            but for the last axis.
    
    Example: with probability 1 every row's next input is its own output.

    >>> import numpy as np
    >>> from tfrnn import seq2seq
    >>> helper = seq2seq.ScheduledOutputTrainingHelper(np.zeros((2, 3, 2), "float32"), [3, 3], 1.0)
    >>> _ = helper.initialize()
    >>> outputs = np.array([[1., 2.], [3., 4.]], "float32")
    >>> ids = helper.sample(0, outputs, None)
    >>> _, next_inputs, _ = helper.next_inputs(0, outputs, None, ids)
    >>> ids.numpy().tolist(), next_inputs.numpy().tolist()
    ([1, 1], [[1.0, 2.0], [3.0, 4.0]])
    """

    def __init__(
        self, inputs: Nested, sequence_length: Any, sampling_probability: Any, time_major: bool = False,
        seed: int | None = None, next_inputs_fn: Callable[[Tensor], Tensor] | None = None,
        auxiliary_inputs: Nested = None, name: str | None = None,
    ) -> None:
        self._sampling_probability = _sampling_probability(sampling_probability)
        if next_inputs_fn is not None and not callable(next_inputs_fn):
            raise TypeError(f"next_inputs_fn must be a callable or None, but received {show(next_inputs_fn)}.")
        self._seed = seed
        self._next_inputs_fn = next_inputs_fn
        self._auxiliary = None if auxiliary_inputs is None else tf.nest.map_structure(
            lambda x: _float_tensor(x, "auxiliary_inputs"), auxiliary_inputs)
        super().__init__(inputs, sequence_length, time_major=time_major, name=name)

    def sample(self, time: Tensor, outputs: Tensor, state: Nested = None, name: str | None = None, **unused_kwargs: Any) -> Tensor:
        chosen = self._bernoulli_draw(time, self._sampling_probability, self.batch_size, self._seed)
        return tf.cast(chosen, tf.int32)

    def _time_major_steps(self) -> Nested:
        """The inputs with the auxiliary inputs concatenated (last axis), time-major."""
        if self._auxiliary is None:
            return super()._time_major_steps()
        both = tf.nest.map_structure(lambda x, y: tf.concat([x, y], -1), self._inputs, self._auxiliary)
        return both if self._time_major else tf.nest.map_structure(_to_time_major, both)

    def _auxiliary_step(self, time: Tensor) -> Nested:
        """The auxiliary inputs of step `time` (clamped: read only while some row runs)."""
        step = tf.clip_by_value(time, 0, self._max_time - 1)
        return tf.nest.map_structure(lambda aux: aux[step] if self._time_major else aux[:, step], self._auxiliary)

    def next_inputs(
        self, time: Tensor, outputs: Nested, state: Nested, sample_ids: Tensor = None, name: str | None = None,
        **unused_kwargs: Any,
    ) -> tuple[Tensor, Nested, Nested]:
        finished, base_next_inputs, state = super().next_inputs(time, outputs, state)
        sampled = tf.cast(sample_ids, tf.bool) & ~tf.reduce_all(finished)
        fed_back = outputs if self._next_inputs_fn is None else self._next_inputs_fn(outputs)
        if self._auxiliary is not None:
            fed_back = tf.nest.map_structure(lambda x, aux: tf.concat([x, aux], -1), fed_back,
                                             self._auxiliary_step(time + 1))
        next_inputs = tf.nest.map_structure(lambda new, base: tf.where(sampled[:, None], new, base), fed_back,
                                            base_next_inputs)
        return finished, next_inputs, state


class GreedyEmbeddingHelper(Helper):
    """Greedy decoding: the next input is the embedding of `argmax(outputs)` (TF1's `GreedyEmbeddingHelper`).

    A row is finished when its sample id is `end_token`. Once every row is
    finished the next input is the start inputs (TF1's choice; it is never used).

    Args:
        embedding: a callable `ids -> embedded`, or the `params` of
            `tf.nn.embedding_lookup` (a `[vocabulary, depth]` tensor or variable).
        start_tokens: int32 vector `[batch]`, the first step's ids.
        end_token: int32 scalar, the id that ends a row.

    Example:

    >>> import numpy as np
    >>> from tfrnn import seq2seq
    >>> embedding = np.eye(3, dtype="float32")
    >>> helper = seq2seq.GreedyEmbeddingHelper(embedding, [0, 1], end_token=2)
    >>> _, first_inputs = helper.initialize()
    >>> first_inputs.numpy().tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    >>> ids = helper.sample(0, np.array([[0., 9., 1.], [0., 1., 9.]], "float32"), None)
    >>> finished, next_inputs, _ = helper.next_inputs(0, None, None, ids)
    >>> ids.numpy().tolist(), finished.numpy().tolist()
    ([1, 2], [False, True])
    """

    def __init__(self, embedding: Any, start_tokens: Any, end_token: Any) -> None:
        self._embedding_fn = embedding_function(embedding)
        self._start_tokens = _ids(start_tokens, "start_tokens", 1, "a vector", "one start id per row, e.g. [1, 1, 1]")
        self._end_token = _ids(end_token, "end_token", 0, "a scalar", "one id, e.g. 2")
        self._batch_size = _size(self._start_tokens)
        self._start_inputs: Tensor = None  # embedded by `initialize` (inside the caller's tape)

    @property
    def batch_size(self) -> int | Tensor:
        return self._batch_size

    @property
    def sample_ids_shape(self) -> tf.TensorShape:
        return tf.TensorShape([])

    @property
    def sample_ids_dtype(self) -> tf.DType:
        return tf.int32

    def initialize(self, name: str | None = None) -> tuple[Tensor, Nested]:
        self._start_inputs = self._embedding_fn(self._start_tokens)
        return tf.zeros(tf.reshape(self._batch_size, [1]), tf.bool), self._start_inputs

    def sample(self, time: Tensor, outputs: Tensor, state: Nested, name: str | None = None) -> Tensor:
        return tf.argmax(_single_tensor(outputs), axis=-1, output_type=tf.int32)

    def next_inputs(
        self, time: Tensor, outputs: Nested, state: Nested, sample_ids: Tensor, name: str | None = None,
    ) -> tuple[Tensor, Nested, Nested]:
        finished = tf.equal(sample_ids, self._end_token)
        if self._start_inputs is None:  # next_inputs called without initialize
            self._start_inputs = self._embedding_fn(self._start_tokens)
        next_inputs = tf.cond(tf.reduce_all(finished), lambda: self._start_inputs,
                              lambda: self._embedding_fn(sample_ids))
        return finished, next_inputs, state


class SampleEmbeddingHelper(_Draws, GreedyEmbeddingHelper):
    """Sampled decoding: the next input embeds an id drawn from `softmax(outputs / temperature)`.

    TF1's `SampleEmbeddingHelper`. The draw is `_categorical_draw(time,
    logits)`: the same `seed` gives other ids than TF1's (a subclass may
    override it, e.g. to replay recorded draws).

    Args:
        embedding, start_tokens, end_token: as `GreedyEmbeddingHelper`.
        softmax_temperature: optional float scalar > 0 dividing the logits
            (default 1: plain softmax).
        seed: optional seed of the draws.
    
    Example (logits so peaked that the draw is certain):

    >>> import numpy as np
    >>> from tfrnn import seq2seq
    >>> helper = seq2seq.SampleEmbeddingHelper(np.eye(3, dtype="float32"), [0, 0], end_token=2, seed=1)
    >>> _ = helper.initialize()
    >>> ids = helper.sample(0, np.array([[0., 60., 0.], [0., 0., 60.]], "float32"), None)
    >>> finished, _, _ = helper.next_inputs(0, None, None, ids)
    >>> ids.numpy().tolist(), finished.numpy().tolist()
    ([1, 2], [False, True])
    """

    def __init__(
        self, embedding: Any, start_tokens: Any, end_token: Any, softmax_temperature: Any = None, seed: int | None = None,
    ) -> None:
        super().__init__(embedding, start_tokens, end_token)
        self._softmax_temperature = softmax_temperature
        self._seed = seed

    def sample(self, time: Tensor, outputs: Tensor, state: Nested, name: str | None = None) -> Tensor:
        logits = _single_tensor(outputs)
        if self._softmax_temperature is not None:
            logits = logits / self._softmax_temperature
        return self._categorical_draw(time, logits)


class InferenceHelper(Helper):
    """Inference with user functions for sampling and ending (TF1's `InferenceHelper`).

    Args:
        sample_fn: `outputs -> sample_ids`.
        sample_shape: shape of one row's sample ids (a list of ints).
        sample_dtype: their dtype.
        start_inputs: `[batch, depth]`, the first step's inputs.
        end_fn: `sample_ids -> [batch] bool`, True where a row ends.
        next_inputs_fn: optional `sample_ids -> next inputs`; default the
            sample ids themselves.
    
    Example: the outputs themselves are the samples and the next inputs; a
    row ends when its output sums above 100 (never, here), so
    `maximum_iterations` stops the decode.

    >>> import tensorflow as tf
    >>> import tfrnn
    >>> from tfrnn import seq2seq
    >>> helper = seq2seq.InferenceHelper(
    ...     sample_fn=lambda outputs: outputs, sample_shape=[3], sample_dtype=tf.float32,
    ...     start_inputs=tf.zeros([2, 3]), end_fn=lambda samples: tf.reduce_sum(samples, -1) > 100.0)
    >>> decoder = seq2seq.BasicDecoder(tfrnn.GRUCell(3), helper, tf.zeros([2, 3]))
    >>> outputs, _, lengths = seq2seq.dynamic_decode(decoder, maximum_iterations=5)
    >>> lengths.numpy().tolist(), tuple(outputs.sample_id.shape)
    ([5, 5], (2, 5, 3))
    """

    def __init__(
        self, sample_fn: Callable[[Tensor], Tensor], sample_shape: Any, sample_dtype: DType, start_inputs: Any,
        end_fn: Callable[[Tensor], Tensor], next_inputs_fn: Callable[[Tensor], Tensor] | None = None,
    ) -> None:
        for what, function in (("sample_fn", sample_fn), ("end_fn", end_fn)):
            if not callable(function):
                raise TypeError(f"InferenceHelper's {what} must be a callable, but received {show(function)}.")
        self._sample_fn = sample_fn
        self._end_fn = end_fn
        self._sample_shape = tf.TensorShape(sample_shape)
        self._sample_dtype = tf.as_dtype(sample_dtype)
        self._next_inputs_fn = next_inputs_fn
        self._start_inputs = as_tensor(start_inputs, "start_inputs", "a [batch, depth] tensor")
        if self._start_inputs.shape.rank == 0:
            raise ValueError(f"start_inputs must have a batch axis ([batch, depth]), but received {show(start_inputs)}.")
        first = self._start_inputs.shape[0]
        self._batch_size = first if first is not None else tf.shape(self._start_inputs)[0]

    @property
    def batch_size(self) -> int | Tensor:
        return self._batch_size

    @property
    def sample_ids_shape(self) -> tf.TensorShape:
        return self._sample_shape

    @property
    def sample_ids_dtype(self) -> tf.DType:
        return self._sample_dtype

    def initialize(self, name: str | None = None) -> tuple[Tensor, Nested]:
        return tf.zeros(tf.reshape(self._batch_size, [1]), tf.bool), self._start_inputs

    def sample(self, time: Tensor, outputs: Nested, state: Nested, name: str | None = None) -> Tensor:
        return self._sample_fn(outputs)

    def next_inputs(
        self, time: Tensor, outputs: Nested, state: Nested, sample_ids: Tensor, name: str | None = None,
    ) -> tuple[Tensor, Nested, Nested]:
        next_inputs = sample_ids if self._next_inputs_fn is None else self._next_inputs_fn(sample_ids)
        return self._end_fn(sample_ids), next_inputs, state


def embedding_function(embedding: Any) -> Callable[[Tensor], Tensor]:
    """`embedding` as `ids -> vectors`: itself if callable, else `tf.nn.embedding_lookup(embedding, ids)` (TF1)."""
    if callable(embedding):
        return embedding  # type: ignore[no-any-return,unused-ignore]  # a user's embedding function
    params = embedding if isinstance(embedding, tf.Variable) or hasattr(embedding, "assign") else as_tensor(
        embedding, "embedding", "a callable ids -> vectors, or a [vocabulary, depth] tensor or variable")
    if len(params.shape) != 2:
        raise ValueError(
            f"embedding must be a [vocabulary, depth] matrix (or a callable ids -> vectors), but received "
            f"shape {tuple(params.shape)}. Pass the embedding matrix, e.g. keras.layers.Embedding(...).embeddings."
        )
    return lambda ids: tf.nn.embedding_lookup(params, ids)


def _float_tensor(x: Any, what: str) -> Tensor:
    tensor = as_tensor(x, what, "a [batch, time, depth] float tensor")
    if not tensor.dtype.is_floating or tensor.shape.rank is None or tensor.shape.rank < 2:
        raise ValueError(
            f"{what} must be a [batch, time, depth] float tensor, but received a {tensor.dtype.name} tensor of "
            f"shape {tuple(tensor.shape)}. Embed ids first (e.g. tf.nn.embedding_lookup(embedding, ids))."
        )
    return tensor


def _to_time_major(x: Tensor) -> Tensor:
    return tf.transpose(x, [1, 0]) if x.shape.rank == 2 else transpose_batch_time(x)


def _dim(x: Tensor, axis: int) -> int | Tensor:
    return x.shape[axis] if x.shape[axis] is not None else tf.shape(x)[axis]


def _training_lengths(sequence_length: Any, batch: int | Tensor, max_time: int | Tensor) -> Tensor:
    """The lengths as int32 `[batch]` in `[0, time]`: TF1's rank check (its message), then loop_kit's."""
    lengths = as_tensor(sequence_length, "sequence_length", "a [batch] vector of int32 lengths")
    if lengths.shape.rank != 1:
        raise ValueError(
            f"Expected sequence_length to be a vector, but received shape: {tuple(lengths.shape)}. "
            "Pass one length per row, e.g. [4, 2, 3]."
        )
    return check_sequence_length(lengths, batch, max_time)


def _sampling_probability(probability: Any) -> Tensor:
    """`sampling_probability` as a float tensor: a scalar or a vector, in [0, 1] where its values are known."""
    p = as_tensor(probability, "sampling_probability", "a float in [0, 1]")
    if p.shape.rank not in (0, 1):
        raise ValueError(
            f"sampling_probability must be either a scalar or a vector. saw shape: {tuple(p.shape)}. "
            "Pass one probability (e.g. 0.25) or one per row."
        )
    p = tf.cast(p, tf.float32) if not p.dtype.is_floating else p
    if is_concrete(p) and not np.all((np.asarray(p) >= 0) & (np.asarray(p) <= 1)):
        raise ValueError(f"sampling_probability must lie in [0, 1], but received {show(p)}.")
    return p


def _ids(value: Any, what: str, rank: int, shape_word: str, example: str) -> Tensor:
    ids = as_tensor(value, what, f"int32 ids ({shape_word})")
    if not ids.dtype.is_integer:
        raise TypeError(f"{what} must hold integer ids, but received {show(value)} of dtype {ids.dtype.name}.")
    if ids.shape.rank != rank:
        raise ValueError(f"{what} must be {shape_word}, but received shape {tuple(ids.shape)}: pass {example}.")
    return tf.cast(ids, tf.int32)


def _size(vector: Tensor) -> int | Tensor:
    """Its number of entries: an int where static, else a scalar int32 tensor (TF1's `tf.size`)."""
    return vector.shape.num_elements() if vector.shape.is_fully_defined() else tf.size(vector)


def _single_tensor(outputs: Nested) -> Tensor:
    if isinstance(outputs, (list, tuple, dict)):
        raise TypeError(f"Expected outputs to be a single Tensor, got: {type(outputs)}. Sample from one logits tensor.")
    return outputs
