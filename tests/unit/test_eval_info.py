"""eval_info.json has lerobot-eval's layout and numbers (compared with a file LeRobot 0.4.4's own `eval_policy_all`
wrote, tests/fixtures/lerobot_eval/), every episode with its seed, and our metrics under `robot_sweeps`."""

import copy
import json
import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrator import metrics as M
from orchestrator.envs.rollout import EpisodeResult
from orchestrator.results.candidates import Candidate
from orchestrator.results.confirmed import confirmed_from as _confirmed
from orchestrator.results.eval_info import eval_info, task_group, write_eval_info

LEROBOT = json.loads((Path(__file__).parents[1] / "fixtures" / "lerobot_eval" / "eval_info.json").read_text())
FIRST_SEED = 100_000  # make_eval_info.py's start seed


def lerobot_episodes() -> list[EpisodeResult]:
    """The episodes LeRobot's file lists, with the seeds they ran on."""
    m = LEROBOT["per_task"][0]["metrics"]
    return [
        EpisodeResult(FIRST_SEED + i, ok, s, mx)
        for i, (ok, s, mx) in enumerate(zip(m["successes"], m["sum_rewards"], m["max_rewards"], strict=True))
    ]


def without_our_additions(info: dict) -> dict:
    info = copy.deepcopy(info)
    info.pop("robot_sweeps")
    for task in info["per_task"]:
        task["metrics"].pop("seeds")
    return info


def test_same_layout_and_numbers_as_lerobot_eval():
    shuffled = lerobot_episodes()
    random.Random(0).shuffle(shuffled)  # as the actors return them: interleaved
    ours = json.loads(json.dumps(eval_info(shuffled, "pusht", 2.0)))  # what a reader of the file gets
    assert list(ours) == ["per_task", "per_group", "overall", "robot_sweeps"]
    assert ours["overall"]["eval_s"] == 2.0 and ours["overall"]["eval_ep_s"] == 2.0 / 5
    theirs = copy.deepcopy(LEROBOT)
    theirs["overall"].update(eval_s=2.0, eval_ep_s=2.0 / 5)  # LeRobot's timings are its own run's
    assert without_our_additions(ours) == theirs  # keys, their order within each item, types and values


def test_every_episode_with_its_seed_and_our_metrics():
    episodes = [
        EpisodeResult(7, True, 3.0, 1.0),
        EpisodeResult(5, False, 1.0, 0.25),
        EpisodeResult(6, True, 2.0, 1.0),
        EpisodeResult(8, False, 0.5, 0.5),
    ]
    info = eval_info(episodes, "metaworld", 8.0, {M.EVAL_STEP: 300})
    task = info["per_task"][0]
    assert (task["task_group"], task["task_id"]) == ("metaworld", 0)
    assert task["metrics"] == {
        "sum_rewards": [1.0, 2.0, 3.0, 0.5],
        "max_rewards": [0.25, 1.0, 1.0, 0.5],
        "successes": [False, True, True, False],
        "video_paths": [],
        "seeds": [5, 6, 7, 8],
    }
    overall = info["overall"]
    assert overall["pc_success"] == 50.0 and overall["n_episodes"] == 4  # percent, as LeRobot
    assert overall["avg_sum_reward"] == pytest.approx(1.625) and overall["avg_max_reward"] == pytest.approx(0.6875)
    assert overall["eval_ep_s"] == 2.0
    assert info["per_group"] == {"metaworld": {k: v for k, v in overall.items() if k not in ("eval_s", "eval_ep_s")}}
    ours = info["robot_sweeps"]
    assert ours[M.EVAL_SUCCESS] == 0.5 and ours[M.EVAL_N_EPISODES] == 4 and ours[M.EVAL_SECONDS] == 8.0
    assert ours[M.EVAL_SUCCESS_LOW] < 0.5 < ours[M.EVAL_SUCCESS_HIGH] and ours[M.EVAL_STEP] == 300
    as_tuples = [(e.seed, e.success, e.sum_reward, e.max_reward) for e in episodes]  # as Confirmed keeps them
    assert eval_info(as_tuples, "metaworld", 8.0, {M.EVAL_STEP: 300}) == info
    with pytest.raises(ValueError, match="at least one episode"):
        eval_info([], "pusht", 1.0)


def test_written_atomically(tmp_path):
    info = eval_info(lerobot_episodes(), "pusht", 1.0)
    path = write_eval_info(tmp_path / "a" / "b", info)
    assert path == tmp_path / "a" / "b" / "eval_info.json" and json.loads(path.read_text()) == info
    write_eval_info(path.parent, {**info, "overall": {}})  # replaced whole
    assert json.loads(path.read_text())["overall"] == {} and [p.name for p in path.parent.iterdir()] == [path.name]


def test_task_group_as_lerobot_eval_names_it():
    from orchestrator.envs.configs import MetaWorldEnvConfig, PushTEnvConfig

    assert task_group(PushTEnvConfig()) == "pusht"  # a single-task env: its type
    assert task_group(MetaWorldEnvConfig(task="push")) == "push-v3"  # MetaWorld: the task (`--env.task=push-v3`)


def test_the_confirmation_writes_one_file_per_candidate(tmp_path):
    from orchestrator.envs.configs import PushTEnvConfig
    from orchestrator.sweep.confirm_top import write_eval_infos

    prepared = SimpleNamespace(default_cfg=SimpleNamespace(env=PushTEnvConfig()), experiment_dir=tmp_path)
    confirmed = [
        _confirmed(label, Candidate(label, 20, {}, f"/ckpt/{label}"), lerobot_episodes()[::-1], 3.0)
        for label in ("abc_00001", "abc_00000", "baseline")
    ]
    write_eval_infos(prepared, confirmed)
    write_eval_infos(prepared, confirmed[:1], prefix="seed_")
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written == [
        f"confirm/{label}/eval_info.json" for label in ("abc_00000", "abc_00001", "baseline", "seed_abc_00001")
    ]
    info = json.loads((tmp_path / "confirm" / "baseline" / "eval_info.json").read_text())
    assert info["per_task"][0]["metrics"]["seeds"] == [FIRST_SEED + i for i in range(5)]
    assert without_our_additions(info)["per_group"] == LEROBOT["per_group"]
    assert info["robot_sweeps"]["label"] == "baseline" and info["robot_sweeps"][M.EVAL_STEP] == 20
    assert info["robot_sweeps"]["checkpoint_path"] == "/ckpt/baseline" and info["overall"]["eval_s"] == 3.0
