"""PBT on Ray Train V2, for real: two tiny ACT trials on the shared local Ray cluster, Ray's PopulationBasedTraining
deciding at every evaluation. The metric is train/lr (max), so which trial exploits which is certain: the trial with
the smaller lr continues the other's latest checkpoint as a new Train run, with the donor's lr scaled by 0.8 or 1.2.
Checked: the new run starts at the donor's step, from the donor checkpoint's weights bit for bit (not its own), its
optimizer trains with the mutated lr, its checkpoints are the trial's candidates, best/ is the winner's checkpoint,
and the report shows the lineage.

Async PBT exploits only if the stronger trial decides after the weaker one's first decision (Ray's PBT ranks a trial
by the score of its own last decision, and saves the stronger one's checkpoint at its decision), and the weaker one
decides again after that. The frequent reports (log_freq=2, each waits for Tune) pace the trials, and each decides at
evaluated steps 40, 80 and 120 (not at 160, its last step): a start-up offset of up to ~80 steps between the two trials
still leaves an exploit. With decisions at 40 and 80 only (120 steps), a suite on a loaded machine once started the
second trial 48 steps late, and neither decision of the first came after the second's first (2026-12-07)."""

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from orchestrator import metrics as M
from orchestrator.results.lineage import read_lineage
from orchestrator.sweep.prepare import prepare
from orchestrator.sweep.recipe import finish, search
from trainables.checkpointing import weights_digest

pytestmark = pytest.mark.integration

STEPS = 160
SPACE = f"""
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
        steps={STEPS}, batch_size=8, log_freq=2, save_freq=20, eval_freq=20,
        eval=EvalConfig(n_episodes=1, batch_size=1),
    ),
    tune=TuneConfig(metric="train/lr", mode="max", search="random", scheduler="pbt", num_samples=2,
                    perturbation_interval=40,
                    quantile_fraction=0.5, resample_probability=0.0, baseline=False, confirm_top_k=0),
)
"""


def _digest(checkpoint: str | Path) -> str:
    return weights_digest(load_file(str(Path(checkpoint) / "pretrained_model" / "model.safetensors")))


def test_an_exploited_trial_continues_the_donors_checkpoint_with_a_mutated_lr(tmp_path, tiny_dataset, ray_cluster):
    path = tmp_path / "space.py"
    path.write_text(SPACE)
    prepared = prepare(str(path), [f"--tune.storage_path={tmp_path}", "--tune.experiment_name=pbt"])
    results, _ = search(prepared)
    summary = finish(prepared, results, None)
    check_exploit(tmp_path / "pbt", summary)


def check_exploit(experiment: Path, summary: dict) -> None:
    trials = {t["trial_id"]: t for t in summary["trials"]}
    assert len(trials) == 2 and not any(t["status"] == "error" for t in trials.values())
    lineage = read_lineage(experiment / "trials")
    assert lineage, "no trial exploited the other"
    trial_id, exploits = next(iter(lineage.items()))
    history = [
        json.loads(line)
        for line in (experiment / "trials" / f"trial_{trial_id}" / "result.json").read_text().splitlines()
    ]
    own = [
        w.parent.parent
        for w in (experiment / "train" / f"trial_{trial_id}").glob("checkpoint_*/pretrained_model/model.safetensors")
    ]
    assert own
    runs_with_checkpoints = verified = 0
    for exploit in exploits:  # each exploit (a trial may be exploited again before its new run checkpoints)
        donor, step, run = exploit["donor"], exploit["donor_step"], exploit["run"]
        assert donor in trials and donor != trial_id and run == f"trial_{trial_id}_from_{donor}_{step}"
        assert 0 < step < STEPS and Path(exploit["donor_checkpoint"]).parent.name == exploit["donor_run"]
        new_run = [h for h in history if h.get(M.START_STEP) == step and h.get(M.START_WEIGHTS)]
        if not new_run:  # paused again (exploited anew) before its first report: the next exploit is checked
            continue
        verified += 1
        # From the donor's step and the donor checkpoint's weights, bit for bit; not from its own weights.
        assert new_run[0][M.STEP] > step
        assert new_run[0][M.START_WEIGHTS] == _digest(exploit["donor_checkpoint"])
        assert all(_digest(c) != new_run[0][M.START_WEIGHTS] for c in own)
        # The mutated lr: the donor's scaled by 0.8 or 1.2 (kept in the space), in the optimizer (constant schedule).
        donor_lr, new_lr = exploit["donor_values"]["optimizer.lr"], exploit["new"]["optimizer.lr"]
        assert new_lr != donor_lr
        assert new_lr in [pytest.approx(min(max(donor_lr * f, 1e-3), 1e-2)) for f in (0.8, 1.2)]
        for report in new_run:
            assert report[M.OPTIMIZER_LR] == pytest.approx(new_lr) and report[M.TRAIN_LR] == pytest.approx(new_lr)
        checkpoints = [h[M.CHECKPOINT_PATH] for h in new_run if h.get(M.CHECKPOINT_PATH)]
        assert all(Path(c).parent.name == run for c in checkpoints)  # the new run's own folder
        for c in checkpoints:
            saved = json.loads((Path(c) / "pretrained_model" / "train_config.json").read_text())
            assert saved["optimizer"]["lr"] == pytest.approx(new_lr)
        runs_with_checkpoints += bool(checkpoints)
    assert verified and runs_with_checkpoints, "no exploit run reported (a checkpoint)"
    assert exploits[0]["previous"]["optimizer.lr"] < exploits[0]["donor_values"]["optimizer.lr"]  # the weaker copied
    donor, step, run = exploits[0]["donor"], exploits[0]["donor_step"], exploits[0]["run"]

    # The trial's result is its last checkpoint (train/lr is not an eval metric): the last run's; best/ is the winner's.
    last_run = exploits[-1]["run"]
    if exploits[-1]["donor_step"] < STEPS:
        assert Path(trials[trial_id]["checkpoint_path"]).parent.name == last_run
    best = summary["best"]
    assert (experiment / "best" / "model.safetensors").read_bytes() == (
        Path(best["checkpoint_path"]) / "pretrained_model" / "model.safetensors"
    ).read_bytes()
    # The report shows who copied whom.
    report = (experiment / "report.md").read_text()
    assert f"| {trial_id} | {donor} | {step} | {run} | optimizer.lr: " in report
    page = (experiment / "report" / "report.html").read_text()
    assert "<section id='lineage'>" in page and run in page
