"""Where datasets come from: a local folder, the Hugging Face cache (offline), or a clear error; no network used."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from orchestrator.configs.train import DatasetConfig
from orchestrator.datasets.reader import LeRobotDataset
from orchestrator.datasets.record import ensure_dataset
from orchestrator.datasets.writer import write_dataset
from orchestrator.envs.configs import PushTEnvConfig
from orchestrator.errors import UserError
from tests.support.hub_server import LocalHub
from tests.unit.test_dataset_format import FEATURES, TASK, make_episodes
from tests.unit.test_dataset_lerobot import FIXTURE

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(autouse=True)
def _offline_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBOT_SWEEPS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def cache_snapshot(hub, repo_id: str, revision: str = "main"):
    """Lay a dataset out in the Hugging Face cache as snapshot_download leaves it."""
    repo = hub / f"datasets--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / revision).write_text(COMMIT)
    write_dataset(repo / "snapshots" / COMMIT, make_episodes(), 10, FEATURES, "pusht", TASK)
    return repo / "snapshots" / COMMIT


def test_a_cached_hub_dataset_is_reused_offline(tmp_path):
    snapshot = cache_snapshot(tmp_path / "hub", "lerobot/tiny")
    root = ensure_dataset(DatasetConfig(repo_id="lerobot/tiny"), PushTEnvConfig())
    assert root == snapshot
    assert len(LeRobotDataset(root)) == 15


def test_offline_with_nothing_cached_fails_at_once_naming_repo_and_cache(tmp_path):
    start = time.perf_counter()
    with pytest.raises(UserError) as e:
        ensure_dataset(DatasetConfig(repo_id="lerobot/absent", revision="v3.0"), PushTEnvConfig())
    assert time.perf_counter() - start < 5
    message = str(e.value)
    assert "dataset.repo_id = 'lerobot/absent'" in message and "HF_HUB_OFFLINE is set" in message
    assert str(tmp_path / "hub") in message and "revision v3.0" in message


def test_a_local_root_is_read_as_is(tmp_path):
    write_dataset(tmp_path / "mine", make_episodes(), 10, FEATURES, "pusht", TASK)
    cfg = DatasetConfig(repo_id="someone/else", root=str(tmp_path / "mine"))
    assert ensure_dataset(cfg, PushTEnvConfig()) == tmp_path / "mine"
    with pytest.raises(UserError, match=r"no LeRobotDataset there"):
        ensure_dataset(DatasetConfig(repo_id="someone/else", root=str(tmp_path / "empty")), PushTEnvConfig())


def test_a_hub_dataset_lerobot_wrote_downloads_at_its_revision_then_works_offline(tmp_path, monkeypatch):
    from huggingface_hub import constants

    from orchestrator.datasets.check import check_dataset

    with LocalHub(token="hf_unused") as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # read at import, maybe under an earlier test's "1"
        sha = hub.serve("lerobot/state", FIXTURE, repo_type="dataset", revision="v3.0")
        cfg = DatasetConfig(repo_id="lerobot/state", revision="v3.0")
        root = ensure_dataset(cfg, PushTEnvConfig())
        assert root == tmp_path / "hub" / "datasets--lerobot--state" / "snapshots" / sha
        assert (root / "data/chunk-000/file-000.parquet").read_bytes() == (
            FIXTURE / "data/chunk-000/file-000.parquet"
        ).read_bytes()
        assert check_dataset(root).tasks == ["push the T"]
        with pytest.raises(UserError, match=r"dataset\.revision = 'v9': no such revision"):
            ensure_dataset(DatasetConfig(repo_id="lerobot/state", revision="v9"), PushTEnvConfig())
        with pytest.raises(UserError, match=r"dataset\.repo_id = 'lerobot/other': no such dataset on the Hub"):
            ensure_dataset(DatasetConfig(repo_id="lerobot/other"), PushTEnvConfig())
        downloads = [call for call in hub.calls if "/resolve/" in call]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the Hub is gone: the cached snapshot is used as it is
    assert ensure_dataset(cfg, PushTEnvConfig()) == root
    assert len(downloads) >= 5  # info, stats, tasks, episodes and data were fetched, not found elsewhere


def test_dataset_config_checks_the_repo_id():
    assert DatasetConfig(repo_id="lerobot/pusht", revision="v3.0").problems() == []
    assert [p.field for p in DatasetConfig(repo_id="pusht").problems()] == ["repo_id"]
    assert [p.field for p in DatasetConfig(repo_id="a/b/c").problems()] == ["repo_id"]


def test_the_cli_reports_a_missing_offline_dataset_without_traceback(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestrator",
            "train",
            "--dataset.repo_id=lerobot/absent",
            f"--output_dir={tmp_path / 'run'}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "lerobot/absent" in result.stderr and "Traceback" not in result.stderr
