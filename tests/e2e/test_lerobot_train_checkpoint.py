"""A checkpoint `lerobot-train` (LeRobot 0.4.4) wrote, whole: `checkpoints/000050/pretrained_model/` of an ACT
trained on a LeRobot dataset without a simulator (its train_config.json has `env: null`; tests/fixtures/
lerobot_train/). `eval` runs it on PushT and gives lerobot-eval's numbers on the same seeds; a sweep fine-tunes it
(`train` from it: tests/e2e/test_lerobot_policy_path.py)."""

from __future__ import annotations

import json

import pytest
from safetensors import safe_open

from tests.support.cli import run_on_cluster
from tests.support.lerobot_kit import LEROBOT_EVAL_INFO, LEROBOT_TRAIN_ACT, STATE_DATASET


def tensor_names(path) -> set[str]:
    with safe_open(str(path), "pt") as f:
        return set(f.keys())


@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_eval_gives_lerobot_evals_numbers_on_the_same_seeds(tmp_path, ray_cluster):
    """lerobot_eval_info.json: `lerobot-eval --env.type=pusht --env.obs_type=environment_state_agent_pos
    --env.episode_length=100 --eval.n_episodes=4 --eval.batch_size=2 --seed=1000` of the same folder. No --env.type
    here: the file names no env, so the default (PushT, keypoints = LeRobot's environment_state_agent_pos) runs."""
    proc = run_on_cluster(
        "eval",
        f"--policy.path={LEROBOT_TRAIN_ACT}",
        "--env.episode_length=100",
        "--eval.n_episodes=4",
        "--eval.batch_size=2",
        "--eval.seed=1000",
        f"--output_dir={tmp_path}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "(act) on pusht, 4 episodes (seeds 1000..1003)" in proc.stdout
    note = " ".join(proc.stderr.split())
    assert "it names no env (LeRobot trained without a simulator): evaluating on 'pusht'" in note
    ours = json.loads((tmp_path / "eval_info.json").read_text())["per_task"][0]
    lerobot = json.loads(LEROBOT_EVAL_INFO.read_text())["per_task"][0]
    assert (ours["task_group"], ours["task_id"]) == (lerobot["task_group"], lerobot["task_id"]) == ("pusht", 0)
    ours, lerobot = ours["metrics"], lerobot["metrics"]
    assert ours["seeds"] == [1000, 1001, 1002, 1003] and ours["successes"] == lerobot["successes"]
    # Equal up to float32's last bit: our ACT's forward pass and LeRobot's differ in it at times (as LeRobot's own
    # does between thread counts), and PushT's contacts carry such a difference on (measured: <= 2e-7 relative).
    for name in ("sum_rewards", "max_rewards"):
        assert ours[name] == pytest.approx(lerobot[name], rel=1e-4, abs=1e-9), name
    assert len(set(lerobot["sum_rewards"])) == 4  # four different episodes, not one repeated


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_a_fine_tuning_sweep_starts_from_it(tmp_path, ray_cluster):
    # its trial's tables are cached in the session's cache_dir (the cluster's workers have it), not a cache of its own
    proc = run_on_cluster(
        "sweep",
        "search_spaces/act_finetune.py",
        f"--policy.path={LEROBOT_TRAIN_ACT}",
        f"--dataset.root={STATE_DATASET}",
        "--steps=4",
        "--batch_size=8",
        "--log_freq=2",
        "--save_freq=4",
        "--eval_freq=4",
        "--eval.n_episodes=1",
        "--eval.batch_size=1",
        "--env.episode_length=20",
        "--tune.num_samples=1",
        "--tune.search=random",
        "--tune.scheduler=none",
        "--tune.baseline=false",
        "--tune.confirm_top_k=0",
        f"--tune.storage_path={tmp_path}",
        "--tune.experiment_name=ft",
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    summary = json.loads((tmp_path / "ft" / "summary.json").read_text())
    [trial] = summary["trials"]
    assert trial["status"] == "finished" and trial["evaluations"], trial
    # from the saved weights (lerobot-train, from scratch: 11.4 over its first 10 steps)
    assert trial["last_metrics"]["train/loss"] < 2
    best = tmp_path / "ft" / "best"
    config = json.loads((best / "config.json").read_text())
    assert config["pretrained_path"] == str(LEROBOT_TRAIN_ACT.resolve()) and config["dim_model"] == 32
    assert config["dropout"] == pytest.approx(trial["params"]["policy.dropout"])
    assert tensor_names(best / "model.safetensors") == tensor_names(LEROBOT_TRAIN_ACT / "model.safetensors")
