"""(b) Sweep overhead: sweep wall time / (sum of the trials' loop times / concurrency), by trial length.

    .venv/bin/python benchmarks/bench_sweep_overhead.py [--lengths 15 30 60] [--trials 2] [--repeats 1]

For each target loop length L (seconds) it runs a real sweep with `orchestrator.sweep.prepare.prepare` and
`orchestrator.sweep.recipe.search` on benchmarks/sweep_space.py (the demo's ACT, a tune.choice over lr, eval off, no
scheduler, random search), with `steps` chosen so one trial trains about L seconds, 2 trials at a time (1 CPU per
Train worker, Ray on 2 CPUs).

- sweep wall time: one clock around `orchestrator.sweep.recipe.search` (Tuner start, every trial's start-up, training
  and teardown, Tuner end; Ray itself is already up, as in any sweep after the first).
- a trial's loop time, from the trial's own reports in Tune's `metrics_dataframe` (nothing is added to product
  code): `time_total_s` of the last report - that of the first report, plus the first report's window
  (`step * (train/update_s + train/data_s)`, timed inside the loop).
- start-up: `time_total_s` of the first report minus that first window, i.e. trial start to first step.

ratio = wall / (sum(loop) / 2). With per-trial fixed cost F (start-up + teardown) and loop length L it is about
1 + F / L, so the script also prints F and the loop length at which the ratio would reach the target.

Where the fixed cost goes: the script sets ROBOT_SWEEPS_PHASE_LOG, so every trial's driver and Train worker append
wall-clock marks (trainables/phase_log.py) to one file, and prints the median of each phase over all trials.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import DEFAULT_CACHE, BareTrainer, demo_config, start_ray, summary, use_cache  # noqa: E402
from orchestrator.experiment_layout import trial_folder  # noqa: E402

TARGET = 1.10  # for trials of a minute (issue 10, item 6)
CONCURRENCY = 2
SPACE = str(Path(__file__).with_name("sweep_space.py"))


def seconds_per_step(steps: int = 20) -> float:
    """A rough calibration in this process, only used to choose `steps` for a target loop length."""
    trainer = BareTrainer(demo_config(steps=steps + 5, eval_freq=0))
    for _ in range(5):
        trainer.step()
    start = time.perf_counter()
    for _ in range(steps):
        trainer.step()
    return (time.perf_counter() - start) / steps


def loop_and_startup(df) -> tuple[float, float]:
    """(loop seconds from first to last step, seconds from trial start to first step) from one trial's reports."""
    first, last = df.iloc[0], df.iloc[-1]
    first_window = first["step"] * (first["train/update_s"] + first["train/data_s"])
    return last["time_total_s"] - first["time_total_s"] + first_window, first["time_total_s"] - first_window


# The marks of one trial, in the order they happen, and what the time between two consecutive marks is.
PHASES = [
    ("sweep_start", "Tune: the sweep's search() -> the trial driver's process exists"),
    ("driver_process", "driver: process start -> trainables.trial imported (Ray worker boot, Tune's trainable)"),
    ("driver_import_start", "driver: imports of trainables.trial (ray.train, torch, our code)"),
    ("driver_imported", "driver: imported -> run_trial() called (Tune's function runner)"),
    ("driver_start", "driver: config from the sample"),
    ("evaluators_start", "driver: evaluator actors created"),
    ("fit_start", "Train: controller actor's process start and imports"),
    ("controller_start", "Train: controller set-up (placement-group cleaner launched)"),
    ("wg_start", "Train: placement group -> worker process spawned"),
    ("loop_process", "worker: process boot -> RayTrainWorker actor ready"),
    ("workers_created", "worker: Train context initialized (storage, sync actor)"),
    ("context_ready", "Train: after-start callbacks (gloo process group, cleaner registration, ...)"),
    ("wg_started", "worker: train function launched -> train_loop import starts"),
    ("loop_import_start", "worker: imports of trainables.train_loop (torch, our code)"),
    ("loop_imported", "worker: imported -> loop called"),
    ("loop_start", "worker: dataset (meta, split, windows, loader)"),
    ("dataset", "worker: policy, optimizer (torch.optim imports torch._dynamo), schedule built"),
    ("policy", "worker: first training step"),
    ("first_step", "(training: first step -> last report returned)"),
    ("last_report", "worker: loop's end (W&B finish)"),
    ("loop_end", "Train: controller sees the loop's end (health-check poll)"),
    ("wg_shutdown_start", "Train: worker group shutdown"),
    ("wg_shutdown_done", "Train: controller shutdown (cleaner stopped), result back to the driver"),
    ("fit_end", "driver: fit returned -> run_trial returns (actors killed)"),
    ("driver_end", "Tune: last trial's run_trial returned -> search() returns"),
    ("sweep_end", None),
]

