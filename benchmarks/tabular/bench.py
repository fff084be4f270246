"""Judge sweep strategies on a recorded table: many replays each, the anytime curve, C(strategy), wrong winners.

    .venv/bin/python benchmarks/tabular/bench.py mw_push [--replays 30] [--concurrency 2 8] [--strategies ...]

For each strategy and concurrency it replays the strategy `--replays` times (seeds 0..n-1: searcher seed and the
episode split) up to a total search budget of `--budget` full trials (one config trained to the end, the table's
median, evaluations not counted), and prints:
- the anytime curve: median [25th-75th percentile] over replays of the confirmed winner's true success against the
  compute spent (search + confirmation, CPU-seconds as measured; shown in full trials);
- C: the compute at which the median curve first comes within 5 points of the best config's true success (inf: never
  within the budget), and RATIO lines C(random) / C(strategy);
- wrong: the share of replays whose final winner's true success is more than 10 points below the best's.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.tabular.replay import replay  # noqa: E402
from benchmarks.tabular.strategies import STRATEGIES  # noqa: E402
from benchmarks.tabular.table import load  # noqa: E402

WITHIN = 0.05  # C: within 5 points of the best
WRONG = 0.10  # a wrong winner: more than 10 points below the best


def curve(
    task: str, name: str, concurrency: int, replays: int, budgets: list[float], workers: int, fixed: dict
) -> dict:
    table = load(task).restrict(fixed)
    with ProcessPoolExecutor(workers) as pool:
        outs = list(pool.map(_one, [(task, name, seed, concurrency, budgets, fixed) for seed in range(replays)]))
    best = table.best_true
    winners = np.array([[0.0 if math.isnan(w) else w for w in o.winner_true] for o in outs])
    compute = np.median(np.array([o.compute for o in outs]), axis=0)
    median = np.median(winners, axis=0)
    reach = next((float(c) for c, m in zip(compute, median) if m >= best - WITHIN), math.inf)
    return {
        "strategy": name,
        "concurrency": concurrency,
        "replays": replays,
        "best_true": best,
        "compute": compute.tolist(),
        "median": median.tolist(),
        "p25": np.percentile(winners, 25, axis=0).tolist(),
        "p75": np.percentile(winners, 75, axis=0).tolist(),
        "C": reach,
        "wrong": float(np.mean(winners[:, -1] < best - WRONG)),
        "trials": float(np.mean([o.trials for o in outs])),
        "lag_steps": float(np.mean([x for o in outs for x in o.lag_steps])) if any(o.lag_steps for o in outs) else 0.0,
    }


def _shown(budgets: list[float], unit: float) -> list[int]:
    """Indices of the budget points nearest 2, 4, 8, 16, ... full trials, and the last."""
    out, target = [], 2.0
    while target * unit < budgets[-1]:
        out.append(min(range(len(budgets)), key=lambda i: abs(budgets[i] - target * unit)))
        target *= 2
    return sorted(set(out + [len(budgets) - 1]))


def _one(args):
    task, name, seed, concurrency, budgets, fixed = args
    return replay(load(task).restrict(fixed), STRATEGIES[name], seed, concurrency, budgets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task")
    parser.add_argument("--replays", type=int, default=30)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[2, 8])
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES))
    parser.add_argument("--budget", type=float, default=24.0, help="total search budget, in full trials")
    parser.add_argument("--points", type=int, default=96, help="budget points of the anytime curve")
    parser.add_argument("--workers", type=int, default=2, help="processes replaying in parallel")
    parser.add_argument("--out", help="write every curve as JSON here")
    parser.add_argument(
        "--fix",
        nargs="*",
        default=[],
        metavar="FIELD=VALUE",
        help="replay the sub-table where these fields hold one value (e.g. policy.dim_model=64)",
    )
    args = parser.parse_args()
    fixed = {k: json.loads(v) for k, v in (f.split("=", 1) for f in args.fix)}
    table = load(args.task).restrict(fixed)
    unit = table.full_trial_s()
    budgets = [unit * args.budget * (i + 1) / args.points for i in range(args.points)]
    s = table.summary()
    print(
        f"{args.task}: {s['configs']} configs; best true success {s['best_true']:.1%} ({s['best']}); median config "
        f"(last checkpoint) {s['median_last']:.1%}; preset {s['preset_last']}; a full trial = {unit:.0f} CPU-s"
    )
    rows = []
    print(
        f"anytime curve: median [25th, 75th percentile] over {args.replays} replays of the confirmed winner's true "
        f"success after "
        + ", ".join(f"{budgets[i] / unit:.0f}" for i in _shown(budgets, unit))
        + " full trials of search compute (+ the confirmation's)"
    )
    print("| concurrency | strategy | C (full trials) | wrong winner | trials | ASHA lag (steps) | anytime curve |")
    print("|---|---|---|---|---|---|---|")
    for concurrency in args.concurrency:
        for name in args.strategies:
            time.perf_counter()
            row = curve(args.task, name, concurrency, args.replays, budgets, args.workers, fixed)
            rows.append(row)
            points = "  ".join(
                f"{row['median'][i]:.0%} [{row['p25'][i]:.0%},{row['p75'][i]:.0%}]" for i in _shown(budgets, unit)
            )
            print(
                f"| c={concurrency} | {name} | {row['C'] / unit:.2f} | {row['wrong']:.0%} | {row['trials']:.1f} | "
                f"{row['lag_steps']:.0f} | {points} |",
                flush=True,
            )
        base = next((r for r in rows if r["strategy"] == "random" and r["concurrency"] == concurrency), None)
        for row in rows:
            if base and row["concurrency"] == concurrency and row["strategy"] != "random":
                ratio = base["C"] / row["C"] if math.isfinite(row["C"]) else 0.0
                print(
                    f"RATIO c={concurrency} C(random)/C({row['strategy']}): "
                    f"{ratio if math.isfinite(ratio) else float('inf'):.2f}"
                )
    if args.out:
        Path(args.out).write_text(json.dumps({"task": args.task, "unit_s": unit, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
