import os
import pathlib
import shutil
import tempfile

import pytest

import background

# Quiet TensorFlow's C++ start-up logging in test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The golden generators are scripts for the TF1 oracle processes (TF_USE_LEGACY_KERAS=1,
# or TF 1.15 in its own venv); doctest collection must not import them.
collect_ignore_glob = ["golden/*.py", "golden/**/*.py"]


# Slow checks in processes of their own (notebooks, benchmark smoke runs, fresh-process
# checks) run beside the suite: their jobs start when collection ends and their tests run
# last (background.py).


def pytest_configure(config):
    config.addinivalue_line("markers", "background(*jobs): the test reads the results of background jobs "
                                       "(tests/background.py)")


def _background(item):
    return item.get_closest_marker("background") is not None


def _skipped(item):
    """Whether a marker already skips `item` (a plain skip, or a skipif whose condition is a true bool)."""
    return item.get_closest_marker("skip") is not None or any(
        (marker.args[0] if marker.args else marker.kwargs.get("condition")) is True
        for marker in item.iter_markers("skipif"))


@pytest.hookimpl(trylast=True)  # after -k/-m deselection
def pytest_collection_modifyitems(session, config, items):
    items[:] = [item for item in items if not _background(item)] + [item for item in items if _background(item)]


def pytest_collection_finish(session):
    """Starts the jobs of the tests that will run (none when nothing runs: --collect-only, --fixtures...)."""
    option = session.config.option
    if option.collectonly or getattr(option, "showfixtures", False) or getattr(option, "setupplan", False):
        return
    names = [name for item in session.items if _background(item) and not _skipped(item)
             for marker in item.iter_markers("background") for name in marker.args]
    unknown = sorted(set(names) - set(background.JOBS))
    if unknown:
        raise pytest.UsageError(f"@pytest.mark.background names unknown jobs {unknown}; known: "
                                f"{sorted(background.JOBS)} (register them with background.job)")
    if names:
        root = pathlib.Path(tempfile.mkdtemp(prefix="tfrnn-background-"))
        background.RUNNER = background.Runner(names, root)
        background.RUNNER.start()


def pytest_unconfigure(config):
    runner, background.RUNNER = background.RUNNER, None
    if runner is not None:
        runner.stop()
        shutil.rmtree(runner.root, ignore_errors=True)
