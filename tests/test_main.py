"""`python -m tfrnn`, the README's demo: exits 0, prints the same every run, and its stderr
holds only TensorFlow's start-up notices that `tfrnn/__main__.py` documents. The two runs
are background jobs (`background.py`), run from the repository's root as the README says."""

import pathlib
import re

import pytest

import background
import tfrnn.__main__

ROOT = pathlib.Path(__file__).parent.parent

# Lines the demo must print, the shapes and facts the TF1 tutorial documents.
KEY_LINES = [
    "  cell.state_size                              128",
    "  h1.c.shape                                   (32, 128)",
    "  output is h1.h, not the whole state          True",
    "  outputs.shape (batch, time, output_size)     (32, 10, 128)",
    "  row 25 (length 0): outputs past it are 0     True",  # which row depends on the seed
    "  cell.state_size                              (128, 128, 128)",
    "    rnn/multi_rnn_cell/cell_0/basic_rnn_cell/kernel (228, 128)",
    "   fix: MultiRNNCell([get_a_cell() for _ in range(3)])",
]

# TensorFlow's C++ start-up: absl's pre-initialisation banner, its log lines
# ("I0000 00:00:1796323432.871511    9126 port.cc:153] ..."), and the second line of
# cpu_feature_guard's notice.
START_UP_LINE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|(?P<severity>[IWE])\d{4} [\d:.]+ +\d+ (?P<source>[\w.]+):\d+\] .*"
    r"|To enable the following instructions: .*"
)


DEMO_RUNS = ("demo 1", "demo 2")
for _name in DEMO_RUNS:  # what a user sees by default: TensorFlow's start-up log not silenced
    background.job(_name, cwd=ROOT, env={"TF_CPP_MIN_LOG_LEVEL": None})(lambda folder: background.python("-m", "tfrnn"))


@pytest.fixture
def runs():
    return tuple(background.result(name) for name in DEMO_RUNS)


@pytest.mark.background(*DEMO_RUNS)
def test_demo_exits_0_and_prints_the_same_every_run(runs):
    first, second = runs
    first.check(), second.check()
    assert first.output == second.output
    for line in KEY_LINES:
        assert line in first.output.splitlines(), f"{line!r} not in:\n{first.output}"
    assert "False" not in first.output, first.output


@pytest.mark.background(*DEMO_RUNS)
def test_demo_stderr_holds_only_documented_tensorflow_start_up_notices(runs):
    stderr = runs[0].errors
    for phrase in ("Traceback", "Warning:", "WARNING:tensorflow", "retracing", "deprecated"):
        assert phrase not in stderr, stderr
    for line in filter(None, stderr.splitlines()):
        match = START_UP_LINE.fullmatch(line)
        assert match, f"stderr line not from TensorFlow's start-up: {line!r}"
        if match["severity"] in ("W", "E"):
            assert match["source"] in tfrnn.__main__.__doc__, f"undocumented in tfrnn/__main__.py: {line!r}"
