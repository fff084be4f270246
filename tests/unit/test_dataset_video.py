"""Cameras stored as MP4 video in LeRobot's v3.0 layout: files, fields, frame lookup by timestamp, windows, errors."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from orchestrator.configs.features import FeatureType, PolicyFeature
from orchestrator.datasets import writer
from orchestrator.datasets.reader import LeRobotDataset
from orchestrator.datasets.video import FrameNotFound, VideoEncoder, decode_frames
from orchestrator.datasets.writer import write_dataset
from orchestrator.errors import UserError
from tests.unit.test_dataset_format import FEATURES, LENGTHS, TASK, make_episodes

SIZE = (16, 24)  # (H, W) of the camera
CODEC = "libx264"  # fast to encode; the default (libsvtav1) is exercised by one test


@pytest.fixture(autouse=True)
def _table_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBOT_SWEEPS_CACHE", str(tmp_path / "cache"))


def gray_frames(values) -> np.ndarray:
    """Uniform frames whose gray level tells which frame they are (video compression keeps flat images exact)."""
    return np.repeat(np.asarray(values, dtype=np.uint8)[:, None, None, None], SIZE[0] * SIZE[1] * 3).reshape(
        len(values), *SIZE, 3
    )


def level(frame: torch.Tensor) -> int:
    return round(float(frame.mean()) * 255)


def video_episodes():
    episodes = make_episodes()
    starts = np.cumsum([0, *LENGTHS[:-1]])
    for episode, start in zip(episodes, starts):  # global frame i has gray level 10 * (i + 1)
        episode["observation.images.top"] = gray_frames(10 * (start + 1 + np.arange(len(episode["action"]))))
    return episodes, {**FEATURES, "observation.images.top": PolicyFeature(FeatureType.VISUAL, (3, *SIZE))}


@pytest.fixture
def root(tmp_path):
    episodes, features = video_episodes()
    write_dataset(tmp_path / "ds", episodes, 10, features, "pusht", TASK, video_codec=CODEC)
    return tmp_path / "ds"


def test_video_files_and_fields_are_lerobot_v3(root):
    info = json.loads((root / "meta/info.json").read_text())
    assert info["video_path"] == "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    feature = info["features"]["observation.images.top"]
    assert (feature["dtype"], feature["shape"], feature["names"]) == (
        "video",
        [16, 24, 3],
        ["height", "width", "channels"],
    )
    assert feature["info"] == {
        "video.height": 16,
        "video.width": 24,
        "video.codec": "h264",
        "video.pix_fmt": "yuv420p",
        "video.is_depth_map": False,
        "video.fps": 10,
        "video.channels": 3,
        "has_audio": False,
    }
    assert sorted(p.relative_to(root).as_posix() for p in (root / "videos").rglob("*.mp4")) == [
        "videos/observation.images.top/chunk-000/file-000.mp4"
    ]  # every episode in one file
    assert "observation.images.top" not in pq.read_table(root / "data/chunk-000/file-000.parquet").column_names
    episodes = pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    key = "videos/observation.images.top"
    assert [(e[f"{key}/chunk_index"], e[f"{key}/file_index"]) for e in episodes] == [(0, 0)] * 3
    assert [(e[f"{key}/from_timestamp"], e[f"{key}/to_timestamp"]) for e in episodes] == [
        (0.0, 0.5),
        (0.5, 1.2),
        (1.2, 1.5),
    ]
    stats = json.loads((root / "meta/stats.json").read_text())["observation.images.top"]
    assert np.asarray(stats["mean"]).shape == (3, 1, 1) and stats["count"] == [15]
    levels = np.repeat(10.0 * np.arange(1, 16), 1) / 255
    np.testing.assert_allclose(np.asarray(stats["mean"]).reshape(3), [levels.mean()] * 3)


def test_frames_are_found_by_timestamp_in_every_episode(root):
    dataset = LeRobotDataset(root)
    assert dataset.meta.features["observation.images.top"] == PolicyFeature(FeatureType.VISUAL, (3, *SIZE))
    for i in range(len(dataset)):
        frame = dataset[i]["observation.images.top"]
        assert frame.dtype == torch.float32 and frame.shape == (3, *SIZE)
        assert abs(level(frame) - 10 * (i + 1)) <= 2, i


def test_video_windows_are_clamped_and_padded(root):
    dataset = LeRobotDataset(
        root, delta_timestamps={"observation.images.top": [-0.2, -0.1, 0.0], "action": [0.0, 0.1, 0.2]}
    )
    item = dataset[6]  # frame 1 of episode 1 (global frames 5..11)
    assert item["observation.images.top"].shape == (3, 3, *SIZE)
    assert [level(f) for f in item["observation.images.top"]] == pytest.approx([60, 60, 70], abs=2)
    assert item["observation.images.top_is_pad"].tolist() == [True, False, False]
    last = dataset[14]
    assert last["action_is_pad"].tolist() == [False, True, True]


def test_data_loader_workers_decode(root):
    dataset = LeRobotDataset(root, episodes=[1, 2])
    loader = torch.utils.data.DataLoader(dataset, batch_size=4, num_workers=2)
    images = torch.cat([batch["observation.images.top"] for batch in loader])
    assert [level(f) for f in images] == pytest.approx([10 * (i + 1) for i in range(5, 15)], abs=2)


def test_episodes_spread_over_several_video_files(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "VIDEO_FILES_SIZE_IN_MB", 1e-6)  # one episode per file
    episodes, features = video_episodes()
    write_dataset(tmp_path / "ds", episodes, 10, features, "pusht", TASK, video_codec=CODEC)
    assert len(list((tmp_path / "ds/videos/observation.images.top/chunk-000").glob("file-*.mp4"))) == 3
    rows = pq.read_table(tmp_path / "ds/meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert [r["videos/observation.images.top/from_timestamp"] for r in rows] == [0.0, 0.0, 0.0]
    dataset = LeRobotDataset(tmp_path / "ds")
    assert level(dataset[13]["observation.images.top"]) == pytest.approx(140, abs=2)


def test_default_codec_is_av1(tmp_path):
    path = tmp_path / "v.mp4"
    encoder = VideoEncoder(path, fps=10, height=16, width=16)
    encoder.add(np.repeat(gray_frames([20, 40, 60, 80]), 1, axis=0)[:, :16, :16])
    encoder.close()
    import av

    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name in ("libdav1d", "av1", "libaom-av1")
    frames = decode_frames(path, [0.3, 0.1])
    assert [round(float(f.mean())) for f in frames] == pytest.approx([80, 40], abs=2)
    with pytest.raises(FrameNotFound, match="0.1500"):
        decode_frames(path, [0.15])  # between two frames: outside LeRobot's 1e-4 s tolerance


def test_missing_video_file_names_the_file_and_episode(root):
    (root / "videos/observation.images.top/chunk-000/file-000.mp4").unlink()
    with pytest.raises(UserError, match=r"file-000\.mp4: not found: the observation\.images\.top video of episode 0"):
        LeRobotDataset(root)


def test_timestamps_off_the_video_name_the_file(root):
    rows = pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet")
    column = rows.column_names.index("videos/observation.images.top/from_timestamp")
    shifted = rows.set_column(
        column,
        "videos/observation.images.top/from_timestamp",
        [rows["videos/observation.images.top/from_timestamp"].to_numpy() + 0.05],
    )
    pq.write_table(shifted, root / "meta/episodes/chunk-000/file-000.parquet")
    with pytest.raises(UserError, match=r"file-000\.mp4: episode 0: no frame at 0\.0500 s"):
        LeRobotDataset(root)[0]


def test_short_episodes_with_the_default_codec(tmp_path):
    """libsvtav1 buffers frames: a file may not exist yet when the next short episode starts (it used to crash)."""
    episodes, features = video_episodes()
    write_dataset(tmp_path / "ds", episodes, 10, features, "pusht", TASK)
    dataset = LeRobotDataset(tmp_path / "ds")
    assert [level(dataset[i]["observation.images.top"]) for i in (0, len(dataset) - 1)] == [10, 10 * len(dataset)]


def test_encoding_leaves_the_thread_scheduling_policy_alone(tmp_path):
    """Run as root (CI, containers), SVT-AV1 switches the encoding thread to real-time SCHED_FIFO 99; every Ray
    process started afterwards inherited it and starved the machine. The encoder must leave the policy as it was."""
    import os

    before = os.sched_getscheduler(0), os.sched_getparam(0)
    encoder = VideoEncoder(tmp_path / "v.mp4", fps=10, height=16, width=16)
    encoder.add(gray_frames([20, 40, 60])[:, :16, :16])
    assert (os.sched_getscheduler(0), os.sched_getparam(0)) == before
    encoder.close()
    assert (os.sched_getscheduler(0), os.sched_getparam(0)) == before
