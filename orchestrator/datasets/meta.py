"""The metadata of a dataset folder (LeRobot v3.0, or v2.1 through v21.py), in one shape for the reader.

Paths are in layout.py. What LeRobot's v3.0 reader accepts is accepted here: every parquet two levels below data/
and meta/episodes/ (any names; info.json's `data_path` and `video_path` templates locate an episode's files),
tasks.parquet with its task text in a column `task` or in a pandas index (named `task`, or unnamed as LeRobot 0.4.4
writes it), and a missing meta/stats.json (the reader then computes the statistics from the data files).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from orchestrator.configs.features import PolicyFeature, feature_type_of
from orchestrator.datasets import v21
from orchestrator.datasets.files import bad_file, read_parquet
from orchestrator.datasets.layout import (
    CODEBASE_VERSION,
    DATA_DIR,
    DATA_PATH,
    EPISODES_DIR,
    INFO_PATH,
    NESTED_PARQUET_GLOB,
    STATS_PATH,
    TASKS_PATH,
    V21_VERSIONS,
    V21_VIDEO_PATH,
    VIDEO_PATH,
)
from orchestrator.datasets.stats import sanitize_stats
from orchestrator.errors import UserError, problem

_REQUIRED_INFO = ("codebase_version", "fps", "features", "total_episodes", "total_frames")
_REQUIRED_EPISODE_COLUMNS = ("episode_index", "dataset_from_index", "dataset_to_index")  # what LeRobot's reader uses


@dataclass
class DatasetMeta:
    """The `meta/` folder of a dataset, whatever its version."""

    root: Path  # the dataset folder
    info: dict  # meta/info.json
    stats: dict[str, dict[str, np.ndarray]]  # feature -> stat name -> array (NaN and zero std replaced, with a
    #   warning); empty without meta/stats.json (LeRobot's reader allows that: the reader computes them then)
    episodes: list[dict]  # by index: episode_index, length, dataset_from/to_index, videos/<key>/... (v3.0 columns)
    tasks: list[str]  # task strings, by task_index

    @classmethod
    def load(cls, root: Path | str) -> DatasetMeta:
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
        if info["codebase_version"] not in (*V21_VERSIONS, CODEBASE_VERSION):
            raise bad_file(
                info_path,
                f"codebase_version {info['codebase_version']!r} is not supported; "
                f"{[*V21_VERSIONS, CODEBASE_VERSION]} are",
            )
        _check_features(info_path, info["features"])
        if info["codebase_version"] in V21_VERSIONS:
            stats, episodes, tasks = v21.load_v21(root, info)
        else:
            stats, episodes, tasks = _load_v30(root, info)
        if len(episodes) != int(info["total_episodes"]):
            where = root / (EPISODES_DIR if info["codebase_version"] == CODEBASE_VERSION else "meta")
            raise bad_file(
                info_path, f"total_episodes is {info['total_episodes']} but {where} lists {len(episodes)} episodes"
            )
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
            kind = feature_type_of(key)
            if kind is None:
                continue
            shape = tuple(ft["shape"])
            if (
                ft["dtype"] in ("image", "video")
                and len(shape) == 3
                and (ft.get("names") or [None] * 3)[2] in ("channels", "channel")
            ):
                shape = (shape[2], shape[0], shape[1])
            out[key] = PolicyFeature(kind, shape)
        return out

    @property
    def total_episodes(self) -> int:
        return int(self.info["total_episodes"])

    @property
    def total_frames(self) -> int:
        return int(self.info["total_frames"])

    def data_files(self) -> list[Path]:
        """The data parquet files, in order: as LeRobot's reader, every parquet two levels below data/, and the file
        info.json's `data_path` gives each episode (which must exist)."""
        if self.version in V21_VERSIONS:
            return v21.data_files(self.root, self.info, self.episodes)
        paths = set((self.root / DATA_DIR).glob(NESTED_PARQUET_GLOB))
        template = self.info.get("data_path") or DATA_PATH
        for episode in self.episodes:
            if "data/chunk_index" not in episode or "data/file_index" not in episode:
                continue
            path = self.root / _format(
                template, episode, chunk_index=episode["data/chunk_index"], file_index=episode["data/file_index"]
            )
            if not path.is_file():
                raise bad_file(
                    path,
                    f"not found: it holds the frames of episode {episode['episode_index']} "
                    f"({INFO_PATH}'s data_path {template!r} with {EPISODES_DIR}'s data/chunk_index "
                    f"{episode['data/chunk_index']}, data/file_index {episode['data/file_index']})",
                )
            paths.add(path)
        if not paths:
            raise bad_file(
                self.root / DATA_DIR, f"holds no parquet file ({NESTED_PARQUET_GLOB}): the dataset is incomplete"
            )
        return sorted(paths)

    def video_file(self, key: str, episode: dict) -> Path:
        """The video file holding camera `key` of `episode` (a row of `episodes`)."""
        template = self.info.get("video_path") or (V21_VIDEO_PATH if self.version in V21_VERSIONS else VIDEO_PATH)
        return self.root / _format(
            template,
            episode,
            video_key=key,
            chunk_index=episode[f"videos/{key}/chunk_index"],
            file_index=episode[f"videos/{key}/file_index"],
        )


