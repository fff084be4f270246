"""(c) Share of evaluation time hidden by the async eval actors, versus blocking evaluation of the same work.

    .venv/bin/python benchmarks/bench_async_eval.py [--steps 300] [--eval-freq 100] [--repeats 2]

The same training (the demo's ACT, batch 64, `steps` steps) runs three ways in one plain loop in this process, a Ray
driver; only the evaluation differs, every `eval_freq` steps and at the last step, `n_episodes` PushT episodes:

- none:     no evaluation.
- async:    the real path: `trainables.evaluator.create_actors` + `EvalPool.submit(step, policy)` on evaluation
            steps and `EvalPool.poll(wait=is_last)` on report steps (every `log_freq` steps and the last), exactly
            as trainables/train_loop.py calls them. Fresh actors per run, alive before the clock starts.
- blocking: `orchestrator.envs.rollout.rollout` called inline on a copy of the policy (written here, not in product
            code), on the same seeds, env batch size and torch threads.

hidden = 1 - (T_async - T_none) / (T_blocking - T_none), from the wall time of the whole loop (the last evaluation
included). The last evaluation starts when training is over, so no design can hide it: the script also prints the
share hidden of the evaluations that overlap training (the same formula on the time the last training step ends),
and the share hidden if only the loop's time inside evaluation calls counted (rollout vs EvalPool.submit/poll): the
gap between that and the wall-clock share is the training slowed down by the actor competing for CPU.

Why a plain loop rather than a TorchTrainer: the trainer's start-up (10-20 s on this machine, see
bench_sweep_overhead.py) would add noise larger than the effect; the loop is otherwise the same step as
train_loop_per_worker (benchmarks.common.BareTrainer). This process takes the niceness of Ray's workers (15) so
the trainer and the eval actor compete for CPU as a Train worker and an actor do.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
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

TARGET = 0.90  # where evaluation has a core of its own
MODES = ("none", "async", "blocking")


def train(mode: str, cfg) -> dict:
    """One run: the training loop with `mode` evaluation. Times from the first step: `train_s` until the last
    training step ends, `total_s` until the loop ends (the last evaluation included). `eval_s`: summed wall time
    of the blocking evaluations, or the actors' own eval_s; `blocked_s`: time the loop spent in evaluation calls
    (rollout, or EvalPool.submit/poll), i.e. the evaluation cost not counting any slowdown of the training steps."""
    import ray

    from orchestrator.configs.parsing import encode
    from orchestrator.envs.rollout import rollout
    from trainables.evaluator import EvalPool, create_actors

    trainer = BareTrainer(cfg)
    pool = None
    if mode == "async":
        pool = EvalPool(
            create_actors(encode(cfg), cfg.eval.num_actors, cfg.resources.cpus_per_eval_actor),
            cfg.eval.n_episodes,
            cfg.eval.seed,
        )
        ray.get([actor.pid.remote() for actor in pool.actors])  # actor processes up, as after a trainer's start-up
    seeds = [cfg.eval.seed + i for i in range(cfg.eval.n_episodes)]  # EvalPool's seeds
    eval_s, blocked_s, finished = 0.0, 0.0, []
    start = time.perf_counter()
    for step in range(1, cfg.steps + 1):
        trainer.step()
        is_last = step == cfg.steps
        if is_last:
            train_s = time.perf_counter() - start
        began = time.perf_counter()
        if mode != "none" and (step % cfg.eval_freq == 0 or is_last):
            if mode == "async":
                pool.submit(step, trainer.policy)
            else:
                rollout(copy.deepcopy(trainer.policy), cfg.env, seeds, cfg.eval.batch_size, cfg.eval.use_async_envs)
                eval_s += time.perf_counter() - began
        if pool is not None and (step % cfg.log_freq == 0 or is_last):
            finished += pool.poll(wait=is_last)
        blocked_s += time.perf_counter() - began
    total_s = time.perf_counter() - start
    if pool is not None:
        eval_s = sum(m["eval/eval_s"] for m in finished)
        for actor in pool.actors:
            ray.kill(actor)
    return {"train_s": train_s, "total_s": total_s, "eval_s": eval_s, "blocked_s": blocked_s}


def hidden(t: dict[str, dict], key: str) -> float:
    return 1 - (t["async"][key] - t["none"][key]) / (t["blocking"][key] - t["none"][key])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="training steps per run")
    parser.add_argument("--eval-freq", type=int, default=100, help="evaluate every this many steps (and at the end)")
    parser.add_argument("--log-freq", type=int, default=50, help="poll finished evaluations every this many steps")
    parser.add_argument("--episodes-per-eval", type=int, default=10, help="PushT episodes per evaluation")
    parser.add_argument("--repeats", type=int, default=2, help="rounds of the three modes, order rotated")
    parser.add_argument("--cache", default=DEFAULT_CACHE, help="ROBOT_SWEEPS_CACHE for the recorded dataset")
    parser.add_argument("--episodes", type=int, default=20, help="expert episodes recorded if the dataset is missing")
    args = parser.parse_args()

    import ray

    use_cache(args.cache, args.episodes)
    cfg = demo_config(
        steps=args.steps,
        eval_freq=args.eval_freq,
        log_freq=args.log_freq,
        eval={"n_episodes": args.episodes_per_eval, "batch_size": args.episodes_per_eval},
    )
    start_ray(num_cpus=2)
    print(
        f"trainer (this process) at niceness {renice(ray_worker_niceness())}, eval actor at {ray_worker_niceness()}",
        flush=True,
    )
    overall, overlapped, direct = [], [], []
    try:
        for repeat in range(args.repeats):
            order = MODES[repeat % 3 :] + MODES[: repeat % 3]
            times = {mode: train(mode, cfg) for mode in order}
            overall.append(hidden(times, "total_s"))
            overlapped.append(hidden(times, "train_s"))
            direct.append(1 - times["async"]["blocked_s"] / times["blocking"]["blocked_s"])
            print(
                f"repeat {repeat + 1} ({', '.join(order)}): "
                + "; ".join(
                    f"{m} train {t['train_s']:.1f} s, total {t['total_s']:.1f} s, eval {t['eval_s']:.1f} s, "
                    f"in eval calls {t['blocked_s']:.1f} s"
                    for m, t in times.items()
                )
                + f" -> hidden {overall[-1]:.0%} (of overlapping evals "
                f"{overlapped[-1]:.0%})",
                flush=True,
            )
    finally:
        ray.shutdown()
    print(f"hidden share of the evaluations that overlap training: {summary(overlapped)}")
    print(
        f"hidden share counting only the loop's time in evaluation calls (no slowdown of the steps by the actor "
        f"sharing the CPU): {summary(direct)}"
    )
    print(
        f"RATIO hidden eval share = {statistics.median(overall):.0%} (target >= {TARGET:.0%} where eval has its "
        f"own core)"
    )


if __name__ == "__main__":
    main()
