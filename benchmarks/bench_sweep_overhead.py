"""(b) Sweep overhead: sweep wall time / (sum of the trials' loop times / concurrency), by trial length.

    .venv/bin/python benchmarks/bench_sweep_overhead.py [--lengths 15 30 60] [--trials 2] [--repeats 1]

For each target loop length L (seconds) it runs a real sweep with `orchestrator.sweep.prepare`/`run` on
benchmarks/sweep_space.py (the demo's ACT, a tune.choice over lr, eval off, no scheduler, random search), with
`steps` chosen so one trial trains about L seconds, 2 trials at a time (1 CPU per Train worker, Ray on 2 CPUs).

- sweep wall time: one clock around `orchestrator.sweep.run` (Tuner start, every trial's start-up, training and
  teardown, Tuner end; Ray itself is already up, as in any sweep after the first).
- a trial's loop time, from the trial's own reports in Tune's `metrics_dataframe` (nothing is added to product
  code): `time_total_s` of the last report - that of the first report, plus the first report's window
  (`step * (train/update_s + train/data_s)`, timed inside the loop).
- start-up: `time_total_s` of the first report minus that first window, i.e. trial start to first step.

ratio = wall / (sum(loop) / 2). With per-trial fixed cost F (start-up + teardown) and loop length L it is about
1 + F / L, so the script also prints F and the loop length at which the ratio would reach the target.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import DEFAULT_CACHE, BareTrainer, demo_config, start_ray, summary, use_cache  # noqa: E402

TARGET = 1.05  # for trials of a minute or more
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


def run_sweep(steps: int, log_freq: int, trials: int, storage: str, name: str) -> dict:
    from orchestrator import sweep

    prepared = sweep.prepare(SPACE, [f"--steps={steps}", f"--save_freq={steps}", f"--log_freq={log_freq}",
                                     f"--tune.num_samples={trials}", f"--tune.max_concurrent_trials={CONCURRENCY}",
                                     f"--tune.storage_path={storage}", f"--tune.experiment_name={name}"])
    start = time.perf_counter()
    results, _ = sweep.run(prepared)
    wall = time.perf_counter() - start
    if results.errors:
        raise SystemExit(f"{len(results.errors)} trial(s) failed: {results.errors[0]}")
    loops, startups = zip(*(loop_and_startup(r.metrics_dataframe) for r in results))
    ideal = sum(loops) / CONCURRENCY
    return {"wall": wall, "loop": statistics.mean(loops), "startup": statistics.mean(startups),
            "ratio": wall / ideal, "fixed": (wall - ideal) * CONCURRENCY / len(loops)}


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
    print(f"calibration: {step_s * 1000:.0f} ms per step in this process (then: per step of the last sweep)",
          flush=True)
    start_ray(num_cpus=2)
    rows: dict[float, list[dict]] = {length: [] for length in args.lengths}
    try:
        with tempfile.TemporaryDirectory(prefix="bench_sweep_") as storage:
            for repeat in range(args.repeats):
                for length in args.lengths:
                    steps = max(2, round(length / step_s / args.log_freq)) * args.log_freq
                    row = run_sweep(steps, args.log_freq, args.trials, storage, f"len{length:g}_{repeat}")
                    rows[length].append(row)
                    step_s = row["loop"] / steps  # two trials at once step slower than one loop alone
                    print(f"~{length:g} s trials ({steps} steps): wall {row['wall']:.1f} s, mean loop "
                          f"{row['loop']:.1f} s, start-up (trial start -> first step) {row['startup']:.1f} s, "
                          f"fixed cost per trial {row['fixed']:.1f} s, ratio {row['ratio']:.3f}", flush=True)
    finally:
        ray.shutdown()
    fixed = statistics.median(r["fixed"] for rs in rows.values() for r in rs)
    print(f"fixed cost per trial (median over all sweeps): {fixed:.1f} s -> ratio <= {TARGET} needs loops of "
          f">= {fixed / (TARGET - 1):.0f} s")
    for length, rs in rows.items():
        print(f"RATIO sweep/ideal @ ~{length:g} s trials (mean loop {statistics.mean(r['loop'] for r in rs):.1f} s) "
              f"= {summary([r['ratio'] for r in rs])} (target <= {TARGET} for trials >= 60 s)")


if __name__ == "__main__":
    main()
