"""`tfrnn-checkpoint`: find the RNNs in a TF1 checkpoint and convert them to Keras files.

    tfrnn-checkpoint inspect PATH
    tfrnn-checkpoint convert PATH --scope rnn --to keras OUT.weights.h5

(also `python -m tfrnn.checkpoint ...`). `inspect` reads variable names and
shapes only, never values: TF1's names say where a cell sits (`<scope>/<cell
name>/kernel`, `multi_rnn_cell/cell_{i}`, `bidirectional_rnn/fw`,
`stack_bidirectional_rnn/cell_{i}`) and the kernel shapes give its sizes. It
prints, for each structure, the tfrnn code that rebuilds and loads it, and
lists every other variable: optimizer slots and counters as "not RNN weights",
the rest as "unexplained". `convert` loads one structure with
`load_tf1_checkpoint` (which checks every name and shape first) and saves it in
Keras 3's formats, for native Keras cells (`to_keras`) or for tfrnn cells.
"""

import argparse
import dataclasses
import os
import re
import sys

import keras
import tensorflow as tf

from tfrnn import cells as tfrnn_cells
from tfrnn.checkpoint import load_tf1_checkpoint, to_keras

from tfrnn.wrappers import MultiRNNCell

__all__ = ["main"]

PROG = "tfrnn-checkpoint"
_DEFAULT_NAMES = {
    "basic_rnn_cell": "BasicRNNCell", "basic_lstm_cell": "BasicLSTMCell",
    "lstm_cell": "LSTMCell", "gru_cell": "GRUCell",
}
_NAME_OF_CLASS = {cls: name for name, cls in _DEFAULT_NAMES.items()}
_LEAF_ORDER = {leaf: i for i, leaf in enumerate((
    "kernel", "bias", "w_f_diag", "w_i_diag", "w_o_diag", "projection/kernel",
    "gates/kernel", "gates/bias", "candidate/kernel", "candidate/bias",
))}
# The weights below a cell's scope; `weights`/`biases` are TF < 1.2's names.
_LEAF = re.compile(
    r"(?P<cell>.+?)/(?P<leaf>(?:(?:gates|candidate|projection)/)?(?:kernel|bias|weights|biases)|w_[fio]_diag)"
)
_BOOKKEEPING = re.compile(r"(?:.*/)?(?:global_step|beta1_power|beta2_power)(?:_\d+)?")
_MULTI_LAYER = re.compile(r"(?:(?P<scope>.*)/)?(?P<multi>[^/]+)/cell_(?P<index>\d+)")
_DIRECTION = re.compile(r"(?:(?P<parent>.*)/)?(?P<direction>fw|bw)")
_STACK_LAYER = re.compile(r"(?P<stack>.+)/cell_(?P<index>\d+)(?P<dynamic>/bidirectional_rnn)?")
_OUTPUT_SUFFIXES = (".weights.h5", ".keras")


class ToolError(Exception):
    """A failure reported as one line on stderr; `code` is the exit status."""

    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


@dataclasses.dataclass
class Cell:
    """One TF1 cell, as far as names and shapes tell: class, sizes, its variables."""

    cls: str
    name: str
    num_units: int
    input_depth: int
    variables: dict
    num_proj: int = None
    use_peepholes: bool = False
    note: str = ""
    path: str = ""  # the cell's whole scope, e.g. rnn/multi_rnn_cell/cell_0/basic_lstm_cell

    @property
    def output_size(self):
        return self.num_proj or self.num_units

    def code(self, forget_bias=1.0, activation="tanh"):
        args = [str(self.num_units)]
        args += ["use_peepholes=True"] if self.use_peepholes else []
        args += [f"num_proj={self.num_proj}"] if self.num_proj else []
        args += [f"forget_bias={forget_bias!r}"] if "LSTM" in self.cls and forget_bias != 1.0 else []
        args += [f"activation={activation!r}"] if activation != "tanh" else []
        args += [f"name={self.name!r}"] if self.name != _NAME_OF_CLASS[self.cls] else []
        return f"tfrnn.{self.cls}({', '.join(args)})"

    def keras_code(self, activation="tanh"):
        args = [str(self.num_units)] + (["reset_after=False"] if self.cls == "GRUCell" else [])
        args += [f"activation={activation!r}"] if activation != "tanh" else []
        keras_class = {"BasicRNNCell": "SimpleRNNCell", "GRUCell": "GRUCell"}.get(self.cls, "LSTMCell")
        return f"keras.layers.{keras_class}({', '.join(args)})"

    def build(self, **options):
        # Built from the very text `inspect` prints, so the printed code is the code that ran.
        return eval(self.code(**options), {"__builtins__": {}, "tfrnn": tfrnn_cells})  # noqa: S307

    def describe(self):
        return f"{self.code()[len('tfrnn.'):]}, input depth {self.input_depth}" + (f" ({self.note})" if self.note else "")


