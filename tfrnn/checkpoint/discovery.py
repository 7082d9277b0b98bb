"""Which variables of a TF1 checkpoint form which RNN, read from names and shapes alone.

TF1's names say where a cell sits (`<scope>/<cell name>/kernel`,
`multi_rnn_cell/cell_{i}`, `bidirectional_rnn/fw`,
`stack_bidirectional_rnn/cell_{i}`) and the shapes give its sizes. This module
knows no cell class: a group of variables is a cell when a class of
`TF1_CLASSES`, built with the arguments its `tf1_options` reads from the
shapes, names exactly those variables through `tf1_entries`. A new class (a
contrib cell, a user's own) is recognised as soon as it describes its weights.

Scopes are tried deepest first, so a wrapper is found around the cell found
below it. Every variable is placed: in a cell, as not an RNN weight (optimizer
slots, counters), or as unexplained, with the reason when names and shapes
give one. Loop structure (`MultiRNNCell` layers, bidirectional pairs, stacked
bidirectional layers) is read from the scopes around the cells, attention
wrappers around them by `tfrnn.checkpoint.attention_discovery` (what it finds,
`Attention`, is described here beside `Structure`, which holds it), and
`tfrnn.checkpoint.inspection` puts the two together.
"""

from __future__ import annotations

import collections
import dataclasses
import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Union

from tfrnn.base import RNNCell, default_name
from tfrnn.checkpoint.load import infer_input_depth  # the one rule for a checkpoint's input depth
from tfrnn.checkpoint.names import tf1_entries
from tfrnn.wrappers import MultiRNNCell

_BOOKKEEPING = re.compile(r"(?:.*/)?(?:global_step|beta1_power|beta2_power)(?:_\d+)?")
# An unnamed scalar `tf.Variable(0, trainable=False)`: tensorflow/nmt's global_step.
_UNNAMED_COUNTER = re.compile(r"Variable(?:_\d+)?")
# The slot names TF1's optimizers (and ExponentialMovingAverage) give: `<variable>/Adam_1`.
_OPTIMIZER_SLOT = re.compile(
    r"(?:Adam|AdamW|LazyAdam|Adamax|Nadam|Momentum|RMSProp|Adagrad|AdagradDA|ProximalAdagrad|Ftrl|Adadelta"
    r"|ExponentialMovingAverage)(?:_\d+)?"
)
_MULTI_LAYER = re.compile(r"(?:(?P<scope>.*)/)?(?P<multi>[^/]+)/cell_(?P<index>\d+)")
_DIRECTION = re.compile(r"(?:(?P<parent>.*)/)?(?P<direction>fw|bw)")
_STACK_LAYER = re.compile(r"(?P<stack>.+)/cell_(?P<index>\d+)(?P<dynamic>/bidirectional_rnn)?")
# A scope that is no class's default name is taken for a cell only if it says RNN
# somewhere; otherwise a `kernel`/`bias` pair is likelier a dense layer.
_RNN_WORDS = ("rnn", "cell", "lstm", "gru")
_PRE_1_2_NAMES = {"weights": "kernel", "biases": "bias"}
PRE_1_2_REASON = (
    "pre-TF-1.2 names ('weights'/'biases'); rename them 'kernel'/'bias' first "
    "(TF1's tf.contrib.rnn checkpoint_convert tool did this)"
)
# Reasons rank from the most specific; a variable gets the best one of its scopes.
_RENAMED, _KERAS, _NEAR_MISS, _DENSE = range(4)
_Diagnosis = tuple[int, str]  # (rank, reason) for the variables under a scope


