"""A tiny real sweep of a conditional, constrained space with --tune.repeats=2 on the shared local Ray cluster:
Optuna samples policy.type (ACT or MLP) and ACT's chunk size define-by-run; the sample that breaks the constraint is
not trained and is labelled infeasible; each feasible config runs as 2 trials (seeds 1000 and 1001) ranked by their
mean. Train-loss metric, no evaluation, so the trials are seconds long."""

import json
from pathlib import Path

import pytest

from orchestrator.sweep.prepare import prepare
from orchestrator.sweep.recipe import finish, search

pytestmark = pytest.mark.integration

SPACE = """
from ray import tune
from orchestrator.configs.train import DatasetConfig, TrainPipelineConfig
from orchestrator.configs.tune import Sweep, TuneConfig
from orchestrator.policies.act.configuration import ACTConfig
from orchestrator.policies.mlp.configuration import MLPConfig

sweep = Sweep(
    base=TrainPipelineConfig(
        dataset=DatasetConfig(record_episodes=3),
        policy=tune.choice([
            ACTConfig(chunk_size=tune.choice([4, 8]), n_action_steps=8, dim_model=32, n_heads=2, dim_feedforward=64,
                      n_encoder_layers=1, n_vae_encoder_layers=1, latent_dim=8),
            MLPConfig(hidden_dims=[32, 32], chunk_size=4, n_action_steps=4),
        ]),
        steps=4, batch_size=8, log_freq=2, save_freq=4, eval_freq=0,
    ),
    # TPE's seed 6 suggests ACT with chunk 4 (breaks the constraint), MLP, then ACT with chunk 8
    tune=TuneConfig(metric="train/loss", mode="min", num_samples=3, repeats=2, seed=6, baseline=False,
                    confirm_top_k=0),
    constraints={"n_action_steps <= chunk_size": lambda cfg: cfg.policy.n_action_steps <= cfg.policy.chunk_size},
)
"""


def test_conditional_constrained_sweep_with_repeats(tmp_path, tiny_dataset, ray_cluster):
    path = tmp_path / "space.py"
    path.write_text(SPACE)
    prepared = prepare(str(path), [f"--tune.storage_path={tmp_path}", "--tune.experiment_name=rules"])
    results, baseline = search(prepared)
    summary = finish(prepared, results, baseline)

    trials = {t["trial_id"]: t for t in summary["trials"]}
    assert len(trials) == 6  # 3 configs x 2 seeds
    infeasible = [t for t in trials.values() if t["status"] == "infeasible"]
    assert len(infeasible) == 2 and {t["config_id"] for t in infeasible} == {infeasible[0]["config_id"]}
    for t in infeasible:  # not trained: no Train run, no checkpoint, labelled with the broken constraint
        assert t["params"] == {"policy.type": "act", "policy.act.chunk_size": 4}
        assert t["violated_constraints"] == ["n_action_steps <= chunk_size"] and t["checkpoint_path"] is None
        assert not (tmp_path / "rules" / "train" / f"trial_{t['trial_id']}").exists()
    feasible = [t for t in trials.values() if t["status"] != "infeasible"]
    assert all(t["status"] == "finished" for t in feasible)
    configs = summary["configs"]
    assert summary["repeats"] == 2 and len(configs) == 3 and configs[-1]["config_id"] == infeasible[0]["config_id"]
    means = []
    for c in configs[:2]:  # each feasible config: 2 trials, seeds 1000 and 1001, ranked by their mean
        assert len(c["trials"]) == 2 and sorted(c["repeats"]) == [0, 1]
        losses = [trials[tid]["last_metrics"]["train/loss"] for tid in c["trials"]]
        assert c["over_seeds"]["mean"] == pytest.approx(sum(losses) / 2)
        assert c["over_seeds"]["min"] == pytest.approx(min(losses)) and c["over_seeds"]["n"] == 2
        seeds = sorted(
            json.loads((Path(trials[tid]["checkpoint_path"]) / "pretrained_model/train_config.json").read_text())[
                "seed"
            ]
            for tid in c["trials"]
        )
        assert seeds == [1000, 1001]
        means.append(c["over_seeds"]["mean"])
    assert means == sorted(means)  # train/loss: lower mean first
    assert {configs[0]["params"]["policy.type"], configs[1]["params"]["policy.type"]} == {"act", "mlp"}
    order = [t["trial_id"] for t in summary["trials"]]
    best_config = configs[0]["trials"]
    assert set(order[:2]) == set(best_config)  # the best config's seeds first; best/ is its best seed
    assert summary["best"]["trial_id"] == order[0]
    report = (tmp_path / "rules" / "report.md").read_text()
    assert "infeasible (n_action_steps <= chunk_size)" in report and "mean train/loss over seeds" in report
    log = (tmp_path / "rules" / "logs" / "trials.log").read_text()
    assert "infeasible, not trained: breaks n_action_steps <= chunk_size" in log
