"""Runs the TF 1.15 seq2seq goldens' own TF1 code with tfrnn's names.

Each case in `tests/golden/tf115_seq2seq/MANIFEST.json` keeps the TF1 code that
wrote it. `run_case` executes that code verbatim in a namespace where the TF1
names are tfrnn's (`BahdanauAttention` is `tfrnn.seq2seq.BahdanauAttention`,
`tf.get_variable` makes a Keras variable, `Dense` is `keras.layers.Dense`): the
test of "a TF1 program with only its imports changed".

TF1 built a graph, restored weights, then ran it; eager code runs as it is
built. So the code runs twice: the first run creates and builds every object
that holds variables; the golden's weights are then assigned by TF1 name
(`tfrnn.tf1_variable_names`, which must name exactly the golden's variables);
the second run, inside a `GradientTape`, gets the same objects back from their
constructors (in creation order) and computes the results and gradients that
are compared with TF1's. Objects without variables (helpers, decoders, states)
are made anew in the second run, so every tensor the tape must see is made
inside it.
"""

from __future__ import annotations

import functools
import json
import pathlib
import types
from typing import Any, Callable

import keras
import numpy as np
import tensorflow as tf

import tfrnn
from tfrnn import seq2seq

GOLDEN = pathlib.Path(__file__).parent / "golden" / "tf115_seq2seq"
MANIFEST = json.loads((GOLDEN / "MANIFEST.json").read_text())
CASES = {case["name"]: case for case in MANIFEST["cases"]}

# Cases run by `run_case`: those the harness can execute (not the hand-written
# error list, the NMT programs, which have their own tests, or beam search).
_NOT_RUN = ("errors", "init_defaults", "nmt_", "beam_search", "tile_batch_gather_tree",
            "sequence_loss", "monotonic_attention_fn")
RUNNABLE = [name for name in CASES if not name.startswith(_NOT_RUN)]
ATTENTION_RNN = [name for name in RUNNABLE if name.endswith("__rnn")]
ATTENTION_DECODE = [name for name in RUNNABLE if name.endswith("__decode")]
DECODE = [name for name in RUNNABLE if "__" not in name]

# Classes whose objects hold variables: the second run gets the first run's objects back.
_CELLS = ("LSTMCell", "GRUCell", "BasicLSTMCell", "MultiRNNCell")
_MECHANISMS = ("BahdanauAttention", "LuongAttention", "BahdanauMonotonicAttention", "LuongMonotonicAttention")
# seq2seq names made anew in each run.
_FRESH = ("BasicDecoder", "BasicDecoderOutput", "TrainingHelper", "GreedyEmbeddingHelper",
          "SampleEmbeddingHelper", "ScheduledEmbeddingTrainingHelper", "ScheduledOutputTrainingHelper",
          "InferenceHelper", "CustomHelper", "dynamic_decode", "AttentionWrapperState", "sequence_loss",
          "tile_batch", "gather_tree", "hardmax", "safe_cumprod", "monotonic_attention")


