"""TF1 variable names of tfrnn cells, and loading `tf.train.Saver` checkpoints into them.

All TF1-compatibility knowledge lives here. `_entries` walks a cell structure and
yields, for each weight, its TF1 name, its TF1 shape and how to fetch the Keras
variable; it never parses Keras variable paths (they depend on where `build`
ran). Because tfrnn weights use TF1's layout, loading is a rename: no weight is
transposed, split or re-ordered.
"""

import functools

import numpy as np
import tensorflow as tf

from tfrnn.base import built_input_depth
from tfrnn.cells import BasicLSTMCell, BasicRNNCell, GRUCell, LSTMCell
from tfrnn.contrib import EmbeddingWrapper, InputProjectionWrapper, LayerNormBasicLSTMCell, OutputProjectionWrapper
from tfrnn.wrappers import DeviceWrapper, DropoutWrapper, MultiRNNCell, ResidualWrapper

_MAX_LISTED = 20  # names shown per category in an error
_PRE_1_2_NAMES = {"kernel": "weights", "bias": "biases"}


def tf1_variable_names(cell, scope="rnn"):
    """Maps each weight of a built cell to the name TF1 gives it in a checkpoint.

    The names are those of `tf.compat.v1.train.Saver`: the scope of the loop
    (`rnn` for `dynamic_rnn`, `""` for a cell called directly), the cell's name
    (`basic_lstm_cell`, or its `name=`), then TF1's weight names.
    `MultiRNNCell` adds `multi_rnn_cell/cell_{i}/` before each layer's cell,
    whatever the layers are called in Keras.

    Args:
        cell: a built tfrnn cell, or a `MultiRNNCell` of them.
        scope: the enclosing TF1 variable scope; `""` for none.

    Returns:
        `dict` from TF1 name to the cell's `keras.Variable`, in TF1's order.

    Example:

    >>> import numpy as np
    >>> import tfrnn
    >>> cell = tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(4), tfrnn.GRUCell(3)])
    >>> _ = cell(np.zeros((2, 5), "float32"), cell.zero_state(2, "float32"))
    >>> for name, variable in tfrnn.tf1_variable_names(cell).items():
    ...     print(name, tuple(variable.shape))
    rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel (9, 16)
    rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias (16,)
    rnn/multi_rnn_cell/cell_1/gru_cell/gates/kernel (7, 6)
    rnn/multi_rnn_cell/cell_1/gru_cell/gates/bias (6,)
    rnn/multi_rnn_cell/cell_1/gru_cell/candidate/kernel (7, 3)
    rnn/multi_rnn_cell/cell_1/gru_cell/candidate/bias (3,)
    """
    depth = built_input_depth(cell)
    if not cell.built or depth is None:
        raise ValueError(
            f"tf1_variable_names needs a built cell, but {cell.name} has no weights "
            "yet. Call it once on inputs, or use load_tf1_checkpoint, which builds "
            "an unbuilt cell from the checkpoint's shapes."
        )
    prefix = _prefix(scope)
    return {prefix + name: fetch() for name, _, fetch in _entries(cell, depth)}


