"""PBT/PB2 without Ray running: the mutated config wins over a restored checkpoint's hyperparameters, a trial's driver
tells an exploit from its own retry, the scheduler's state survives a resume, and bad spaces are refused before Ray."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from ray import tune
from ray.tune.schedulers import TrialScheduler
from safetensors.torch import load_file

from orchestrator import metrics as M
from orchestrator.configs.optim import AdamWConfig, CosineDecayWithWarmupConfig
from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.configs.tune import TuneConfig
from orchestrator.errors import UserError
from orchestrator.results.lineage import lineage_markdown, read_lineage
from orchestrator.search.pbt import KeepInSpace, PBTWithState, make_scheduler, mutations
from orchestrator.sweep.prepare import prepare
from orchestrator.sweep.resume import SchedulerState
from tests.unit.test_policies import FEATURES, STATS, raw_batch, tiny_config
from trainables import exploit
from trainables.checkpointing import load_training_state, save_checkpoint, weights_digest

STEPS = 20


def _run(lr: float, backbone_lr: float, weight_decay: float, seed: int = 0):
    """A tiny MLP policy with two parameter groups (the second with its own lr, as ACT's backbone), AdamW and a
    warm-up + cosine schedule."""
    from orchestrator.policies.factory import make_policy

    torch.manual_seed(seed)
    policy = make_policy(tiny_config("mlp"), FEATURES, STATS)
    params = list(policy.parameters())
    groups = [{"params": params[:-2]}, {"params": params[-2:], "lr": backbone_lr}]
    optimizer = AdamWConfig(lr=lr, weight_decay=weight_decay, fused=False).build(groups)
    scheduler = CosineDecayWithWarmupConfig(num_warmup_steps=4).build(optimizer, STEPS)
    return policy, optimizer, scheduler


def _train(policy, optimizer, scheduler, steps: int) -> None:
    for i in range(steps):
        loss, _ = policy(raw_batch(seed=i))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()


def test_a_mutated_lr_wins_over_the_restored_optimizer_and_schedule(tmp_path):
    donor = _run(lr=1e-3, backbone_lr=1e-4, weight_decay=0.01)
    _train(*donor, steps=6)
    save_checkpoint(tmp_path, 6, TrainPipelineConfig(), *donor)
    factor = CosineDecayWithWarmupConfig(num_warmup_steps=4).factor(6, STEPS)
    assert donor[1].param_groups[0]["lr"] == pytest.approx(1e-3 * factor)

    policy, optimizer, scheduler = _run(lr=3e-4, backbone_lr=2e-5, weight_decay=0.05, seed=1)  # the mutated config
    assert load_training_state(tmp_path, policy, optimizer, scheduler) == 6
    lrs = [g["lr"] for g in optimizer.param_groups]
    assert lrs == pytest.approx([3e-4 * factor, 2e-5 * factor])  # the new lrs, at the donor's point of the schedule
    assert scheduler.get_last_lr() == pytest.approx(lrs)  # what the log line and train/lr report
    assert scheduler.base_lrs == pytest.approx([3e-4, 2e-5])
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.05, 0.05]  # other mutated values win too
    assert scheduler.last_epoch == 6
    # The moments and the weights are the donor's, bit for bit.
    first = optimizer.param_groups[0]["params"][0]
    assert torch.equal(
        optimizer.state[first]["exp_avg"], donor[1].state[donor[1].param_groups[0]["params"][0]]["exp_avg"]
    )
    saved = load_file(str(tmp_path / "pretrained_model" / "model.safetensors"))
    assert weights_digest({k: v for k, v in policy.state_dict().items() if k in saved}) == weights_digest(saved)
    # The next step follows the schedule with the new lrs.
    _train(policy, optimizer, scheduler, steps=1)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(
        3e-4 * CosineDecayWithWarmupConfig(num_warmup_steps=4).factor(7, STEPS)
    )


def test_a_plain_resume_changes_no_hyperparameter(tmp_path):
    run = _run(lr=1e-3, backbone_lr=1e-4, weight_decay=0.01)
    _train(*run, steps=5)
    save_checkpoint(tmp_path, 5, TrainPipelineConfig(), *run)
    policy, optimizer, scheduler = _run(lr=1e-3, backbone_lr=1e-4, weight_decay=0.01, seed=1)
    load_training_state(tmp_path, policy, optimizer, scheduler)
    assert [g["lr"] for g in optimizer.param_groups] == [g["lr"] for g in run[1].param_groups]  # exactly
    assert scheduler.get_last_lr() == run[2].get_last_lr()


def test_the_driver_tells_an_exploit_from_its_own_retry(tmp_path):
    (tmp_path / exploit.SAMPLE).write_text(json.dumps({"optimizer.lr": 0.01}))
    assert exploit.plan_run("a", {"optimizer.lr": 0.01}, None, tmp_path) == exploit.RunPlan("trial_a", None, None)
    own = {"trial_id": "a", "run_name": "trial_a_from_b_20", "checkpoint_path": "/x/ckpt", "step": 30}
    assert exploit.plan_run("a", {}, own, tmp_path) == exploit.RunPlan("trial_a_from_b_20", None, None)
    donor = {
        "trial_id": "b",
        "run_name": "trial_b",
        "checkpoint_path": "/x/train/trial_b/checkpoint_2",
        "step": 20,
        "sample": {"optimizer.lr": 0.001},
    }
    plan = exploit.plan_run("a", {"optimizer.lr": 0.0012}, donor, tmp_path)
    assert (plan.run_name, plan.start_from) == ("trial_a_from_b_20", "/x/train/trial_b/checkpoint_2")
    assert (
        plan.exploit["previous"] == {"optimizer.lr": 0.01}
        and plan.exploit["donor_values"] == {"optimizer.lr": 0.001}
        and plan.exploit["new"] == {"optimizer.lr": 0.0012}
    )


def test_reports_carry_a_pointer_when_pbt_may_act_on_them(monkeypatch, tmp_path):
    sent = []

    def report(metrics, checkpoint=None):
        pointer = None
        if checkpoint is not None:
            pointer = json.loads((Path(checkpoint.path) / exploit.POINTER).read_text())
        sent.append((metrics[M.STEP], pointer))

    monkeypatch.setattr(exploit.tune, "report", report)
    reporter = exploit.PointerReporter("a", "trial_a", {"optimizer.lr": 0.01})
    reporter({M.STEP: 5})  # no checkpoint yet: nothing to point to
    reporter({M.STEP: 10, M.CHECKPOINT_PATH: "/t/trial_a/checkpoint_0"})  # a new checkpoint
    reporter({M.STEP: 15})  # neither new checkpoint nor evaluation
    reporter({M.STEP: 16, M.EVAL_STEP: 10})  # a new evaluation: PBT may decide here
    reporter({M.STEP: 17, M.EVAL_STEP: 10})  # the same evaluation riding along
    assert [(s, p and (p["checkpoint_path"], p["step"], p["trial_id"], p["run_name"])) for s, p in sent] == [
        (5, None),
        (10, ("/t/trial_a/checkpoint_0", 10, "a", "trial_a")),
        (15, None),
        (16, ("/t/trial_a/checkpoint_0", 10, "a", "trial_a")),
        (17, None),
    ]
    assert sent[1][1]["sample"] == {"optimizer.lr": 0.01}


def _tune_cfg(**kw) -> TuneConfig:
    return TuneConfig(**{"scheduler": "pbt", "search": "random", "metric": M.TRAIN_LOSS, "mode": "min", **kw})


def test_mutations_come_from_the_space_and_stay_in_it():
    space = {
        "optimizer.lr": tune.loguniform(1e-4, 1e-2),
        "policy.kl_weight": tune.choice([1.0, 10.0]),
        "policy.n_action_steps": tune.randint(1, 5),
    }
    m = mutations(space)
    assert m["policy.kl_weight"] == [1.0, 10.0] and m["optimizer.lr"] is space["optimizer.lr"]
    keep = KeepInSpace(space)
    assert keep({"optimizer.lr": 0.05, "policy.n_action_steps": 7.4, "policy.kl_weight": 10.0}) == {
        "optimizer.lr": 0.01,
        "policy.n_action_steps": 4,
        "policy.kl_weight": 10.0,
    }


class _Trial:
    """What PBT reads of a Tune Trial (hashed by identity, as a Trial)."""

    def __init__(self, trial_id: str):
        self.trial_id, self.config, self.experiment_tag, self.evaluated_params = (
            trial_id,
            {"optimizer.lr": 1e-3},
            trial_id,
            {},
        )
        self.status = "RUNNING"
        self.run_metadata = SimpleNamespace(
            checkpoint_manager=SimpleNamespace(checkpoint_config=SimpleNamespace(num_to_keep=None))
        )

    def is_finished(self) -> bool:
        return False


_trial = _Trial


def test_pbt_state_survives_a_resume_by_trial_id():
    cfg = TrainPipelineConfig(steps=100, eval_freq=10)
    space = {"optimizer.lr": tune.loguniform(1e-4, 1e-2)}
    before = make_scheduler(_tune_cfg(), cfg, space)
    assert isinstance(before, PBTWithState) and before._time_attr == M.EVAL_STEP
    assert before._perturbation_interval == 10  # eval_freq by default
    before.set_search_properties(M.TRAIN_LOSS, "min")
    controller = SimpleNamespace(search_alg=None, get_trials=lambda: [])
    for tid, loss in (("a", 0.5), ("b", 0.9)):
        before.on_trial_add(controller, _trial(tid))
        assert (
            before.on_trial_result(
                controller,
                next(t for t in before._trial_state if t.trial_id == tid),
                {M.EVAL_STEP: 10, M.TRAIN_LOSS: loss},
            )
            == TrialScheduler.CONTINUE
        )
    state = pickle.loads(pickle.dumps(SchedulerState(before).get_state()))

    after = make_scheduler(_tune_cfg(), cfg, space)
    after.set_search_properties(M.TRAIN_LOSS, "min")
    a = _trial("a")
    after.on_trial_add(controller, a)  # added before the callbacks' restore ...
    SchedulerState(after).set_state(state)
    b = _trial("b")
    after.on_trial_add(controller, b)  # ... and after it
    assert after._trial_state[a].last_score == -0.5 and after._trial_state[b].last_score == -0.9
    assert after._trial_state[a].last_perturbation_time == 10
    assert set(after._trial_state) == {a, b}  # the restored trials, not the pickled copies
    lower, upper = after._quantiles()
    assert (lower, upper) == ([b], [a])
    # At the last step (steps = 100) no decision is taken: an exploit would restart a run with nothing to train.
    assert after.on_trial_result(controller, b, {M.EVAL_STEP: 100, M.TRAIN_LOSS: 5.0}) == TrialScheduler.CONTINUE
    assert after._trial_state[b].last_score == -0.9


def test_lineage_is_read_back_for_the_report(tmp_path):
    folder = tmp_path / "trials" / "trial_a"
    folder.mkdir(parents=True)
    entry = {
        "time": 1.0,
        "trial_id": "a",
        "donor": "b",
        "donor_step": 20,
        "run": "trial_a_from_b_20",
        "previous": {"optimizer.lr": 0.5},
        "donor_values": {"optimizer.lr": 0.001},
        "new": {"optimizer.lr": 0.0012},
    }
    (folder / "lineage.jsonl").write_text(json.dumps(entry) + '\n{"partial')
    lineage = read_lineage(tmp_path / "trials")
    assert lineage == {"a": [entry]}
    md = "\n".join(lineage_markdown(lineage))
    assert "| a | b | 20 | trial_a_from_b_20 | optimizer.lr: 0.5 -> 0.0012 (donor 0.001) |" in md


SPACE = """
from ray import tune
from orchestrator.configs.optim import AdamWConfig
from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.configs.tune import Sweep, TuneConfig
from orchestrator.policies.act.configuration import ACTConfig

sweep = Sweep(
    base=TrainPipelineConfig(policy=ACTConfig(dim_model=32, n_heads=2, dim_feedforward=64, n_encoder_layers=1,
                                              n_vae_encoder_layers=1, latent_dim=8, chunk_size={chunk},
                                              n_action_steps=4, kl_weight=tune.choice([1.0, 10.0])),
                             optimizer=AdamWConfig(lr=tune.loguniform(1e-4, 1e-2)), steps=100, eval_freq=10),
    tune=TuneConfig(scheduler="pbt"),
)
"""


def _prepare(tmp_path, chunk: str, *args: str):
    path = tmp_path / "space.py"
    path.write_text(SPACE.replace("{chunk}", chunk))
    return prepare(str(path), [f"--tune.storage_path={tmp_path}", *args])


def test_spaces_pbt_cannot_run_are_refused_before_ray(tmp_path):
    with pytest.raises(UserError) as error:  # Optuna is the default search; a shape-changing field
        _prepare(tmp_path, "tune.choice([4, 8])")
    problems = {p.field: p.message for p in error.value.problems}
    assert "--tune.search=random" in problems["tune.search"]
    assert "policy.chunk_size" in problems and "policy.kl_weight" not in problems and "optimizer.lr" not in problems
    with pytest.raises(UserError) as error:
        _prepare(tmp_path, "8", "--tune.search=random", "--tune.scheduler=pb2")
    assert {p.field for p in error.value.problems} >= {"policy.kl_weight"}  # pb2: numbers only
    prepared = _prepare(tmp_path, "8", "--tune.search=random", "--tune.perturbation_interval=20")
    assert prepared.tune_cfg.perturbation_interval == 20
    with pytest.raises(UserError, match="quantile_fraction"):
        _prepare(tmp_path, "8", "--tune.search=random", "--tune.quantile_fraction=0.7")


def test_pb2_is_rays_pb2_over_the_spaces_bounds_and_keeps_its_state():
    pytest.importorskip("sklearn")  # a dependency of the project (pyproject.toml); PB2 needs it
    from orchestrator.search.pbt import PB2WithState

    cfg = TrainPipelineConfig(steps=100, eval_freq=10)
    space = {"optimizer.lr": tune.loguniform(1e-4, 1e-2), "policy.n_action_steps": tune.randint(1, 5)}
    scheduler = make_scheduler(_tune_cfg(scheduler="pb2"), cfg, space)
    assert isinstance(scheduler, PB2WithState)
    assert scheduler._hyperparam_bounds == {"optimizer.lr": [1e-4, 1e-2], "policy.n_action_steps": [1, 4]}
    state = pickle.loads(pickle.dumps(SchedulerState(scheduler).get_state()))
    restored = make_scheduler(_tune_cfg(scheduler="pb2"), cfg, space)
    SchedulerState(restored).set_state(state)
    assert restored._perturbation_interval == 10 and restored.data.equals(scheduler.data)


def test_pbt_refuses_only_the_fields_that_change_shapes_each_judged_alone_against_the_base(tmp_path):
    """search_spaces/act.py searches chunk_size, dim_model and n_decoder_layers (shapes) and kl_weight (no shape):
    only the three are refused, each with a tensor that its own value changes."""
    with pytest.raises(UserError) as error:
        prepare(
            "search_spaces/act.py", ["--tune.scheduler=pbt", "--tune.search=random", f"--tune.storage_path={tmp_path}"]
        )
    problems = {p.field: p.message for p in error.value.problems}
    assert set(problems) == {"policy.chunk_size", "policy.dim_model", "policy.n_decoder_layers"}
    assert "model.decoder.layers.1." in problems["policy.n_decoder_layers"]
    assert "pos_embed" in problems["policy.chunk_size"]
    prepare(
        "search_spaces/act.py",
        [
            "--tune.scheduler=pbt",
            "--tune.search=random",
            "--policy.chunk_size=20",
            "--policy.dim_model=64",
            "--policy.n_decoder_layers=1",
            f"--tune.storage_path={tmp_path}",
        ],
    )  # kl_weight and lr: PBT can search them
