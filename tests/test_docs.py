"""The docs the guide promises: README's two commands, CI running one of them, API docs."""

import inspect
import pathlib
import re
import runpy
import types

import numpy as np
import pytest

import tfrnn
from tfrnn import seq2seq

ROOT = pathlib.Path(__file__).parent.parent


def readme_commands():
    return re.findall(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one():
    commands = readme_commands()
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    demo, tests = commands
    assert "python -m tfrnn" in demo and "pytest" in tests
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert tests in ci_lines


def test_readme_quickstart_runs():
    code = re.search(r"```python\n(.+?)\n```", (ROOT / "README.md").read_text(), re.S).group(1)
    assert len(code.splitlines()) <= 10
    exec(compile(code, "README.md", "exec"), {})


def test_all_lists_exactly_the_public_api():
    public = {
        name for name, value in vars(tfrnn).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert sorted(public) == sorted(tfrnn.__all__)


def test_every_public_symbol_has_a_tested_example_and_a_migration_row():
    migration = (ROOT / "MIGRATION.md").read_text()
    for name in tfrnn.__all__:
        doc = inspect.getdoc(getattr(tfrnn, name)) or ""
        assert ">>>" in doc, f"{name} has no >>> example"
        assert f"`{name}" in migration or f"{name}(" in migration or f".{name}" in migration, name


LOOPS = ("dynamic_rnn", "static_rnn", "raw_rnn", "bidirectional_dynamic_rnn", "static_bidirectional_rnn",
         "stack_bidirectional_dynamic_rnn", "stack_bidirectional_rnn")


@pytest.mark.parametrize("name", LOOPS)
def test_loop_docstrings_state_tf1_padding_first(name):
    """Keras, Sonnet and Flax users expect the last output repeated: each loop says zeros at once."""
    doc = inspect.getdoc(getattr(tfrnn, name))
    summary, body = doc.split("\n\n")[:2]
    assert "zeros" in summary, summary
    assert "repeat the last output" in body or name == "raw_rnn", body


def test_cell_docstrings_state_equations_and_weights():
    for name in ("BasicRNNCell", "BasicLSTMCell", "LSTMCell", "GRUCell", "MultiRNNCell"):
        doc = inspect.getdoc(getattr(tfrnn, name))
        assert "Equations" in doc and "Attributes:" in doc and "Args:" in doc, name


def test_migration_keras_training_example_runs_and_learns():
    text = (ROOT / "MIGRATION.md").read_text()
    code = next(block for block in re.findall(r"```python\n(.+?)\n```", text, re.S) if "runs in tests/test_docs.py" in block)
    namespace = {}
    exec(compile(code, "MIGRATION.md", "exec"), namespace)
    losses = namespace["history"].history["loss"]
    assert losses[-1] < losses[0]
    assert namespace["predictions"].shape == (256, 3)


def test_seq2seq_all_lists_exactly_its_public_api():
    public = {
        name for name, value in vars(seq2seq).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", "").startswith("tfrnn.seq2seq")
    }
    assert sorted(public) == sorted(seq2seq.__all__)


def test_every_seq2seq_symbol_has_a_tested_example_and_a_migration_row():
    migration = (ROOT / "MIGRATION.md").read_text()
    for name in seq2seq.__all__:
        doc = inspect.getdoc(getattr(seq2seq, name)) or ""
        assert ">>>" in doc, f"seq2seq.{name} has no >>> example"
        assert f"tfrnn.seq2seq.{name}" in migration, f"MIGRATION.md has no row for tfrnn.seq2seq.{name}"


def test_migration_seq2seq_recipe_builds_once_and_serves_every_batch(tmp_path):
    """The memory recipe: batches of other sizes and lengths make no variable and no trace."""
    text = (ROOT / "MIGRATION.md").read_text()
    code = next(block for block in re.findall(r"```python\n(.+?)\n```", text, re.S) if "Build once, feed every batch" in block)
    (tmp_path / "recipe.py").write_text(code)  # a real file: AutoGraph reads the step's source
    namespace = runpy.run_path(str(tmp_path / "recipe.py"))
    train_step, rng = namespace["train_step"], np.random.default_rng(0)

    def batch(size, source_time, target_time):
        return (rng.normal(size=(size, source_time, 16)).astype("float32"),
                rng.integers(1, source_time + 1, size).astype("int32"),
                rng.normal(size=(size, target_time, 8)).astype("float32"),
                rng.integers(1, target_time + 1, size).astype("int32"),
                rng.integers(0, namespace["vocab_size"], (size, target_time)).astype("int32"))

    first = batch(4, 7, 5)
    losses = [float(train_step(*first))]
    variables, traces = len(namespace["cell"].variables), train_step.experimental_get_tracing_count()
    for shape in [(3, 9, 6), (5, 4, 3)]:
        train_step(*batch(*shape))
    losses += [float(train_step(*first)) for _ in range(20)]
    assert len(namespace["cell"].variables) == variables == 4  # LSTM kernel and bias, memory layer, attention layer
    assert train_step.experimental_get_tracing_count() == traces
    assert losses[-1] < 0.5 * losses[0]
