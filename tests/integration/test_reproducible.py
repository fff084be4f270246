"""The same config and seed give bit-identical training losses, evaluations and confirmations: two trials of one
sweep with the very same config (a grid of one value, twice), each its own Tune trial, Train run and processes,
running side by side on the shared cluster, as a rerun of the sweep would run them; --tune.confirm_seeds retrains
the winner with more seeds and reports the spread."""

import json

import pytest

from orchestrator import metrics as M
from orchestrator.sweep.prepare import prepare
from orchestrator.sweep.recipe import finish, search

pytestmark = pytest.mark.integration

SPACE = """
from ray import tune
from orchestrator.configs.train import DatasetConfig, EvalConfig, TrainPipelineConfig
from orchestrator.configs.tune import Sweep, TuneConfig
from orchestrator.envs.configs import PushTEnvConfig
from orchestrator.policies.mlp.configuration import MLPConfig

sweep = Sweep(
    base=TrainPipelineConfig(
        dataset=DatasetConfig(record_episodes=3),
        env=PushTEnvConfig(episode_length=30),
        policy=MLPConfig(hidden_dims=[32, 32], chunk_size=4, n_action_steps=4, dropout=tune.grid_search([0.1, 0.1])),
        steps=20, batch_size=16, log_freq=5, save_freq=10, eval_freq=10,
        eval=EvalConfig(n_episodes=2, batch_size=2),
    ),
    tune=TuneConfig(metric="eval/avg_max_reward", search="grid", scheduler="none", num_samples=1,
                    baseline=False, confirm_top_k=2, confirm_episodes=3, confirm_stage_episodes=0, confirm_seeds=1),
)
"""


def test_same_config_and_seed_reproduce_bit_for_bit(tmp_path, tiny_dataset, ray_cluster):
    path = tmp_path / "space.py"
    path.write_text(SPACE)
    prepared = prepare(str(path), [f"--tune.storage_path={tmp_path}", "--tune.experiment_name=twice"])
    summary = finish(prepared, *search(prepared))
    first, second = summary["trials"]
    assert first["params"] == second["params"] == {"policy.dropout": 0.1} and first["trial_id"] != second["trial_id"]
    first_history, second_history = (
        [json.loads(line) for line in (tmp_path / "twice" / "trials" / f"trial_{t['trial_id']}" / "result.json").open()]
        for t in (first, second)
    )

    assert [h[M.TRAIN_LOSS] for h in first_history] == [h[M.TRAIN_LOSS] for h in second_history]
    assert len(first_history) == 4  # reports at steps 5, 10, 15, 20
    # What a checkpoint is registered with holds every evaluation reported since the checkpoint before it (what a
    # crash's replay tells Tune again, trainables/replay.py): step 10's, at step 15 or with step 20's checkpoint.
    with_checkpoint = [h for h in first_history if h.get(M.CHECKPOINT_PATH)]
    assert [h[M.STEP] for h in with_checkpoint] == [10, 20]
    assert sorted(
        e["eval/step"]
        for h in with_checkpoint
        for key in (M.EVALUATIONS, M.EVALUATIONS_BEFORE)
        for e in json.loads(h.get(key) or "[]")
    ) == [10, 20]
    # Evaluations: the same episodes with the same actions. PushT's physics (pymunk) may differ in the last bit of a
    # reward between two rollouts of identical actions in one process (measured: 0.3246001092353427 vs ...4277), so
    # rewards compare to 1e-12; success counts are exact.
    untimed = [[{k: v for k, v in e.items() if k != M.EVAL_SECONDS} for e in t["evaluations"]] for t in (first, second)]
    assert [e["step"] for e in untimed[0]] == [e["step"] for e in untimed[1]] == [10, 20]
    for a, b in zip(*untimed):
        assert a[M.EVAL_SUCCESS] == b[M.EVAL_SUCCESS] and a == pytest.approx(b, rel=1e-12)
    # Confirmed on the same fresh episodes (all 3 at once): the same actions, so the same episodes.
    confirmed = {c["label"]: c for c in summary["confirmation"]["candidates"]}
    assert confirmed[first["trial_id"]]["episodes"] == confirmed[second["trial_id"]]["episodes"]
    assert len(confirmed[first["trial_id"]]["episodes"]) == 3
    assert not summary["confirmation"]["distinguishable"]  # one policy twice: no evidence for either

    spread = summary["seed_spread"]  # the winner's config retrained with seed 1001, confirmed on the same episodes
    winner = confirmed[summary["confirmation"]["winner"]]
    assert spread["seeds"] == [1000, 1001] and len(spread["success"]) == 2
    assert spread["success"][0] == winner["success"]
    assert spread["mean"] == pytest.approx(sum(spread["success"]) / 2)