def case_data(name: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The case's MANIFEST entry and its npz arrays."""
    with np.load(GOLDEN / f"{name}.npz") as data:
        return CASES[name], {key: data[key] for key in data.files}


class _Replay:
    """Constructors that make objects in the first run and give them back, in order, in the second."""

    def __init__(self) -> None:
        self.made: list[Any] = []
        self.variables: list[Any] = []  # tf.get_variable's, in creation order
        self.replaying = False
        self._next = 0

    def second_run(self) -> None:
        self.replaying, self._next = True, 0

    def factory(self, make: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(make)
        def construct(*args: Any, **kwargs: Any) -> Any:
            if self.replaying:
                made = self.made[self._next]
                self._next += 1
                return made
            made = make(*args, **kwargs)
            self.made.append(made)
            return made
        return construct

    def get_variable(self, name: str, shape: Any, dtype: Any = tf.float32, **_: Any) -> Any:
        variable = keras.Variable(keras.initializers.GlorotUniform()(shape), dtype=dtype, name=name)
        self.variables.append(variable)
        return variable


class _Namespace(types.SimpleNamespace):
    """A module-like object: TF1 attributes first, then the real module's."""

    def __init__(self, real: Any, **own: Any) -> None:
        super().__init__(**own)
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _namespace(replay: _Replay, inputs: dict[str, Any], recorded: list[tuple[str, Any, bool]],
               overrides: dict[str, Any]) -> dict[str, Any]:
    dense = replay.factory(keras.layers.Dense)
    get_variable = replay.factory(replay.get_variable)
    namespace: dict[str, Any] = {
        "tf": _Namespace(tf, get_variable=get_variable, layers=_Namespace(tf.keras.layers, Dense=dense),
                         nn=_Namespace(tf.nn, dynamic_rnn=tfrnn.dynamic_rnn)),
        "Dense": dense,
        "LSTMStateTuple": tfrnn.LSTMStateTuple,
        "dynamic_rnn": tfrnn.dynamic_rnn,
        "record": lambda key, structure, loss=True: recorded.append((key, structure, loss)),
        "note": lambda *args: None,
    }
    namespace.update({name: replay.factory(getattr(tfrnn, name)) for name in _CELLS})
    namespace.update({name: replay.factory(getattr(seq2seq, name)) for name in _MECHANISMS + ("AttentionWrapper",)
                      if hasattr(seq2seq, name)})
    namespace.update({name: getattr(seq2seq, name) for name in _FRESH if hasattr(seq2seq, name)})
    namespace.update(inputs)
    namespace.update(overrides)
    return namespace


def flatten(key: str, structure: Any) -> dict[str, Any]:
    """`{dotted path: tensor}` as the goldens name results: namedtuple fields, tuple indices;
    a TensorArray is stacked (time-major, as TF1's `.stack()`)."""
    if isinstance(structure, tf.TensorArray):
        return {key: structure.stack()}
    if isinstance(structure, tuple) and hasattr(structure, "_fields"):
        items = zip(structure._fields, structure)
    elif isinstance(structure, (tuple, list)):
        items = ((str(i), value) for i, value in enumerate(structure))
    else:
        return {key: structure}
    flat: dict[str, Any] = {}
    for field, value in items:
        flat.update(flatten(f"{key}.{field}", value))
    return flat


class Run(types.SimpleNamespace):
    """What one case gave: `results` (path -> array), `grad_in` (input -> array or None),
    `grad` (TF1 variable name -> array or None), `shapes` (TF1 name -> shape), and the
    first run's `namespace` (its objects)."""


def run_case(name: str, overrides: dict[str, Any] | None = None) -> Run:
    """Runs a case's TF1 code with tfrnn's names and the golden's weights; see the module docstring."""
    case, data = case_data(name)
    inputs = {spec["name"]: tf.constant(data[f"in:{spec['name']}"]) for spec in case["inputs"]}
    replay = _Replay()
    recorded: list[tuple[str, Any, bool]] = []
    first = _namespace(replay, inputs, recorded, overrides or {})
    exec(case["code"], first)  # builds every object with variables
    variables = tfrnn.tf1_variable_names(_structure(name, first, replay))
    for tf1_name, variable in variables.items():
        variable.assign(data[f"var:{tf1_name}"])
    replay.second_run()
    recorded.clear()
    floats = {key: value for key, value in inputs.items() if value.dtype.is_floating}
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(list(floats.values()))
        exec(case["code"], _namespace(replay, inputs, recorded, overrides or {}))
        results = {path: value for key, structure, _ in recorded for path, value in flatten(key, structure).items()}
        loss = _loss(results, [key for key, _, in_loss in recorded if in_loss], data)
    grad_in = dict(zip(floats, tape.gradient(loss, list(floats.values()))))
    grads = tape.gradient(loss, [getattr(v, "value", v) for v in variables.values()])
    return Run(
        results={path: np.asarray(value) for path, value in results.items()},
        grad_in={key: None if g is None else np.asarray(g) for key, g in grad_in.items()},
        grad={key: None if g is None else np.asarray(tf.convert_to_tensor(g)) for key, g in zip(variables, grads)},
        shapes={key: tuple(v.shape) for key, v in variables.items()},
        namespace=first,
    )


def _structure(name: str, namespace: dict[str, Any], replay: _Replay) -> dict[str, Any]:
    """What holds the case's variables, by TF1 scope: the loop's scope (`rnn` for
    dynamic_rnn, `decoder` for dynamic_decode) holds the cell or decoder; the
    mechanisms (their memory layers) and `tf.get_variable`'s variables sit at the top."""
    mechanisms = namespace.get("mechanism", [])
    top = list(mechanisms) if isinstance(mechanisms, (list, tuple)) else [mechanisms]
    if name.endswith("__rnn"):
        return {"": top + replay.variables, "rnn": namespace["cell"]}
    return {"": top + replay.variables, "decoder": namespace["decoder"]}


def _loss(results: dict[str, Any], loss_keys: list[str], data: dict[str, np.ndarray]) -> Any:
    """TF1's loss: sum over recorded float results of sum(result * r:<path>)."""
    total = tf.constant(0.0)
    for path, value in results.items():
        if path.split(".")[0] in loss_keys and f"r:{path}" in data:
            total += tf.reduce_sum(tf.cast(value, tf.float32) * data[f"r:{path}"])
    return total


def assert_matches_golden(name: str, run: Run, atol: float = 1e-5, rtol: float = 1e-5) -> None:
    """Every variable name and shape, result, and gradient equals TF 1.15's."""
    case, data = case_data(name)
    assert run.shapes == {tf1_name: tuple(shape) for tf1_name, shape in case["variables"]}
    for path, dtype, shape, _ in case["results"]:
        got = run.results[path]
        assert got.shape == tuple(shape), (path, got.shape, shape)
        assert str(got.dtype) == dtype, (path, got.dtype, dtype)
        np.testing.assert_allclose(got, data[f"out:{path}"], atol=atol, rtol=rtol, err_msg=path)
    for input_name, grad in run.grad_in.items():
        _assert_gradient(grad, data[f"grad_in:{input_name}"], f"grad_in:{input_name}", atol, rtol)
    for tf1_name, grad in run.grad.items():
        if tf1_name in case["grad_none"]:
            assert grad is None or not np.any(grad), f"TF1 gives {tf1_name} no gradient"
        else:
            _assert_gradient(grad, data[f"grad:{tf1_name}"], f"grad:{tf1_name}", atol, rtol)


def _assert_gradient(got: np.ndarray | None, expected: np.ndarray, what: str, atol: float, rtol: float) -> None:
    got = np.zeros_like(expected) if got is None else got
    np.testing.assert_allclose(got, expected, atol=atol, rtol=rtol, err_msg=what)
