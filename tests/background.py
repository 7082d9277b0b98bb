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
import subprocess
import sys
import threading
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
    """Runs the named jobs one at a time, in order, on a daemon thread."""

    def __init__(self, names: Iterable[str], root: pathlib.Path) -> None:
        unknown = sorted(set(names) - set(JOBS))
        if unknown:
            raise ValueError(f"unknown background jobs {unknown}; known: {sorted(JOBS)}")
        self.names = list(dict.fromkeys(names))
        self.root = root
        self._done = {name: threading.Event() for name in self.names}
        self._finished: dict[str, Finished] = {}
        self._process: subprocess.Popen | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run_all, name="background-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run_all(self) -> None:
        for name in self.names:
            folder = self.root / name
            folder.mkdir(parents=True, exist_ok=True)
            self._finished[name] = self._run(name, folder)
            self._done[name].set()

    def _run(self, name: str, folder: pathlib.Path) -> Finished:
        out, err = folder / "stdout.txt", folder / "stderr.txt"
        if self._stopped:
            return Finished(-1, "", "the run ended before this job started", folder)
        job = JOBS[name]
        try:
            with open(out, "w") as stdout, open(err, "w") as stderr:
                self._process = subprocess.Popen(job.command(folder), cwd=job.cwd or folder, env=job.environment(),
                                                 stdout=stdout, stderr=stderr)
                try:
                    returncode = self._process.wait(timeout=TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
                    returncode = -9
                    stderr.write(f"\n[killed after {TIMEOUT_S} s]\n")
        except Exception as error:  # noqa: BLE001 - a job that cannot start fails its tests, not the thread
            return Finished(-1, "", f"could not start {name}: {error!r}", folder)
        return Finished(returncode, out.read_text(errors="replace"), err.read_text(errors="replace"), folder)

    def result(self, name: str) -> Finished:
        """The job's outcome, waiting for it if it is still queued or running."""
        if name not in self._done:
            raise KeyError(f"background job {name!r} was not started: mark its test @pytest.mark.background({name!r})")
        self._done[name].wait()
        return self._finished[name]

    def stop(self) -> None:
        """Kills the running job and starts no other (the run is over)."""
        self._stopped = True
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()


RUNNER: Runner | None = None


def result(name: str) -> Finished:
    """The finished job `name` (see the module docstring)."""
    if RUNNER is None:
        raise RuntimeError("no background jobs were started: run the tests with pytest (conftest.py starts them)")
    return RUNNER.result(name)
