"""The docs the guide promises: README's two commands, CI running one of them, API docs."""

import inspect
import pathlib
import re
import types

import pytest

import tfrnn

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
