"""Which found cells an `AttentionWrapper` wraps, read from names and shapes alone.

A cell found at `<loop scope>/<wrapper>` (see `tfrnn.checkpoint.discovery`) is
wrapped when mechanism scopes (`bahdanau_attention`, ...) or attention layers sit
beside it and memory layers (`memory_layer`, `memory_layer_1`, ...) sit in an
enclosing scope. The mechanisms, attention layers, the decoder's output layer
and its embedding are read from the variables no cell claimed, and the whole is
accepted only if tfrnn objects built from it name exactly those variables.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tfrnn.checkpoint.discovery import Attention, DenseLayer, Mechanism, Structure, Unit, base_name, parameters

_MEMORY_LAYER = re.compile(r"memory_layer(?:_(?P<index>\d+))?/kernel")
_ATTENTION_LAYER = re.compile(r"attention_layer(?:_(?P<index>\d+))?")
_WRAPPER_NAME = "attention_wrapper"  # AttentionWrapper's default name


def find_attention_wrappers(
    units: list[tuple[str, Unit]], unexplained: dict[str, str], shapes: Mapping[str, Sequence[int]],
) -> tuple[list[Structure], list[tuple[str, Unit]]]:
    """`(attention structures, other units)`: the found cells that an `AttentionWrapper` wraps.

    A cell at `<loop scope>/<wrapper>` is wrapped when mechanism scopes or
    attention layers sit beside it there (or the wrapper has its default
    name) and memory layers sit in an enclosing scope. Mechanisms, attention
    layers, the decoder's output layer and its embedding are read from the
    variables no cell claimed, and the whole is accepted only if tfrnn
    objects built from it name exactly those variables. What is claimed
    leaves `unexplained`.
    """
    found, rest = [], []
    for scope, unit in units:
        free = {name: list(shapes[name]) for name in unexplained}
        attention = _attention_at(scope, unit, free)
        if attention is None:
            rest.append((scope, unit))
            continue
        for name in attention.variables:
            unexplained.pop(name, None)
        found.append(Structure("attention", scope, [(scope, "cell", unit)], attention=attention))
    return found, rest


def _mechanism_classes() -> dict[str, type[Any]]:
    """TF1 scope name -> mechanism class, for the mechanisms with TF1 variables."""
    from tfrnn import seq2seq

    classes = [getattr(seq2seq, name) for name in seq2seq.__all__]
    return {getattr(cls, "tf1_scope_name"): cls for cls in classes
            if isinstance(cls, type) and isinstance(getattr(cls, "tf1_scope_name", None), str)
            and "num_units" in parameters(cls) and getattr(cls, "tf1_scope_name") != "attention"}


def _attention_at(scope: str, unit: Unit, free: Mapping[str, list[int]]) -> Attention | None:
    loop_scope, _, name = scope.rpartition("/")
    classes = _mechanism_classes()
    groups = _groups_below(scope, free)
    beside = [g for g in groups if base_name(g) in classes or _ATTENTION_LAYER.fullmatch(g)]
    if not name or not (beside or base_name(name) == _WRAPPER_NAME):
        return None
    memory = _memory_layers(loop_scope, free)
    if memory is None:
        return None
    mechanism_scope, layers = memory
    mechanisms, guessed = _mechanisms(groups, classes, layers, unit.output_size)
    if mechanisms is None:
        return None
    return _complete(scope, unit, free, groups, classes, mechanism_scope, mechanisms, guessed)


def _groups_below(scope: str, free: Mapping[str, list[int]]) -> dict[str, dict[str, list[int]]]:
    """`{child scope name: {path below it: shape}}` of the free variables under `scope`."""
    prefix = scope + "/" if scope else ""
    groups: dict[str, dict[str, list[int]]] = {}
    for name, shape in free.items():
        if name.startswith(prefix) and "/" in name[len(prefix):]:
            child, _, leaf = name[len(prefix):].partition("/")
            groups.setdefault(child, {})[leaf] = shape
    return groups


def _memory_layers(loop_scope: str, free: Mapping[str, list[int]]) -> tuple[str, list[tuple[str, list[int]]]] | None:
    """`(scope, [(kernel name, shape)] in order)` in the nearest scope around the loop that has them."""
    parts = loop_scope.split("/") if loop_scope else []
    for end in range(len(parts), -1, -1):
        scope = "/".join(parts[:end])
        prefix = scope + "/" if scope else ""
        layers = {}
        for name, shape in free.items():
            match = _MEMORY_LAYER.fullmatch(name[len(prefix):]) if name.startswith(prefix) else None
            if match and len(shape) == 2:
                layers[int(match["index"] or 0)] = (name, shape)
        if layers:
            in_order = sorted(layers) == list(range(len(layers)))
            return (scope, [layers[i] for i in range(len(layers))]) if in_order else None
    return None


def _mechanisms(
    groups: Mapping[str, Mapping[str, list[int]]], classes: Mapping[str, type[Any]],
    layers: list[tuple[str, list[int]]], query_depth: int,
) -> tuple[list[Mechanism] | None, bool]:
    """The mechanisms in memory-layer order, matched by `num_units`; and whether the order was a guess.

    TF1 numbers scopes per class (`bahdanau_attention_1`), so each class's order
    is known; a Luong mechanism without `scale` has no variables, and fills
    the numbers missing between, and the memory layers left after, the others.
    """
    queues: dict[type[Any], dict[int, dict[str, Any]]] = {}
    for group, leaves in groups.items():
        base = base_name(group)
        if base not in classes:
            continue
        cls = classes[base]
        options = _mechanism_options(cls, leaves, query_depth)
        if options is None:
            return None, False
        queues.setdefault(cls, {})[int(group[len(base) + 1:] or 0)] = options
    plain_luong = classes.get("luong_attention")
    seen = sum(max(numbers) + 1 if cls is plain_luong else len(numbers) for cls, numbers in queues.items())
    if seen > len(layers) or any(cls is not plain_luong and sorted(n) != list(range(len(n)))
                                 for cls, n in queues.items()):
        return None, False
    order = {cls: [numbers.get(i, {"num_units": query_depth}) for i in range(max(numbers) + 1)]
             for cls, numbers in queues.items()}
    if plain_luong is not None and len(layers) > seen:
        order.setdefault(plain_luong, []).extend({"num_units": query_depth} for _ in range(len(layers) - seen))
    mechanisms, guessed = [], False
    for kernel, (depth, units) in layers:
        fits = [cls for cls in classes.values() if order.get(cls) and order[cls][0]["num_units"] == units]
        if not fits:
            return None, False
        guessed |= len(fits) > 1
        mechanisms.append(Mechanism(fits[0], order[fits[0]].pop(0), depth, kernel))
    return mechanisms, guessed


def _mechanism_options(cls: type[Any], leaves: Mapping[str, list[int]], query_depth: int) -> dict[str, Any] | None:
    """`num_units` and the flags a mechanism's variables show, from its constructor's arguments."""
    flags = parameters(cls)
    if "normalize" in flags:  # a query layer and attention_v [num_units]
        if len(leaves.get("attention_v", [])) != 1:
            return None
        options: dict[str, Any] = {"num_units": leaves["attention_v"][0]}
        return {**options, "normalize": True} if "attention_g" in leaves else options
    if "scale" in flags:  # no query layer: num_units is the query depth
        return {"num_units": query_depth, **({"scale": True} if "attention_g" in leaves else {})}
    return None


def _complete(
    scope: str, unit: Unit, free: Mapping[str, list[int]], groups: Mapping[str, Mapping[str, list[int]]],
    classes: Mapping[str, type[Any]], mechanism_scope: str, mechanisms: list[Mechanism], guessed: bool,
) -> Attention | None:
    """The attention layers, output layer and embedding around the mechanisms; checked by building."""
    loop_scope, _, name = scope.rpartition("/")
    query = unit.output_size
    sizes, users = _attention_layers(groups, classes, mechanisms, query)
    if sizes is None and users is None and any(_ATTENTION_LAYER.fullmatch(g) for g in groups):
        return None
    claimed = dict(_memory_variables(mechanisms, free))
    prefix = scope + "/"
    claimed.update({n: s for n, s in free.items() if n.startswith(prefix)
                    and n[len(prefix):].partition("/")[0] in _claimed_groups(groups, classes, sizes, users)})
    attention = Attention(name, loop_scope, mechanism_scope, mechanisms, sizes, users, True, 0, None, None, {})
    depth = unit.input_depth - attention.attention_depth
    if depth < 0:
        return None
    output, output_attention = _output_layer(loop_scope, name, free, claimed, attention.attention_depth, query)
    embedding = _embedding(free, claimed, output, depth)
    for layer in [output] if output else []:
        claimed.update(_dense_variables(loop_scope, layer, free))
    if embedding:
        claimed[embedding[0]] = embedding[1]
    note = "the order of the mechanisms was guessed from their sizes" if guessed else ""
    attention = dataclasses.replace(attention, output_attention=output_attention, input_depth=depth,
                                    output_layer=output, embedding=embedding, variables=claimed, note=note)
    return attention if _names_when_built(attention, unit) == {**claimed, **unit.variables} else None


def _memory_variables(mechanisms: list[Mechanism], free: Mapping[str, list[int]]) -> list[tuple[str, list[int]]]:
    return [(m.memory_layer, free[m.memory_layer]) for m in mechanisms]


def _claimed_groups(groups: Mapping[str, Any], classes: Mapping[str, Any], sizes: Any, users: Any) -> set[str]:
    names = {g for g in groups if base_name(g) in classes}
    if sizes:
        names |= {g for g in groups if _ATTENTION_LAYER.fullmatch(g)}
    return names | {layer.name for layer in users or []}


def _attention_layers(
    groups: Mapping[str, Mapping[str, list[int]]], classes: Mapping[str, Any], mechanisms: list[Mechanism],
    query: int,
) -> tuple[list[int] | None, list[DenseLayer] | None]:
    """`(attention_layer_size, None)`, `(None, the user's layers)`, or `(None, None)` for none."""
    count, rows = len(mechanisms), [query + m.memory_depth for m in mechanisms]
    own = {int(match["index"] or 0): leaves for g, leaves in groups.items() if (match := _ATTENTION_LAYER.fullmatch(g))}
    if own:
        if sorted(own) != list(range(count)) or any(set(own[i]) != {"kernel"} or own[i]["kernel"][0] != rows[i]
                                                   for i in range(count)):
            return None, None
        return [own[i]["kernel"][1] for i in range(count)], None
    others = sorted(g for g, leaves in groups.items() if base_name(g) not in classes
                    and "kernel" in leaves and set(leaves) <= {"kernel", "bias"} and len(leaves["kernel"]) == 2)
    if len(others) != count or any(groups[g]["kernel"][0] != rows[i] for i, g in enumerate(others)):
        return None, None
    return None, [DenseLayer(g, groups[g]["kernel"][1], "bias" in groups[g], rows[i]) for i, g in enumerate(others)]


def _output_layer(
    loop_scope: str, wrapper: str, free: Mapping[str, list[int]], claimed: Mapping[str, Any], attention: int,
    query: int,
) -> tuple[DenseLayer | None, bool]:
    """The one Dense layer beside the wrapper that reads its output, and whether that is the attention."""
    groups = _groups_below(loop_scope, {n: s for n, s in free.items() if n not in claimed})
    fits = [DenseLayer(g, leaves["kernel"][1], "bias" in leaves, leaves["kernel"][0]) for g, leaves in groups.items()
            if g != wrapper and "kernel" in leaves and set(leaves) <= {"kernel", "bias"}
            and len(leaves["kernel"]) == 2 and leaves["kernel"][0] in (attention, query)
            and leaves.get("bias", [leaves["kernel"][1]]) == [leaves["kernel"][1]]]
    if len(fits) != 1:
        return None, True
    return fits[0], not (fits[0].input_depth == query != attention)


def _dense_variables(scope: str, layer: DenseLayer, free: Mapping[str, list[int]]) -> dict[str, list[int]]:
    prefix = f"{scope}/{layer.name}/" if scope else f"{layer.name}/"
    return {prefix + leaf: free[prefix + leaf] for leaf in ("kernel", "bias") if prefix + leaf in free}


def _embedding(
    free: Mapping[str, list[int]], claimed: Mapping[str, Any], output: DenseLayer | None, depth: int,
) -> tuple[str, list[int]] | None:
    """The one `...embedding...` [vocabulary, depth] variable whose vocabulary is the output layer's."""
    if output is None:
        return None
    fits = [(n, s) for n, s in free.items() if n not in claimed and "embedding" in n.rpartition("/")[2].lower()
            and s == [output.units, depth]]
    return fits[0] if len(fits) == 1 else None


