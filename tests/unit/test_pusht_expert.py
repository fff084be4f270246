"""The scripted PushT expert in the real gym-pusht env, and recording its demonstrations as a dataset."""

from __future__ import annotations

import fcntl
import os
import threading
import time

import numpy as np
import pytest

from orchestrator.configs.train import DatasetConfig
from orchestrator.datasets import record
from orchestrator.datasets.reader import LeRobotDataset
from orchestrator.datasets.record import ensure_dataset, record_dataset
from orchestrator.datasets.writer import write_dataset
from orchestrator.envs.configs import PushTEnvConfig
from orchestrator.envs.experts import EXPERTS
from orchestrator.errors import UserError


def run_episode(env, seed):
    expert = EXPERTS["pusht"](seed=seed)
    env.reset(seed=seed)
    expert.reset(env)
    done, steps = False, 0
    while not done:
        action = expert.act(env)
        assert action.shape == (2,) and action.dtype == np.float32
        _, _, terminated, truncated, info = env.step(action)
        done, steps = terminated or truncated, steps + 1
    return bool(info["is_success"]), steps


def test_expert_solves_most_episodes():
    env = PushTEnvConfig(obs_type="state").make()
    results = [run_episode(env, seed) for seed in range(3)]
    assert sum(success for success, _ in results) >= 2, results


def test_expert_is_deterministic():
    env = PushTEnvConfig(obs_type="state").make()
    expert = EXPERTS["pusht"](seed=7)
    runs = []
    for _ in range(2):
        env.reset(seed=7)
        expert.reset(env)
        actions = []
        for _ in range(30):
            actions.append(expert.act(env))
            env.step(actions[-1])
        runs.append(np.stack(actions))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_record_dataset_writes_a_readable_dataset(tmp_path):
    env_cfg = PushTEnvConfig()
    report = record_dataset(env_cfg, tmp_path / "ds", n_episodes=2, seed=0, num_procs=1)
    assert report.kept == 2 and report.attempted >= 2 and report.success_rate == 2 / report.attempted
    dataset = LeRobotDataset(tmp_path / "ds", delta_timestamps={"action": [0.0, 0.1]})
    assert dataset.meta.total_episodes == 2 and len(dataset) == dataset.meta.total_frames
    assert dataset.meta.features == env_cfg.features()
    for episode in dataset.meta.episodes:
        last = dataset[episode["dataset_to_index"] - 1]
        assert last["next.success"] and last["next.done"] and last["action_is_pad"].tolist() == [False, True]
    assert not dataset[0]["next.done"]


def test_record_gives_up_when_the_expert_keeps_failing(tmp_path, monkeypatch):
    episode = {
        "observation.state": np.zeros((1, 2)),
        "observation.environment_state": np.zeros((1, 16)),
        "action": np.zeros((1, 2)),
    }
    monkeypatch.setattr(record, "rollout", lambda env_cfg, seed: (episode, False))
    with pytest.raises(UserError, match="succeeded in 0 of"):
        record_dataset(PushTEnvConfig(), tmp_path / "ds", n_episodes=3, num_procs=1)
    assert not (tmp_path / "ds").exists()
    report = record_dataset(PushTEnvConfig(), tmp_path / "ds", n_episodes=3, num_procs=1, keep_failures=True)
    assert (report.attempted, report.kept, report.success_rate) == (3, 3, 0.0)


def test_ensure_dataset_records_once_and_checks_the_env(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setenv("ROBOT_SWEEPS_CACHE", str(tmp_path))
    cfg, tiny = DatasetConfig(repo_id="local/tiny", record_episodes=2), tmp_path / "datasets" / "local" / "tiny"
    assert ensure_dataset(cfg, PushTEnvConfig()) == tiny  # recorded by 2 spawned processes
    assert "expert success rate" in capsys.readouterr().out
    record_dataset(PushTEnvConfig(), tmp_path / "inline", n_episodes=2, num_procs=1)
    assert "recording pusht expert episodes" in capsys.readouterr().out  # its progress bar
    parallel, inline = LeRobotDataset(tiny), LeRobotDataset(tmp_path / "inline")
    np.testing.assert_array_equal(parallel.arrays["action"], inline.arrays["action"])  # same seeds, same data
    assert ensure_dataset(cfg, PushTEnvConfig()) == tiny
    assert capsys.readouterr().out == ""  # found, not recorded again
    ensure_dataset(DatasetConfig(repo_id="local/tiny", record_episodes=5), PushTEnvConfig())
    assert "using the 2 episodes recorded earlier" in capsys.readouterr().err  # not silently fewer than asked
    with pytest.raises(UserError, match="dataset.repo_id"):
        ensure_dataset(cfg, PushTEnvConfig(obs_type="state"))
    with pytest.raises(UserError, match="dataset.root"):
        ensure_dataset(DatasetConfig(repo_id="lerobot/pusht", root=str(tmp_path / "none")), PushTEnvConfig())


def test_ensure_dataset_waits_for_a_concurrent_recording(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBOT_SWEEPS_CACHE", str(tmp_path))
    cfg, tiny = DatasetConfig(repo_id="local/tiny", record_episodes=1), tmp_path / "datasets" / "local" / "tiny"
    tiny.parent.mkdir(parents=True)
    recorded, returned = [], []
    monkeypatch.setattr(record, "record_dataset", lambda *args, **kwargs: recorded.append(args))
    env_cfg = PushTEnvConfig()
    episode = {key: np.zeros((2, *feature.shape), np.float32) for key, feature in env_cfg.features().items()}
    with open(tiny.parent / "tiny.lock", "w") as lock:  # another trial is recording
        fcntl.flock(lock, fcntl.LOCK_EX)
        waiter = threading.Thread(target=lambda: returned.append(ensure_dataset(cfg, env_cfg)))
        waiter.start()
        time.sleep(0.3)
        assert waiter.is_alive()
        write_dataset(tiny, [episode], env_cfg.fps, env_cfg.features(), "pusht", "task")
    waiter.join(10)
    assert returned == [tiny] and recorded == []
