"""LeRobotDataset v2.1 folders (one parquet and one video per episode, JSON-lines metadata) read by the same reader."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestrator.configs.features import FeatureType, PolicyFeature
from orchestrator.datasets.reader import DatasetMeta, LeRobotDataset
from orchestrator.datasets.video import VideoEncoder
from orchestrator.errors import UserError
from tests.unit.test_dataset_video import SIZE, gray_frames, level

LENGTHS = [4, 6]
TASKS = ["Push the T.", "Push it again."]


@pytest.fixture(autouse=True)
def _table_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBOT_SWEEPS_CACHE", str(tmp_path / "cache"))


def _vector(values: np.ndarray) -> pa.Array:
    return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), values.shape[1])


def _episode_stats(data: np.ndarray) -> dict:
    data = data.astype(np.float64).reshape(len(data), -1)
    return {
        "min": data.min(0).tolist(),
        "max": data.max(0).tolist(),
        "mean": data.mean(0).tolist(),
        "std": data.std(0).tolist(),
        "count": [len(data)],
    }


def write_v21(root, rng):
    """A v2.1 folder laid out as LeRobot 0.3 wrote them; returns its episodes' arrays."""
    video = "observation.images.top"
    info = {
        "codebase_version": "v2.1",
        "robot_type": "pusht",
        "total_episodes": 2,
        "total_frames": sum(LENGTHS),
        "total_tasks": 2,
        "total_videos": 2,
        "total_chunks": 1,
        "chunks_size": 1000,
        "fps": 10,
        "splits": {"train": "0:2"},
        "data_path": "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet",
        "video_path": "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4",
        "features": {
            "observation.state": {"dtype": "float32", "shape": [2], "names": {"motors": ["x", "y"]}},
            "action": {"dtype": "float32", "shape": [2], "names": {"motors": ["x", "y"]}},
            video: {
                "dtype": "video",
                "shape": [*SIZE, 3],
                "names": ["height", "width", "channel"],
                "info": {"video.fps": 10.0, "video.codec": "h264"},
            },
            **{
                key: {"dtype": dtype, "shape": [1], "names": None}
                for key, dtype in [
                    ("timestamp", "float32"),
                    ("frame_index", "int64"),
                    ("episode_index", "int64"),
                    ("index", "int64"),
                    ("task_index", "int64"),
                ]
            },
        },
    }
    (root / "meta").mkdir(parents=True)
    (root / "meta/info.json").write_text(json.dumps(info))
    (root / "meta/tasks.jsonl").write_text(
        "".join(json.dumps({"task_index": i, "task": t}) + "\n" for i, t in enumerate(TASKS))
    )
    episodes, start, lines, stats_lines = [], 0, [], []
    for e, n in enumerate(LENGTHS):
        episode = {
            "observation.state": rng.normal(size=(n, 2)).astype(np.float32),
            "action": rng.normal(size=(n, 2)).astype(np.float32),
        }
        path = root / f"data/chunk-000/episode_{e:06d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(
            pa.table(
                {
                    "observation.state": _vector(episode["observation.state"]),
                    "action": _vector(episode["action"]),
                    "timestamp": pa.array(np.arange(n, dtype=np.float32) / 10),
                    "frame_index": pa.array(np.arange(n)),
                    "episode_index": pa.array(np.full(n, e)),
                    "index": pa.array(start + np.arange(n)),
                    "task_index": pa.array(np.full(n, e)),
                }
            ),
            path,
        )
        encoder = VideoEncoder(root / f"videos/chunk-000/{video}/episode_{e:06d}.mp4", 10, *SIZE, codec="libx264")
        encoder.add(gray_frames(10 * (start + 1 + np.arange(n))))
        encoder.close()
        lines.append(json.dumps({"episode_index": e, "tasks": [TASKS[e]], "length": n}) + "\n")
        stats_lines.append(
            json.dumps({"episode_index": e, "stats": {key: _episode_stats(values) for key, values in episode.items()}})
            + "\n"
        )
        episodes.append(episode)
        start += n
    (root / "meta/episodes.jsonl").write_text("".join(lines))
    (root / "meta/episodes_stats.jsonl").write_text("".join(stats_lines))
    return episodes


@pytest.fixture
def v21(tmp_path):
    root = tmp_path / "v21"
    return root, write_v21(root, np.random.default_rng(0))


def test_v21_reads_like_v3(v21):
    root, episodes = v21
    dataset = LeRobotDataset(root, delta_timestamps={"action": [0.0, 0.1, 0.2], "observation.images.top": [-0.1, 0.0]})
    meta = dataset.meta
    assert (meta.version, meta.fps, meta.total_frames, meta.tasks) == ("v2.1", 10, 10, TASKS)
    assert meta.features["observation.images.top"] == PolicyFeature(FeatureType.VISUAL, (3, *SIZE))
    assert [(e["dataset_from_index"], e["dataset_to_index"]) for e in meta.episodes] == [(0, 4), (4, 10)]
    assert len(dataset) == 10
    item = dataset[4]  # first frame of episode 1
    np.testing.assert_array_equal(item["observation.state"], episodes[1]["observation.state"][0])
    np.testing.assert_array_equal(item["action"], episodes[1]["action"][[0, 1, 2]])
    assert [level(f) for f in item["observation.images.top"]] == pytest.approx([50, 50], abs=2)
    assert item["observation.images.top_is_pad"].tolist() == [True, False]
    assert dataset[3]["action_is_pad"].tolist() == [False, True, True]
    assert int(dataset[9]["task_index"]) == 1


def test_v21_stats_are_aggregated_from_episode_stats(v21):
    root, episodes = v21
    stats = DatasetMeta.load(root).stats
    for key in ("observation.state", "action"):
        data = np.concatenate([e[key] for e in episodes]).astype(np.float64)
        np.testing.assert_allclose(stats[key]["mean"], data.mean(0))
        np.testing.assert_allclose(stats[key]["std"], data.std(0))
        np.testing.assert_allclose(stats[key]["min"], data.min(0))
        np.testing.assert_allclose(stats[key]["max"], data.max(0))
        assert stats[key]["count"].tolist() == [10]


def test_v21_missing_files_are_named(v21):
    root, _ = v21
    (root / "videos/chunk-000/observation.images.top/episode_000001.mp4").unlink()
    with pytest.raises(
        UserError,
        match=r"episode_000001\.mp4: not found: the observation\.images\.top video of "
        r"episode 1",
    ):
        LeRobotDataset(root)
    LeRobotDataset(root, episodes=[0])  # the other episode still reads
    (root / "data/chunk-000/episode_000000.parquet").unlink()
    with pytest.raises(UserError, match=r"episode_000000\.parquet: not found: the data of episode 0"):
        LeRobotDataset(root)
    (root / "meta/episodes.jsonl").unlink()
    with pytest.raises(UserError, match=r"meta/episodes\.jsonl: not found"):
        DatasetMeta.load(root)
