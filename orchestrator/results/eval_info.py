"""`eval_info.json`: every episode of one evaluation, in the layout `lerobot-eval` (LeRobot 0.4.4) writes.

LeRobot's `eval_policy_all` returns `{"per_task": [...], "per_group": {...}, "overall": {...}}` and `eval_main` dumps
it as `eval_info.json`; each task lists its episodes' `sum_rewards`, `max_rewards`, `successes` (and `video_paths`),
and `overall` has `pc_success` in percent, `avg_sum_reward`, `avg_max_reward`, `n_episodes`, `eval_s`, `eval_ep_s`.
We write the same keys, so a number here compares directly with lerobot-eval's and LeRobot's readers read it, plus
two things LeRobot does not have: each episode's reset seed (`seeds`, beside the other per-episode lists) and the
project's own metrics (success with its 95 % Wilson interval, ...) under `robot_sweeps`.

Used by `python -m orchestrator eval --output_dir` (orchestrator/evaluate.py) and by the confirmation at the end of a
sweep (orchestrator/sweep/confirm_top.py: `<experiment>/confirm/<label>/eval_info.json`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from orchestrator import metrics as M
from orchestrator.results.stats import eval_metrics

FILE_NAME = "eval_info.json"
OURS = "robot_sweeps"  # the project's own metrics, beside LeRobot's keys


def task_group(env_cfg) -> str:
    """The name lerobot-eval groups this env's episodes under: the env type for a single-task env (LeRobot's
    `make_env` returns `{cfg.type: {0: env}}`), the task for MetaWorld (LeRobot groups it by task, e.g. "push-v3")."""
    if env_cfg.type == "metaworld":
        return f"{env_cfg.task}-v3"
    return env_cfg.type


def eval_info(episodes: Iterable, group: str, eval_s: float, extra: dict | None = None) -> dict:
    """The eval_info.json dict of one evaluation of one task (task_id 0 of `group`, as lerobot-eval has it for a
    single-task env). `episodes`: EpisodeResult records, or (seed, success, sum_reward, max_reward) tuples as
    `Confirmed.episodes` keeps them; listed in seed order. `eval_s`: the evaluation's wall seconds. `extra` joins the
    project's metrics under `robot_sweeps`."""
    rows = sorted((_row(e) for e in episodes), key=lambda r: r[0])
    if not rows:
        raise ValueError("eval_info needs at least one episode")
    seeds, successes, sum_rewards, max_rewards = (list(column) for column in zip(*rows))
    n = len(rows)
    ours = eval_metrics(successes, sum_rewards, max_rewards)
    aggregate = {
        "avg_sum_reward": ours[M.EVAL_AVG_SUM_REWARD],
        "avg_max_reward": ours[M.EVAL_AVG_MAX_REWARD],
        "pc_success": ours[M.EVAL_SUCCESS] * 100,
        "n_episodes": n,
    }
    return {
        "per_task": [
            {
                "task_group": group,
                "task_id": 0,
                "metrics": {
                    "sum_rewards": sum_rewards,
                    "max_rewards": max_rewards,
                    "successes": successes,
                    "video_paths": [],
                    "seeds": seeds,
                },
            }
        ],
        "per_group": {group: {**aggregate, "video_paths": []}},
        "overall": {**aggregate, "eval_s": eval_s, "eval_ep_s": eval_s / n, "video_paths": []},
        OURS: {**ours, M.EVAL_SECONDS: eval_s, **(extra or {})},
    }


def write_eval_info(folder: Path, info: dict) -> Path:
    """Write `info` as folder/eval_info.json, atomically (a reader sees the old file or the whole new one)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE_NAME
    tmp = folder / f".{FILE_NAME}.{os.getpid()}"
    tmp.write_text(json.dumps(info, indent=2))
    os.replace(tmp, path)
    return path


def _row(e) -> tuple[int, bool, float, float]:
    seed, success, sum_reward, max_reward = (e.seed, e.success, e.sum_reward, e.max_reward) if hasattr(e, "seed") else e
    return int(seed), bool(success), float(sum_reward), float(max_reward)
