"""The CLI, run in the test's own process through `orchestrator.cli.run(argv) -> int`: for commands that end before
any Ray starts (refusals, --help, --dry-run), the same code path as the console script, without a new interpreter
importing torch and Ray for every case. Commands that train run as subprocesses (tests/e2e), as a user runs them."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

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
    """Run `python -m orchestrator <args>` here (from the repository root, as the subprocess tests do)."""
    from orchestrator.cli import run

    out, err = io.StringIO(), io.StringIO()
    before = _ray_initialized()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run(list(args), handle_signals=False)
    finally:
        os.chdir(cwd)
    return Result(code, out.getvalue(), err.getvalue(), _ray_initialized() and not before)


def _ray_initialized() -> bool:
    import sys

    return "ray" in sys.modules and sys.modules["ray"].is_initialized()