@dataclasses.dataclass(frozen=True)
class Cell:
    """One TF1 cell found in a checkpoint: its class, the arguments its shapes imply, its place.

    Attributes:
        cls: the class, one of `TF1_CLASSES`.
        options: its constructor arguments, as `tf1_options` read them (and
            `with_options` added), without the wrapped cell and the name.
        path: the cell's whole scope, e.g. `rnn/multi_rnn_cell/cell_0/lstm_cell`.
        input_depth: the depth of the inputs the checkpoint's kernels imply.
        output_size: the cell's output size.
        variables: TF1 name -> shape, in TF1's order (a wrapper's include its cell's).
        inner: the wrapped cell, for a wrapper (`cls.wraps_a_cell`).
        note: a caveat, e.g. that the class was guessed from a custom name.
    """

    cls: type[RNNCell]
    options: dict[str, Any]
    path: str
    input_depth: int
    output_size: int
    variables: dict[str, list[int]]
    inner: Cell | None = None
    note: str = ""

    @property
    def name(self) -> str:
        return self.path.rpartition("/")[2]

    @property
    def scope(self) -> str:
        """The scope around the cell: what `load_tf1_checkpoint` takes as `scope`."""
        return self.path.rpartition("/")[0]

    def build(self) -> RNNCell:
        """A new, unbuilt cell: the class called with the options, the wrapped cell first."""
        return _construct(self.cls, self.inner.build() if self.inner else None, self.options, self.name)

    def with_options(self, given: Mapping[str, Any]) -> Cell:
        """This cell with `given` arguments passed to each cell whose constructor takes them.

        Wrappers pass them on and keep their own (a projection's `activation`
        is not the cell's).
        """
        if self.inner:
            return dataclasses.replace(self, inner=self.inner.with_options(given))
        taken = {key: value for key, value in given.items() if key in parameters(self.cls)}
        return dataclasses.replace(self, options={**self.options, **taken})


@dataclasses.dataclass(frozen=True)
class Stack:
    """A TF1 `MultiRNNCell`: its name and layers, `cell_0` first."""

    name: str
    cells: list[Cell]
    note: str = ""

    @property
    def input_depth(self) -> int:
        return self.cells[0].input_depth

    @property
    def output_size(self) -> int:
        return self.cells[-1].output_size

    @property
    def variables(self) -> dict[str, list[int]]:
        return {n: s for cell in self.cells for n, s in cell.variables.items()}

    def build(self) -> MultiRNNCell:
        return MultiRNNCell([cell.build() for cell in self.cells], name=self.name)

    def with_options(self, given: Mapping[str, Any]) -> Stack:
        return dataclasses.replace(self, cells=[cell.with_options(given) for cell in self.cells])


Unit = Union[Cell, Stack]  # what a TF1 loop ran: one cell, or a MultiRNNCell


@dataclasses.dataclass(frozen=True)
class Mechanism:
    """An attention mechanism: its class, the arguments its variables imply, its memory layer.

    Attributes:
        cls: a mechanism class of `tfrnn.seq2seq` (`BahdanauAttention`, ...).
        options: `num_units`, then the flags its variables show (`normalize`, `scale`).
        memory_depth: the depth of the memory it attends over (its memory layer's rows).
        memory_layer: the TF1 name of its memory layer's kernel.
    """

    cls: type[Any]
    options: dict[str, Any]
    memory_depth: int
    memory_layer: str


@dataclasses.dataclass(frozen=True)
class DenseLayer:
    """A Keras `Dense` layer TF1 named `<scope>/<name>/kernel` (and `/bias`)."""

    name: str
    units: int
    use_bias: bool
    input_depth: int


@dataclasses.dataclass(frozen=True)
class Attention:
    """An `AttentionWrapper` around a found cell, and what its decoder used beside it.

    Attributes:
        name: the wrapper's name and TF1 scope (`attention_wrapper` unless given).
        loop_scope: the scope of the loop that ran it (`decoder`: dynamic_decode; `rnn`: dynamic_rnn).
        mechanism_scope: the scope the mechanisms were built in (their memory layers').
        mechanisms: in the wrapper's order: `memory_layer`, `memory_layer_1`, ...
        attention_layer_size: the sizes of the wrapper's own attention layers, or None.
        attention_layers: the user's attention layers (`attention_layer=`), or None.
        output_attention: False when the output layer reads the cell's output.
        input_depth: the depth of the decoder's inputs (the cell's, less the attention).
        output_layer: the decoder's output layer under `loop_scope`, if any.
        embedding: `(TF1 name, [vocabulary, depth])` of the embedding of the decoder's ids, if any.
        variables: TF1 name -> shape of all of the above (the cell's are its unit's).
        note: what the names and shapes leave open.
    """

    name: str
    loop_scope: str
    mechanism_scope: str
    mechanisms: list[Mechanism]
    attention_layer_size: list[int] | None
    attention_layers: list[DenseLayer] | None
    output_attention: bool
    input_depth: int
    output_layer: DenseLayer | None
    embedding: tuple[str, list[int]] | None
    variables: dict[str, list[int]]
    note: str = ""

    @property
    def attention_depth(self) -> int:
        if self.attention_layer_size:
            return sum(self.attention_layer_size)
        if self.attention_layers:
            return sum(layer.units for layer in self.attention_layers)
        return sum(mechanism.memory_depth for mechanism in self.mechanisms)


