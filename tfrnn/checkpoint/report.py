"""What `tfrnn-checkpoint` prints: the `inspect` report, the code it prints, `convert`'s report.

The tfrnn code is written from each found cell's class and constructor
arguments (`tfrnn.LSTMCell(4, use_peepholes=True)`): only the arguments that
differ from the constructor's defaults, `name=` only where TF1's default name
was not used, a wrapper around its cell's code. The Keras code is written from
the Keras cell `to_keras` returned, so it is the code of what was saved.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import keras

import tfrnn
from tfrnn.base import RNNCell, default_name
from tfrnn.checkpoint.discovery import (
    Attention, Cell, DenseLayer, Inspection, Mechanism, Stack, Structure, Unit, parameters,
)
from tfrnn.wrappers import MultiRNNCell

# How `to_keras` lays out TF1's arrays in each Keras cell it returns
# (tfrnn.checkpoint.convert says why).
_KERAS_LAYOUTS = {
    "SimpleRNNCell": "kernel rows split at the input depth",
    "GRUCell": "gates (r, u) and candidate reordered to z (= u), r, h; reset_after=False",
    "LSTMCell": "gates i, j, f, o reordered to i, f, c, o; forget_bias {forget_bias} added to the forget bias",
}
_NOT_STORED = (
    "Checkpoints do not store activation, forget_bias (LSTMs; TF1's default 1.0), cell_clip "
    "or proj_clip (LSTMCell): pass them as your TF1 code did (convert: --activation, --forget-bias)."
)
_NOT_STORED_ATTENTION = (
    "Nor do they store an attention mechanism's probability_fn, score_mask_value or monotonic mode "
    "and score_bias_init, or a wrapper's alignment_history, cell_input_fn and attention layer "
    "activation (nor output_attention without an output layer): pass them as your TF1 code did."
)


@dataclasses.dataclass
class Conversion:
    """One `convert` run: what was read, what was built and saved, and where."""

    checkpoint: str  # the checkpoint prefix
    scope: str  # the scope the cell was loaded from
    unit: Unit  # the discovery.Cell or Stack
    cell: RNNCell  # the tfrnn cell built from it and loaded
    saved: keras.layers.Layer  # what the file holds: `cell`, or its Keras equivalent
    to: str  # "keras" or "tfrnn"
    out: str
    suffix: str  # ".keras" or ".weights.h5"


# ------------------------------------------------------------------- inspect


def format_inspection(path: str | os.PathLike[str], inspection: Inspection) -> str:
    """The `inspect` report: structures with their tfrnn code, then every other variable."""
    count = len(inspection.structures)
    lines = [f"TF1 checkpoint {path}: {len(inspection.shapes)} variables, {count} RNN structure{'s' * (count != 1)}"]
    for number, structure in enumerate(inspection.structures, start=1):
        lines += ["", f"[{number}] {_title(structure)}"]
        lines += _attention_lines(structure.attention) if structure.attention else []
        for scope, role, unit in structure.units:
            lines += _unit_lines(unit, f"    {role or 'cell'} {scope!r}: ")
        lines += _decoder_lines(structure.attention) if structure.attention else []
        lines += ["    tfrnn code:"] + [f"        {line}" for line in tfrnn_code(structure, path)]
    lines += _variable_list("not RNN weights", inspection.not_rnn, inspection.shapes)
    lines += _variable_list("unexplained", inspection.unexplained, inspection.shapes)
    if inspection.structures:
        lines += ["", _NOT_STORED]
    if any(structure.attention for structure in inspection.structures):
        lines += [_NOT_STORED_ATTENTION]
    return "\n".join(lines)


def _title(structure: Structure) -> str:
    depth = structure.units[0][2].input_depth
    if structure.attention:
        attention = structure.attention
        return (f"scope {structure.scope!r}: AttentionWrapper run by {_attention_loop(attention)}, "
                f"input depth {attention.input_depth}" + (f" ({attention.note})" if attention.note else ""))
    if structure.kind == "rnn":
        call = "a direct cell call" if not structure.scope else "dynamic_rnn, static_rnn or raw_rnn"
        return f"scope {structure.scope!r}: {call}, input depth {depth}"
    if structure.kind == "bidirectional":
        return f"scope {structure.scope!r}: bidirectional_dynamic_rnn or static_bidirectional_rnn, input depth {depth}"
    call = "stack_bidirectional_dynamic_rnn" if structure.dynamic else "stack_bidirectional_rnn"
    return f"scope {structure.scope!r}: {call}, {len(structure.units) // 2} layers, input depth {depth}"


def _unit_lines(unit: Unit, head: str) -> list[str]:
    if not isinstance(unit, Stack):
        return [head + describe(unit)]
    note = f" ({unit.note})" if unit.note else ""
    lines = [f"{head}MultiRNNCell of {len(unit.cells)} layers{note}"]
    return lines + [f"        cell_{i}: {describe(cell)}" for i, cell in enumerate(unit.cells)]


def describe(cell: Cell) -> str:
    """`GRUCell(2), input depth 3`, and the cell's note."""
    note = f" ({cell.note})" if cell.note else ""
    return f"{cell_code(cell, qualified=False)}, input depth {cell.input_depth}{note}"


