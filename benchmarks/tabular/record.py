"""Record a tabulated benchmark: train a task's grid with the project's own sweep, evaluate every checkpoint per
episode with the project's own rollout (the evaluator actors' code), and write one JSON file per config.

    nice -n 10 .venv/bin/python benchmarks/tabular/record.py mw_push [--storage /tmp/robot-sweeps-tabular]

Resumable at two levels: the sweep itself (`--tune.resume=true` when its storage folder exists) and the grid: a
config whose file exists under data/<task>/configs/ is not trained again (the task file's constraint), so a run on a
fresh machine records only what is missing. Wall times are recorded as measured; a busy machine inflates them, so
record on a quiet one (or read the compute weights, which are medians, with that in mind).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.tabular.grid import DATA, config_file, values_of  # noqa: E402
from orchestrator.experiment_layout import (  # noqa: E402
    CHECKPOINTS,
    PRETRAINED,
    RESULT,
    TRAIN,
    TRAINING_STATE,
    TRIAL_FOLDERS,
    TRIALS,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", help="a task module of benchmarks/tabular (e.g. mw_push)")
    parser.add_argument("--storage", default="/tmp/robot-sweeps-tabular", help="the sweep's storage path")
    parser.add_argument("--evaluate-only", action="store_true", help="evaluate what is in storage; train nothing")
    parser.add_argument("--trial", help=argparse.SUPPRESS)  # evaluate this one trial (a child process) and exit
    args = parser.parse_args()
    task = importlib.import_module(f"benchmarks.tabular.{args.task}")
    experiment = Path(args.storage) / task.TASK
    if args.trial:
        record_trial(task, experiment, experiment / TRAIN / args.trial)
        return
    write_provenance(task, args)
    sweep = None
    if not args.evaluate_only:
        cmd = [
            sys.executable,
            "-m",
            "orchestrator",
            "sweep",
            f"benchmarks/tabular/{args.task}.py",
            f"--tune.storage_path={args.storage}",
            f"--tune.experiment_name={task.TASK}",
        ]
        if (experiment / TRIALS).is_dir():
            cmd.append("--tune.resume=true")
        log = open(
            Path(args.storage).mkdir(parents=True, exist_ok=True) or Path(args.storage) / f"{task.TASK}.log", "a"
        )
        sweep = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "WANDB_MODE": "offline", "RAY_USAGE_STATS_ENABLED": "0"},
        )
    while True:
        running = sweep is not None and sweep.poll() is None
        for run in sorted((experiment / TRAIN).glob(TRIAL_FOLDERS)):
            # each in a fresh process: a recording runs for hours, and the code on disk may change meanwhile
            if ready(task, run):
                subprocess.run(
                    [sys.executable, __file__, args.task, f"--storage={args.storage}", f"--trial={run.name}"],
                    cwd=ROOT,
                    check=False,
                )
        if not running:
            break
        time.sleep(15)
    done = len(list((DATA / task.TASK / "configs").glob("*.json")))
    print(
        f"{task.TASK}: {done} configs recorded in {DATA / task.TASK}"
        + (f" (the sweep exited {sweep.returncode})" if sweep else "")
    )


def ready(task, run: Path) -> bool:
    """The trial has a checkpoint at every evaluation step (trained to the end) and its config is not recorded yet."""
    steps = set()
    for ckpt in run.glob(CHECKPOINTS):
        step_file = ckpt / TRAINING_STATE / "training_step.json"
        if step_file.is_file() and (ckpt / PRETRAINED / "train_config.json").is_file():
            step = json.loads(step_file.read_text())["step"]
            steps.add(step)
            if step == task.EVAL_STEPS[-1]:
                params = json.loads((ckpt / PRETRAINED / "train_config.json").read_text())
                values = {k: _dotted(params, k) for k in task.GRID}
                if config_file(task.TASK, values).is_file():
                    return False
    return set(task.EVAL_STEPS) <= steps


def _dotted(data: dict, dotted: str):
    for part in dotted.split("."):
        data = data[part]
    return data


def record_trial(task, experiment: Path, run: Path) -> None:
    """Evaluate a finished trial's checkpoints at the task's EVAL_STEPS and write its config's file."""
    import torch

    from orchestrator.configs.parsing import build_config
    from orchestrator.envs.rollout import rollout
    from orchestrator.policies.factory import load_policy

    checkpoints = {}
    for ckpt in run.glob(CHECKPOINTS):
        step_file = ckpt / TRAINING_STATE / "training_step.json"
        if step_file.is_file() and (ckpt / PRETRAINED / "model.safetensors").is_file():
            checkpoints[json.loads(step_file.read_text())["step"]] = ckpt / PRETRAINED
    if not set(task.EVAL_STEPS) <= set(checkpoints):
        return  # still training (or stopped): a resumed sweep finishes it
    cfg = build_config(json.loads((checkpoints[task.EVAL_STEPS[-1]] / "train_config.json").read_text()), [])
    params = values_of(cfg, task.GRID)
    out = config_file(task.TASK, params)
    if out.is_file():
        return
    torch.set_num_threads(1)
    evaluated = []
    for step in task.EVAL_STEPS:
        n = task.LAST_EPISODES if step == task.EVAL_STEPS[-1] else task.EVAL_EPISODES
        seeds = [cfg.eval.seed + i for i in range(n)]
        start = time.perf_counter()
        policy = load_policy(checkpoints[step])
        policy.eval()
        episodes = rollout(policy, cfg.env, seeds, cfg.eval.batch_size)
        evaluated.append(
            {
                "step": step,
                "eval_s": round(time.perf_counter() - start, 3),
                "episodes": {
                    "seed": [e.seed for e in episodes],
                    "success": [int(e.success) for e in episodes],
                    "sum_reward": [round(e.sum_reward, 4) for e in episodes],
                    "max_reward": [round(e.max_reward, 4) for e in episodes],
                },
            }
        )
    reports = [
        json.loads(line) for line in (experiment / TRIALS / run.name / RESULT).read_text().splitlines() if line.strip()
    ]
    train = [
        {
            "step": r["step"],
            "loss": round(r["train/loss"], 5),
            "time_s": round(r["time_total_s"], 2),
            "update_s": round(r["train/update_s"], 5),
        }
        for r in reports
        if "train/loss" in r
    ]
    record = {
        "params": params,
        "trial": run.name,
        "seed": cfg.seed,
        "steps": cfg.steps,
        "train": train,
        "checkpoints": evaluated,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, separators=(",", ":")))
    tmp.rename(out)
    last = evaluated[-1]["episodes"]["success"]
    print(
        f"{task.TASK} {out.stem}: success {[round(sum(c['episodes']['success']) / len(c['episodes']['success']), 2) for c in evaluated]} "
        f"(last {sum(last)}/{len(last)}), eval {sum(c['eval_s'] for c in evaluated):.0f} s",
        flush=True,
    )


def write_provenance(task, args) -> None:
    from importlib.metadata import version

    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    folder = DATA / task.TASK
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "provenance.json"
    earlier = json.loads(path.read_text()) if path.is_file() else {}
    runs = earlier.get("runs", [])
    runs.append(
        {
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "commit": commit,
            "command": " ".join(["python", "benchmarks/tabular/record.py", *sys.argv[1:]]),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
            "versions": {p: version(p) for p in ("torch", "ray", "metaworld", "mujoco", "gymnasium", "optuna")},
        }
    )
    meta = {
        "task": task.TASK,
        "grid": task.GRID,
        "preset": task.PRESET,
        "eval_steps": task.EVAL_STEPS,
        "eval_episodes": task.EVAL_EPISODES,
        "last_episodes": task.LAST_EPISODES,
        "about": (task.__doc__ or "").strip().splitlines()[0],
        "runs": runs,
    }
    path.write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    main()