def load_tf1_checkpoint(ckpt_path, cell, scope="rnn"):
    """Loads a TF1 `tf.train.Saver` checkpoint into a cell, by TF1 variable names.

    An unbuilt cell is first built for the input depth the checkpoint implies.
    Every expected name and shape is checked before anything is assigned: on
    any mismatch one `ValueError` lists every missing, unexpected and
    mis-shaped variable, and the cell is left exactly as it was (unbuilt cells
    stay unbuilt). Optimizer slots (`.../kernel/Adam`) and variables outside
    the cell's scope (`global_step`, a softmax layer) are ignored.

    Args:
        ckpt_path: checkpoint prefix (`/path/model.ckpt`) or a directory holding
            a `checkpoint` file (its latest checkpoint is used).
        cell: a tfrnn cell or `MultiRNNCell`, built or not.
        scope: the TF1 variable scope the cell's variables live under: `"rnn"`
            for `tf.nn.dynamic_rnn`'s default, `""` for a cell called directly,
            `"encoder/rnn"` inside `variable_scope("encoder")`.

    Returns:
        The `tf1_variable_names(cell, scope)` dict, after assignment.

    Example: write a checkpoint, as TF1 would name it, and load it.

    >>> import tempfile, numpy as np, tensorflow as tf
    >>> import tfrnn
    >>> values = {"rnn/basic_lstm_cell/kernel": np.ones((7, 16), "float32"),
    ...           "rnn/basic_lstm_cell/bias": np.zeros((16,), "float32")}
    >>> prefix = tempfile.mkdtemp() + "/model.ckpt"
    >>> tf.raw_ops.SaveV2(prefix=prefix, tensor_names=list(values),
    ...                   shape_and_slices=["", ""], tensors=list(values.values()))
    >>> cell = tfrnn.BasicLSTMCell(4)  # unbuilt: depth 3 comes from the [7, 16] kernel
    >>> loaded = tfrnn.load_tf1_checkpoint(prefix, cell)
    >>> sorted(loaded), float(np.asarray(cell.kernel).sum())
    (['rnn/basic_lstm_cell/bias', 'rnn/basic_lstm_cell/kernel'], 112.0)
    """
    reader = _open_checkpoint(ckpt_path)
    available = reader.get_variable_to_shape_map()
    prefix = _prefix(scope)
    depth = built_input_depth(cell) if cell.built else _infer_input_depth(cell, available, prefix)
    entries = [(prefix + name, tuple(shape), fetch) for name, shape, fetch in _entries(cell, depth or 0)]
    report = _mismatch_report(entries, available, prefix, depth)
    if report:
        raise ValueError(
            f"Cannot load TF1 checkpoint {ckpt_path!r} into {cell.name} with "
            f"scope={scope!r}; nothing was assigned.\n{report}"
        )
    values = {name: reader.get_tensor(name) for name, _, _ in entries}
    if not cell.built:
        cell.build((None, depth))
    variables = {name: fetch() for name, _, fetch in entries}
    for name, variable in variables.items():
        variable.assign(np.asarray(values[name], dtype=variable.dtype))
    return variables


def _entries(cell, input_depth):
    """Yields `(TF1 name below the enclosing scope, TF1 shape, fetch variable)`.

    The first entry is always the cell's input kernel, whose row count is
    `input_depth` plus a constant: that is how an unbuilt cell's input depth is
    read back from a checkpoint.
    """
    if isinstance(cell, MultiRNNCell):
        for position, child in enumerate(cell.cells):
            for name, shape, fetch in _entries(child, input_depth):
                yield f"{cell.name}/cell_{position}/{name}", shape, fetch
            input_depth = child.output_size
        return
    if isinstance(cell, (DropoutWrapper, ResidualWrapper, DeviceWrapper)):
        yield from _entries(cell.cell, input_depth)  # TF1's core wrappers add no scope
        return
    if isinstance(cell, (OutputProjectionWrapper, InputProjectionWrapper, EmbeddingWrapper)):
        yield from _scoped_wrapper_entries(cell, input_depth)
        return
    fetch = _norm_attribute if isinstance(cell, LayerNormBasicLSTMCell) else _attribute
    for name, shape in _layout(cell, input_depth).items():
        yield f"{cell.name}/{name}", shape, functools.partial(fetch, cell, name)


def _norm_attribute(cell, name):
    """LayerNormBasicLSTMCell's `input/gamma` is `cell.norms["input"].gamma`.

    (A Keras layer cannot have attributes named `input` or `output`.)
    """
    scope, _, weight = name.rpartition("/")
    return getattr(cell.norms[scope], weight) if scope else getattr(cell, weight)


