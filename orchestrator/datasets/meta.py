"""The metadata of a dataset folder (LeRobot v3.0, or v2.1 through v21.py), in one shape for the reader.

v3.0 (LeRobot's current format):
    meta/info.json, meta/stats.json, meta/tasks.parquet, meta/episodes/chunk-*/file-*.parquet
    data/chunk-*/file-*.parquet (many episodes per file), videos/<key>/chunk-*/file-*.mp4 (many episodes per file)
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from orchestrator.configs.features import PolicyFeature, feature_type_of
from orchestrator.datasets.stats import sanitize_stats
from orchestrator.datasets.layout import CODEBASE_VERSION, INFO_PATH, STATS_PATH, TASKS_PATH, V21_VERSIONS, VIDEO_PATH
from orchestrator.errors import UserError, problem

_REQUIRED_INFO = ("codebase_version", "fps", "features", "total_episodes", "total_frames")


def bad_file(path: Path, message: str) -> UserError:
    return UserError(problem(str(path), message), "invalid dataset")


def read_parquet(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        raise bad_file(path, f"cannot be read as parquet ({e})") from None


def read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise bad_file(path, f"cannot be read as JSON ({e})") from None


@dataclass
class DatasetMeta:
    """The `meta/` folder of a dataset, whatever its version."""

    root: Path  # the dataset folder
    info: dict  # meta/info.json
    stats: dict[str, dict[str, np.ndarray]]  # feature -> stat name -> array (NaN and zero std replaced, with a warning)
    episodes: list[dict]  # by index: episode_index, length, dataset_from/to_index, videos/<key>/... (v3.0 columns)
    tasks: list[str]  # task strings, by task_index

    @classmethod
    def load(cls, root: Path | str) -> "DatasetMeta":
        root = Path(root)
        info_path = root / INFO_PATH
        if not info_path.is_file():
            raise bad_file(info_path, "not found: this folder is not a LeRobotDataset (or was not fully written)")
        try:
            info = json.loads(info_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise bad_file(info_path, f"is not valid JSON ({e})") from None
        missing = [key for key in _REQUIRED_INFO if not isinstance(info, dict) or key not in info]
        if missing:
            raise bad_file(info_path, f"misses {missing}")
        if info["codebase_version"] in V21_VERSIONS:
            from orchestrator.datasets.v21 import load_v21

            stats, episodes, tasks = load_v21(root, info)
        elif info["codebase_version"] == CODEBASE_VERSION:
            stats, episodes, tasks = _load_v30(root)
        else:
            raise bad_file(info_path, f"codebase_version {info['codebase_version']!r} is not supported; "
                                      f"{[*V21_VERSIONS, CODEBASE_VERSION]} are")
        return cls(root, info, sanitize_stats(stats, str(root / STATS_PATH)), episodes, tasks)

    @property
    def version(self) -> str:
        return self.info["codebase_version"]

    @property
    def fps(self) -> int:
        return int(self.info["fps"])

    @property
    def video_keys(self) -> list[str]:
        return [key for key, ft in self.info["features"].items() if ft["dtype"] == "video"]

    @property
    def image_keys(self) -> list[str]:
        """Cameras stored inline in the data parquet."""
        return [key for key, ft in self.info["features"].items() if ft["dtype"] == "image"]

    @property
    def features(self) -> dict[str, PolicyFeature]:
        """The policy-relevant features (observations and action) with their types and per-frame shapes; cameras
        as (C, H, W), the layout the reader returns (info.json lists them as (H, W, C))."""
        out = {}
        for key, ft in self.info["features"].items():
            if feature_type_of(key) is None:
                continue
            shape = tuple(ft["shape"])
            if ft["dtype"] in ("image", "video") and len(shape) == 3 and (ft.get("names") or [None] * 3)[2] in (
                    "channels", "channel"):
                shape = (shape[2], shape[0], shape[1])
            out[key] = PolicyFeature(feature_type_of(key), shape)
        return out

    @property
    def total_episodes(self) -> int:
        return int(self.info["total_episodes"])

    @property
    def total_frames(self) -> int:
        return int(self.info["total_frames"])

    def data_files(self) -> list[Path]:
        """The data parquet files, in order."""
        if self.version in V21_VERSIONS:
            from orchestrator.datasets.v21 import data_files

            return data_files(self)
        paths = sorted((self.root / "data").glob("chunk-*/file-*.parquet"))
        if not paths:
            raise bad_file(self.root / "data", "no chunk-*/file-*.parquet files: the dataset is incomplete")
        return paths

    def video_file(self, key: str, episode: dict) -> Path:
        """The video file holding camera `key` of `episode` (a row of `episodes`)."""
        template = self.info.get("video_path") or VIDEO_PATH
        return self.root / template.format(video_key=key, chunk_index=episode[f"videos/{key}/chunk_index"],
                                           file_index=episode[f"videos/{key}/file_index"],
                                           episode_chunk=episode[f"videos/{key}/chunk_index"],
                                           episode_index=episode["episode_index"])


def _load_v30(root: Path) -> tuple[dict, list[dict], list[str]]:
    stats_path = root / STATS_PATH
    try:
        stats = {key: {name: np.asarray(value, dtype=np.float64) for name, value in s.items()}
                 for key, s in json.loads(stats_path.read_text()).items()}
    except (OSError, ValueError, TypeError, AttributeError) as e:
        raise bad_file(stats_path, f"cannot be read as stats ({e})") from None
    paths = sorted((root / "meta/episodes").glob("chunk-*/file-*.parquet"))
    if not paths:
        raise bad_file(root / "meta/episodes", "no chunk-*/file-*.parquet files: the dataset is incomplete")
    episodes = pa.concat_tables([read_parquet(path) for path in paths])
    episodes = episodes.select([name for name in episodes.column_names if not name.startswith("stats/")])
    episodes = sorted(episodes.to_pylist(), key=lambda row: row["episode_index"])
    tasks = read_parquet(root / TASKS_PATH).to_pylist()
    tasks = [row["task"] for row in sorted(tasks, key=lambda row: row["task_index"])]
    return stats, episodes, tasks
