"""PBT on Ray Train V2, for real: two tiny ACT trials on the shared local Ray cluster, Ray's PopulationBasedTraining
deciding at every evaluation. The metric is train/lr (max), so which trial exploits which is certain: the trial with
the smaller lr continues the other's latest checkpoint as a new Train run, with the donor's lr scaled by 0.8 or 1.2.
Checked: the new run starts at the donor's step, from the donor checkpoint's weights bit for bit (not its own), its
optimizer trains with the mutated lr, its checkpoints are the trial's candidates, best/ is the winner's checkpoint,
and the report shows the lineage."""
import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from orchestrator import metrics as M
from orchestrator import sweep as sweep_mod
from orchestrator.pbt import read_lineage
from orchestrator.sweep_results import finish
from trainables.checkpointing import weights_digest

pytestmark = pytest.mark.integration

STEPS = 120
SPACE = f'''
from ray import tune
from orchestrator.configs.optim import AdamWConfig, ConstantSchedulerConfig
from orchestrator.configs.train import DatasetConfig, EvalConfig, TrainPipelineConfig
from orchestrator.configs.tune import Sweep, TuneConfig
from orchestrator.envs.configs import PushTEnvConfig
from orchestrator.policies.act.configuration import ACTConfig

sweep = Sweep(
    base=TrainPipelineConfig(
        dataset=DatasetConfig(record_episodes=3),
        env=PushTEnvConfig(episode_length=20),
        policy=ACTConfig(chunk_size=4, n_action_steps=4, dim_model=32, n_heads=2, dim_feedforward=64,
                         n_encoder_layers=1, n_vae_encoder_layers=1, latent_dim=8),
        optimizer=AdamWConfig(lr=tune.uniform(1e-3, 1e-2)), scheduler=ConstantSchedulerConfig(),
        steps={STEPS}, batch_size=8, log_freq=5, save_freq=30, eval_freq=30,
        eval=EvalConfig(n_episodes=1, batch_size=1),
    ),
    tune=TuneConfig(metric="train/lr", mode="max", search="random", scheduler="pbt", num_samples=2,
                    quantile_fraction=0.5, resample_probability=0.0, baseline=False, confirm_top_k=0),
)
'''


def _digest(checkpoint: str | Path) -> str:
    return weights_digest(load_file(str(Path(checkpoint) / "pretrained_model" / "model.safetensors")))


def test_an_exploited_trial_continues_the_donors_checkpoint_with_a_mutated_lr(tmp_path, tiny_dataset, ray_cluster):
    path = tmp_path / "space.py"
    path.write_text(SPACE)
    prepared = sweep_mod.prepare(str(path), [f"--tune.storage_path={tmp_path}", "--tune.experiment_name=pbt"])
    results, _ = sweep_mod.run(prepared)
    summary = finish(prepared, results, None)
    check_exploit(tmp_path / "pbt", summary)


def check_exploit(experiment: Path, summary: dict) -> None:
    trials = {t["trial_id"]: t for t in summary["trials"]}
    assert len(trials) == 2 and not any(t["status"] == "error" for t in trials.values())
    lineage = read_lineage(experiment / "trials")
    assert lineage, "no trial exploited the other"
    trial_id, exploits = next(iter(lineage.items()))
    first = exploits[0]
    donor, step, run = first["donor"], first["donor_step"], first["run"]
    assert donor in trials and donor != trial_id and run == f"trial_{trial_id}_from_{donor}_{step}"
    assert 0 < step < STEPS and Path(first["donor_checkpoint"]).parent.name == first["donor_run"]

    history = [json.loads(line) for line in (experiment / "trials" / f"trial_{trial_id}" / "result.json")
               .read_text().splitlines()]
    new_run = [h for h in history if h.get(M.START_STEP) == step and h.get(M.START_WEIGHTS)]
    assert new_run, "the exploiting trial never reported from the donor's step"
    # From the donor's step and the donor checkpoint's weights, bit for bit; not from its own weights.
    assert new_run[0][M.STEP] > step
    assert new_run[0][M.START_WEIGHTS] == _digest(first["donor_checkpoint"])
    own = [w.parent.parent for w in (experiment / "train" / f"trial_{trial_id}").glob("checkpoint_*/pretrained_model/"
                                                                                    "model.safetensors")]
    assert own and all(_digest(c) != new_run[0][M.START_WEIGHTS] for c in own)
    # The mutated lr: the donor's scaled by 0.8 or 1.2 (kept in the space), in the optimizer (constant schedule).
    old_lr, donor_lr, new_lr = (first[k]["optimizer.lr"] for k in ("previous", "donor_values", "new"))
    assert old_lr < donor_lr and new_lr != donor_lr
    assert new_lr in [pytest.approx(min(max(donor_lr * f, 1e-3), 1e-2)) for f in (0.8, 1.2)]
    for report in new_run:
        assert report[M.OPTIMIZER_LR] == pytest.approx(new_lr) and report[M.TRAIN_LR] == pytest.approx(new_lr)
    checkpoints = [h[M.CHECKPOINT_PATH] for h in new_run if h.get(M.CHECKPOINT_PATH)]
    assert checkpoints and all(Path(c).parent.name == run for c in checkpoints)  # the new run's own folder
    saved = json.loads((Path(checkpoints[0]) / "pretrained_model" / "train_config.json").read_text())
    assert saved["optimizer"]["lr"] == pytest.approx(new_lr)

    # The trial's result is its last checkpoint (train/lr is not an eval metric): the last run's; best/ is the winner's.
    last_run = exploits[-1]["run"]
    if exploits[-1]["donor_step"] < STEPS:
        assert Path(trials[trial_id]["checkpoint_path"]).parent.name == last_run
    best = summary["best"]
    assert (experiment / "best" / "model.safetensors").read_bytes() == (
        Path(best["checkpoint_path"]) / "pretrained_model" / "model.safetensors").read_bytes()
    # The report shows who copied whom.
    report = (experiment / "report.md").read_text()
    assert f"| {trial_id} | {donor} | {step} | {run} | optimizer.lr: " in report
    page = (experiment / "report" / "report.html").read_text()
    assert "<section id='lineage'>" in page and run in page