def summary(unit: Unit) -> str:
    """One line for a cell or a MultiRNNCell."""
    if isinstance(unit, Stack):
        return f"MultiRNNCell of {len(unit.cells)} layers, input depth {unit.input_depth}"
    return describe(unit)


def tfrnn_code(structure: Structure, path: str | os.PathLike[str]) -> list[str]:
    """Runnable code that builds the structure's cells and loads them from `path`."""
    lines = ["import tfrnn", *_imports(unit for _, _, unit in structure.units), f"PATH = {str(path)!r}"]
    if structure.attention:
        return _attention_code(structure.attention, structure.units[0][2], lines)
    if structure.kind == "rnn":
        return lines + _single_code(*structure.units[0])
    if structure.kind == "bidirectional":
        return lines + _bidirectional_code(structure)
    return lines + _stack_code(structure)


def _single_code(scope: str, role: str, unit: Unit) -> list[str]:
    lines = [f"cell = {cell_code(unit)}", f"tfrnn.load_tf1_checkpoint(PATH, cell, scope={scope!r})"]
    if not scope:
        return lines + ["# output, state = cell(inputs, cell.zero_state(batch_size, 'float32'))  # one step"]
    return lines + [f"# outputs, state = tfrnn.dynamic_rnn(cell, inputs, dtype='float32')  "
                    f"# inputs [batch, time, {unit.input_depth}]"]


def _bidirectional_code(structure: Structure) -> list[str]:
    (fw_scope, _, fw), (bw_scope, _, bw) = structure.units
    return [
        f"cell_fw = {cell_code(fw)}", f"cell_bw = {cell_code(bw)}",
        f"tfrnn.load_tf1_checkpoint(PATH, cell_fw, scope={fw_scope!r})",
        f"tfrnn.load_tf1_checkpoint(PATH, cell_bw, scope={bw_scope!r})",
        "# (outputs_fw, outputs_bw), (state_fw, state_bw) = tfrnn.bidirectional_dynamic_rnn("
        "cell_fw, cell_bw, inputs, dtype='float32')",
    ]