@dataclasses.dataclass
class Stack:
    """A TF1 `MultiRNNCell`: its name and layers, `cell_0` first."""

    name: str
    cells: list
    note: str = ""

    input_depth = property(lambda self: self.cells[0].input_depth)
    output_size = property(lambda self: self.cells[-1].output_size)
    variables = property(lambda self: {n: s for cell in self.cells for n, s in cell.variables.items()})

    def code(self, **options):
        name = "" if self.name == "multi_rnn_cell" else f", name={self.name!r}"
        return f"tfrnn.MultiRNNCell([{', '.join(cell.code(**options) for cell in self.cells)}]{name})"

    def keras_code(self, activation="tanh"):
        return f"keras.layers.StackedRNNCells([{', '.join(cell.keras_code(activation) for cell in self.cells)}])"

    def build(self, **options):
        return MultiRNNCell([cell.build(**options) for cell in self.cells], name=self.name)


@dataclasses.dataclass
class Structure:
    """What one TF1 loop call left: `units` are `(load scope, role, Cell or Stack)`."""

    kind: str  # "rnn", "bidirectional" or "stack_bidirectional"
    scope: str
    units: list
    dynamic: bool = True  # stack_bidirectional: a `bidirectional_rnn` level below cell_i


@dataclasses.dataclass
class Inspection:
    structures: list
    not_rnn: dict  # name -> why it is not an RNN weight
    unexplained: dict  # name -> why it was not placed (may be "")
    shapes: dict


# ------------------------------------------------------------------- reading


def _resolve_checkpoint(path):
    """The checkpoint prefix for a prefix, its `.index`/`.data-*` file, or a directory."""
    path = str(path)
    if os.path.isdir(path):
        latest = tf.train.latest_checkpoint(path)
        if latest is None:
            raise ToolError(
                f"{path} is a directory without a readable 'checkpoint' file; pass the "
                f"checkpoint prefix instead (e.g. {os.path.join(path, 'model.ckpt')})"
            )
        return latest
    prefix = re.sub(r"\.(index|data-\d+-of-\d+)$", "", path)
    if not os.path.exists(prefix + ".index"):
        raise ToolError(
            f"no TF1 checkpoint at {path}: {prefix}.index does not exist; pass the "
            "checkpoint prefix (model.ckpt for model.ckpt.index) or its directory"
        )
    return prefix


def _read_shapes(prefix):
    try:
        shapes = tf.train.load_checkpoint(prefix).get_variable_to_shape_map()
    except (tf.errors.OpError, ValueError) as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ToolError(f"{prefix} is not a readable TF1 checkpoint: {detail}") from None
    return {name: list(shape) for name, shape in shapes.items()}


def _inspect_shapes(shapes):
    """Every variable placed: in an RNN structure, as not an RNN weight, or unexplained."""
    not_rnn = _not_rnn_weights(shapes)
    unexplained = {}
    cells = _find_cells({n: s for n, s in shapes.items() if n not in not_rnn}, unexplained)
    units = _group_layers(cells, unexplained)
    structures = sorted(_group_directions(units), key=lambda s: (s.scope, s.units[0][0]))
    return Inspection(structures, not_rnn, unexplained, shapes)