@dataclasses.dataclass
class Structure:
    """What one TF1 loop call left: `units` are `(load scope, role, Cell or Stack)`."""

    kind: str  # "rnn", "bidirectional", "stack_bidirectional" or "attention"
    scope: str
    units: list[tuple[str, str, Unit]]
    dynamic: bool = True  # stack_bidirectional: a `bidirectional_rnn` level below cell_i
    attention: Attention | None = None  # kind "attention": what the wrapper holds beside its cell


@dataclasses.dataclass
class Inspection:
    """Every variable of a checkpoint, placed."""

    structures: list[Structure]
    not_rnn: dict[str, str]  # name -> why it is not an RNN weight
    unexplained: dict[str, str]  # name -> why it was not placed (may be "")
    shapes: Mapping[str, Sequence[int]]  # name -> shape, as given


@dataclasses.dataclass(frozen=True)
class _Trial:
    """What one class, built from the shapes under a scope, would name there."""

    cls: type[RNNCell]
    options: dict[str, Any]
    output_size: int
    depth: int | None
    expected: dict[str, list[int]]  # TF1 name -> shape
    inner: Cell | None

    def fits(self, actual: Mapping[str, Sequence[int]]) -> bool:
        return self.depth is not None and self.expected == actual


def parameters(cls: type[RNNCell]) -> dict[str, inspect.Parameter]:
    """The constructor's named parameters (`self`, `*args` and `**kwargs` left out)."""
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    signature = inspect.signature(cls.__init__).parameters.values()
    return {p.name: p for p in list(signature)[1:] if p.kind in named}


def not_rnn_weights(shapes: Mapping[str, Sequence[int]]) -> dict[str, str]:
    """Optimizer slots (`<variable>/Adam`, moving averages) and counters, with the reason.

    A slot is found by its owner (a variable named by a prefix of its name, or,
    when the optimizer ran inside a scope, `train_step/<owner>/Adam`, by a
    suffix of that prefix with the same shape), or failing that by the slot
    names TF1's optimizers give (`Adam`, `Adam_1`, `Momentum`, ...).
    """
    found: dict[str, str] = {}
    for name in shapes:
        owner = _slot_owner(name, shapes)
        if owner and name.startswith(owner + "/"):
            found[name] = "slot of another variable (optimizer state or moving average)"
        elif owner:
            found[name] = f"optimizer slot of {owner} (the optimizer ran in another scope)"
        elif _OPTIMIZER_SLOT.fullmatch(name.rpartition("/")[2]) and "/" in name:
            found[name] = "optimizer slot (its variable is not in the checkpoint under this name)"
        elif _BOOKKEEPING.fullmatch(name):
            found[name] = "optimizer or training counter"
        elif _UNNAMED_COUNTER.fullmatch(name) and not list(shapes[name]):
            found[name] = "an unnamed scalar tf.Variable: a training counter (tensorflow/nmt's global_step)"
    return found


def _slot_owner(name: str, shapes: Mapping[str, Sequence[int]]) -> str | None:
    """The variable `name` is a slot of: a prefix of it, else a same-shaped suffix of a prefix."""
    parts = name.split("/")
    prefixes = [parts[:end] for end in range(len(parts) - 1, 0, -1)]
    for prefix in prefixes:
        if "/".join(prefix) in shapes:
            return "/".join(prefix)
    for prefix in prefixes:
        for start in range(1, len(prefix)):
            owner = "/".join(prefix[start:])
            if owner in shapes and list(shapes[owner]) == list(shapes[name]):
                return owner
    return None


def find_cells(shapes: Mapping[str, Sequence[int]]) -> tuple[list[Cell], dict[str, str]]:
    """`(cells, unexplained)`: the outermost cells, and why every other variable is left.

    Each scope, deepest first, is offered the variables below it that no cell
    has claimed yet, and the cells found just below it (for wrappers).
    """
    classes, shapes = _registry(), {name: list(shape) for name, shape in shapes.items()}
    found: dict[str, Cell] = {}
    claimed: set[str] = set()
    diagnoses: dict[str, _Diagnosis] = {}
    for path in _scopes_deepest_first(shapes):
        own = {n: s for n, s in shapes.items() if n.startswith(path + "/") and n not in claimed}
        if not own:
            continue
        below = [cell for cell in found.values() if cell.scope == path]
        outcome = _recognise(path, own, below, classes, shapes)
        if isinstance(outcome, Cell):
            if outcome.inner:
                found.pop(outcome.inner.path, None)
            found[path] = outcome
            claimed.update(outcome.variables)
        elif outcome:
            diagnoses[path] = outcome
    unexplained = {name: _reason(name, diagnoses) for name in shapes if name not in claimed}
    return sorted(found.values(), key=lambda cell: cell.path), unexplained


