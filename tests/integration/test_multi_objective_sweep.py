"""A real sweep with two objectives (success up, parameters down) on the shared local Ray cluster: Optuna's
multi-objective study is told both values of every trial, every trial reports what its policy costs, the report
holds the Pareto front, and best/ is the front member the README's rule chooses, confirmed on fresh episodes."""

import json
import pickle
from pathlib import Path

import pytest

from orchestrator import metrics as M
from orchestrator.policies.costs import n_params
from orchestrator.policies.factory import load_policy
from orchestrator.results.pareto import dominates
from orchestrator.sweep.prepare import prepare
from orchestrator.sweep.recipe import finish, search

pytestmark = pytest.mark.integration

SPACE = """
from ray import tune
from orchestrator.configs.train import DatasetConfig, EvalConfig, TrainPipelineConfig
from orchestrator.configs.tune import Sweep, TuneConfig
from orchestrator.envs.configs import PushTEnvConfig
from orchestrator.policies.act.configuration import ACTConfig

sweep = Sweep(
    base=TrainPipelineConfig(
        dataset=DatasetConfig(record_episodes=3),
        env=PushTEnvConfig(episode_length=30),
        policy=ACTConfig(chunk_size=tune.choice([4, 8]), dim_model=tune.choice([16, 48]), n_heads=2,
                         dim_feedforward=32, n_encoder_layers=1, n_vae_encoder_layers=1, latent_dim=4),
        steps=20, batch_size=16, log_freq=10, save_freq=10, eval_freq=10,
        eval=EvalConfig(n_episodes=2, batch_size=2),
    ),
    tune=TuneConfig(metric=["eval/avg_max_reward", "policy/n_params"], mode=["max", "min"], num_samples=3,
                    scheduler="none", baseline=False, confirm_top_k=2, confirm_episodes=2),
    ties={"policy.n_action_steps": "policy.chunk_size"},
)
"""
OBJECTIVES = [(M.EVAL_AVG_MAX_REWARD, "max"), (M.POLICY_N_PARAMS, "min")]


def test_a_two_objective_sweep_reports_its_pareto_front_and_exports_the_chosen_member(
    tmp_path, tiny_dataset, ray_cluster
):
    path = tmp_path / "space.py"
    path.write_text(SPACE)
    prepared = prepare(str(path), [f"--tune.storage_path={tmp_path}", "--tune.experiment_name=mo"])
    results, _ = search(prepared)
    summary = finish(prepared, results, None)
    experiment = tmp_path / "mo"

    trials = {t["trial_id"]: t for t in summary["trials"]}
    assert len(trials) == 3 and all(t["status"] == "finished" for t in trials.values())
    values = {}
    for tid, t in trials.items():
        m = t["last_metrics"]
        assert m[M.POLICY_LATENCY_MS] > 0 and m[M.POLICY_CHUNK_MS] > 0
        policy = load_policy(Path(t["checkpoint_path"]) / "pretrained_model")  # the trial's own policy
        assert m[M.POLICY_N_PARAMS] == n_params(policy)
        assert policy.config.dim_model == t["params"]["policy.dim_model"]
        values[tid] = [t["best_metrics"][M.EVAL_AVG_MAX_REWARD], m[M.POLICY_N_PARAMS]]

    # Optuna searched both objectives: a study with two directions, each trial told both of its values.
    searcher = pickle.loads(sorted((experiment / "trials").glob("searcher-state-*.pkl"))[-1].read_bytes())
    study = searcher["_ot_study"]
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert all(t.state.name == "COMPLETE" and len(t.values) == 2 for t in study.trials) and len(study.trials) == 3
    assert sorted(t.values[1] for t in study.trials) == sorted(v[1] for v in values.values())

    # The front: exactly the trials no other trial dominates, recomputed here from the trials' own numbers.
    front = summary["pareto_front"]
    modes = ["max", "min"]
    expected = {tid for tid, v in values.items() if not any(dominates(w, v, modes) for w in values.values())}
    assert {m["trial_id"] for m in front["members"]} == expected
    assert summary["objectives"] == [{"metric": m, "mode": d} for m, d in OBJECTIVES]
    # best/ is a confirmed front member; the confirmation covered front members only
    confirmation = summary["confirmation"]
    assert {c["label"] for c in confirmation["candidates"]} <= expected
    assert front["chosen"] == confirmation["winner"] == summary["best"]["trial_id"] and front["confirmed"]
    winner = trials[front["chosen"]]
    best = experiment / "best"
    assert (best / "model.safetensors").read_bytes() == (
        Path(winner["checkpoint_path"]) / "pretrained_model" / "model.safetensors"
    ).read_bytes()
    card = (best / "README.md").read_text()
    assert "Pareto front" in card and "What it costs on the robot" in card
    assert f"{int(winner['last_metrics'][M.POLICY_N_PARAMS]):,}" in card
    report = (experiment / "report.md").read_text()
    assert f"## Pareto front ({len(expected)} of 3 trials)" in report and "(best/)" in report
    page = (experiment / "report" / "report.html").read_text()
    assert "<section id='pareto'>" in page and (experiment / "report" / "pareto.png").is_file()
    assert json.loads((experiment / "summary.json").read_text())["pareto_front"]["chosen"] == front["chosen"]
