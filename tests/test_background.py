"""`background.py`, the runner of the suite's background jobs: outcomes, failures, and no
process left behind (each job's whole process group ends with the run)."""

import os
import signal
import sys
import time

import pytest

import background

# A job that starts a process of its own, says its pid, and sleeps.
SLEEPER = ("import subprocess, sys, time; child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
           "print(child.pid, flush=True); time.sleep(60)")


@pytest.fixture
def jobs(monkeypatch, tmp_path):
    """A scratch registry, and a function starting a Runner over some of its jobs."""
    monkeypatch.setattr(background, "JOBS", {})
    runners = []

    def run(*names):
        runner = background.Runner(names, tmp_path)
        runners.append(runner)
        runner.start()
        return runner

    yield run
    for runner in runners:
        runner.stop()


def python_code(code):
    return lambda folder: [sys.executable, "-c", code]


def test_outcomes_in_order_with_output_errors_and_folder(jobs):
    background.job("ok", env={"TFRNN_BACKGROUND_TEST": "7"})(
        python_code("import os, sys; print('out', os.environ['TFRNN_BACKGROUND_TEST']); print('err', file=sys.stderr)"))
    background.job("fails")(python_code("import sys; print('boom'); sys.exit(3)"))
    runner = jobs("ok", "fails", "ok")
    assert runner.names == ["ok", "fails"]  # each job once
    ok = runner.result("ok").check()
    assert (ok.returncode, ok.output, ok.errors) == (0, "out 7\n", "err\n")
    assert ok.folder.name == "ok" and (ok.folder / "stdout.txt").exists()
    failed = runner.result("fails")
    assert failed.returncode == 3
    with pytest.raises(AssertionError, match="exited with 3:\nboom"):
        failed.check()
    with pytest.raises(KeyError, match="mark its test @pytest.mark.background"):
        runner.result("never")


def test_a_job_that_cannot_start_or_be_planned_fails_only_its_tests(jobs):
    background.job("missing")(lambda folder: ["/nonexistent/program"])
    background.job("broken")(lambda folder: 1 / 0)
    runner = jobs("broken", "missing")
    assert "ZeroDivisionError" in runner.result("broken").errors
    missing = runner.result("missing")
    assert missing.returncode == -1 and "could not start missing" in missing.errors
    with pytest.raises(ValueError, match="unknown background jobs"):
        background.Runner(["nope"], missing.folder)


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads process states from Linux's /proc")
def test_stop_ends_the_job_and_the_processes_it_started(jobs):
    background.job("sleeper")(python_code(SLEEPER))
    background.job("after")(python_code("print('should not run')"))
    runner = jobs("sleeper", "after")
    stdout = runner.root / "sleeper" / "stdout.txt"
    deadline = time.monotonic() + 30
    while not (stdout.exists() and stdout.read_text().strip()):
        assert time.monotonic() < deadline, "the job did not start its process"
        time.sleep(0.05)
    grandchild = int(stdout.read_text())
    runner.stop()
    assert runner.result("sleeper").returncode == -signal.SIGTERM
    assert runner.result("after").errors == "the run ended before this job started"
    while alive(grandchild):  # the job's own process ended with it
        assert time.monotonic() < deadline, f"process {grandchild}, started by the job, outlived the run"
        time.sleep(0.05)


def alive(pid):
    """Whether `pid` runs (a zombie waiting for its reaper does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