# Ray Train's controller logs (DEBUG, in the session's logs/train/ray-train-sys-controller-*.log) -> our mark names.
TRAIN_LOG_MARKS = {
    "No checkpoint manager snapshot": "controller_start",
    "Attempting to start training worker group": "wg_start",
    "worker actors created": "workers_created",
    "Train context initialized": "context_ready",
    "Worker group startup completed": "wg_started",
    "Shutting down": "wg_shutdown_start",
    "Worker group shutdown successful": "wg_shutdown_done",
}


def read_train_logs(session_dir: str) -> dict[str, dict[str, float]]:
    """{run name: {mark: wall time}} from Ray Train's controller logs of this Ray session."""
    runs: dict[str, dict[str, float]] = {}
    for path in Path(session_dir, "logs", "train").glob("ray-train-sys-controller-*.log"):
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            for text, mark in TRAIN_LOG_MARKS.items():
                if text in entry.get("message", "") and "run_name" in entry:
                    runs.setdefault(entry["run_name"], {}).setdefault(mark, entry["timestamp_ns"] / 1e9)
    return runs


def read_phases(path: str) -> dict[str, dict[str, float]]:
    """{run: {phase: wall time}} from the phase log (the first mark of each phase)."""
    runs: dict[str, dict[str, float]] = {}
    for line in Path(path).read_text().splitlines():
        m = json.loads(line)
        runs.setdefault(m["run"], {}).setdefault(m["phase"], m["t"])
    return runs


def phase_durations(marks: dict[str, float], sweep: dict[str, float]) -> dict[str, float]:
    """Seconds between consecutive marks of one trial (the sweep's start and end from the sweep's own marks)."""
    t = {**marks, "sweep_start": sweep["sweep_start"], "sweep_end": sweep["sweep_end"]}
    out = {}
    for (a, label), (b, _) in zip(PHASES, PHASES[1:]):
        if a in t and b in t:
            out[label] = t[b] - t[a]
    return out


def print_phase_table(rows: list[dict[str, float]]) -> None:
    print(
        f"\nWhere a trial's time goes (median over {len(rows)} trials; seconds between consecutive marks; a "
        "negative value: the process existed before, e.g. a worker Ray had started ahead):"
    )
    fixed = 0.0
    for _, label in PHASES[:-1]:
        values = [r[label] for r in rows if label in r]
        if values:
            med = statistics.median(values)
            print(f"  {med:7.2f} s  {label}  ({min(values):.2f}..{max(values):.2f})")
            fixed += med if not label.startswith("(training") else 0.0
    print(f"  {fixed:7.2f} s  sum of the medians, training excluded")


def ray_session_dir() -> str:
    import ray

    return ray._private.worker._global_node.get_session_dir_path()


