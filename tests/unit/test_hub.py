"""Publishing to the Hub, against a local Hub server driven by the real huggingface_hub client."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import constants
from safetensors.numpy import save_file

from orchestrator.errors import UserError
from orchestrator.publish.hub import check_hub_access, push_to_hub, resolve_token, scrub_secrets
from tests.support.hub_server import LocalHub

TOKEN = "hf_LocalTestTokenThatMustNeverLeak0123"
WRONG_TOKEN = "hf_WrongTokenThatMustNotBeEchoed4567"


@pytest.fixture(autouse=True)
def no_ambient_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No token from this machine: no env vars, and huggingface_hub's token files point into tmp_path."""
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE", "WANDB_API_KEY", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf_home" / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "hf_home" / "stored_tokens"))


@pytest.fixture
def local_hub(monkeypatch: pytest.MonkeyPatch):
    with LocalHub(token=TOKEN) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        yield hub


def policy_folder(folder: Path, repo_id: str) -> Path:
    """What a published policy folder holds: config, weights, train config and the model card."""
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"type": "act", "dim_model": 256}))
    save_file({"encoder.weight": np.arange(64 * 32, dtype=np.float32).reshape(64, 32)}, folder / "model.safetensors")
    (folder / "train_config.json").write_text(json.dumps({"steps": 2000, "hub": {"repo_id": repo_id}}))
    (folder / "README.md").write_text(f"---\nlibrary_name: robot-sweeps\n---\n\n# {repo_id}\n")
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_push_uploads_every_file_byte_identical(local_hub: LocalHub, tmp_path: Path, caplog, capfd) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="huggingface_hub")
    folder = policy_folder(tmp_path / "best", "tester/act_pusht")

    url = push_to_hub(folder, "tester/act_pusht")

    assert url == f"{local_hub.url}/tester/act_pusht"
    repo = local_hub.repos["tester/act_pusht"]
    sent = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert set(sent) == {"config.json", "model.safetensors", "train_config.json", "README.md"}
    assert repo.files == sent
    assert not repo.private
    assert [call for call in local_hub.calls if "agent-harnesses" not in call] == [
        "POST /api/repos/create",
        "POST /api/validate-yaml",
        "POST /api/models/tester/act_pusht/preupload/main",
        "POST /api/models/tester/act_pusht/commit/main",
    ]
    assert "Pushed tester/act_pusht" in caplog.text and "/commit/main" in caplog.text
    out, err = capfd.readouterr()
    for text in [*(content.decode("latin-1") for content in repo.files.values()), caplog.text, out, err]:
        assert TOKEN not in text


def test_push_to_an_existing_private_repo_adds_a_commit(local_hub: LocalHub, tmp_path: Path) -> None:
    folder = policy_folder(tmp_path / "best", "robot-lab/act_pusht")
    push_to_hub(folder, "robot-lab/act_pusht", private=True)
    (folder / "config.json").write_text("{}")

    url = push_to_hub(folder, "robot-lab/act_pusht", private=True, commit_message="second")

    repo = local_hub.repos["robot-lab/act_pusht"]
    assert url == f"{local_hub.url}/robot-lab/act_pusht"
    assert repo.private
    assert repo.files["config.json"] == b"{}"
    assert repo.commits[-1] == "second" and len(repo.commits) == 2


def test_check_hub_access_accepts_the_user_and_their_orgs(local_hub: LocalHub) -> None:
    check_hub_access("tester/act_pusht")
    check_hub_access("robot-lab/act_pusht")
    assert local_hub.calls.count("GET /api/whoami-v2") == 2


def test_check_hub_access_without_token_names_the_field() -> None:
    with pytest.raises(UserError) as caught:
        check_hub_access("tester/act_pusht")
    assert "hub.repo_id" in str(caught.value)
    assert "HF_TOKEN" in str(caught.value)


def test_check_hub_access_with_a_wrong_token(local_hub: LocalHub, monkeypatch, caplog, capfd) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="huggingface_hub")
    monkeypatch.setenv("HF_TOKEN", WRONG_TOKEN)

    with pytest.raises(UserError) as caught:
        check_hub_access("tester/act_pusht")

    message = str(caught.value)
    assert "hub.repo_id" in message and "401" in message
    out, err = capfd.readouterr()
    for text in (message, caplog.text, out, err):
        assert WRONG_TOKEN not in text


@pytest.mark.parametrize(
    "role, repo_id, expected",
    [
        ("read", "tester/act_pusht", "read-only"),
        ("write", "someone-else/act_pusht", "cannot create repos under 'someone-else'"),
    ],
)
def test_check_hub_access_refuses_what_the_token_cannot_write(monkeypatch, role, repo_id, expected) -> None:
    with LocalHub(token=TOKEN, role=role) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        with pytest.raises(UserError) as caught:
            check_hub_access(repo_id)
    assert "hub.repo_id" in str(caught.value) and expected in str(caught.value)


def test_check_hub_access_with_an_unreachable_endpoint(monkeypatch) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HF_TOKEN", TOKEN)

    with pytest.raises(UserError) as caught:
        check_hub_access("tester/act_pusht")

    assert "hub.repo_id" in str(caught.value) and endpoint in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_resolve_token_prefers_hf_token_then_the_stored_one(monkeypatch) -> None:
    assert resolve_token() is None
    stored = Path(constants.HF_TOKEN_PATH)
    stored.parent.mkdir(parents=True)
    stored.write_text("hf_stored_token\n")
    assert resolve_token() == "hf_stored_token"
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert resolve_token() == TOKEN


def test_scrub_secrets_hides_every_known_token(monkeypatch) -> None:
    stored = Path(constants.HF_TOKEN_PATH)
    stored.parent.mkdir(parents=True)
    stored.write_text("hf_stored_token")
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("WANDB_API_KEY", "wandb_key_0123456789")

    text = f"hf={TOKEN} stored=hf_stored_token wandb=wandb_key_0123456789 plain=hello"

    assert scrub_secrets(text) == "hf=*** stored=*** wandb=*** plain=hello"


def test_a_pushed_policy_folder_loads_back_from_the_hub_by_its_id(
    local_hub: LocalHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """push -> `--policy.path=<org>/<name>`: the processor files (the normalization statistics) travel too."""
    import torch

    from orchestrator.policies.factory import load_policy
    from orchestrator.policy_source import resolve_policy_folder
    from tests.support.lerobot_kit import ACT_TINY

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    load_policy(ACT_TINY).save_pretrained(tmp_path / "best")
    push_to_hub(tmp_path / "best", "tester/act_tiny")
    downloaded = resolve_policy_folder("tester/act_tiny")
    assert {p.name for p in (tmp_path / "best").iterdir()} == {p.name for p in downloaded.iterdir()}
    original, loaded = load_policy(ACT_TINY).eval(), load_policy(downloaded).eval()
    observation = {
        "observation.state": torch.tensor([[200.0, 300.0]]),
        "observation.environment_state": torch.ones(1, 16),
    }
    torch.testing.assert_close(
        loaded.predict_action_chunk(observation), original.predict_action_chunk(observation), rtol=0, atol=0
    )
