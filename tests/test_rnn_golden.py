"""The loops against TF1 itself: goldens that TF1 wrote (tests/golden/, see its README).

`loops/` was written by TF1's loop code (tf_keras with TF_USE_LEGACY_KERAS=1),
`tf115/` by real TF 1.15 (`tf.contrib.rnn.stack_bidirectional_*`). Each case's
TF1 call text (`dynamic_rnn(cell, x, sequence_length=L, ...)`) is evaluated
with tfrnn's functions and classes in place of TF1's; the TF1 checkpoint is
loaded into the unbuilt cells by scope, and outputs, final states and
gradients must equal TF1's.
"""

import json
import pathlib

import numpy as np
import pytest
import tensorflow as tf

import tfrnn

GOLDEN = pathlib.Path(__file__).parent / "golden" / "loops"
CASES = {case["name"]: case for case in json.loads((GOLDEN / "MANIFEST.json").read_text())["cases"]}
CONTRIB = pathlib.Path(__file__).parent / "golden" / "tf115"
STACK_CASES = {
    case["name"]: case
    for case in json.loads((CONTRIB / "MANIFEST.json").read_text())["cases"]
    if case["call"].startswith("stack_bidirectional")
}
ATOL = 1e-5
MODES = ("eager", "tf.function", "xla")  # see `assert_reproduces_tf1`
INIT_OWNERS = {"init": "cell", "init_fw": "cell_fw", "init_bw": "cell_bw"}


def raw_rnn_docstring_loop(cell, x, L):
    """TF's raw_rnn docstring loop (as in generate_loops.py), on tfrnn.raw_rnn."""
    max_time, batch_size, input_depth = x.shape.as_list()
    inputs_ta = tf.TensorArray(dtype=tf.float32, size=max_time).unstack(x)

    def loop_fn(time, cell_output, cell_state, loop_state):
        next_cell_state = cell.zero_state(batch_size, tf.float32) if cell_output is None else cell_state
        elements_finished = time >= L
        next_input = tf.cond(
            tf.reduce_all(elements_finished),
            lambda: tf.zeros([batch_size, input_depth], dtype=tf.float32),
            lambda: inputs_ta.read(time),
        )
        return elements_finished, next_input, next_cell_state, cell_output, None

    emit_ta, final_state, _ = tfrnn.raw_rnn(cell, loop_fn)
    return emit_ta.stack(), final_state


def namespace(golden, folder, case, scopes, init_owners):
    """The call's names: tfrnn's API, the cells (loaded from TF1's checkpoint), x, L, inits."""
    names = {n: getattr(tfrnn, n) for n in tfrnn.__all__}
    names.update(tf=tf, raw_rnn_docstring_loop=raw_rnn_docstring_loop, __builtins__={})
    cells = {name: eval(text, names) for name, text in case["cells"].items()}  # noqa: S307
    for name, cell in cells.items():
        tfrnn.load_tf1_checkpoint(folder / case["name"], cell, scope=scopes[name])
    names.update(cells, x=tf.constant(golden["x"]))
    if "L" in golden:
        names["L"] = tf.constant(golden["L"])
    inits = {}
    for init_name, owner in init_owners.items():
        count = len([k for k in golden if k.startswith(f"init:{init_name}:")])
        inits[init_name] = [tf.constant(golden[f"init:{init_name}:{i}"]) for i in range(count)]
        names[init_name] = tf.nest.pack_sequence_as(cells[owner].state_size, inits[init_name])
    return names, cells, inits


