"""Slow checks that run in processes of their own, beside the rest of the suite.

A check that needs a fresh process (a notebook's kernel, a benchmark's smoke run, a
SavedModel reloaded elsewhere) spends most of its time starting TensorFlow and running
code the suite does not share. Such a test is marked `@pytest.mark.background("<job>")`:
`conftest.py` starts every selected test's job when collection ends, one after another
on a thread of the test process (the suite itself keeps the other core), and moves the
marked tests to the end of the run, where `result("<job>")` waits for the job and hands
back its exit code, output and folder. A job's failure fails its tests, with its output.

A job is a function of its folder returning the command to run there (`JOBS`); modules
add theirs with `job(name)`.
"""

from __future__ import annotations

import dataclasses
import pathlib
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable

TESTS = pathlib.Path(__file__).resolve().parent
JOBS: dict[str, Callable[[pathlib.Path], list[str]]] = {}
TIMEOUT_S = 900  # per job: a hung job fails its tests instead of the run


def job(name: str) -> Callable[[Callable[[pathlib.Path], list[str]]], Callable[[pathlib.Path], list[str]]]:
    """Registers `command(folder) -> argv` as the background job `name`."""

    def register(command: Callable[[pathlib.Path], list[str]]) -> Callable[[pathlib.Path], list[str]]:
        if name in JOBS:
            raise ValueError(f"background job {name!r} is registered twice")
        JOBS[name] = command
        return command

    return register


def python(*args: object) -> list[str]:
    """A command running this interpreter (the suite's environment) on `args`."""
    return [sys.executable, *(str(arg) for arg in args)]


@dataclasses.dataclass
class Finished:
    """What a job left: its exit code, its output (stdout and stderr interleaved) and its folder."""

    returncode: int
    output: str
    folder: pathlib.Path

    def check(self) -> Finished:
        """Itself, if the job exited with 0; else an AssertionError with the output's tail."""
        assert self.returncode == 0, f"background job exited with {self.returncode}:\n{self.output[-3000:]}"
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
        log = folder / "output.txt"
        if self._stopped:
            return Finished(-1, "the run ended before this job started", folder)
        try:
            command = JOBS[name](folder)
            with open(log, "w") as out:
                self._process = subprocess.Popen(command, cwd=folder, stdout=out, stderr=subprocess.STDOUT)
                try:
                    returncode = self._process.wait(timeout=TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
                    returncode = -9
                    out.write(f"\n[killed after {TIMEOUT_S} s]\n")
        except Exception as error:  # noqa: BLE001 - a job that cannot start fails its tests, not the thread
            return Finished(-1, f"could not start {name}: {error!r}", folder)
        return Finished(returncode, log.read_text(errors="replace"), folder)

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