def _stack_code(structure: Structure) -> list[str]:
    fws, bws = structure.units[0::2], structure.units[1::2]
    lines = [
        f"cells_fw = [{', '.join(cell_code(unit) for _, _, unit in fws)}]",
        f"cells_bw = [{', '.join(cell_code(unit) for _, _, unit in bws)}]",
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


def _variable_list(title: str, reasons: Mapping[str, str], shapes: Mapping[str, Sequence[int]]) -> list[str]:
    """`    name [shape]  reason` per variable; a reason several variables share is said once,
    above them (`    3 variables: reason` and the names indented below)."""
    if not reasons:
        return []
    groups: dict[tuple[str, str], list[str]] = {}  # (reason, name when there is no reason) -> names
    for name in sorted(reasons):
        groups.setdefault((reasons[name], "" if reasons[name] else name), []).append(name)
    lines = ["", f"{title} ({len(reasons)}):"]
    for (reason, _), names in groups.items():
        if len(names) == 1:
            lines.append(f"    {names[0]} {shapes[names[0]]}" + (f"  {reason}" if reason else ""))
        else:
            lines += [f"    {len(names)} variables: {reason}"] + [f"        {name} {shapes[name]}" for name in names]
    return lines


# ------------------------------------------------------------------- tfrnn code


class _Code(str):
    """Code already written (a wrapped cell's constructor): printed as it is, not quoted."""

    def __repr__(self) -> str:
        return str(self)


def cell_code(unit: Unit, qualified: bool = True) -> str:
    """The constructor call that builds a found cell or stack: `tfrnn.LSTMCell(4, num_proj=2)`."""
    if isinstance(unit, Stack):
        cells = ", ".join(cell_code(cell, qualified) for cell in unit.cells)
        name = f", name={unit.name!r}" if unit.name != default_name(MultiRNNCell) else ""
        return f"{_class_name(MultiRNNCell, qualified)}([{cells}]{name})"
    given = dict(unit.options)
    if unit.inner:  # the wrapped cell is the constructor's first argument
        given = {next(iter(parameters(unit.cls))): _Code(cell_code(unit.inner, qualified)), **given}
    args = _arguments(unit.cls, given)
    args += [f"name={unit.name!r}"] if unit.name != default_name(unit.cls) else []
    return f"{_class_name(unit.cls, qualified)}({', '.join(args)})"


def _arguments(cls: type[RNNCell], given: Mapping[str, Any]) -> list[str]:
    """`given` as the call writes it: the first argument and the required ones by position,
    while they come in the constructor's order; the rest by keyword, and only if not the default."""
    args: list[str] = []
    positional = True
    for index, (name, parameter) in enumerate(parameters(cls).items()):
        if name == "name" or name not in given:
            positional = False
            continue
        required = parameter.default is parameter.empty
        if positional and (index == 0 or required) and parameter.kind is parameter.POSITIONAL_OR_KEYWORD:
            args.append(repr(given[name]))
            continue
        positional = False
        if required or not _equal(given[name], parameter.default):
            args.append(f"{name}={given[name]!r}")
    return args


def _equal(value: object, default: object) -> bool:
    if isinstance(value, _Code):
        return False
    try:
        return bool(value == default)
    except Exception:  # noqa: BLE001 - an argument that does not compare is not the default
        return False


def _class_name(cls: type[RNNCell], qualified: bool) -> str:
    """`tfrnn.X` for tfrnn's own classes; other classes by their name, imported by `_imports`."""
    return f"tfrnn.{cls.__name__}" if qualified and _is_public(cls) else cls.__name__


def _is_public(cls: type[RNNCell]) -> bool:
    return getattr(tfrnn, cls.__name__, None) is cls


def _imports(units: Iterable[Unit]) -> list[str]:
    """`from <module> import <Class>` for each class of `units` that `tfrnn` does not export."""
    classes = {cls for unit in units for cls in _classes(unit)}
    return sorted(f"from {cls.__module__} import {cls.__qualname__}" for cls in classes if not _is_public(cls))


def _classes(unit: Unit) -> list[type[RNNCell]]:
    if isinstance(unit, Stack):
        return [MultiRNNCell] + [cls for cell in unit.cells for cls in _classes(cell)]
    return [unit.cls] + (_classes(unit.inner) if unit.inner else [])


# ------------------------------------------------------------------- convert


def keras_code(keras_cell: keras.layers.Layer) -> str:
    """`keras.layers.X(units, ...)`: the arguments that differ from X's defaults, those the
    conversion set first and the activation (what the TF1 code passed) last."""
    if isinstance(keras_cell, keras.layers.StackedRNNCells):
        return f"keras.layers.StackedRNNCells([{', '.join(keras_code(cell) for cell in keras_cell.cells)}])"
    config = keras_cell.get_config()
    defaults = type(keras_cell)(config["units"]).get_config()
    changed = [key for key in config if key not in ("name", "units") and config[key] != defaults.get(key)]
    changed.sort(key=lambda key: key == "activation")
    args = [str(config["units"])] + [f"{key}={config[key]!r}" for key in changed]
    return f"keras.layers.{type(keras_cell).__name__}({', '.join(args)})"


def conversion_report(conversion: Conversion) -> str:
    """What `convert` read, what each TF1 variable became, and the code that loads the file."""
    unit = conversion.unit
    lines = [f"converted scope {conversion.scope!r} of {conversion.checkpoint} ({summary(unit)}) "
             f"to {conversion.to} cells:"]
    if isinstance(unit, Stack):
        specs, sources, targets = unit.cells, conversion.cell.cells, conversion.saved.cells
    else:
        specs, sources, targets = [unit], [conversion.cell], [conversion.saved]
    for spec, source, target in zip(specs, sources, targets):
        lines += _conversion_lines(spec, source, target, conversion.to)
    lines += [f"wrote {conversion.out}; load it with:"]
    return "\n".join(lines + [f"    {line}" for line in _loading_code(conversion)])


def _conversion_lines(spec: Cell, source: RNNCell, target: keras.layers.Layer, to: str) -> list[str]:
    leaves = ", ".join(f"{name[len(spec.path) + 1:]} {shape}" for name, shape in spec.variables.items())
    lines = [f"  {spec.path}/{{{leaves}}}"]
    if to == "tfrnn":
        return lines + [f"    -> {cell_code(spec)}: the same arrays (TF1's layout)"]
    weights = ", ".join(f"{weight.name} {list(weight.shape)}" for weight in target.weights)
    how = _KERAS_LAYOUTS[type(target).__name__].format(forget_bias=getattr(source, "forget_bias", None))
    return lines + [f"    -> {keras_code(target)}: {weights} ({how})"]


def _loading_code(conversion: Conversion) -> list[str]:
    unit, out = conversion.unit, str(conversion.out)
    imports = ["import keras"]
    if conversion.to == "tfrnn":
        imports += ["import tfrnn", *_imports([unit])]
    if conversion.suffix == ".keras":
        return imports + [f"model = keras.models.load_model({out!r})", "cell = model.layers[-1].cell"]
    cell = keras_code(conversion.saved) if conversion.to == "keras" else cell_code(unit)
    return imports + [
        f"cell = {cell}",
        f"model = keras.Sequential([keras.Input((None, {unit.input_depth})), "
        "keras.layers.RNN(cell, return_sequences=True)])",
        f"model.load_weights({out!r})",
    ]


# ------------------------------------------------------------------- attention wrappers


def _attention_loop(attention: Attention) -> str:
    last = attention.loop_scope.rpartition("/")[2]
    if last == "rnn":
        return "dynamic_rnn"
    return "dynamic_decode" if last == "decoder" else "dynamic_decode or dynamic_rnn"


def _attention_lines(attention: Attention) -> list[str]:
    """The mechanisms and the wrapper, as `inspect` describes them."""
    lines = [f"    mechanism {_scoped(attention.mechanism_scope, m.memory_layer.rsplit('/', 2)[-2])!r}: "
             f"{_mechanism_call(m, qualified=False)}, memory depth {m.memory_depth}" for m in attention.mechanisms]
    wrapper = _scoped(attention.loop_scope, attention.name)
    return lines + [f"    wrapper {wrapper!r}: {_wrapper_call(attention, 'cell', qualified=False)}, "
                    f"attention depth {attention.attention_depth}"]


def _decoder_lines(attention: Attention) -> list[str]:
    lines = []
    if attention.output_layer:
        layer = attention.output_layer
        lines.append(f"    output layer {_scoped(attention.loop_scope, layer.name)!r}: "
                     f"{_dense_call(layer, qualified=False)}, input depth {layer.input_depth}")
    if attention.embedding:
        name, (vocabulary, depth) = attention.embedding
        lines.append(f"    embedding {name!r}: [{vocabulary}, {depth}], "
                     f"the decoder's input ids (vocabulary {vocabulary})")
    return lines


def _scoped(scope: str, name: str) -> str:
    return f"{scope}/{name}" if scope else name


def _mechanism_call(mechanism: Mechanism, qualified: bool = True, memory: str = "") -> str:
    flags = [f"{key}={value!r}" for key, value in mechanism.options.items() if key != "num_units"]
    name = f"tfrnn.seq2seq.{mechanism.cls.__name__}" if qualified else mechanism.cls.__name__
    return f"{name}({', '.join([str(mechanism.options['num_units']), *([memory] if memory else []), *flags])})"


def _dense_call(layer: DenseLayer, qualified: bool = True) -> str:
    bias = [] if layer.use_bias else ["use_bias=False"]
    args = ", ".join([str(layer.units), *bias, f"name={layer.name!r}"])
    return f"{'keras.layers.' if qualified else ''}Dense({args})"


def _wrapper_call(attention: Attention, cell: str, qualified: bool = True, mechanisms: str = "") -> str:
    """`AttentionWrapper(cell, mechanism, ...)` with the arguments the variables show."""
    mechanisms = mechanisms or ("attention_mechanism" if len(attention.mechanisms) == 1 else "attention_mechanisms")
    args = [cell, mechanisms]
    sizes, layers = attention.attention_layer_size, attention.attention_layers
    if sizes:
        args.append(f"attention_layer_size={sizes[0] if len(sizes) == 1 else sizes}")
    if layers:
        calls = [_dense_call(layer, qualified) for layer in layers]
        args.append(f"attention_layer={calls[0] if len(calls) == 1 else '[' + ', '.join(calls) + ']'}")
    if not attention.output_attention:
        args.append("output_attention=False")
    if attention.name != "attention_wrapper":
        args.append(f"name={attention.name!r}")
    return f"{'tfrnn.seq2seq.' if qualified else ''}AttentionWrapper({', '.join(args)})"


def _attention_code(attention: Attention, unit: Unit, head: list[str]) -> list[str]:
    """Code that builds what `attention_discovery.build_attention` builds and loads it in one call."""
    depths = sorted({m.memory_depth for m in attention.mechanisms})
    memory = {depth: "memory" if len(depths) == 1 else f"memory_{depth}" for depth in depths}
    extra = ["import keras"] if attention.output_layer or attention.attention_layers else []
    extra += ["import numpy as np"] + (["import tensorflow as tf"] if attention.embedding else [])
    lines = [*extra, *head]
    lines += [f"{memory[d]} = np.zeros((1, 1, {d}), 'float32')  # stands for the encoder outputs "
              f"[batch, time, {d}]" for d in depths]
    calls = [_mechanism_call(m, memory=memory[m.memory_depth]) for m in attention.mechanisms]
    if len(calls) == 1:
        lines.append(f"attention_mechanism = {calls[0]}")
    else:
        lines.append(f"attention_mechanisms = [{', '.join(calls)}]")
    lines.append(f"cell = {_wrapper_call(attention, cell_code(unit))}")
    groups: dict[str, list[str]] = {attention.mechanism_scope: [
        "attention_mechanism" if len(calls) == 1 else "*attention_mechanisms"]}
    groups.setdefault(attention.loop_scope, []).append("cell")
    if attention.output_layer:
        lines += [f"output_layer = {_dense_call(attention.output_layer)}",
                  f"output_layer.build((None, {attention.output_layer.input_depth}))"]
        groups[attention.loop_scope].append("output_layer")
    if attention.embedding:
        name, shape = attention.embedding
        scope, _, leaf = name.rpartition("/")
        lines.append(f"embedding = tf.Variable(tf.zeros({shape}), name={leaf!r})")
        groups.setdefault(scope, []).append("embedding")
    mapping = ", ".join(f"{scope!r}: [{', '.join(items)}]" for scope, items in groups.items())
    lines.append(f"tfrnn.load_tf1_checkpoint(PATH, {{{mapping}}})")
    return lines + _attention_usage(attention)


def _attention_usage(attention: Attention) -> list[str]:
    setup = "attention_mechanism.setup_memory(encoder_outputs, memory_sequence_length)"
    if len(attention.mechanisms) > 1:
        setup = "for m in attention_mechanisms: m.setup_memory(encoder_outputs, lengths)"
    lines = [f"# {setup}  # for every batch, before the loop"]
    if _attention_loop(attention) == "dynamic_rnn":
        return lines + [f"# outputs, state = tfrnn.dynamic_rnn(cell, inputs, dtype='float32')  "
                        f"# inputs [batch, time, {attention.input_depth}]"]
    output = ", output_layer=output_layer" if attention.output_layer else ""
    helper = ("tfrnn.seq2seq.GreedyEmbeddingHelper(embedding, start_tokens, end_token)" if attention.embedding
              else f"tfrnn.seq2seq.TrainingHelper(inputs, lengths)  # inputs [batch, time, {attention.input_depth}]")
    return lines + [
        f"# helper = {helper}",
        f"# decoder = tfrnn.seq2seq.BasicDecoder(cell, helper, cell.zero_state(batch_size, 'float32'){output})",
        "# outputs, state, lengths = tfrnn.seq2seq.dynamic_decode(decoder)",
    ]
