"""Wall-clock marks of a trial's start-up and teardown, for benchmarks/bench_sweep_overhead.py.

Off (a no-op) unless ROBOT_SWEEPS_PHASE_LOG names a file on this machine: each mark appends one JSON line
{"run", "phase", "t" (time.time()), "pid"}. The trial's driver and its Train workers both write, so the benchmark can
put one trial's phases on one clock; nothing reads the file in the product.
"""

from __future__ import annotations

import json
import os
import time

ENV_VAR = "ROBOT_SWEEPS_PHASE_LOG"


def mark(run: str, phase: str, t: float | None = None) -> None:
    path = os.environ.get(ENV_VAR)
    if not path:
        return
    line = json.dumps({"run": run, "phase": phase, "t": time.time() if t is None else t, "pid": os.getpid()})
    with open(path, "a") as f:  # one short write per line, appended: lines of concurrent processes do not mix
        f.write(line + "\n")


def mark_entry(run: str, who: str, import_start: float, import_end: float) -> None:
    """Marks `who`_process (this process created), `who`_import_start, `who`_imported (the module's imports, by the
    module's own clock) and `who`_start (now)."""
    if not os.environ.get(ENV_VAR):
        return
    for phase, t in (
        ("process", process_start()),
        ("import_start", import_start),
        ("imported", import_end),
        ("start", None),
    ):
        mark(run, f"{who}_{phase}", t)


def process_start() -> float:
    """When this process was created, on the wall clock to ~10 ms (psutil's create_time can be 1 s off: it counts
    from the boot time in whole seconds)."""
    import psutil

    try:
        started = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
        uptime = float(open("/proc/uptime").read().split()[0])
        return time.time() - (uptime - started)
    except (OSError, ValueError, IndexError):
        return psutil.Process().create_time()
