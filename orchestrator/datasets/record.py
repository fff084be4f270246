"""Record demonstrations: roll a scripted expert out in the real env and write a LeRobotDataset.

Episode `a` (the a-th attempt) is seeded with `seed + a`, for both the env and the expert, and episodes are
kept in attempt order, so a dataset depends on its seed only, not on how many processes recorded it.
"""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from orchestrator.datasets.layout import INFO_PATH
from orchestrator.datasets.meta import DatasetMeta
from orchestrator.datasets.sources import cached_snapshot, download
from orchestrator.datasets.writer import check_writable, write_dataset
from orchestrator.envs.experts import EXPERTS, expert_problems
from orchestrator.errors import UserError, problem, raise_if
from orchestrator.terminal import progress

if TYPE_CHECKING:
    from orchestrator.configs.train import DatasetConfig
    from orchestrator.envs.configs import EnvConfig

MAX_ATTEMPTS_PER_EPISODE = 4  # give up when fewer than 1 in 4 expert episodes succeed


@dataclass
class RecordReport:
    """What a recording did."""

    attempted: int  # episodes rolled out
    kept: int  # episodes written to the dataset
    success_rate: float  # successful episodes / attempted
    seconds: float  # wall-clock time of the whole recording, writing included


def rollout(env_cfg: EnvConfig, seed: int) -> tuple[dict[str, np.ndarray], bool]:
    """One expert episode: LeRobot columns (observations, action, next.reward/success/done) and its success."""
    env = env_cfg.make()
    expert = EXPERTS[env_cfg.type](seed=seed)
    observation, info = env.reset(seed=seed)
    expert.reset(env)
    frames, done = [], False
    while not done:
        action = expert.act(env)
        frame = {**env_cfg.to_frame(observation), "action": action}
        observation, reward, terminated, truncated, info = env.step(action)
        done = terminated or truncated
        frames.append({**frame, "next.reward": reward, "next.success": info["is_success"], "next.done": done})
    env.close()
    episode = {key: np.stack([np.asarray(frame[key]) for frame in frames]) for key in frames[0]}
    return episode, bool(info["is_success"])


def _rollout_attempt(args: tuple[EnvConfig, int]) -> tuple[dict[str, np.ndarray], bool]:
    return rollout(*args)


def record_dataset(
    env_cfg: EnvConfig,
    root: Path,
    n_episodes: int,
    seed: int = 0,
    num_procs: int | None = None,
    keep_failures: bool = False,
    video: bool = True,
) -> RecordReport:
    """Roll the env's expert out until `n_episodes` successful episodes are kept (or, with keep_failures,
    until `n_episodes` are attempted), in `num_procs` spawned processes (default: one per CPU), then write them
    (cameras as MP4 videos, or with video=False as PNG images inside the parquet).
    """
    raise_if(expert_problems(env_cfg.type, getattr(env_cfg, "task", None)), "cannot record a dataset")
    check_writable(Path(root))  # before spending minutes on the rollouts
    start = time.perf_counter()
    max_attempts = n_episodes if keep_failures else MAX_ATTEMPTS_PER_EPISODE * n_episodes
    jobs = ((env_cfg, seed + attempt) for attempt in range(max_attempts))
    num_procs = min(num_procs or os.cpu_count() or 1, n_episodes)
    kept, attempted, successes = [], 0, 0
    pool = multiprocessing.get_context("spawn").Pool(num_procs) if num_procs > 1 else None
    try:
        results = pool.imap(_rollout_attempt, jobs) if pool else map(_rollout_attempt, jobs)
        with progress(f"recording {env_cfg.type} expert episodes", n_episodes) as advance:
            for episode, success in results:
                attempted += 1
                successes += success
                if success or keep_failures:
                    kept.append(episode)
                    advance()
                if len(kept) == n_episodes:
                    break
                if len(kept) + max_attempts - attempted < n_episodes:
                    raise UserError(
                        problem(
                            "env",
                            f"the {env_cfg.type} expert succeeded in {successes} of "
                            f"{attempted} episodes: {n_episodes} successful episodes are out "
                            f"of reach within {max_attempts} attempts",
                        ),
                        "cannot record a dataset",
                    )
    finally:
        if pool:
            pool.terminate()
    write_dataset(
        root,
        kept,
        env_cfg.fps,
        env_cfg.features(),
        robot_type=env_cfg.type,
        task=env_cfg.task_description,
        image_storage="video" if video else "image",
    )
    return RecordReport(attempted, len(kept), successes / attempted, time.perf_counter() - start)