def _registry() -> list[type[RNNCell]]:
    # Imported when needed, not at import time: `tfrnn` imports `tfrnn.checkpoint`, and
    # TF1_CLASSES is complete only once every module of tfrnn (and the user's) has loaded.
    # Every public name is looked up, so the classes load even if `tfrnn` imports lazily.
    import tfrnn
    from tfrnn.base import TF1_CLASSES

    for name in tfrnn.__all__:
        getattr(tfrnn, name)

    return list(TF1_CLASSES)


def _scopes_deepest_first(shapes: Iterable[str]) -> list[str]:
    scopes = {name.rsplit("/", depth)[0] for name in shapes for depth in range(1, name.count("/") + 1)}
    return sorted(scopes, key=lambda scope: (-scope.count("/"), scope))


def _recognise(
    path: str, own: Mapping[str, Sequence[int]], below: list[Cell], classes: list[type[RNNCell]],
    shapes: Mapping[str, Sequence[int]],
) -> Cell | _Diagnosis | None:
    """The cell at `path` (a `Cell`), else `(rank, reason)` for its variables, else None."""
    trials = [trial for cls in classes for inner in _inner_choices(cls, below)
              if (trial := _trial(cls, path, own, inner, shapes))]
    fits = [trial for trial in trials if trial.fits(_with_inner(own, trial.inner))]
    choice = _choose(path, fits, {default_name(cls) for cls in classes})
    if isinstance(choice, Cell):
        return choice
    return _diagnose(path, own, below, classes, shapes) or choice or _near_miss(path, own, trials, classes)


def _inner_choices(cls: type[RNNCell], below: list[Cell]) -> Sequence[Cell | None]:
    return below if cls.wraps_a_cell else [None]


def _with_inner(own: Mapping[str, Sequence[int]], inner: Cell | None) -> Mapping[str, Sequence[int]]:
    return {**own, **inner.variables} if inner else own


def _trial(
    cls: type[RNNCell], path: str, own: Mapping[str, Sequence[int]], inner: Cell | None,
    shapes: Mapping[str, Sequence[int]],
) -> _Trial | None:
    """What `cls` named after `path`'s last part, sized by its `tf1_options`, would name there."""
    scope, _, name = path.rpartition("/")
    relative = {n: tuple(shape) for n, shape in _relative(own, path).items()}
    try:
        inner_cell = inner.build() if inner else None
        options = cls.tf1_options(relative, inner_cell)
        if options is None:
            return None
        cell = _construct(cls, inner_cell, options, name)
        depth = infer_input_depth(cell, shapes, scope)
        expected = {e.name: list(e.shape) for e in tf1_entries(cell, depth or 0, scope)}
    except Exception:  # noqa: BLE001 - options guessed from shapes it was not written for: no fit
        return None
    return _Trial(cls, options, cell.output_size, depth, expected, inner)


def _construct(cls: type[RNNCell], inner: RNNCell | None, options: Mapping[str, Any], name: str) -> RNNCell:
    """`cls(inner, **options, name=name)`, without `inner` when None."""
    constructor: Callable[..., RNNCell] = cls  # each class's own arguments, which RNNCell's do not describe
    return constructor(*([inner] if inner is not None else []), **options, name=name)


def _choose(path: str, fits: list[_Trial], default_names: set[str]) -> Cell | _Diagnosis | None:
    """The fit TF1's naming makes likeliest, as a `Cell`; else a reason, or None.

    TF1 names a cell after its class (`basic_lstm_cell`, uniquified
    `basic_lstm_cell_1`), so that name decides, and several classes with
    that name (identical layouts) go by `TF1_CLASSES` order. A custom name
    must say RNN somewhere; the class whose default name shares most words
    with it wins, with a note when the shapes also fit a cell of other sizes.
    """
    name = path.rpartition("/")[2]
    named = [trial for trial in fits if default_name(trial.cls) == base_name(name)]
    if named:
        return _cell(path, named[0])
    if not fits or base_name(name) in default_names:  # another class's name: say how it differs
        return None
    if not any(word in name.lower() for word in _RNN_WORDS):
        return _DENSE, (f"{_own_names(fits[0], path)} under {name!r}, not a cell's default name: a dense "
                        f"layer? (if it is a cell, build it with name={name!r}: the shapes fit {fits[0].cls.__name__})")
    best, *others = sorted(fits, key=lambda trial: -_shared_words(trial.cls, name))  # stable: TF1_CLASSES order
    other = [t.cls.__name__ for t in others if (t.depth, t.output_size) != (best.depth, best.output_size)]
    return _cell(path, best, f"guessed from the name {name!r}; the shapes also fit {other[0]}" if other else "")