def build_attention(attention: Attention, unit: Unit) -> dict[str, Any]:
    """The tfrnn objects the printed code builds, by TF1 scope: what `load_tf1_checkpoint` takes.

    Keys are the mechanisms' scope, the loop's and the embedding's (merged
    when equal); the mechanisms get zero memory of their depth, to be
    replaced by the real memory (`setup_memory`) before decoding.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    from tfrnn import seq2seq

    mechanisms = [m.cls(*[m.options["num_units"], np.zeros((1, 1, m.memory_depth), "float32")],
                      **{k: v for k, v in m.options.items() if k != "num_units"}) for m in attention.mechanisms]
    users = [keras.layers.Dense(layer.units, use_bias=layer.use_bias, name=layer.name)
             for layer in attention.attention_layers or []]
    cell = seq2seq.AttentionWrapper(
        unit.build(), mechanisms if len(mechanisms) > 1 else mechanisms[0],
        attention_layer_size=_one_or_list(attention.attention_layer_size),
        attention_layer=_one_or_list(users or None), output_attention=attention.output_attention,
        name=attention.name)
    objects: dict[str, list[Any]] = {attention.mechanism_scope: list(mechanisms)}
    objects.setdefault(attention.loop_scope, []).append(cell)
    if attention.output_layer:
        layer = attention.output_layer
        output = keras.layers.Dense(layer.units, use_bias=layer.use_bias, name=layer.name)
        output.build((None, layer.input_depth))
        objects[attention.loop_scope].append(output)
    if attention.embedding:
        scope, _, name = attention.embedding[0].rpartition("/")
        objects.setdefault(scope, []).append(tf.Variable(tf.zeros(attention.embedding[1]), name=name))
    return objects


def _one_or_list(items: list[Any] | None) -> Any:
    return items[0] if items and len(items) == 1 else items


def _names_when_built(attention: Attention, unit: Unit) -> dict[str, list[int]]:
    """TF1 name -> shape of the objects `build_attention` makes (the wrapper built for the inputs)."""
    from tfrnn.checkpoint.names import structure_entries

    try:
        objects = build_attention(attention, unit)
        entries = structure_entries(objects, "", lambda part, scope, name: attention.input_depth)
        return {entry.name: list(entry.shape) for entry in entries}
    except Exception:  # noqa: BLE001 - arguments guessed from shapes they do not fit: no match
        return {}
