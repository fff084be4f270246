"""Ctrl-C, SIGINT and SIGTERM (what `ray job stop` and cluster schedulers send): one home for how a command stops.

The first signal asks the running work to stop. Inside a sweep's `Tuner.fit` that is Tune's own graceful stop (its
SIGUSR1 handler: the experiment state is saved with the running trials still RUNNING, so `--tune.resume=true`
continues them from their checkpoints; Tune's SIGINT handler is switched off with TUNE_DISABLE_SIGINT_HANDLER, as it
would return normally and the sweep would go on to its baseline). Anywhere else it is a KeyboardInterrupt. Either
way the command ends with exit code 130 and says how to resume (orchestrator/cli.py). A second signal quits at once.

The local Ray a command starts ignores the terminal's Ctrl-C (orchestrator/runtime/ray_start.py starts it with SIGINT
ignored, which its processes inherit): Ctrl-C reaches the whole foreground process group, and Ray's processes dying
under the driver's feet made a stopping sweep hang instead of stopping.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager

_state: dict = {"signal": None, "in_tune": False}


class Interrupted(KeyboardInterrupt):
    """A stop the user asked for (Ctrl-C, SIGINT, SIGTERM), raised after the running work was stopped cleanly."""


def install(quiet: bool = True) -> None:
    """Handle SIGINT and SIGTERM in this (main) thread from now on. `quiet`: Tune's own lines about the stop (which
    tell a Python user to call Tuner.restore) are dropped; ours say what to run."""
    os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"  # ours decides; Tune's would swallow the interrupt
    _state["installed"] = True
    reclaim()
    if quiet:
        logging.getLogger("ray.tune.tune").addFilter(_tune_stop_lines)


def reclaim() -> None:
    """(Re)install our handlers: ray.init puts Ray's own SIGTERM handler in the driver (it logs "SIGTERM received"
    and exits 1, skipping our clean stop). Called after ray.init; nothing happens unless install() was called."""
    if _state.get("installed") and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, _on_signal)


def _tune_stop_lines(record: logging.LogRecord) -> bool:
    stopping = _state["signal"] is not None or _state.get("stopping")
    return not (stopping and str(record.msg).startswith(TUNE_STOP_LINES))


def stop_tune(reason: str) -> bool:
    """Tune's graceful stop (its SIGUSR1 handler: trials stay RUNNING in its saved state) for a reason of ours, e.g.
    a full disk (orchestrator/runtime/storage_space.py); Tune's lines about it are dropped like a Ctrl-C's. False outside
    Tune's loop (nothing to stop gracefully)."""
    graceful = signal.getsignal(signal.SIGUSR1)
    if not callable(graceful):
        return False
    _state["stopping"] = reason
    graceful(signal.SIGUSR1, None)
    return True


TUNE_STOP_LINES = ("Stop signal received", "Experiment has been interrupted", "Trials did not complete")


def requested() -> str | None:
    """The name of the signal that asked this command to stop, or None."""
    return signal.Signals(_state["signal"]).name if _state["signal"] is not None else None


def raise_if_requested() -> None:
    """After work that stops gracefully (a Tune fit): end the command instead of going on."""
    if _state["signal"] is not None:
        raise Interrupted(requested())


@contextmanager
def tune_running():
    """While Tune's loop runs, the first signal becomes Tune's graceful stop."""
    _state["in_tune"] = True
    try:
        yield
    finally:
        _state["in_tune"] = False


def _on_signal(signum: int, frame) -> None:
    if _state["signal"] is not None:  # the second one: no more waiting
        os.write(2, b"\ninterrupted again: quitting now\n")
        raise KeyboardInterrupt
    _state["signal"] = signum
    tune_stop = signal.getsignal(signal.SIGUSR1)  # installed by Tune for the duration of its loop
    if _state["in_tune"] and callable(tune_stop):
        sys.stderr.write(
            f"\n{signal.Signals(signum).name} at {time.strftime('%H:%M:%S')}: stopping the sweep; "
            "running trials keep their last checkpoint (press Ctrl-C again to quit at once)\n"
        )
        sys.stderr.flush()
        tune_stop(signal.SIGUSR1, frame)
        return
    raise KeyboardInterrupt


@contextmanager
def ignoring_sigint():
    """Processes started inside inherit an ignored SIGINT (see the module's docstring). Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