def _cell(path: str, trial: _Trial, note: str = "") -> Cell:
    assert trial.depth is not None  # only fits are made cells, and a fit has a depth
    return Cell(trial.cls, trial.options, path, trial.depth, trial.output_size, trial.expected, trial.inner, note)


def base_name(name: str) -> str:
    """TF1 uniquifies default scopes within a scope: `basic_lstm_cell_1`."""
    return re.sub(r"_\d+$", "", name)


def _shared_words(cls: type[RNNCell], name: str) -> int:
    return sum(word in name.lower() for word in default_name(cls).split("_"))


def _own_names(trial: _Trial, path: str) -> str:
    """The names a fit gives its own weights (not its wrapped cell's), in TF1's order."""
    inner = trial.inner.variables if trial.inner else {}
    return " and ".join(name[len(path) + 1:] for name in trial.expected if name not in inner)


def _diagnose(
    path: str, own: Mapping[str, Sequence[int]], below: list[Cell], classes: list[type[RNNCell]],
    shapes: Mapping[str, Sequence[int]],
) -> _Diagnosis | None:
    """Why no cell is at `path` when the names say more than the shapes: old names, Keras names."""
    name = path.rpartition("/")[2]
    if any(n.rpartition("/")[2] in _PRE_1_2_NAMES for n in own):
        renamed = {_renamed(n): s for n, s in own.items()}
        if isinstance(_recognise(path, renamed, below, classes, {**shapes, **renamed}), Cell):
            return _RENAMED, PRE_1_2_REASON
    if f"{path}/recurrent_kernel" in own:
        return _KERAS, (f"a Keras cell's kernel, recurrent_kernel and bias under {name!r}, not a TF1 cell: "
                        "build that keras.layers cell and set_weights([kernel, recurrent_kernel, bias])")
    return None


def _renamed(name: str) -> str:
    head, _, last = name.rpartition("/")
    return f"{head}/{_PRE_1_2_NAMES.get(last, last)}"


def _near_miss(
    path: str, own: Mapping[str, Sequence[int]], trials: list[_Trial], classes: list[type[RNNCell]],
) -> _Diagnosis | None:
    """For a scope with a class's default name: how its variables differ from that class's."""
    name = path.rpartition("/")[2]
    if base_name(name) not in {default_name(cls) for cls in classes}:
        return None
    named = [t for t in trials if default_name(t.cls) == base_name(name)]
    closest = max(named, key=lambda t: len(set(t.expected) & set(_with_inner(own, t.inner))), default=None)
    have = _relative(_with_inner(own, closest.inner if closest else None), path)
    if closest is None:
        return _NEAR_MISS, f"not a complete TF1 cell under {name!r}: it has only {_listing(have)}"
    cls, want = closest.cls.__name__, _relative(closest.expected, path)
    if set(want) == set(have):
        have = {n: have[n] for n in want}  # in TF1's order, beside the expected shapes
        return _NEAR_MISS, f"{cls} weights under {name!r} with inconsistent shapes {have}; {cls} expects {want}"
    if set(have) < set(want):
        return _NEAR_MISS, (f"not a complete TF1 cell under {name!r}: it has only {_listing(have)}; "
                            f"{cls} also has {sorted(set(want) - set(have))}")
    return _NEAR_MISS, f"not a TF1 cell under {name!r}: it has {_listing(have)}; {cls} has {sorted(want)}"


def _listing(names: Iterable[str]) -> str:
    """Variable names relative to a scope, for a reason: those directly in it, then each deeper
    scope once, with how many variables it holds (`['bias', 'kernel', 'wrapper/ (9 variables)']`)."""
    direct = sorted(n for n in names if "/" not in n)
    deeper = collections.Counter(n.split("/", 1)[0] for n in names if "/" in n)
    scopes = [f"{scope}/ ({count} variable{'s' * (count != 1)})" for scope, count in sorted(deeper.items())]
    return str(direct + scopes)


