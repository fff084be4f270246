"""The local Hub serves repos for download to the real huggingface_hub client: models and datasets, by branch, tag
or commit, private ones to the token only; what was pushed downloads back."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import HfApi, constants, hf_hub_download, snapshot_download
from huggingface_hub.errors import RemoteEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

from tests.support.hub_server import LocalHub

TOKEN = "hf_server_test_token"
POLICY = Path(__file__).resolve().parents[2] / ".." / "shared" / "lerobot" / "fixtures" / "policies" / "act_tiny"


@pytest.fixture
def hub(tmp_path, monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no_token"))
    with LocalHub(token=TOKEN) as hub:
        yield hub


def test_a_model_folder_downloads_byte_identical(hub, tmp_path):
    hub.serve("lerobot/act_tiny", POLICY, repo_type="model")
    folder = Path(snapshot_download("lerobot/act_tiny", endpoint=hub.url, cache_dir=tmp_path / "cache"))
    files = sorted(p.relative_to(POLICY).as_posix() for p in POLICY.rglob("*") if p.is_file())
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == files
    assert all((folder / f).read_bytes() == (POLICY / f).read_bytes() for f in files)
    config = hf_hub_download("lerobot/act_tiny", "config.json", endpoint=hub.url, cache_dir=tmp_path / "cache")
    assert Path(config).read_bytes() == (POLICY / "config.json").read_bytes()
    with pytest.raises(RemoteEntryNotFoundError):
        hf_hub_download("lerobot/act_tiny", "train_config.json", endpoint=hub.url, cache_dir=tmp_path / "cache")


def test_each_revision_keeps_its_files(hub, tmp_path):
    for version in ("v1", "v2"):
        (tmp_path / version).mkdir()
        (tmp_path / version / "info.json").write_text(version)
    first = hub.serve("lab/data", tmp_path / "v1", revision="v1")
    hub.serve("lab/data", tmp_path / "v2", revision="v2")

    def read(revision: str) -> str:
        return Path(
            hf_hub_download(
                "lab/data",
                "info.json",
                repo_type="dataset",
                revision=revision,
                endpoint=hub.url,
                cache_dir=tmp_path / "cache",
            )
        ).read_text()

    assert [read("v1"), read("v2"), read(first)] == ["v1", "v2", "v1"]
    with pytest.raises(RevisionNotFoundError):
        read("main")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("lab/data", "info.json", endpoint=hub.url, cache_dir=tmp_path / "cache")  # a model repo


def test_a_private_repo_needs_the_token(hub, tmp_path):
    hub.serve("lab/secret", POLICY, repo_type="model", private=True)
    with pytest.raises(RepositoryNotFoundError):
        snapshot_download("lab/secret", endpoint=hub.url, cache_dir=tmp_path / "cache")
    assert Path(snapshot_download("lab/secret", endpoint=hub.url, cache_dir=tmp_path / "cache", token=TOKEN)).is_dir()


def test_what_was_pushed_downloads_back(hub, tmp_path):
    api = HfApi(endpoint=hub.url, token=TOKEN)
    api.create_repo("tester/pushed")
    api.upload_file(path_or_fileobj=b'{"type": "act"}', path_in_repo="config.json", repo_id="tester/pushed")
    path = hf_hub_download("tester/pushed", "config.json", endpoint=hub.url, cache_dir=tmp_path / "cache")
    assert Path(path).read_bytes() == b'{"type": "act"}'