def _format(template: str, episode: dict, **fields) -> str:
    """A path template of info.json filled in for `episode` (v3.0 and v2.1 field names both offered)."""
    try:
        return template.format(
            episode_chunk=fields.get("chunk_index", 0), episode_index=episode["episode_index"], **fields
        )
    except (KeyError, IndexError, ValueError) as e:
        raise UserError(
            problem(
                f"{INFO_PATH}: {template!r}",
                f"is not a path template this reader can fill ({e!r}); "
                "it may use {video_key}, {chunk_index}, {file_index}, {episode_chunk} and "
                "{episode_index}",
            ),
            "invalid dataset",
        ) from None


def _check_features(info_path: Path, features) -> None:
    """Every feature of info.json has a dtype and a shape (LeRobot's reader needs both)."""
    if not isinstance(features, dict) or not features:
        raise bad_file(info_path, f"`features` must map feature names to {{dtype, shape, names}}, got {features!r}")
    bad = [
        key
        for key, ft in features.items()
        if not isinstance(ft, dict) or "dtype" not in ft or not isinstance(ft.get("shape"), (list, tuple))
    ]
    if bad:
        raise bad_file(info_path, f"features {bad} need a `dtype` and a `shape` (a list)")


def _load_v30(root: Path, info: dict) -> tuple[dict, list[dict], list[str]]:
    return _read_stats(root / STATS_PATH), _read_episodes(root, info), _read_tasks(root / TASKS_PATH)


def _read_stats(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """meta/stats.json, or {} when there is none (LeRobot's reader allows that)."""
    if not path.is_file():
        return {}
    try:
        return {
            key: {name: np.asarray(value, dtype=np.float64) for name, value in s.items()}
            for key, s in json.loads(path.read_text()).items()
        }
    except (OSError, ValueError, TypeError, AttributeError) as e:
        raise bad_file(path, f"cannot be read as stats ({e})") from None


def _read_episodes(root: Path, info: dict) -> list[dict]:
    """The rows of meta/episodes/*/*.parquet (without their per-episode stats), by episode_index."""
    paths = sorted((root / EPISODES_DIR).glob(NESTED_PARQUET_GLOB))
    if not paths:
        raise bad_file(root / EPISODES_DIR, f"holds no parquet file ({NESTED_PARQUET_GLOB}): the dataset is incomplete")
    video_keys = [key for key, ft in info["features"].items() if ft["dtype"] == "video"]
    needed = [
        *_REQUIRED_EPISODE_COLUMNS,
        *(f"videos/{key}/{name}" for key in video_keys for name in ("chunk_index", "file_index", "from_timestamp")),
    ]
    rows = []
    for path in paths:
        table = read_parquet(path)
        missing = [name for name in needed if name not in table.column_names]
        if missing:
            raise bad_file(path, f"misses the columns {missing}")
        table = table.select([name for name in table.column_names if not name.startswith("stats/")])
        rows += table.to_pylist()
    rows.sort(key=lambda row: row["episode_index"])
    indices = [row["episode_index"] for row in rows]
    if len(set(indices)) != len(indices):
        repeated = sorted({i for i in indices if indices.count(i) > 1})
        raise bad_file(root / EPISODES_DIR, f"lists episodes {repeated} more than once")
    return rows


def _read_tasks(path: Path) -> list[str]:
    """Task strings by task_index: the column `task`, else the pandas index (named, or `__index_level_0__`)."""
    table = read_parquet(path)
    pandas = json.loads((table.schema.metadata or {}).get(b"pandas", b"{}"))
    text = [
        name
        for name in ["task", *[c for c in pandas.get("index_columns", []) if isinstance(c, str)], "__index_level_0__"]
        if name in table.column_names
    ]
    if not text or "task_index" not in table.column_names:
        raise bad_file(
            path,
            f"needs a `task_index` column and the task text (a `task` column or a pandas index); "
            f"it has {table.column_names}",
        )
    rows = sorted(zip(table["task_index"].to_pylist(), table[text[0]].to_pylist()))
    return [str(task) for _, task in rows]