def _relative(variables: Mapping[str, Sequence[int]], path: str) -> dict[str, Sequence[int]]:
    return {name[len(path) + 1:]: shape for name, shape in variables.items()}


def _reason(name: str, diagnoses: Mapping[str, _Diagnosis]) -> str:
    """The most specific reason any scope of `name` gave (the deepest among equals)."""
    scopes = [name.rsplit("/", depth)[0] for depth in range(1, name.count("/") + 1)]
    found = [diagnoses[scope] for scope in scopes if scope in diagnoses]
    if found:
        return min(found, key=lambda diagnosis: diagnosis[0])[1]
    return PRE_1_2_REASON if name.rpartition("/")[2] in _PRE_1_2_NAMES else ""


# ------------------------------------------------------------------- loop structure


def group_layers(cells: list[Cell], unexplained: dict[str, str]) -> list[tuple[str, Unit]]:
    """`[(load scope, Cell or Stack)]`: `.../multi_rnn_cell/cell_{i}/<cell>` become one Stack."""
    units: list[tuple[str, Unit]] = []
    layers: dict[tuple[str, str], dict[int, Cell]] = {}  # (scope, MultiRNNCell name) -> index -> cell
    for cell in cells:
        match = _MULTI_LAYER.fullmatch(cell.scope)
        if match:
            key = (match["scope"] or "", match["multi"])
            layers.setdefault(key, {})[int(match["index"])] = cell
        else:
            units.append((cell.scope, cell))
    for (scope, multi), by_index in layers.items():
        if sorted(by_index) != list(range(len(by_index))):
            reason = f"layers {sorted(by_index)} of a MultiRNNCell under {scope!r}: some cell_{{i}} are missing"
            unexplained.update({n: reason for cell in by_index.values() for n in cell.variables})
            continue
        units.append((scope, _stack(multi, [by_index[i] for i in range(len(by_index))])))
    return units


def _stack(name: str, cells: list[Cell]) -> Stack:
    chain = [i for i in range(1, len(cells)) if cells[i].input_depth != cells[i - 1].output_size]
    note = f"input depth of cell_{chain[0]} differs from the output of the layer below" if chain else ""
    return Stack(name, cells, note)


def group_directions(units: list[tuple[str, Unit]]) -> list[Structure]:
    """Pair `<parent>/fw` with `<parent>/bw`; pairs under `<S>/cell_{i}` are stacked layers."""
    pairs: dict[str, dict[str, list[tuple[str, Unit]]]] = {}  # parent -> "fw"/"bw" -> (scope, unit)s
    singles: list[Structure] = []
    for scope, unit in units:
        match = _DIRECTION.fullmatch(scope)
        if match:
            pairs.setdefault(match["parent"] or "", {}).setdefault(match["direction"], []).append((scope, unit))
        else:
            singles.append(Structure("rnn", scope, [(scope, "", unit)]))
    bidirectional: list[Structure] = []
    for parent, directions in pairs.items():
        if sorted(directions) == ["bw", "fw"] and all(len(found) == 1 for found in directions.values()):
            (fw_scope, fw), (bw_scope, bw) = directions["fw"][0], directions["bw"][0]
            bidirectional.append(Structure("bidirectional", parent, [(fw_scope, "fw", fw), (bw_scope, "bw", bw)]))
        else:
            singles += [Structure("rnn", s, [(s, "", u)]) for found in directions.values() for s, u in found]
    return singles + _group_stacked_layers(bidirectional)


def _group_stacked_layers(bidirectional: list[Structure]) -> list[Structure]:
    stacks: dict[tuple[str, bool], dict[int, Structure]] = {}  # (scope, dynamic) -> index -> layer
    plain: list[Structure] = []
    for structure in bidirectional:
        match = _STACK_LAYER.fullmatch(structure.scope)
        if match:
            stacks.setdefault((match["stack"], bool(match["dynamic"])), {})[int(match["index"])] = structure
        else:
            plain.append(structure)
    for (scope, dynamic), by_index in stacks.items():
        if sorted(by_index) != list(range(len(by_index))):
            plain += by_index.values()  # not a whole stack: report each pair as it is
            continue
        units = [unit for i in range(len(by_index)) for unit in by_index[i].units]
        plain.append(Structure("stack_bidirectional", scope, units, dynamic))
    return plain