def _scoped_wrapper_entries(wrapper, input_depth):
    """A contrib wrapper's scope holds its own weights and the wrapped cell's.

    The input-side wrappers' own weights come first (their first one reads
    the inputs); the output projection's come after the wrapped cell's.
    """
    own = [
        (f"{wrapper.name}/{name}", shape, functools.partial(_attribute, wrapper, name))
        for name, shape in _layout(wrapper, input_depth).items()
    ]
    inner_depth = input_depth
    if isinstance(wrapper, InputProjectionWrapper):
        inner_depth = wrapper.num_proj
    elif isinstance(wrapper, EmbeddingWrapper):
        inner_depth = wrapper.embedding_size
    inner = [(f"{wrapper.name}/{name}", shape, fetch) for name, shape, fetch in _entries(wrapper.cell, inner_depth)]
    yield from (inner + own if isinstance(wrapper, OutputProjectionWrapper) else own + inner)


def _layout(cell, depth):
    """TF1's weights of one cell: name below the cell's scope -> shape."""
    if isinstance(cell, (BasicRNNCell, BasicLSTMCell, GRUCell, LSTMCell)):
        units = cell.num_units
    if isinstance(cell, BasicRNNCell):
        return {"kernel": (depth + units, units), "bias": (units,)}
    if isinstance(cell, BasicLSTMCell):
        return {"kernel": (depth + units, 4 * units), "bias": (4 * units,)}
    if isinstance(cell, GRUCell):
        return {
            "gates/kernel": (depth + units, 2 * units), "gates/bias": (2 * units,),
            "candidate/kernel": (depth + units, units), "candidate/bias": (units,),
        }
    if isinstance(cell, LSTMCell):
        return _lstm_layout(cell, depth)
    if isinstance(cell, (LayerNormBasicLSTMCell, OutputProjectionWrapper, InputProjectionWrapper, EmbeddingWrapper)):
        return _contrib_layout(cell, depth)
    raise TypeError(
        f"No TF1 variable layout is known for {type(cell).__name__} ({cell.name}). "
        "TF1 names are defined for tfrnn's cells (BasicRNNCell, BasicLSTMCell, "
        "LSTMCell, GRUCell, LayerNormBasicLSTMCell), MultiRNNCell and the wrappers "
        "(DropoutWrapper, ResidualWrapper, DeviceWrapper, OutputProjectionWrapper, "
        "InputProjectionWrapper, EmbeddingWrapper) of them."
    )


def _contrib_layout(cell, depth):
    """The own weights of the tf.contrib.rnn pieces (the wrapped cells' come from `_entries`)."""
    if isinstance(cell, OutputProjectionWrapper):
        return {"kernel": (cell.cell.output_size, cell.output_size), "bias": (cell.output_size,)}
    if isinstance(cell, InputProjectionWrapper):
        return {"kernel": (depth, cell.num_proj), "bias": (cell.num_proj,)}
    if isinstance(cell, EmbeddingWrapper):
        return {"embedding": (cell.embedding_classes, cell.embedding_size)}
    units = cell.num_units
    layout = {"kernel": (depth + units, 4 * units)}
    if not cell.layer_norm:
        return dict(layout, bias=(4 * units,))
    for scope in ("input", "transform", "forget", "output", "state"):
        layout.update({f"{scope}/gamma": (units,), f"{scope}/beta": (units,)})
    return layout


def _lstm_layout(cell, depth):
    units, out = cell.num_units, cell.output_size
    layout = {"kernel": (depth + out, 4 * units), "bias": (4 * units,)}
    if cell.use_peepholes:
        layout.update({"w_f_diag": (units,), "w_i_diag": (units,), "w_o_diag": (units,)})
    if cell.num_proj:
        layout["projection/kernel"] = (units, out)
    return layout


def _attribute(cell, name):
    """TF1 names below a cell's scope are its attribute paths: `projection/kernel`."""
    return functools.reduce(getattr, name.split("/"), cell)


def _prefix(scope):
    scope = (scope or "").strip("/")
    return scope + "/" if scope else ""


