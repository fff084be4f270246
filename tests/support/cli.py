"""The CLI, run in the test's own process through `orchestrator.cli.run(argv) -> int`: the same code path as the
console script up to its exit (`main` then stops the Ray it started and leaves the interpreter), without a new
interpreter importing torch and Ray (~3 s) and without starting and stopping a local Ray (~5 s) for every case.

- `run_in_process`: commands that end before any Ray starts (refusals, --help, --dry-run); `started_ray` says whether
  one started anyway, or, with the session's Ray up already, whether the command reached `connect_ray`.
- `run_on_cluster`: commands that train or evaluate, on the session's shared Ray cluster (the `ray_cluster` fixture
  must be active): `connect_ray` joins it, so their workers get the environment that fixture gave them at ray.init
  (ROBOT_SWEEPS_CACHE = the session's `cache_dir`), not this process's. Ray's own worker lines reach this driver
  (the fixture's ray.init keeps log_to_driver on), so these runs do not show what a user's terminal shows of Ray.
- `run_cli`: a new interpreter, as a user runs it. Kept where the process is the subject (signals, exit codes of a
  killed or full run, `ray job submit`, --verbose and a quiet terminal, which are settings of the process's own
  ray.init), or where the workers need an environment other than the shared cluster's (a test's own PYTHONPATH,
  Hub endpoint or S3 credentials).

Both in-process runners leave the process as they found it: the working directory, os.environ (a command may set
variables, e.g. RAY_AIR_NEW_OUTPUT), the warnings filters and what was already shown once, the terminal's verbose
flag, console and live table, and the SIGINT/SIGTERM handlers."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str
    started_ray: bool  # the command initialized Ray in this process (a refusal must come before that)


def run_cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m orchestrator <args>` in a new interpreter, from the repository root, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def run_in_process(*args: str) -> Result:
    """Run `python -m orchestrator <args>` here (from the repository root, as the subprocess tests do). With the
    session's Ray up already (an earlier test used `ray_cluster`), `started_ray` says whether the command reached
    `connect_ray`, which would have joined it quietly."""
    before = _ray_initialized()
    with _watching_ray(before) as reached:
        code, out, err = _run_here(args)
    return Result(code, out, err, _ray_initialized() and not before or reached())


def run_on_cluster(*args: str) -> Result:
    """Run `python -m orchestrator <args>` here, on the session's Ray cluster (request the `ray_cluster` fixture).
    The driver's environment is this process's (set a test's own variables with monkeypatch.setenv); the workers'
    is the cluster's."""
    if not _ray_initialized():
        raise RuntimeError("run_on_cluster needs the session's Ray: request the ray_cluster fixture")
    code, out, err = _run_here(args)
    return Result(code, out, err, False)


def _run_here(args: tuple[str, ...]) -> tuple[int, str, str]:
    from orchestrator.cli import run

    out, err = io.StringIO(), io.StringIO()
    with _isolated(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(list(args), handle_signals=False)
    return code, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def _isolated() -> Iterator[None]:
    """What one command may change in its process, restored afterwards (a new interpreter would start without it)."""
    from orchestrator import cli, terminal

    cwd, environ = os.getcwd(), dict(os.environ)
    noted, once = set(cli._NOTED), dict(warnings.onceregistry)
    cli._NOTED.clear()  # "each text once per process": a new command starts as a new process would
    warnings.onceregistry.clear()
    terminal_state = dict(terminal._state)
    terminal._state.update(console=None, live=None)  # made again for this command's stdout
    main = threading.current_thread() is threading.main_thread()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)} if main else {}
    os.chdir(ROOT)
    try:
        with warnings.catch_warnings():  # the filters and warnings.showwarning the command sets
            yield
    finally:
        terminal.stop_live()
        terminal._state.update(terminal_state)
        os.chdir(cwd)
        for key in set(os.environ) - set(environ):
            del os.environ[key]
        os.environ.update(environ)
        cli._NOTED.clear()
        cli._NOTED.update(noted)
        warnings.onceregistry.clear()
        warnings.onceregistry.update(once)
        for sig, handler in handlers.items():
            if handler is not None:
                signal.signal(sig, handler)


@contextlib.contextmanager
def _watching_ray(initialized: bool) -> Iterator[Callable[[], bool]]:
    """Yields `reached()`: whether the command used Ray through orchestrator.runtime.ray_start (connect_ray, the one
    way a command starts or joins Ray, asks `ray.is_initialized()` first). Watched only while Ray is up: otherwise
    a command that reaches it starts one, which `_ray_initialized` sees."""
    if not initialized:
        yield lambda: False
        return
    from orchestrator.runtime import ray_start

    watched = _Watched(ray_start.ray)
    ray_start.ray = watched  # type: ignore[assignment]
    try:
        yield lambda: watched.reached
    finally:
        ray_start.ray = watched.module


class _Watched:
    """A module's `ray`, noting any use."""

    def __init__(self, module: ModuleType) -> None:
        self.module, self.reached = module, False

    def __getattr__(self, name: str):
        self.reached = True
        return getattr(self.module, name)


def _ray_initialized() -> bool:
    return "ray" in sys.modules and sys.modules["ray"].is_initialized()
