"""What the terminal shows: one live table of the trials, LeRobot's log line of each report, progress bars for long
steps, and nothing of Ray's internals unless `--verbose`.

Quiet by default, with Ray's own knobs: `ray.init(log_to_driver=False)` keeps the workers' output (Ray Train's
"Reporting training result", "Checkpoint successfully created", the controller's resource messages) in Ray's log
files, linked from `<experiment>/logs/ray`; `RunConfig(verbose=0)` with Tune's older output engine
(RAY_AIR_NEW_OUTPUT=0: the newer one prints its start box even at verbose=0) silences Tune's status table and trial
boxes. Our log line is not read from worker stdout: it is built in the driver from each reported result (a Tune
callback in a sweep, sweep_progress.py; a Ray Train callback relaying to the driver in `train`, trainables/trial.py).
`--verbose` gives Ray its output back.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TypedDict

from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from orchestrator import metrics as M
from orchestrator.formatting import log_line


class _State(TypedDict):
    verbose: bool
    console: Console | None
    live: Live | None


_state: _State = {"verbose": False, "console": None, "live": None}


def set_verbose(on: bool) -> None:
    _state["verbose"] = bool(on)


def verbose() -> bool:
    return _state["verbose"]


def take_verbose_flag(args: list[str]) -> list[str]:
    """`args` without `--verbose` (or `--verbose=true|false`), which sets verbose() (off without it)."""
    set_verbose(False)
    rest = []
    for arg in args:
        if arg == "--verbose" or arg.startswith("--verbose="):
            value = arg.partition("=")[2].strip().lower() or "true"
            set_verbose(value in ("true", "1", "yes"))
        else:
            rest.append(arg)
    return rest


def console() -> Console:
    """The terminal (stdout); 160 columns when stdout is a file or a pipe."""
    out = _state["console"]
    if out is None:
        out = _state["console"] = Console(width=None if sys.stdout.isatty() else 160, highlight=False)
    return out


def say(text: str) -> None:
    """One plain line (log lines, events): never wrapped, never read as markup."""
    console().print(text, markup=False, highlight=False, soft_wrap=True)


def say_and_log(text: str, log_path: str | Path | None) -> None:
    """say(text), and append it with a time stamp to the plain-text log at `log_path` (if any)."""
    say(text)
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "a") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n")


def print_reports(log_path: str | Path | None):
    """For `train`: a function printing (and logging) the log line of each report Ray Train relays to the driver."""

    def on_report(metrics: dict) -> None:
        if M.TRAIN_LOSS in metrics:
            say_and_log(log_line(metrics), log_path)

    return on_report


@contextmanager
def progress(description: str, total: int | None):
    """A progress bar for a long step; yields `advance(n=1)`. Only the finished bar is printed to a file or pipe."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console(),
        transient=False,
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)


def live_update(renderable) -> None:
    """Show `renderable` in place (started on first use); nothing on a file or a pipe, or with --verbose (Ray then
    prints its own status)."""
    live = _state["live"]
    if live is None:
        if verbose() or not console().is_terminal:
            return
        live = _state["live"] = Live(renderable, console=console(), refresh_per_second=2)
        live.start()
    live.update(renderable)


def stop_live() -> None:
    """End the live table (its last state stays on the terminal)."""
    live, _state["live"] = _state["live"], None
    if live is not None:
        live.stop()