def _open_checkpoint(ckpt_path):
    try:
        return tf.train.load_checkpoint(str(ckpt_path))
    except (ValueError, tf.errors.OpError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(
            f"Cannot read a TF1 checkpoint at {str(ckpt_path)!r}: {first_line}. Pass "
            "the checkpoint prefix (e.g. 'model.ckpt' for 'model.ckpt.index') or "
            "the directory that holds the 'checkpoint' file."
        ) from None


def _infer_input_depth(cell, available, prefix):
    """Input depth from the checkpoint's first kernel: its rows minus the recurrent rows."""
    if isinstance(_first_leaf(cell), EmbeddingWrapper):
        return 1  # ids [batch, 1]: the embedding's rows are the vocabulary, not a depth
    name, shape, _ = next(_entries(cell, 0))
    found = available.get(prefix + name)
    if not found or found[0] <= shape[0]:
        return None
    return found[0] - shape[0]


def _first_leaf(cell):
    """The cell that reads the inputs: through stacks and wrappers that add no scope."""
    if isinstance(cell, MultiRNNCell):
        return _first_leaf(cell.cells[0])
    if isinstance(cell, (DropoutWrapper, ResidualWrapper, DeviceWrapper)):
        return _first_leaf(cell.cell)
    return cell


def _mismatch_report(entries, available, prefix, depth):
    expected = {name: shape for name, shape, _ in entries}
    # The scope the cell's weights share: its name, or for a wrapper that adds
    # no scope (DropoutWrapper, ...) the wrapped cell's.
    cell_prefix = prefix + entries[0][0][len(prefix):].split("/")[0] + "/"
    missing = [n for n in expected if n not in available]
    misshaped = [n for n in expected if n in available and tuple(available[n]) != expected[n]]
    unexpected = [
        n for n in sorted(available)
        if n.startswith(cell_prefix) and n not in expected and not _is_slot_of(n, expected)
    ]
    if not (missing or misshaped or unexpected) and depth is not None:
        return ""
    lines = []
    if depth is None:
        lines.append(f"  the input depth could not be read from {entries[0][0]!r}")
    lines += _listing("missing from the checkpoint", [f"{n} {list(expected[n])}" for n in missing])
    lines += _listing(
        "mis-shaped", [f"{n}: checkpoint {list(available[n])}, cell expects {list(expected[n])}" for n in misshaped]
    )
    lines += _listing(f"unexpected in the checkpoint under {cell_prefix!r}", unexpected)
    lines += _hints(missing, expected, available, prefix)
    return "\n".join(lines)


def _is_slot_of(name, expected):
    # TF1 optimizers save slots as `<weight>/Adam`, `<weight>/Momentum`, ...
    return any(name.startswith(weight + "/") for weight in expected)


def _listing(title, items):
    if not items:
        return []
    shown = [f"    {item}" for item in items[:_MAX_LISTED]]
    more = [f"    ... and {len(items) - _MAX_LISTED} more"] if len(items) > _MAX_LISTED else []
    return [f"  {title} ({len(items)}):"] + shown + more


def _hints(missing, expected, available, prefix):
    """Point at the usual causes: another scope, pre-TF-1.2 names, another cell."""
    hints = []
    old_names = [n for n in missing if _pre_1_2_name(n) in available]
    if old_names:
        hints.append(
            "  hint: the checkpoint uses pre-TF-1.2 names ('weights'/'biases'); TF 1.2 "
            "renamed them 'kernel'/'bias'. Rename them first (TF1's "
            "tf.contrib.rnn checkpoint_convert tool did exactly this)."
        )
    if missing and len(missing) == len(expected):
        hints += _scope_hints(next(iter(expected))[len(prefix):], available)
    return hints


def _pre_1_2_name(name):
    head, _, last = name.rpartition("/")
    return f"{head}/{_PRE_1_2_NAMES.get(last, last)}"


def _scope_hints(first_name, available):
    """Suggest the scope under which the checkpoint holds this cell's first kernel."""
    scopes = sorted({n[: -len(first_name)].rstrip("/") for n in available if n == first_name or n.endswith("/" + first_name)})
    if scopes:
        return [f"  hint: the checkpoint holds {first_name!r} under scope(s) {scopes}; pass scope= one of them."]
    kernels = sorted(n for n in available if n.rpartition("/")[2] in ("kernel", "weights"))
    return [f"  hint: no {first_name!r} anywhere; the checkpoint's kernels are {kernels[:_MAX_LISTED]}"]
