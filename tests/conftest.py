import os
import pathlib

# Quiet TensorFlow's C++ start-up logging in test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The golden generators are scripts for the TF1 oracle processes (TF_USE_LEGACY_KERAS=1,
# or TF 1.15 in its own venv); doctest collection must not import them.
collect_ignore_glob = ["golden/*.py", "golden/**/*.py"]


# Slow checks in processes of their own (notebooks, benchmark smoke runs) run beside the
# suite: their jobs start when collection ends and their tests run last (background.py).
import shutil  # noqa: E402
import tempfile  # noqa: E402

import pytest  # noqa: E402

import background  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "background(*jobs): the test reads the results of background jobs "
                                       "(tests/background.py)")


def _skipped(item):
    """Whether a marker already skips `item` (a plain skip, or a skipif whose condition is a true bool)."""
    return item.get_closest_marker("skip") is not None or any(
        marker.args and marker.args[0] is True for marker in item.iter_markers("skipif"))


@pytest.hookimpl(trylast=True)  # after -k/-m deselection
def pytest_collection_modifyitems(session, config, items):
    marked = [item for item in items if item.get_closest_marker("background") is not None]
    if not marked:
        return
    items[:] = [item for item in items if item.get_closest_marker("background") is None] + marked
    names = [name for item in marked if not _skipped(item) for marker in item.iter_markers("background")
             for name in marker.args]
    if names and not config.option.collectonly:
        root = pathlib.Path(tempfile.mkdtemp(prefix="tfrnn-background-"))
        background.RUNNER = background.Runner(names, root)
        background.RUNNER.start()


def pytest_unconfigure(config):
    runner, background.RUNNER = background.RUNNER, None
    if runner is not None:
        runner.stop()
        shutil.rmtree(runner.root, ignore_errors=True)
