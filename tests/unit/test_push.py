"""`push` after the fact, against the local Hub server: an experiment's best/ with its card rebuilt for the repo, a
checkpoint folder with a card of its own; what was pushed loads back by its id; bad input is refused before anything."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from huggingface_hub import constants

from orchestrator.errors import UserError
from orchestrator.publish.model_card import card_info_to_dict, write_model_card
from orchestrator.publish.push import push_from_args
from tests.support.hub_server import LocalHub
from tests.support.lerobot_kit import ACT_TINY
from tests.unit.test_hub import TOKEN, local_hub, no_ambient_credentials  # noqa: F401  (fixtures)
from tests.unit.test_model_card import info

OBSERVATION = {"observation.state": torch.tensor([[200.0, 300.0]]), "observation.environment_state": torch.ones(1, 16)}


@pytest.fixture
def downloads(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


def experiment(tmp_path: Path, keep_card_facts: bool = True) -> Path:
    """What a sweep leaves: best/ (a policy folder + its unpushed card) and summary.json."""
    exp = tmp_path / "act_reach"
    best = Path(shutil.copytree(ACT_TINY, exp / "best"))
    (best / "train_config.json").write_text(json.dumps({"env": {"type": "pusht"}, "hub": {"repo_id": None}}))
    card = info(tmp_path, repo_id=None)
    write_model_card(best, card)
    summary = {"experiment": "act_reach", **({"model_card": card_info_to_dict(card)} if keep_card_facts else {})}
    (exp / "summary.json").write_text(json.dumps(summary))
    return exp


def loads_back(repo_id: str) -> None:
    from orchestrator.policies.factory import load_policy
    from orchestrator.policy_source import resolve_policy_folder

    original, loaded = load_policy(ACT_TINY).eval(), load_policy(resolve_policy_folder(repo_id)).eval()
    torch.testing.assert_close(
        loaded.predict_action_chunk(OBSERVATION), original.predict_action_chunk(OBSERVATION), rtol=0, atol=0
    )


@pytest.mark.parametrize("keep_card_facts", [True, False])
def test_an_experiment_pushes_best_with_its_card_naming_the_repo(
    local_hub, downloads, tmp_path, capsys, keep_card_facts
):
    exp = experiment(tmp_path, keep_card_facts)

    url = push_from_args([str(exp), "--hub.repo_id=tester/act_reach", "--hub.private=true"])

    repo = local_hub.repos["tester/act_reach"]
    assert repo.private and url == f"{local_hub.url}/tester/act_reach"
    assert set(repo.files) == {p.name for p in (exp / "best").iterdir()}
    card = repo.files["README.md"].decode()
    assert "--policy.path=tester/act_reach" in card and 'from_pretrained("tester/act_reach")' in card
    assert "path/to/this" not in card and "Not pushed" not in card and str(tmp_path) not in card
    assert "80.0% (40 of 50)" in card  # the evidence survives the rebuild
    assert card == (exp / "best" / "README.md").read_text()  # best/ now holds what was pushed
    assert json.loads((exp / "summary.json").read_text())["hub_url"] == url
    assert "pushed" in capsys.readouterr().out
    loads_back("tester/act_reach")


def test_a_checkpoint_folder_pushes_itself_with_a_card(local_hub, downloads, tmp_path):
    checkpoint = tmp_path / "train" / "trial_1" / "checkpoint_000002"
    pretrained = Path(shutil.copytree(ACT_TINY, checkpoint / "pretrained_model"))
    (pretrained / "train_config.json").write_text(
        json.dumps({"env": {"type": "pusht"}, "dataset": {"repo_id": "lerobot/pusht"}})
    )
    (checkpoint / "training_state").mkdir()

    push_from_args([str(checkpoint), "--hub.repo_id=robot-lab/act_ckpt"])

    files = local_hub.repos["robot-lab/act_ckpt"].files
    assert set(files) == {p.name for p in pretrained.iterdir()} | {"README.md"}
    assert "--policy.path=robot-lab/act_ckpt" in files["README.md"].decode()
    assert not (pretrained / "README.md").exists()  # the checkpoint stays as Ray wrote it
    loads_back("robot-lab/act_ckpt")


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["/no/such/folder", "--hub.repo_id=tester/x"], "folder = '/no/such/folder': no such folder"),
        (["{tmp}", "--hub.repo_id=tester/x"], "is neither an experiment folder"),
        (["{exp}"], "hub.repo_id: is required"),
        (["{exp}", "--hub.repo_id=no-slash"], "hub.repo_id = 'no-slash': must look like"),
        (["{exp}", "--hub.repo_id=tester/x", "--hub.private=maybe"], "hub.private = 'maybe'"),
        (["{exp}", "--hub.repo_id=tester/x", "--steps=3"], "steps: is not an option of push"),
        (["--hub.repo_id=tester/x"], "give the folder first"),
    ],
)
def test_bad_input_is_refused_with_one_message(tmp_path, args, fragment):
    exp = experiment(tmp_path)
    with pytest.raises(UserError) as caught:
        push_from_args([a.format(tmp=tmp_path, exp=exp) for a in args])
    assert fragment in str(caught.value)


def test_no_token_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    exp = experiment(tmp_path)
    before = (exp / "best" / "README.md").read_text()
    with LocalHub(token=TOKEN) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        with pytest.raises(UserError, match="HF_TOKEN"):
            push_from_args([str(exp), "--hub.repo_id=tester/x"])
        assert not hub.repos
    assert (exp / "best" / "README.md").read_text() == before


def test_a_file_holding_a_token_is_not_pushed(local_hub, tmp_path):
    exp = experiment(tmp_path)
    (exp / "best" / "train_config.json").write_text(json.dumps({"wandb": {"notes": TOKEN}}))
    with pytest.raises(UserError, match="train_config.json .* hold a secret"):
        push_from_args([str(exp), "--hub.repo_id=tester/x"])
    assert not local_hub.repos
