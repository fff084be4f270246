"""A sweep that starts from a saved policy (`--policy.path`, here LeRobot's own ACT folder): the saved config sits
under the search space, and sampled fields that would change the weights' shapes are refused before Ray starts."""

from __future__ import annotations

import pytest

from orchestrator.errors import UserError
from orchestrator.search.space import from_sample
from orchestrator.sweep.prepare import prepare
from tests.support.lerobot_kit import ACT_TINY, LEROBOT_TRAIN_ACT, STATE_DATASET


def prepared(space_file: str, tmp_path, *extra: str, saved=ACT_TINY):
    return prepare(
        space_file,
        [f"--policy.path={saved}", f"--dataset.root={STATE_DATASET}", f"--tune.storage_path={tmp_path}", *extra],
    )


def test_the_saved_policy_sits_under_the_search_space(tmp_path):
    sweep = prepared("search_spaces/act_finetune.py", tmp_path)
    assert {"policy.kl_weight", "policy.dropout", "optimizer.lr"} <= set(sweep.space)
    baseline = sweep.default_cfg.policy
    assert (baseline.dim_model, baseline.chunk_size, baseline.pretrained_path) == (64, 10, str(ACT_TINY.resolve()))
    assert (baseline.kl_weight, baseline.dropout) == (10.0, 0.1)  # the file's defaults: LeRobot's preset
    trial = from_sample(sweep.base, {"policy.dropout": 0.25, "policy.kl_weight": 3.0}, sweep.overrides, sweep.ties)
    assert (trial.policy.dropout, trial.policy.kl_weight, trial.policy.dim_model) == (0.25, 3.0, 64)


def test_a_checkpoint_lerobot_train_wrote_sits_under_the_search_space(tmp_path):
    """A whole `checkpoints/000050/pretrained_model/` of lerobot-train (its train_config.json names no env): only its
    config.json and weights count for a sweep; LeRobot's torchvision backbone name is dropped (the weights are
    saved)."""
    sweep = prepared("search_spaces/act_finetune.py", tmp_path, saved=LEROBOT_TRAIN_ACT)
    baseline = sweep.default_cfg.policy
    assert (baseline.dim_model, baseline.chunk_size, baseline.pretrained_path) == (
        32,
        10,
        str(LEROBOT_TRAIN_ACT.resolve()),
    )
    assert baseline.pretrained_backbone_weights is None and sweep.default_cfg.env.type == "pusht"


def test_a_cli_flag_still_wins_over_the_saved_config(tmp_path):
    sweep = prepared("search_spaces/act_finetune.py", tmp_path, "--policy.dropout=0.05")
    assert "policy.dropout" not in sweep.space and sweep.default_cfg.policy.dropout == 0.05


def test_sampling_a_field_that_changes_the_weights_shapes_is_refused(tmp_path):
    with pytest.raises(UserError) as error:
        prepared("search_spaces/act.py", tmp_path)  # samples dim_model, chunk_size, n_decoder_layers, kl_weight
    fields = {p.field for p in error.value.problems}
    assert {"policy.dim_model", "policy.chunk_size", "policy.n_decoder_layers"} <= fields
    assert "policy.kl_weight" not in fields  # it keeps the shapes
    assert "model.safetensors" in str(error.value)