def _not_rnn_weights(shapes):
    found = {}
    for name in shapes:
        parts = name.split("/")
        owners = ["/".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]
        owner = next((o for o in owners if o in shapes), None)
        if owner:  # `<variable>/Adam`, `<variable>/Momentum`, `<variable>/ExponentialMovingAverage`
            found[name] = "slot of another variable (optimizer state or moving average)"
        elif _BOOKKEEPING.fullmatch(name):
            found[name] = "optimizer or training counter"
    return found


def _find_cells(shapes, unexplained):
    """`[(scope of the cell, Cell)]` from the variables that end like a cell's weights."""
    groups = {}
    for name, shape in shapes.items():
        match = _LEAF.fullmatch(name)
        if match:
            groups.setdefault(match["cell"], {})[match["leaf"]] = (name, shape)
        else:
            unexplained[name] = ""
    cells = []
    for path, leaves in groups.items():
        keras_kernel = f"{path}/recurrent_kernel"
        if keras_kernel in unexplained:  # a tf.keras cell that TF1 code ran: not TF1's layout
            leaves["recurrent_kernel"] = (keras_kernel, shapes[keras_kernel])
        cell_or_reason = _cell_from_leaves(path.rpartition("/")[2], leaves)
        if isinstance(cell_or_reason, Cell):
            cell_or_reason.path = path
            cells.append((path, cell_or_reason))
        else:
            unexplained.update({name: cell_or_reason for name, _ in leaves.values()})
    return cells


def _cell_from_leaves(name, leaves):
    shapes = {leaf: shape for leaf, (_, shape) in leaves.items()}
    # In TF1's order (tf1_variable_names'), for the reports.
    variables = dict(leaves[leaf] for leaf in sorted(leaves, key=lambda leaf: _LEAF_ORDER.get(leaf, 99)))
    if {"weights", "biases"} & {leaf.rpartition("/")[2] for leaf in shapes}:
        return ("pre-TF-1.2 names ('weights'/'biases'); rename them 'kernel'/'bias' "
                "first (TF1's tf.contrib.rnn checkpoint_convert tool did this)")
    if "recurrent_kernel" in shapes:
        return (f"a Keras cell's kernel, recurrent_kernel and bias under {name!r}, not a TF1 "
                "cell: build that keras.layers cell and set_weights([kernel, recurrent_kernel, bias])")
    if set(shapes) == {"gates/kernel", "gates/bias", "candidate/kernel", "candidate/bias"}:
        return _gru_cell(name, shapes, variables)
    extras = set(shapes) - {"kernel", "bias"}
    if {"kernel", "bias"} <= set(shapes) and extras <= {"w_f_diag", "w_i_diag", "w_o_diag", "projection/kernel"}:
        if extras:
            return _full_lstm_cell(name, shapes, variables)
        return _kernel_bias_cell(name, shapes, variables)
    if _DEFAULT_NAMES.get(_base_name(name)) or set(shapes) - {"kernel", "bias"}:
        return f"not a complete TF1 cell under {name!r}: it has only {sorted(shapes)}"
    return ""


def _gru_cell(name, shapes, variables):
    rows, units = shapes["candidate/kernel"]
    expected = {"gates/kernel": [rows, 2 * units], "gates/bias": [2 * units], "candidate/bias": [units]}
    if any(shapes[leaf] != shape for leaf, shape in expected.items()) or rows <= units:
        return f"GRU weights under {name!r} with inconsistent shapes {shapes}"
    return Cell("GRUCell", name, units, rows - units, variables)


