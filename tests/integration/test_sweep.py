"""A tiny real sweep on the shared local Ray cluster: Optuna + ASHA, 2 trials of a tiny ACT (side by side), real eval actors,
W&B offline, LeRobot-layout checkpoints at every evaluated step, each trial at its best checkpoint, the top
candidates and the baseline confirmed on fresh episodes (in stages, compared paired), the report and the confirmed
winner's folder."""

import json
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from orchestrator.configs.parsing import build_config
from orchestrator.sweep.prepare import prepare
from orchestrator.sweep.recipe import finish, search

pytestmark = pytest.mark.integration

SPACE = """
from ray import tune
from orchestrator.configs.optim import AdamWConfig
from orchestrator.configs.train import DatasetConfig, EvalConfig, TrainPipelineConfig, WandBConfig
from orchestrator.configs.tune import Sweep, TuneConfig
from orchestrator.envs.configs import PushTEnvConfig
from orchestrator.policies.act.configuration import ACTConfig

sweep = Sweep(
    base=TrainPipelineConfig(
        dataset=DatasetConfig(record_episodes=3, val_fraction=0.34),  # one of the 3 episodes held out
        env=PushTEnvConfig(episode_length=40),
        policy=ACTConfig(chunk_size=tune.choice([4, 8]), n_action_steps=4, dim_model=32, n_heads=2,
                         dim_feedforward=64, n_encoder_layers=1, n_vae_encoder_layers=1, latent_dim=8,
                         kl_weight=tune.choice([1.0, 10.0])),
        optimizer=AdamWConfig(lr=tune.loguniform(1e-4, 1e-2)),
        steps=30, batch_size=16, log_freq=10, save_freq=10, eval_freq=10,
        eval=EvalConfig(n_episodes=2, batch_size=2),
        wandb=WandBConfig(enable=True, mode="offline"),
    ),
    tune=TuneConfig(metric="eval/avg_max_reward", num_samples=2, grace_period=10, confirm_top_k=2,
                    confirm_episodes=3, confirm_stage_episodes=2),
)
"""