def ensure_dataset(dataset_cfg: DatasetConfig, env_cfg: EnvConfig) -> Path:
    """The dataset's folder: `dataset.root` (which must hold a dataset: it is never recorded into); a Hub dataset's
    snapshot in the Hugging Face cache (downloaded when missing); or a `local/` dataset, first recorded with the
    env's expert when missing.

    Concurrent callers on one machine (trials of a sweep) serialize on a lock file beside the folder, so the
    dataset is recorded once and the others find it when they get the lock.
    """
    if dataset_cfg.root is not None:  # the env is checked against it before Ray (preflight.check_dataset_fits)
        return _given_root(dataset_cfg.root)
    if not dataset_cfg.is_local():
        return download(dataset_cfg.repo_id, dataset_cfg.revision)
    root = dataset_cfg.resolved_root()
    if (root / INFO_PATH).is_file():
        _note_other_episode_count(root, dataset_cfg.record_episodes)
        return _check_features(root, dataset_cfg, env_cfg)
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f"{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / INFO_PATH).is_file():
            report = record_dataset(env_cfg, root, dataset_cfg.record_episodes, video=dataset_cfg.record_video)
            print(
                f"recorded {report.kept} {env_cfg.type} expert episodes into {root} in {report.seconds:.0f} s "
                f"(expert success rate {report.success_rate:.0%} over {report.attempted} episodes)",
                flush=True,
            )
    return _check_features(root, dataset_cfg, env_cfg)


def _note_other_episode_count(root: Path, record_episodes: int) -> None:
    """A local dataset is recorded once: say so when it holds another number of episodes than asked for now."""
    held = json.loads((root / INFO_PATH).read_text()).get("total_episodes")
    if held is not None and held != record_episodes:
        print(
            f"note: using the {held} episodes recorded earlier in {root}; dataset.record_episodes = "
            f"{record_episodes} applies only when recording (delete that folder to record again)",
            file=sys.stderr,
            flush=True,
        )


def existing_dataset(dataset_cfg: DatasetConfig) -> Path | None:
    """The dataset's folder when it is already on this machine (`dataset.root`, a recorded `local/` dataset, or a
    Hub snapshot in the cache), else None; records and downloads nothing (for `sweep --dry-run`)."""
    if dataset_cfg.root is not None:
        return _given_root(dataset_cfg.root)
    if dataset_cfg.is_local():
        root = dataset_cfg.resolved_root()
        return root if (root / INFO_PATH).is_file() else None
    return cached_snapshot(dataset_cfg.repo_id, dataset_cfg.revision)


def _given_root(given: str) -> Path:
    """`dataset.root` (`given`), which must hold a dataset: a typo is an error, never a place to record a new one."""
    root = Path(given).expanduser()
    if not (root / INFO_PATH).is_file():
        why = (
            "the folder does not exist"
            if not root.exists()
            else "it is not a folder"
            if not root.is_dir()
            else f"{root / INFO_PATH} is missing"
        )
        raise UserError(
            problem(
                "dataset.root",
                f"no LeRobotDataset there ({why}); dataset.root reads an existing "
                "dataset, it never records one (to record one: `python -m orchestrator dataset record "
                "--root=...`)",
                given,
            ),
            "dataset not found",
        )
    return root


def _check_features(root: Path, dataset_cfg: DatasetConfig, env_cfg: EnvConfig) -> Path:
    """A dataset recorded here (`local/<name>`) must hold exactly the features the env produces (it was recorded in
    such an env): another env's recording under the same name is not reused."""
    if dataset_cfg.repo_id.startswith("local/"):
        have = {key: feature.shape for key, feature in DatasetMeta.load(root).features.items()}
        wrong = {key: feature.shape for key, feature in env_cfg.features().items() if have.get(key) != feature.shape}
        if wrong:
            raise UserError(
                problem(
                    "dataset.repo_id",
                    f"{root} was recorded in another env: this env needs "
                    f"{wrong}, the dataset has {have}; pick another "
                    f"local/<name> for this env",
                    dataset_cfg.repo_id,
                ),
                "dataset does not match the env",
            )
    return root