def assert_reproduces_tf1(folder, case, scopes, init_owners, mode="eager"):
    """The call's result leaves and the gradients of a fixed weighting of them equal TF1's.

    `mode` runs the call and its gradient eagerly, in a `tf.function` whose signature
    leaves batch and time unknown (`None`) where the call allows it, or in one compiled
    by XLA (`jit_compile=True`).
    """
    golden = np.load(folder / f"{case['name']}.npz")
    names, cells, inits = namespace(golden, folder, case, scopes, init_owners)
    variables = {}
    for name, cell in cells.items():
        variables.update(tfrnn.tf1_variable_names(cell, scopes[name]))
    assert sorted(variables) == sorted(golden["names"].tolist())
    weights = [golden[f"r_{k}"] for k in range(case["result_leaves"])]

    def run(x, init_leaves, *lengths):  # no L for a call without sequence_length
        with tf.GradientTape() as tape:
            tape.watch([x, *init_leaves])
            given, at = dict(names, x=x, **dict(zip("L", lengths))), 0
            for init_name, leaves in inits.items():
                given[init_name] = tf.nest.pack_sequence_as(names[init_name], init_leaves[at:at + len(leaves)])
                at += len(leaves)
            leaves = tf.nest.flatten(eval(case["call"], given))  # noqa: S307 - text from MANIFEST.json
            loss = sum(tf.reduce_sum(leaf * weight) for leaf, weight in zip(leaves, weights))
        return leaves, tape.gradient(loss, {"x": x, "init": init_leaves, "vars": variables})

    init_leaves = [leaf for leaves in inits.values() for leaf in leaves]
    arguments = (names["x"], init_leaves, *[names[n] for n in ("L",) if n in names])
    if mode != "eager":
        run = tf.function(run, input_signature=signature(case, *arguments), jit_compile=mode == "xla")
    leaves, grads = run(*arguments)
    assert len(leaves) == case["result_leaves"]
    for k, leaf in enumerate(leaves):
        np.testing.assert_allclose(leaf, golden[f"out_{k}"], atol=ATOL, err_msg=f"result leaf {k}")
    np.testing.assert_allclose(grads["x"], golden["grad_x"], atol=ATOL)
    init_grads = iter(grads["init"])
    for init_name, leaves in inits.items():
        for i in range(len(leaves)):
            np.testing.assert_allclose(next(init_grads), golden[f"grad_init:{init_name}:{i}"], atol=ATOL)
    for tf1_name, grad in grads["vars"].items():
        np.testing.assert_allclose(grad, golden[f"grad:{tf1_name}"], atol=ATOL, err_msg=tf1_name)


def signature(case, x, init_leaves, *lengths):
    """Batch unknown everywhere; time unknown too where the loop reads it when it runs.

    Not for a static loop (the call unstacks the steps in Python) nor for a case with
    no steps, whose time dimension must be known (see `dynamic_rnn`).
    """
    batch_axis = 1 if "time_major=True" in case["call"] else 0
    shape = [None if axis == batch_axis else size for axis, size in enumerate(x.shape)]
    if "unstack" not in case["call"] and x.shape[1 - batch_axis] > 0:
        shape[1 - batch_axis] = None
    init_specs = [tf.TensorSpec([None, *leaf.shape[1:]], leaf.dtype) for leaf in init_leaves]
    return [tf.TensorSpec(shape, x.dtype), init_specs, *[tf.TensorSpec([None], n.dtype) for n in lengths]]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(set(CASES) - {"dyn_len_longer_than_time"}))
def test_loop_reproduces_tf1(name, mode):
    if name == "raw_rnn_docstring" and mode != "eager":
        # TF's docstring loop reads batch and time from the inputs' static shape, and XLA
        # cannot size the TensorArray raw_rnn emits into (see `raw_rnn`).
        pytest.skip("raw_rnn is checked eagerly")
    case = CASES[name]
    assert_reproduces_tf1(GOLDEN, case, case["scopes"], {k: INIT_OWNERS[k] for k in case["inits"]}, mode)


def stack_scope(cell_name, static):
    """TF1's scope of layer i's cells: the dynamic stack adds a bidirectional_rnn level."""
    direction, layer = cell_name[len("cell_"):-1], cell_name[-1]
    middle = "" if static else "bidirectional_rnn/"
    return f"stack_bidirectional_rnn/cell_{layer}/{middle}{direction}"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(STACK_CASES))
def test_contrib_stack_reproduces_tf1_15(name, mode):
    case = STACK_CASES[name]
    static = case["call"].startswith("stack_bidirectional_rnn(")
    scopes = {cell: stack_scope(cell, static) for cell in case["cells"]}
    assert_reproduces_tf1(CONTRIB, case, scopes, case["inits"], mode)


def test_lengths_beyond_time_are_refused_where_tf1_was_silent():
    case = CASES["dyn_len_longer_than_time"]
    golden = np.load(GOLDEN / f"{case['name']}.npz")
    names, _, _ = namespace(golden, GOLDEN, case, case["scopes"], {})
    with pytest.raises(ValueError, match=r"but rows \[1\] exceed it \("):
        eval(case["call"], names)  # noqa: S307
    # TF1 ran min(T, L) steps for such a row: the same numbers as a clipped length.
    names["L"] = tf.minimum(names["L"], case["time"])
    leaves = tf.nest.flatten(eval(case["call"], names))  # noqa: S307
    for k, leaf in enumerate(leaves):
        np.testing.assert_allclose(leaf, golden[f"out_{k}"], atol=ATOL)