def test_tiny_sweep(tmp_path, tiny_dataset, ray_cluster):
    path = tmp_path / "space.py"
    path.write_text(SPACE)
    prepared = prepare(str(path), [f"--tune.storage_path={tmp_path}", "--tune.experiment_name=tiny"])
    results, baseline = search(prepared)
    summary = finish(prepared, results, baseline)

    trials = summary["trials"]
    assert len(trials) == 2 and not any(t["status"] == "error" for t in trials)
    for t in trials:
        m = t["last_metrics"]
        assert m["train/lr"] == pytest.approx(t["params"]["optimizer.lr"])  # the sampled lr took effect
        assert m["val/loss"] > 0  # the held-out episode's loss rides along with every report
        steps = [e["step"] for e in t["evaluations"]]
        assert steps == sorted(set(steps)) and steps[0] == 10 and all(s % 10 == 0 for s in steps)  # every evaluation
        for e in t["evaluations"]:
            assert e["eval/n_episodes"] == 2 and 0 <= e["eval/avg_max_reward"] <= 1
            assert e["eval/success_ci95_low"] <= e["eval/success"] <= e["eval/success_ci95_high"]
        best = max(t["evaluations"], key=lambda e: (e["eval/avg_max_reward"], e["step"]))  # best, not last
        assert (
            t["best_step"] == best["step"] and t["best_metrics"]["eval/avg_max_reward"] == best["eval/avg_max_reward"]
        )
        ckpt = Path(t["checkpoint_path"])
        assert json.loads((ckpt / "training_state/training_step.json").read_text())["step"] == t["best_step"]
        for name in (
            "pretrained_model/config.json",
            "pretrained_model/model.safetensors",
            "pretrained_model/train_config.json",
            "training_state/optimizer_state.pt",
        ):
            assert (ckpt / name).is_file(), name
        saved = build_config(json.loads((ckpt / "pretrained_model/train_config.json").read_text()), [])
        assert saved.optimizer.lr == pytest.approx(t["params"]["optimizer.lr"])
        assert saved.policy.chunk_size == t["params"]["policy.chunk_size"]
    assert summary["baseline"] is not None and summary["baseline"]["best_step"] is not None

    confirmation = summary["confirmation"]  # the top 2 trials and the baseline, on up to 3 fresh episodes
    labels = [c["label"] for c in confirmation["candidates"]]
    assert labels == [trials[0]["trial_id"], trials[1]["trial_id"], "baseline"]
    _check_the_staged_paired_decision(confirmation, summary)
    n = confirmation["n_episodes"]  # in stages of 2: 3 unless decided after the first 2
    for c in confirmation["candidates"]:
        assert [e[0] for e in c["episodes"]] == list(range(1_000_000, 1_000_000 + n))  # seeds the search never used
        assert c["n_episodes"] == n and c["success_ci95"][0] <= c["success"] <= c["success_ci95"][1]
        info = json.loads((tmp_path / "tiny" / "confirm" / c["label"] / "eval_info.json").read_text())
        episodes = info["per_task"][0]["metrics"]  # every episode, in lerobot-eval's layout, with its seed
        assert [
            list(e)
            for e in zip(episodes["seeds"], episodes["successes"], episodes["sum_rewards"], episodes["max_rewards"])
        ] == [list(e) for e in c["episodes"]]
        assert info["overall"]["n_episodes"] == n
        assert info["overall"]["pc_success"] == pytest.approx(100 * c["success"])
        assert info["robot_sweeps"]["eval/step"] == c["step"]
    assert len(list((tmp_path / "tiny" / "confirm").iterdir())) == 3  # one file per candidate
    winner = next(c for c in confirmation["candidates"] if c["label"] == confirmation["winner"])
    assert winner["avg_max_reward"][0] == max(c["avg_max_reward"][0] for c in confirmation["candidates"][:2])
    assert summary["best"]["trial_id"] == confirmation["winner"]
    assert "difference_vs_baseline" in confirmation and confirmation["comparison"]

    best_dir = tmp_path / "tiny" / "best"
    assert {"config.json", "model.safetensors", "train_config.json", "README.md"} <= {
        p.name for p in best_dir.iterdir()
    }
    winner_ckpt = Path(winner["checkpoint_path"]) / "pretrained_model"
    assert (best_dir / "model.safetensors").read_bytes() == (winner_ckpt / "model.safetensors").read_bytes()
    card = (best_dir / "README.md").read_text()
    assert f"Confirmed on {n} fresh episodes (seeds 1000000..{1_000_000 + n - 1})" in card
    assert "default config" in card
    assert confirmation["family"] in card and confirmation["comparison"][1:] in card
    assert ("The choice is not evidence" in card) == (not confirmation["distinguishable"])
    assert str(tmp_path) not in card  # no path of this machine
    report = (tmp_path / "tiny" / "report.md").read_text()
    assert f"## Confirmation on {n} fresh episodes" in report and confirmation["stopping"][1:] in report
    ranked = report.split("\n## ")[0]  # the first table: trials ranked by their best checkpoints
    report_rows = [line for line in ranked.splitlines() if line[:3] in {f"| {i}" for i in range(1, 10)}]
    assert len(report_rows) == 2
    runs = list((tmp_path / "tiny" / "wandb").glob("offline-run-*"))  # beside the sweep's other artifacts
    assert len(runs) == 3  # one W&B run per trial (rank 0 only), plus the baseline
    assert all(list(run.glob("run-*.wandb")) for run in runs)  # the files `wandb sync` uploads later
    _check_report_and_tensorboard(tmp_path / "tiny", summary)
    _check_a_warm_start_from_it_trains_nothing_twice(path, tmp_path, summary)
    # The experiment exists now: running it again without resume is refused, and nothing is touched.
    with pytest.raises(Exception, match="already exists"):
        prepare(str(path), [f"--tune.storage_path={tmp_path}", "--tune.experiment_name=tiny"])


def _check_the_staged_paired_decision(confirmation: dict, summary: dict) -> None:
    """The confirmation's decision (orchestrator/results/confirmation.py), as summary.json records it: 2 stages of at
    most 2 episodes, the leader against the other candidate and the winner against the baseline (2 comparisons x 2
    looks: each interval at 98.75 %), on avg max reward episode by episode; stopped early only when decided."""
    d = confirmation["decision"]
    assert d["looks"] == 2 and d["comparisons"] == 2 and d["level"] == pytest.approx(1 - 0.05 / 4)
    assert d["metric"] == "eval/avg_max_reward" and d["leader"] == confirmation["winner"] == d["top"]
    assert confirmation["planned_episodes"] == 3 and confirmation["n_episodes"] in (2, 3)
    assert (confirmation["n_episodes"] == 2) <= d["decided"]  # an early stop needs a decision
    [(other, versus)] = d["versus"].items()
    assert other != d["leader"] and versus["n"] == confirmation["n_episodes"] and versus["paired"]
    assert versus["status"] == ("worse" if versus["ci"][0] > 0 else "undecided")
    assert confirmation["distinguishable"] == (versus["status"] == "worse") == summary["best"]["distinguishable"]
    assert ("not evidence" in confirmation["choice"]) == (not confirmation["distinguishable"])
    base = confirmation["difference_vs_baseline"]
    assert base["paired"] and base["level"] == d["level"] and base["ci"][0] <= base["difference"] <= base["ci"][1]
    assert "paired 98.75 % CI" in confirmation["comparison"] and "family-wise 95 %" in confirmation["family"]


