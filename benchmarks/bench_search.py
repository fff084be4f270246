"""(g) P7 and the noise-aware rule: which search picks better winners for the compute it spends?

Runs the demo sweep (search_spaces/act.py, or --space) with each rule and several sweep seeds, side by side in one
run, through the real CLI (a local Ray per sweep), and scores each sweep by its winner's *confirmed* success: the
same fresh confirmation episodes for every sweep. Rules:

  asha_tpe   Optuna TPE + ASHA, eval.n_episodes episodes at every evaluation (the default)
  random     random search, no early stopping, the same number of trials
  asha_grow  Optuna TPE + ASHA, half the episodes at the first evaluation, doubling at each later one
             (eval.n_episodes_growth=2): more evidence where ASHA's decisions matter more

For each sweep it reports the winner's confirmed success (Wilson 95 %), the trial-steps the whole sweep trained,
and the trial-steps spent until the winner's checkpoint existed (trials in start order, the winner's best step).
Prints `RATIO` lines: mean confirmed success of asha_tpe / random and asha_grow / asha_tpe, and trial-steps
random / asha_tpe.

    .venv/bin/python benchmarks/bench_search.py --seeds 0 1 2 [--rules asha_tpe random asha_grow] [-- extra flags]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from orchestrator.experiment_layout import SUMMARY

ROOT = Path(__file__).resolve().parents[1]
RULES = {
    "asha_tpe": ["--tune.search=optuna", "--tune.scheduler=asha"],
    "random": ["--tune.search=random", "--tune.scheduler=none"],
    "asha_grow": ["--tune.search=optuna", "--tune.scheduler=asha", "--eval.n_episodes_growth=2"],
}


def run_sweep(space: str, rule: str, seed: int, storage: Path, extra: list[str], n_episodes: int) -> dict:
    name = f"{rule}-seed{seed}"
    args = [
        *RULES[rule],
        f"--tune.seed={seed}",
        f"--tune.storage_path={storage}",
        f"--tune.experiment_name={name}",
        "--tune.baseline=false",
        *extra,
    ]
    if rule == "asha_grow":  # half the episodes first, then 2x per evaluation: about the same episodes in all
        args += [f"--eval.n_episodes={max(1, n_episodes // 2)}", f"--eval.batch_size={max(1, n_episodes // 2)}"]
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "orchestrator", "sweep", space, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "WANDB_MODE": "offline"},
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
    summary = json.loads((storage / name / SUMMARY).read_text())
    return score(summary, rule, seed, wall)


def score(summary: dict, rule: str, seed: int, wall: float) -> dict:
    def started(t: dict) -> float:  # Tune's trial ids are random: order by start time (last report - its runtime)
        return t["last_metrics"]["timestamp"] - t["last_metrics"]["time_total_s"]

    trials = sorted(summary["trials"], key=started)
    last_steps = {t["trial_id"]: t["last_metrics"].get("step", 0) for t in trials}
    winner = summary["best"]
    order = [t["trial_id"] for t in trials]
    before = sum(last_steps[t] for t in order[: order.index(winner["trial_id"])])
    confirmed = winner["confirmed"]
    return {
        "rule": rule,
        "seed": seed,
        "success": confirmed["success"],
        "ci": confirmed["success_ci95"],
        "n": confirmed["n_episodes"],
        "trial_steps": sum(last_steps.values()),
        "steps_to_winner": before + winner["best_step"],
        "winner": winner["trial_id"],
        "wall_s": wall,
        "params": winner["params"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space", default="search_spaces/act.py")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rules", nargs="+", default=list(RULES), choices=list(RULES))
    parser.add_argument("--n-episodes", type=int, default=10, help="the space's eval.n_episodes (asha_grow halves it)")
    parser.add_argument("--storage", default="/tmp/robot-sweeps-bench-search")
    parser.add_argument("--rescore", metavar="DIR", help="score the sweeps already in DIR (a previous run's folder)")
    parser.add_argument("extra", nargs="*", help="flags for every sweep, after --")
    args = parser.parse_args()
    storage = Path(args.rescore) if args.rescore else Path(args.storage) / time.strftime("%Y%m%d-%H%M%S")
    rows = []
    for seed in args.seeds:  # rules alternate within each seed, so load drifts hit every rule alike
        for rule in args.rules if seed % 2 == 0 else list(reversed(args.rules)):
            if args.rescore:
                walls = {
                    (r["rule"], r["seed"]): r["wall_s"] for r in json.loads((storage / "bench_search.json").read_text())
                }
                summary = json.loads((storage / f"{rule}-seed{seed}" / SUMMARY).read_text())
                row = score(summary, rule, seed, walls.get((rule, seed), 0.0))
            else:
                row = run_sweep(args.space, rule, seed, storage, args.extra, args.n_episodes)
            rows.append(row)
            print(
                f"{rule:>9} seed {seed}: confirmed success {row['success']:.1%} [{row['ci'][0]:.1%}, "
                f"{row['ci'][1]:.1%}] (n={row['n']}), trial-steps {row['trial_steps']}, to winner "
                f"{row['steps_to_winner']}, wall {row['wall_s'] / 60:.1f} min, winner {row['params']}",
                flush=True,
            )
    (storage / "bench_search.json").write_text(json.dumps(rows, indent=2))

    def mean(rule: str, key: str) -> float:
        return statistics.mean(r[key] for r in rows if r["rule"] == rule)

    print("\nrule       mean confirmed success   mean trial-steps   mean steps to winner")
    for rule in args.rules:
        print(
            f"{rule:>9}  {mean(rule, 'success'):>22.1%}   {mean(rule, 'trial_steps'):>16.0f}   "
            f"{mean(rule, 'steps_to_winner'):>20.0f}"
        )
    if {"asha_tpe", "random"} <= set(args.rules):
        print(
            f"RATIO confirmed success asha_tpe/random: {mean('asha_tpe', 'success') / max(1e-9, mean('random', 'success')):.3f}"
        )
        print(
            f"RATIO trial-steps random/asha_tpe: {mean('random', 'trial_steps') / mean('asha_tpe', 'trial_steps'):.3f}"
        )
    if {"asha_tpe", "asha_grow"} <= set(args.rules):
        print(
            f"RATIO confirmed success asha_grow/asha_tpe: "
            f"{mean('asha_grow', 'success') / max(1e-9, mean('asha_tpe', 'success')):.3f}"
        )
    print(f"results: {storage / 'bench_search.json'}")


if __name__ == "__main__":
    main()
