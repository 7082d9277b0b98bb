"""Slow checks that run in processes of their own, beside the rest of the suite.

A check that needs a fresh process (a notebook's kernel, a benchmark's smoke run, a
SavedModel reloaded elsewhere) spends most of its time starting TensorFlow and running
code the suite does not share. Such a test is marked `@pytest.mark.background("<job>", ...)`:
`conftest.py` starts every selected test's job when collection ends, one after another
on a thread of the test process (the suite itself keeps the other core), and moves the
marked tests to the end of the run, where `result("<job>")` waits for the job and hands
back its exit code, output and folder. A job's failure fails its tests, with its output.

A job is a function of its folder returning the command to run (`JOBS`); modules add
theirs with `job(name, cwd=..., env=...)`. It runs in its folder unless given a `cwd`,
with the suite's environment changed by `env` (a value None removes a variable).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping

TESTS = pathlib.Path(__file__).resolve().parent
TIMEOUT_S = 900  # per job: a hung job fails its tests instead of the run
Command = Callable[[pathlib.Path], list[str]]


@dataclasses.dataclass
class Job:
    command: Command
    cwd: pathlib.Path | None
    env: Mapping[str, str | None]

    def environment(self) -> dict[str, str]:
        environment = dict(os.environ)
        for key, value in self.env.items():
            if value is None:
                environment.pop(key, None)
            else:
                environment[key] = value
        return environment


JOBS: dict[str, Job] = {}


def job(name: str, cwd: pathlib.Path | None = None, env: Mapping[str, str | None] | None = None,
        ) -> Callable[[Command], Command]:
    """Registers `command(folder) -> argv` as the background job `name`."""

    def register(command: Command) -> Command:
        if name in JOBS:
            raise ValueError(f"background job {name!r} is registered twice")
        JOBS[name] = Job(command, cwd, dict(env or {}))
        return command

    return register


def python(*args: object) -> list[str]:
    """A command running this interpreter (the suite's environment) on `args`."""
    return [sys.executable, *(str(arg) for arg in args)]


@dataclasses.dataclass
class Finished:
    """What a job left: its exit code, its stdout (`output`) and stderr (`errors`), its folder."""

    returncode: int
    output: str
    errors: str
    folder: pathlib.Path

    def check(self) -> Finished:
        """Itself, if the job exited with 0; else an AssertionError with the tails of its output."""
        assert self.returncode == 0, (f"background job exited with {self.returncode}:\n{self.output[-1500:]}\n"
                                      f"stderr:\n{self.errors[-3000:]}")
        return self


class Runner:
    """Runs the named jobs one at a time, in order, on a daemon thread.

    Each job starts in a process group of its own (its processes' processes too: a
    benchmark's workers, a notebook's kernel), and the whole group is ended when the job
    times out or the run stops. The commands and environments are resolved here, on the
    main thread, before any test can change `os.environ`.
    """

    def __init__(self, names: Iterable[str], root: pathlib.Path) -> None:
        names = list(dict.fromkeys(names))
        unknown = sorted(set(names) - set(JOBS))
        if unknown:
            raise ValueError(f"unknown background jobs {unknown}; known: {sorted(JOBS)}")
        self.names, self.root = names, root
        self._planned = {name: self._plan(name) for name in names}
        self._done = {name: threading.Event() for name in names}
        self._finished: dict[str, Finished] = {}
        self._lock = threading.Lock()  # the check for `stop` and the start of a process are one step
        self._process: subprocess.Popen | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run_all, name="background-jobs", daemon=True)

    def _plan(self, name: str) -> tuple[pathlib.Path, list[str], pathlib.Path, dict[str, str]] | Exception:
        """`(folder, argv, cwd, environment)` of the job, or why it cannot be run."""
        folder = self.root / name
        job = JOBS[name]
        try:
            return folder, job.command(folder), job.cwd or folder, job.environment()
        except Exception as error:  # noqa: BLE001 - a job that cannot be planned fails its tests, not the run
            return error

    def start(self) -> None:
        self._thread.start()

    def _run_all(self) -> None:
        for name in self.names:
            try:
                self._finished[name] = self._run(name)
            except Exception:  # noqa: BLE001 - never leave a test waiting for a job that died here
                self._finished[name] = Finished(-1, "", traceback.format_exc(), self.root / name)
            finally:
                self._done[name].set()

    def _run(self, name: str) -> Finished:
        plan = self._planned[name]
        if isinstance(plan, Exception):
            return Finished(-1, "", f"could not start {name}: {plan!r}", self.root / name)
        folder, argv, cwd, environment = plan
        folder.mkdir(parents=True, exist_ok=True)
        out, err = folder / "stdout.txt", folder / "stderr.txt"
        with open(out, "w") as stdout, open(err, "w") as stderr:
            with self._lock:
                if self._stopped:
                    return Finished(-1, "", "the run ended before this job started", folder)
                try:
                    process = self._process = subprocess.Popen(
                        argv, cwd=cwd, env=environment, stdout=stdout, stderr=stderr, start_new_session=True)
                except OSError as error:
                    return Finished(-1, "", f"could not start {name}: {error!r}", folder)
            try:
                returncode = process.wait(timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                _end_group(process)
                returncode = -9
                stderr.write(f"\n[ended after {TIMEOUT_S} s]\n")
        return Finished(returncode, out.read_text(errors="replace"), err.read_text(errors="replace"), folder)

    def result(self, name: str) -> Finished:
        """The job's outcome, waiting for it if it is still queued or running."""
        if name not in self._done:
            raise KeyError(f"background job {name!r} was not started: mark its test @pytest.mark.background({name!r})")
        if not self._done[name].wait(timeout=TIMEOUT_S * len(self.names)):
            raise TimeoutError(f"background job {name!r} has not finished (the queue: {self.names})")
        return self._finished[name]

    def stop(self) -> None:
        """Ends the running job's process group and starts no other job (the run is over)."""
        with self._lock:
            self._stopped = True
            process = self._process
        if process is not None:
            _end_group(process)


def _end_group(process: subprocess.Popen) -> None:
    """SIGTERM to the job's process group; after 5 s (or once its leader has gone) SIGKILL to
    what is left of it."""
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    _signal_group(process, signal.SIGKILL)
    process.wait()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # the group is gone


RUNNER: Runner | None = None


def result(name: str) -> Finished:
    """The finished job `name` (see the module docstring)."""
    if RUNNER is None:
        raise RuntimeError("no background jobs were started: run the tests with pytest (conftest.py starts them)")
    return RUNNER.result(name)
