"""The CLI, run in the test's own process through `orchestrator.cli.run(argv) -> int`: for commands that end before
any Ray starts (refusals, --help, --dry-run), the same code path as the console script, without a new interpreter
importing torch and Ray for every case. Commands that train run as subprocesses (tests/e2e), as a user runs them."""
from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_in_process(*args: str) -> Result:
    """Run `python -m orchestrator <args>` here (from the repository root, as the subprocess tests do)."""
    from orchestrator.cli import run

    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run(list(args), handle_signals=False)
    finally:
        os.chdir(cwd)
    return Result(code, out.getvalue(), err.getvalue())