def _check_report_and_tensorboard(experiment: Path, summary: dict) -> None:
    """finish wrote the HTML report; `report` rebuilds it from a copy that has no checkpoints (another machine's
    paths inside its files); Tune wrote TensorBoard event files with the curves under trials/."""
    import shutil

    from orchestrator.report.html import SECTIONS, build_report
    from orchestrator.runtime.experiment import load_experiment

    page = (experiment / "report" / "report.html").read_text()
    assert all(f"<section id='{s}'>" in page for s in SECTIONS) and "<script" not in page
    assert {"curves.png", "success.png", "parallel_coordinates.png", "confirmation.png"} <= {
        p.name for p in (experiment / "report").glob("*.png")
    }  # + importance.png with 2 finished trials or more
    assert summary["confirmation"]["comparison"][1:] in page
    copy = experiment.parent / "laptop_copy"
    shutil.copytree(experiment, copy, ignore=shutil.ignore_patterns("train", "best", "wandb", "report"))
    exp = load_experiment(copy)
    assert {r.trial_id: (r.status, r.best.step if r.best else None) for r in exp.rows} == {
        t["trial_id"]: (t["status"], t["best_step"]) for t in summary["trials"]
    }  # read back as the sweep saw them
    assert exp.baseline.trial_id == summary["baseline"]["trial_id"] and exp.space.keys() == {
        "policy.chunk_size",
        "policy.kl_weight",
        "optimizer.lr",
    }
    assert build_report(copy).is_file()
    for trial in summary["trials"]:  # `tensorboard --logdir <experiment>/trials` shows these, read by its own reader
        events = EventAccumulator(str(experiment / "trials" / f"trial_{trial['trial_id']}"))
        events.Reload()
        loss = [e.step for e in events.Scalars("ray/tune/train/loss")]
        assert loss and loss == sorted(loss) and loss[-1] == trial["last_metrics"]["step"]  # x: the training step
        assert [e.step for e in events.Scalars("ray/tune/step")] == [
            round(e.value) for e in events.Scalars("ray/tune/step")
        ]
        evaluated = [e.step for e in events.Scalars("ray/tune/eval/success")]  # each at the step it evaluated
        assert evaluated and len(evaluated) == len(set(evaluated)) and all(s % 10 == 0 for s in evaluated), evaluated
        assert events.Scalars("ray/tune/val/loss") and events.Scalars("ray/tune/eval/avg_max_reward")


def _check_a_warm_start_from_it_trains_nothing_twice(path: Path, tmp_path: Path, summary: dict) -> None:
    """A sweep warm-started from this one (prepared, and its baseline step run; no trial trained): each of these
    trials ran that sweep's very config (its train_config.json read back equal, seed included), so the searcher
    never suggests them again, and the baseline is reused: its files copied into the new experiment, its checkpoint
    the one confirmed. With another budget (steps) nothing is that sweep's run: the baseline is trained, and why."""
    from orchestrator.runtime.experiment import load_experiment
    from orchestrator.search.untried import config_key
    from orchestrator.search.warm_start import reuse_baseline

    args = [f"--tune.storage_path={tmp_path}", f"--tune.warm_start={tmp_path / 'tiny'}"]
    warm = prepare(str(path), [*args, "--tune.experiment_name=warm"]).warm_start
    assert sorted(map(config_key, warm.evaluated)) == sorted(config_key(t["params"]) for t in summary["trials"])
    assert warm.baseline is not None, warm.baseline_note
    row = reuse_baseline(warm, str(tmp_path / "warm"))
    assert row.trial_id == summary["baseline"]["trial_id"] and row.seconds == 0.0  # no compute of the new sweep
    assert row.best.checkpoint_path == summary["baseline"]["checkpoint_path"]
    copied = load_experiment(tmp_path / "warm").baseline  # what the new sweep's report reads
    assert (copied.trial_id, copied.status, copied.best.step) == (row.trial_id, "finished", row.best.step)
    longer = prepare(str(path), [*args, "--tune.experiment_name=longer", "--steps=40"]).warm_start
    assert longer.evaluated == [] and longer.baseline is None and "config or seed" in longer.baseline_note