def run_sweep(steps: int, log_freq: int, trials: int, storage: str, name: str) -> dict:
    from orchestrator.sweep.prepare import prepare
    from orchestrator.sweep.recipe import search
    from trainables import phase_log

    prepared = prepare(
        SPACE,
        [
            f"--steps={steps}",
            f"--save_freq={steps}",
            f"--log_freq={log_freq}",
            f"--tune.num_samples={trials}",
            f"--tune.max_concurrent_trials={CONCURRENCY}",
            f"--tune.storage_path={storage}",
            f"--tune.experiment_name={name}",
        ],
    )
    phase_log.mark(name, "sweep_start")
    start = time.perf_counter()
    results, _ = search(prepared)
    wall = time.perf_counter() - start
    phase_log.mark(name, "sweep_end")
    if results.errors:
        raise SystemExit(f"{len(results.errors)} trial(s) failed: {results.errors[0]}")
    loops, startups = zip(*(loop_and_startup(r.metrics_dataframe) for r in results))
    ideal = sum(loops) / CONCURRENCY
    marks = read_phases(os.environ[phase_log.ENV_VAR])
    for run, train_marks in read_train_logs(ray_session_dir()).items():
        marks.setdefault(run, {}).update(train_marks)
    trial_marks = [marks.get(trial_folder(r.metrics["trial_id"]), {}) for r in results]
    phases = [phase_durations(m, marks[name]) for m in trial_marks]
    last = max(range(len(phases)), key=lambda i: trial_marks[i].get("driver_end", 0.0))
    tune_end = PHASES[-2][1]  # the sweep's end only follows the trial that ended last
    for i, p in enumerate(phases):
        if i != last:
            p.pop(tune_end, None)
    return {
        "wall": wall,
        "loop": statistics.mean(loops),
        "startup": statistics.mean(startups),
        "ratio": wall / ideal,
        "fixed": (wall - ideal) * CONCURRENCY / len(loops),
        "phases": phases,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=float, nargs="+", default=[15, 30, 60], help="target loop seconds per trial")
    parser.add_argument("--trials", type=int, default=2, help="trials per sweep (2 run at a time)")
    parser.add_argument("--repeats", type=int, default=1, help="sweeps per length (lengths interleaved)")
    parser.add_argument("--log-freq", type=int, default=25, help="steps between reports")
    parser.add_argument("--cache", default=DEFAULT_CACHE, help="ROBOT_SWEEPS_CACHE for the recorded dataset")
    parser.add_argument("--episodes", type=int, default=20, help="expert episodes recorded if the dataset is missing")
    args = parser.parse_args()

    import ray

    use_cache(args.cache, args.episodes)
    step_s = seconds_per_step()
    print(
        f"calibration: {step_s * 1000:.0f} ms per step in this process (then: per step of the last sweep)", flush=True
    )
    rows: dict[float, list[dict]] = {length: [] for length in args.lengths}
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as storage:
        os.environ["ROBOT_SWEEPS_PHASE_LOG"] = str(Path(storage) / "phases.jsonl")  # before Ray: workers write it
        start_ray(num_cpus=2)
        try:
            for repeat in range(args.repeats):
                for length in args.lengths:
                    steps = max(2, round(length / step_s / args.log_freq)) * args.log_freq
                    row = run_sweep(steps, args.log_freq, args.trials, storage, f"len{length:g}_{repeat}")
                    rows[length].append(row)
                    step_s = row["loop"] / steps  # two trials at once step slower than one loop alone
                    print(
                        f"~{length:g} s trials ({steps} steps): wall {row['wall']:.1f} s, mean loop "
                        f"{row['loop']:.1f} s, start-up (trial start -> first step) {row['startup']:.1f} s, "
                        f"fixed cost per trial {row['fixed']:.1f} s, ratio {row['ratio']:.3f} "
                        f"(load average {os.getloadavg()[0]:.1f})",
                        flush=True,
                    )
        finally:
            ray.shutdown()
    print_phase_table([p for rs in rows.values() for r in rs for p in r["phases"]])
    fixed = statistics.median(r["fixed"] for rs in rows.values() for r in rs)
    print(
        f"fixed cost per trial (median over all sweeps): {fixed:.1f} s -> ratio <= {TARGET} needs loops of "
        f">= {fixed / (TARGET - 1):.0f} s"
    )
    for length, rs in rows.items():
        print(
            f"RATIO sweep/ideal @ ~{length:g} s trials (mean loop {statistics.mean(r['loop'] for r in rs):.1f} s) "
            f"= {summary([r['ratio'] for r in rs])} (target <= {TARGET} for trials >= 60 s)"
        )


if __name__ == "__main__":
    main()
