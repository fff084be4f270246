"""(a) Training-loop throughput: our train_loop_per_worker under a real TorchTrainer vs a bare PyTorch loop.

    .venv/bin/python benchmarks/bench_train_loop.py [--window 100] [--repeats 4]

Both sides train the demo's ACT (search_spaces/act.py sizes, batch 64) on the same recorded PushT dataset with the
same DataLoader settings, AdamW, gradient clipping at 10, constant schedule and one torch thread:

- ours: `trainables.trial.fit_trainer(cfg, ..., report_to_tune=False)` with eval off, `steps = 2 * window`,
  `log_freq = window` and `save_freq = steps`. The first window (start-up, warm-up) is dropped; the throughput is the
  final report's `train/samples_per_s`, i.e. batch / mean(data_s + updt_s) over the last `window` steps. It covers
  everything a step does (batch, forward, backward, grad norm and clipping, .item() calls, optimizer, scheduler,
  logging) but not the report itself, one per `log_freq` steps (~4 ms each when reports are >= 0.2 s apart).
- bare: `window` steps in this process after 20 warm-up steps, no Ray in the loop (benchmarks.common.BareTrainer),
  one clock around all of them.

Ray starts its worker processes at niceness 15 (its `worker_niceness` default), so this process takes the same
niceness before the bare loop: on a busy machine a nice-0 loop would otherwise win CPU from the Train worker for
reasons that have nothing to do with the loop (`--bare-niceness 0` measures that too).

The two sides alternate (bare, ours, ours, bare, ...) so slow drifts of a noisy machine hit both alike; the printed
ratio is the median of the per-repeat ratios.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    DEFAULT_CACHE,
    BareTrainer,
    demo_config,
    ray_worker_niceness,
    renice,
    start_ray,
    summary,
    use_cache,
)

TARGET = 0.97


def bare_samples_per_s(window: int, warmup: int = 20) -> float:
    """A plain PyTorch loop over the same data and model; samples/s over `window` steps after `warmup` steps."""
    cfg = demo_config(steps=warmup + window, eval_freq=0)
    trainer = BareTrainer(cfg)
    for _ in range(warmup):
        trainer.step()
    start = time.perf_counter()
    for _ in range(window):
        trainer.step()
    return window * cfg.batch_size / (time.perf_counter() - start)


def ours_samples_per_s(window: int, storage: str, run: int) -> float:
    """The real loop under a real TorchTrainer; the final report's steady-state samples/s."""
    from trainables.trial import fit_trainer

    cfg = demo_config(steps=2 * window, log_freq=window, save_freq=2 * window, eval_freq=0)
    result = fit_trainer(cfg, run_name=f"ours_{run}", storage=storage, report_to_tune=False)
    if result.error:
        raise SystemExit(f"the trainer failed: {result.error}")
    assert result.metrics["step"] == 2 * window
    return result.metrics["train/samples_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=int, default=100, help="steps timed per run (after as many warm-up steps)")
    parser.add_argument("--repeats", type=int, default=4, help="bare/ours pairs, alternating order")
    parser.add_argument(
        "--bare-niceness",
        type=int,
        default=None,
        help="niceness of this process during the bare loop; default: that of Ray's workers",
    )
    parser.add_argument("--cache", default=DEFAULT_CACHE, help="ROBOT_SWEEPS_CACHE for the recorded dataset")
    parser.add_argument("--episodes", type=int, default=20, help="expert episodes recorded if the dataset is missing")
    args = parser.parse_args()

    import ray

    use_cache(args.cache, args.episodes)
    start_ray(num_cpus=2)
    niceness = renice(ray_worker_niceness() if args.bare_niceness is None else args.bare_niceness)
    print(f"bare loop at niceness {niceness}, Ray workers at {ray_worker_niceness()}", flush=True)
    ratios, bare_all, ours_all = [], [], []
    try:
        with tempfile.TemporaryDirectory(prefix="bench_train_loop_") as storage:
            for run in range(args.repeats):
                order = ("bare", "ours") if run % 2 == 0 else ("ours", "bare")
                got = {}
                for side in order:
                    got[side] = (
                        bare_samples_per_s(args.window)
                        if side == "bare"
                        else ours_samples_per_s(args.window, storage, run)
                    )
                bare_all.append(got["bare"])
                ours_all.append(got["ours"])
                ratios.append(got["ours"] / got["bare"])
                print(
                    f"repeat {run + 1}: bare {got['bare']:.1f} samples/s, ours {got['ours']:.1f} samples/s, "
                    f"ratio {ratios[-1]:.3f}",
                    flush=True,
                )
    finally:
        ray.shutdown()
    print(f"bare samples/s: {summary(bare_all)}")
    print(f"ours samples/s: {summary(ours_all)}")
    print(f"ratios: {summary(ratios)}")
    print(f"RATIO train_loop/bare = {statistics.median(ratios):.3f} (target >= {TARGET})")


if __name__ == "__main__":
    main()
