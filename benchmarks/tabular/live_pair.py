"""One real sweep of the defaults beside random search with the same compute, on the tabulated push task
(issue 17, item 8): the confirmed winner and the compute each spent, and the winner's true success read from the
table (every value the live sweep can propose is a point of it), set beside the replay's prediction.

    nice -n 10 .venv/bin/python benchmarks/tabular/live_pair.py [--storage /tmp/robot-sweeps-live] [--samples 12]

The defaults' sweep runs first; random search then gets as many trials as the compute the defaults spent buys
(a random trial trains every step and runs every evaluation: the table's mean cost of one). Compute is counted in
the table's CPU-seconds (start-up, seconds per step of the config, seconds per episode), so the two sweeps are
measured in the replay's units whatever else the machine was doing; their wall times are printed as well.
One pair cannot prove a ratio: it can only contradict the replay.
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

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.tabular import table as tables  # noqa: E402
from orchestrator import metrics as M  # noqa: E402
from orchestrator.experiment_layout import SUMMARY, TRIALS  # noqa: E402
from orchestrator.runtime.experiment import load_experiment  # noqa: E402

SPACE = "benchmarks/tabular/live_mw_push.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storage", default="/tmp/robot-sweeps-live")
    parser.add_argument("--samples", type=int, default=12, help="configs the defaults' sweep samples")
    args = parser.parse_args()
    table = tables.load("mw_push")
    default = run(args.storage, "defaults", [f"--tune.num_samples={args.samples}"])
    spent = compute(table, default["folder"])
    per_random_trial = statistics.mean(
        c.startup_s + c.step_s * table.eval_steps[-1] + 20 * sum(k.episode_s for k in c.checkpoints.values())
        for c in table.configs.values()
    )
    n_random = max(1, round(spent["search_s"] / per_random_trial))
    random = run(
        args.storage,
        "random",
        [
            f"--tune.num_samples={n_random}",
            "--tune.search=random",
            "--tune.scheduler=none",
            "--tune.baseline=false",  # the same default config as the first sweep's baseline: not a search cost
        ],
    )
    out = {"full_trial_s": table.full_trial_s(), "best_true": table.best_true}
    for name, run_ in (("defaults (TPE + ASHA, staged evaluation)", default), ("random search", random)):
        out[name] = {**run_, **compute(table, run_["folder"]), **winner(table, run_["folder"])}
    print(json.dumps(out, indent=1))


def run(storage: str, name: str, extra: list[str]) -> dict:
    folder = Path(storage) / name
    if (folder / SUMMARY).is_file():  # finished by an earlier run of this script
        return {"folder": str(folder), "wall_s": None, "command": None}
    cmd = [
        sys.executable,
        "-m",
        "orchestrator",
        "sweep",
        SPACE,
        f"--tune.storage_path={storage}",
        f"--tune.experiment_name={name}",
        *extra,
    ]
    if (folder / TRIALS).is_dir():
        cmd.append("--tune.resume=true")
    start = time.monotonic()
    with open(Path(storage).mkdir(parents=True, exist_ok=True) or Path(storage) / f"{name}.log", "a") as log:
        subprocess.run(
            cmd,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            env={**os.environ, "WANDB_MODE": "offline", "RAY_USAGE_STATS_ENABLED": "0"},
        )
    return {"folder": str(folder), "wall_s": round(time.monotonic() - start), "command": " ".join(cmd[2:])}


def compute(table: tables.Table, folder: str) -> dict:
    """The sweep's compute in the table's CPU-seconds: each trial's start-up and steps at its config's seconds per
    step, each evaluation's episodes (as many as it ran: staged ones stop early) and the confirmation's episodes."""
    exp = load_experiment(folder)
    episode_s = statistics.median(k.episode_s for c in table.configs.values() for k in c.checkpoints.values())
    train_s = eval_s = 0.0
    steps = episodes = 0
    for row in exp.rows:
        if row.status == "infeasible" or not row.history:
            continue
        cfg = table.config(row.params)
        trained = max(int(r.get(M.STEP, 0) or 0) for r in row.history)
        ran = {
            int(r[M.EVAL_STEP]): int(r.get(M.EVAL_N_EPISODES) or 0)
            for r in row.history
            if r.get(M.EVAL_STEP) is not None
        }
        steps += trained
        episodes += sum(ran.values())
        train_s += cfg.startup_s + cfg.step_s * trained
        eval_s += episode_s * sum(ran.values())
    confirm = (exp.summary or {}).get("confirmation") or {}
    n_candidates = len(confirm.get("candidates") or [])
    confirm_episodes = int(confirm.get("n_episodes") or 0) * n_candidates
    search_s = train_s + eval_s
    return {
        "trials": sum(1 for r in exp.rows if r.status != "infeasible"),
        "steps": steps,
        "search_episodes": episodes,
        "confirm_episodes": confirm_episodes,
        "search_s": round(search_s),
        "search_full_trials": round(search_s / table.full_trial_s(), 2),
        "total_full_trials": round((search_s + episode_s * confirm_episodes) / table.full_trial_s(), 2),
    }


def winner(table: tables.Table, folder: str) -> dict:
    """The confirmed winner, and its checkpoint's true success in the table (the mean of its 50-150 episodes)."""
    best = json.loads((Path(folder) / SUMMARY).read_text())["best"]
    cfg = table.config(best["params"])
    step = best["best_step"]
    confirmed = best.get("confirmed") or {}
    return {
        "winner": best["params"],
        "winner_step": step,
        "confirmed_success": confirmed.get("success"),
        "confirmed_ci95": confirmed.get("success_ci95"),
        "true_success": round(cfg.checkpoints[step].true_success, 3) if step in cfg.checkpoints else None,
        "true_success_best_checkpoint": round(cfg.best_true, 3),
        "choice": best.get("choice"),
    }


if __name__ == "__main__":
    main()