def _full_lstm_cell(name, shapes, variables):
    (rows, columns), units = shapes["kernel"], shapes["kernel"][1] // 4
    peepholes = {leaf for leaf in shapes if leaf.endswith("_diag")}
    num_proj = shapes.get("projection/kernel", [units, None])[1]
    consistent = (
        columns == 4 * units and shapes["bias"] == [columns] and peepholes in (set(), {"w_f_diag", "w_i_diag", "w_o_diag"})
        and all(shapes[leaf] == [units] for leaf in peepholes)
        and shapes.get("projection/kernel", [units])[0] == units and rows > (num_proj or units)
    )
    if not consistent:
        return f"LSTMCell weights under {name!r} with inconsistent shapes {shapes}"
    depth = rows - (num_proj or units)
    return Cell("LSTMCell", name, units, depth, variables, num_proj=num_proj, use_peepholes=bool(peepholes))


def _kernel_bias_cell(name, shapes, variables):
    """`kernel [D + H, n * H]` and `bias`: BasicRNNCell (n = 1) or an LSTM (n = 4), by name."""
    (rows, columns), bias = shapes["kernel"], shapes["bias"]
    fits = {"BasicRNNCell": rows > columns, "BasicLSTMCell": columns % 4 == 0 and rows > columns // 4}
    cls, note = _kernel_bias_class(name, fits)
    if cls is None:
        return (f"kernel and bias under {name!r}, not a cell's default name: a dense layer? "
                f"(if it is a cell, build it with name={name!r})")
    units = columns if cls == "BasicRNNCell" else columns // 4
    if bias != [columns] or not fits["BasicRNNCell" if cls == "BasicRNNCell" else "BasicLSTMCell"]:
        return f"{cls} weights under {name!r} with inconsistent shapes {shapes}"
    return Cell(cls, name, units, rows - units, variables, note=note)


def _kernel_bias_class(name, fits):
    """The class TF1's default name says; for a custom name, what its words and shapes allow."""
    default = _DEFAULT_NAMES.get(_base_name(name))
    if default:
        return (None, "") if default == "GRUCell" else (default, "")
    lower = name.lower()
    if "lstm" in lower:
        return "BasicLSTMCell", ""
    if "rnn" not in lower and "cell" not in lower or not any(fits.values()):
        return None, ""
    if all(fits.values()):
        cls = "BasicRNNCell" if "rnn" in lower else "BasicLSTMCell"
        other = "BasicLSTMCell" if cls == "BasicRNNCell" else "BasicRNNCell"
        return cls, f"guessed from the name {name!r}; the shapes also fit a {other}"
    return next(cls for cls, fit in fits.items() if fit), ""


def _group_layers(cells, unexplained):
    """`[(load scope, Cell or Stack)]`: `.../multi_rnn_cell/cell_{i}/<cell>` become one Stack."""
    units, layers = [], {}
    for path, cell in cells:
        prefix = path[: -len(cell.name)].rstrip("/")
        match = _MULTI_LAYER.fullmatch(prefix)
        if match:
            key = (match["scope"] or "", match["multi"])
            layers.setdefault(key, {})[int(match["index"])] = cell
        else:
            units.append((prefix, cell))
    for (scope, multi), by_index in layers.items():
        if sorted(by_index) != list(range(len(by_index))):
            reason = f"layers {sorted(by_index)} of a MultiRNNCell under {scope!r}: some cell_{{i}} are missing"
            unexplained.update({n: reason for cell in by_index.values() for n in cell.variables})
            continue
        stack = Stack(multi, [by_index[i] for i in range(len(by_index))])
        chain = [i for i in range(1, len(stack.cells)) if stack.cells[i].input_depth != stack.cells[i - 1].output_size]
        stack.note = f"input depth of cell_{chain[0]} differs from the output of the layer below" if chain else ""
        units.append((scope, stack))
    return units


def _group_directions(units):
    """Pair `<parent>/fw` with `<parent>/bw`; pairs under `<S>/cell_{i}` are stacked layers."""
    pairs, singles = {}, []
    for scope, unit in units:
        match = _DIRECTION.fullmatch(scope)
        if match:
            pairs.setdefault(match["parent"] or "", {}).setdefault(match["direction"], []).append((scope, unit))
        else:
            singles.append(Structure("rnn", scope, [(scope, "", unit)]))
    bidirectional = []
    for parent, directions in pairs.items():
        if sorted(directions) == ["bw", "fw"] and all(len(found) == 1 for found in directions.values()):
            (fw_scope, fw), (bw_scope, bw) = directions["fw"][0], directions["bw"][0]
            bidirectional.append(Structure("bidirectional", parent, [(fw_scope, "fw", fw), (bw_scope, "bw", bw)]))
        else:
            singles += [Structure("rnn", s, [(s, "", u)]) for found in directions.values() for s, u in found]
    return singles + _group_stacked_layers(bidirectional)


def _group_stacked_layers(bidirectional):
    stacks, plain = {}, []
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


def _base_name(name):
    """TF1 uniquifies default scopes within a scope: `basic_lstm_cell_1`."""
    return re.sub(r"_\d+$", "", name)


# ------------------------------------------------------------------- inspect


def _format_inspection(path, inspection):
    """The `inspect` report: structures with their tfrnn code, then every other variable."""
    count = len(inspection.structures)
    lines = [f"TF1 checkpoint {path}: {len(inspection.shapes)} variables, {count} RNN structure{'s' * (count != 1)}"]
    for number, structure in enumerate(inspection.structures, start=1):
        lines += ["", f"[{number}] {_title(structure)}"]
        for scope, role, unit in structure.units:
            lines += _unit_lines(unit, f"    {role or 'cell'} {scope!r}: ")
        lines += ["    tfrnn code:"] + [f"        {line}" for line in _tfrnn_code(structure, path)]
    lines += _variable_list("not RNN weights", inspection.not_rnn, inspection.shapes)
    lines += _variable_list("unexplained", inspection.unexplained, inspection.shapes)
    if inspection.structures:
        lines += ["", "Checkpoints do not store activation, forget_bias (LSTMs; TF1's default 1.0), cell_clip "
                  "or proj_clip (LSTMCell): pass them as your TF1 code did (convert: --activation, --forget-bias)."]
    return "\n".join(lines)


def _title(structure):
    first = structure.units[0][2]
    if structure.kind == "rnn":
        call = "a direct cell call" if not structure.scope else "dynamic_rnn, static_rnn or raw_rnn"
        return f"scope {structure.scope!r}: {call}, input depth {first.input_depth}"
    if structure.kind == "bidirectional":
        return (f"scope {structure.scope!r}: bidirectional_dynamic_rnn or static_bidirectional_rnn, "
                f"input depth {first.input_depth}")
    call = "stack_bidirectional_dynamic_rnn" if structure.dynamic else "stack_bidirectional_rnn"
    return f"scope {structure.scope!r}: {call}, {len(structure.units) // 2} layers, input depth {first.input_depth}"


def _unit_lines(unit, head):
    if isinstance(unit, Cell):
        return [head + unit.describe()]
    note = f" ({unit.note})" if unit.note else ""
    lines = [f"{head}MultiRNNCell of {len(unit.cells)} layers{note}"]
    return lines + [f"        cell_{i}: {cell.describe()}" for i, cell in enumerate(unit.cells)]


def _tfrnn_code(structure, path):
    """Runnable code that builds the structure's cells and loads them from `path`."""
    lines = ["import tfrnn", f"PATH = {str(path)!r}"]
    if structure.kind == "rnn":
        scope, _, unit = structure.units[0]
        lines += [f"cell = {unit.code()}", f"tfrnn.load_tf1_checkpoint(PATH, cell, scope={scope!r})"]
        if not scope:
            return lines + ["# output, state = cell(inputs, cell.zero_state(batch_size, 'float32'))  # one step"]
        return lines + [f"# outputs, state = tfrnn.dynamic_rnn(cell, inputs, dtype='float32')  "
                        f"# inputs [batch, time, {unit.input_depth}]"]
    if structure.kind == "bidirectional":
        (fw_scope, _, fw), (bw_scope, _, bw) = structure.units
        return lines + [
            f"cell_fw = {fw.code()}", f"cell_bw = {bw.code()}",
            f"tfrnn.load_tf1_checkpoint(PATH, cell_fw, scope={fw_scope!r})",
            f"tfrnn.load_tf1_checkpoint(PATH, cell_bw, scope={bw_scope!r})",
            "# (outputs_fw, outputs_bw), (state_fw, state_bw) = tfrnn.bidirectional_dynamic_rnn("
            "cell_fw, cell_bw, inputs, dtype='float32')",
        ]
    return lines + _stack_code(structure)


def _stack_code(structure):
    fws, bws = structure.units[0::2], structure.units[1::2]
    lines = [
        f"cells_fw = [{', '.join(unit.code() for _, _, unit in fws)}]",
        f"cells_bw = [{', '.join(unit.code() for _, _, unit in bws)}]",
    ]
    for layer, ((fw_scope, _, _), (bw_scope, _, _)) in enumerate(zip(fws, bws)):
        lines += [
            f"tfrnn.load_tf1_checkpoint(PATH, cells_fw[{layer}], scope={fw_scope!r})",
            f"tfrnn.load_tf1_checkpoint(PATH, cells_bw[{layer}], scope={bw_scope!r})",
        ]
    if structure.dynamic:
        return lines + ["# outputs, states_fw, states_bw = tfrnn.stack_bidirectional_dynamic_rnn("
                        "cells_fw, cells_bw, inputs, dtype='float32')"]
    return lines + ["# outputs, states_fw, states_bw = tfrnn.stack_bidirectional_rnn("
                    "cells_fw, cells_bw, tf.unstack(inputs, axis=1), dtype='float32')"]


def _variable_list(title, reasons, shapes):
    if not reasons:
        return []
    lines = ["", f"{title} ({len(reasons)}):"]
    return lines + [f"    {name} {shapes[name]}" + (f"  {reasons[name]}" if reasons[name] else "")
                    for name in sorted(reasons)]


# ------------------------------------------------------------------- convert


def _convert(path, scope, to, out, forget_bias=1.0, activation="tanh"):
    """Loads the cell(s) at `scope`, saves them to `out`; returns the report."""
    options = {"forget_bias": forget_bias, "activation": activation}
    suffix = _output_suffix(out)
    prefix = _resolve_checkpoint(path)
    load_scope, unit = _unit_at(_inspect_shapes(_read_shapes(prefix)), scope, path)
    try:
        cell = unit.build(**options)
        load_tf1_checkpoint(prefix, cell, scope=load_scope)
        saved = to_keras(cell) if to == "keras" else cell
    except (ValueError, TypeError) as error:
        hint = " (--to tfrnn keeps TF1's cell)" if to == "keras" else ""
        raise ToolError(" ".join(str(error).split()) + hint) from None
    model = keras.Sequential([keras.Input((None, unit.input_depth)), keras.layers.RNN(saved, return_sequences=True)])
    _save_atomically(model, out, suffix)
    lines = [f"converted scope {load_scope!r} of {prefix} ({_summary(unit)}) to {to} cells:"]
    specs = unit.cells if isinstance(unit, Stack) else [unit]
    for spec, target in zip(specs, getattr(saved, "cells", [saved])):
        lines += _conversion_lines(spec, target, to, options)
    lines += [f"wrote {out}; load it with:"]
    return "\n".join(lines + [f"    {line}" for line in _loading_code(unit, to, out, suffix, options)])


def _output_suffix(out):
    suffix = next((s for s in _OUTPUT_SUFFIXES if str(out).endswith(s)), None)
    if suffix is None:
        raise ToolError(f"output {out} must end in .weights.h5 (weights only) or .keras (whole model)", code=2)
    directory = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(directory):
        raise ToolError(f"cannot write {out}: directory {directory} does not exist")
    return suffix


def _unit_at(inspection, scope, path):
    """The one cell or MultiRNNCell whose load scope is `scope` (any, if only one exists)."""
    units = [(s, unit) for structure in inspection.structures for s, _, unit in structure.units]
    scopes = ", ".join(repr(s) for s, _ in units) or "none"
    if scope is None:
        if len(units) == 1:
            return units[0]
        raise ToolError(f"{path} holds {len(units)} RNN cells; choose one with --scope: {scopes}", code=2)
    scope = scope.strip("/")
    found = [(s, unit) for s, unit in units if s == scope]
    if len(found) == 1:
        return found[0]
    if found:
        raise ToolError(f"scope {scope!r} holds {len(found)} cells side by side; convert them in Python "
                        "with tfrnn.load_tf1_checkpoint and tfrnn.to_keras")
    groups = [st for st in inspection.structures if st.scope == scope and st.kind != "rnn"]
    if groups:
        inner = ", ".join(repr(s) for s, _, _ in groups[0].units)
        raise ToolError(f"scope {scope!r} holds a {groups[0].kind.replace('_', ' ')} structure; "
                        f"convert each direction's cells with --scope: {inner}")
    raise ToolError(f"no RNN cell at scope {scope!r} in {path}; its cells' scopes are: {scopes}")


def _save_atomically(model, out, suffix):
    """Write beside `out` and rename, so a failure leaves no partial file."""
    directory, base = os.path.split(os.path.abspath(out))
    partial = os.path.join(directory, f".partial-{os.getpid()}-{base}")  # Keras checks the suffix
    try:
        if suffix == ".keras":
            model.save(partial)
        else:
            model.save_weights(partial)
        os.replace(partial, out)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _summary(unit):
    if isinstance(unit, Cell):
        return unit.describe()
    return f"MultiRNNCell of {len(unit.cells)} layers, input depth {unit.input_depth}"


def _conversion_lines(spec, target, to, options):
    leaves = ", ".join(f"{name[len(spec.path) + 1:]} {shape}" for name, shape in spec.variables.items())
    source = f"{spec.path}/{{{leaves}}}"
    if to == "tfrnn":
        return [f"  {source}", f"    -> {spec.code(**options)}: the same arrays (TF1's layout)"]
    weights = ", ".join(f"{weight.name} {list(weight.shape)}" for weight in target.weights)
    how = {
        "BasicRNNCell": "kernel rows split at the input depth",
        "GRUCell": "gates (r, u) and candidate reordered to z (= u), r, h; reset_after=False",
    }.get(spec.cls, "gates i, j, f, o reordered to i, f, c, o; "
                    f"forget_bias {options['forget_bias']} added to the forget bias")
    return [f"  {source}", f"    -> {spec.keras_code(options['activation'])}: {weights} ({how})"]


def _loading_code(unit, to, out, suffix, options):
    imports = ["import keras"] + (["import tfrnn"] if to == "tfrnn" else [])
    if suffix == ".keras":
        return imports + [f"model = keras.models.load_model({str(out)!r})", "cell = model.layers[-1].cell"]
    cell = unit.keras_code(options["activation"]) if to == "keras" else unit.code(**options)
    return imports + [
        f"cell = {cell}",
        f"model = keras.Sequential([keras.Input((None, {unit.input_depth})), "
        "keras.layers.RNN(cell, return_sequences=True)])",
        f"model.load_weights({str(out)!r})",
    ]


# ------------------------------------------------------------------- command line


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # One line, not argparse's usage block; exit status 2 as argparse's.
        raise ToolError(f"{message} (see {self.prog} --help)", code=2)


def _parser():
    parser = _Parser(prog=PROG, description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="{inspect,convert}")
    inspect = commands.add_parser("inspect", help="list the RNN structures of a TF1 checkpoint")
    inspect.add_argument("path", help="checkpoint prefix (model.ckpt) or its directory")
    convert_ = commands.add_parser("convert", help="save one structure's weights in a Keras 3 file")
    convert_.add_argument("path", help="checkpoint prefix (model.ckpt) or its directory")
    convert_.add_argument("out", help="output file: OUT.weights.h5 (weights) or OUT.keras (model)")
    convert_.add_argument("--scope", help="the cell's scope, as inspect lists it (default: the only one)")
    convert_.add_argument("--to", choices=("keras", "tfrnn"), default="keras",
                          help="native Keras cells (default) or tfrnn cells")
    convert_.add_argument("--forget-bias", type=float, default=1.0,
                          help="the LSTMs' forget_bias in your TF1 code (not stored in checkpoints; default 1.0)")
    convert_.add_argument("--activation", default="tanh",
                          help="the cells' activation in your TF1 code, a Keras name (not stored; default tanh)")
    return parser


def main(argv=None):
    """Runs `tfrnn-checkpoint` (`python -m tfrnn.checkpoint`) and returns its exit status.

    `inspect PATH` lists the RNN structures in a TF1 checkpoint, read from
    variable names and shapes alone, with the tfrnn code that rebuilds and
    loads each; every other variable is listed, as an optimizer slot or
    counter ("not RNN weights") or as unexplained. `convert PATH OUT --scope S
    --to keras|tfrnn` saves the cell (or `MultiRNNCell`) at scope S in
    `OUT.weights.h5` or `OUT.keras`, inside a
    `keras.Sequential([keras.Input((None, depth)), keras.layers.RNN(cell)])`,
    and prints what went where and the code that loads it.

    Args:
        argv: the arguments, without the program name; default `sys.argv[1:]`.

    Returns:
        0 on success; 1 on a failure (bad path, not a checkpoint, unknown
        scope, no Keras equivalent); 2 on a usage error. Failures print one
        line on stderr and write nothing.

    Example:

    >>> import tempfile, numpy as np, tensorflow as tf
    >>> from tfrnn.checkpoint.tool import main
    >>> values = {"rnn/gru_cell/gates/kernel": np.ones((5, 4), "float32"),
    ...           "rnn/gru_cell/gates/bias": np.ones((4,), "float32"),
    ...           "rnn/gru_cell/candidate/kernel": np.ones((5, 2), "float32"),
    ...           "rnn/gru_cell/candidate/bias": np.ones((2,), "float32"),
    ...           "global_step": np.zeros((), "float32")}
    >>> prefix = tempfile.mkdtemp() + "/model.ckpt"
    >>> tf.raw_ops.SaveV2(prefix=prefix, tensor_names=list(values),
    ...                   shape_and_slices=[""] * 5, tensors=list(values.values()))
    >>> main(["inspect", prefix])  # doctest: +ELLIPSIS
    TF1 checkpoint .../model.ckpt: 5 variables, 1 RNN structure
    <BLANKLINE>
    [1] scope 'rnn': dynamic_rnn, static_rnn or raw_rnn, input depth 3
        cell 'rnn': GRUCell(2), input depth 3
        tfrnn code:
            import tfrnn
            PATH = '.../model.ckpt'
            cell = tfrnn.GRUCell(2)
            tfrnn.load_tf1_checkpoint(PATH, cell, scope='rnn')
            # outputs, state = tfrnn.dynamic_rnn(cell, inputs, dtype='float32')  # inputs [batch, time, 3]
    <BLANKLINE>
    not RNN weights (1):
        global_step []  optimizer or training counter
    <BLANKLINE>
    Checkpoints do not store activation, forget_bias ...
    0
    """
    try:
        args = _parser().parse_args(argv)
        if args.command == "inspect":
            prefix = _resolve_checkpoint(args.path)
            print(_format_inspection(args.path, _inspect_shapes(_read_shapes(prefix))))
        else:
            print(_convert(args.path, args.scope, args.to, args.out, args.forget_bias, args.activation))
    except ToolError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return error.code
    except SystemExit as exit_:  # --help
        return exit_.code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
