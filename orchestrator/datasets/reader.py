"""Read a LeRobotDataset v3.0 folder as a torch Dataset, with LeRobot's `delta_timestamps` windows.

Everything is loaded into NumPy once (PushT-sized tables are a few MB); `__getitem__` is plain array indexing.
A window frame that falls outside its episode is clamped to the episode's first/last frame and flagged in
`<key>_is_pad`, as LeRobot does.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from orchestrator.configs.features import PolicyFeature, feature_type_of
from orchestrator.datasets.writer import CODEBASE_VERSION, INFO_PATH, STATS_PATH, TASKS_PATH
from orchestrator.errors import UserError, problem

TOLERANCE_S = 1e-4  # a delta timestamp must be this close to a multiple of 1/fps (LeRobot's default)
_REQUIRED_INFO = ("codebase_version", "fps", "features", "total_episodes", "total_frames")


def _bad_file(path: Path, message: str) -> UserError:
    return UserError(problem(str(path), message), "invalid dataset")


def _read_parquet(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        raise _bad_file(path, f"cannot be read as parquet ({e})") from None


def _read_parquet_files(root: Path, folder: str) -> pa.Table:
    """Every chunk-*/file-*.parquet under `folder`, in order, as one table."""
    paths = sorted((root / folder).glob("chunk-*/file-*.parquet"))
    if not paths:
        raise _bad_file(root / folder, "no chunk-*/file-*.parquet files: the dataset is incomplete")
    return pa.concat_tables([_read_parquet(path) for path in paths])


@dataclass
class DatasetMeta:
    """The `meta/` folder of a dataset."""

    root: Path  # the dataset folder
    info: dict  # meta/info.json
    stats: dict[str, dict[str, np.ndarray]]  # meta/stats.json: feature -> stat name -> array
    episodes: list[dict]  # rows of meta/episodes (episode_index, length, dataset_from/to_index, ...), by index
    tasks: list[str]  # task strings, by task_index

    @classmethod
    def load(cls, root: Path | str) -> "DatasetMeta":
        root = Path(root)
        info_path = root / INFO_PATH
        if not info_path.is_file():
            raise _bad_file(info_path, "not found: this folder is not a LeRobotDataset (or was not fully written)")
        try:
            info = json.loads(info_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise _bad_file(info_path, f"is not valid JSON ({e})") from None
        missing = [key for key in _REQUIRED_INFO if not isinstance(info, dict) or key not in info]
        if missing:
            raise _bad_file(info_path, f"misses {missing}")
        if info["codebase_version"] != CODEBASE_VERSION:
            raise _bad_file(info_path, f"codebase_version {info['codebase_version']!r} is not supported; only "
                                       f"{CODEBASE_VERSION!r} is (convert older datasets with LeRobot)")
        stats_path = root / STATS_PATH
        try:
            stats = {key: {name: np.asarray(value) for name, value in s.items()}
                     for key, s in json.loads(stats_path.read_text()).items()}
        except (OSError, ValueError, AttributeError) as e:
            raise _bad_file(stats_path, f"cannot be read as stats ({e})") from None
        episodes = _read_parquet_files(root, "meta/episodes")
        episodes = episodes.select([name for name in episodes.column_names if not name.startswith("stats/")])
        episodes = sorted(episodes.to_pylist(), key=lambda row: row["episode_index"])
        tasks = _read_parquet(root / TASKS_PATH).to_pylist()
        tasks = [row["task"] for row in sorted(tasks, key=lambda row: row["task_index"])]
        return cls(root, info, stats, episodes, tasks)

    @property
    def fps(self) -> int:
        return int(self.info["fps"])

    @property
    def features(self) -> dict[str, PolicyFeature]:
        """The policy-relevant features (observations and action) with their types and per-frame shapes."""
        return {key: PolicyFeature(feature_type_of(key), tuple(ft["shape"]))
                for key, ft in self.info["features"].items() if feature_type_of(key) is not None}

    @property
    def total_episodes(self) -> int:
        return int(self.info["total_episodes"])

    @property
    def total_frames(self) -> int:
        return int(self.info["total_frames"])


def _to_numpy(column: pa.ChunkedArray, shape: list[int]) -> np.ndarray:
    column = column.combine_chunks()
    if pa.types.is_fixed_size_list(column.type):
        return column.flatten().to_numpy().reshape(len(column), *shape)
    return column.to_numpy(zero_copy_only=False)


class LeRobotDataset(torch.utils.data.Dataset):
    """Frames of a LeRobotDataset v3.0 folder; item i is a dict of tensors (windows where delta_timestamps ask)."""

    def __init__(self, root: Path | str, episodes: list[int] | None = None,
                 delta_timestamps: dict[str, list[float]] | None = None):
        self.meta = DatasetMeta.load(root)
        self.delta_indices = self._check_deltas(delta_timestamps or {})
        table = _read_parquet_files(self.meta.root, "data")
        if table.num_rows != self.meta.total_frames:
            raise _bad_file(self.meta.root / "data", f"holds {table.num_rows} frames but {INFO_PATH} says "
                                                     f"{self.meta.total_frames}")
        features = self.meta.info["features"]
        visual = [key for key, ft in features.items() if ft["dtype"] in ("image", "video")]
        if visual:
            raise _bad_file(self.meta.root / INFO_PATH, f"has image/video features {visual}: not supported yet")
        missing = sorted(set(features) - set(table.column_names))
        if missing:
            raise _bad_file(self.meta.root / "data", f"misses the columns {missing} that {INFO_PATH} lists")
        self.arrays = {key: _to_numpy(table[key], features[key]["shape"]) for key in features}
        order = np.argsort(self.arrays["index"], kind="stable")
        self.arrays = {key: values[order] for key, values in self.arrays.items()}
        for key, feature in self.meta.features.items():  # policy features keep their shape, even (1,)
            self.arrays[key] = self.arrays[key].reshape(-1, *feature.shape)
        if not np.array_equal(self.arrays["index"], np.arange(table.num_rows)):
            raise _bad_file(self.meta.root / "data", "the `index` column is not 0..total_frames-1")
        known = [e["episode_index"] for e in self.meta.episodes]  # sorted
        selected = known if episodes is None else list(episodes)
        unknown = sorted(set(selected) - set(known))
        if unknown:
            raise UserError(problem("episodes", f"not in the dataset (it has episodes 0..{len(known) - 1})", unknown))
        self.rows = np.flatnonzero(np.isin(self.arrays["episode_index"], selected))  # the frames, as data rows
        position = np.searchsorted(known, self.arrays["episode_index"][self.rows])
        self.episode_from = np.array([e["dataset_from_index"] for e in self.meta.episodes])[position]
        self.episode_to = np.array([e["dataset_to_index"] for e in self.meta.episodes])[position]

    def _check_deltas(self, delta_timestamps: dict[str, list[float]]) -> dict[str, np.ndarray]:
        """delta_timestamps (seconds) -> frame offsets; UserError naming the key when one is not a frame step."""
        fps, problems, offsets = self.meta.fps, [], {}
        for key, deltas in delta_timestamps.items():
            field = f"delta_timestamps.{key}"
            if key not in self.meta.info["features"]:
                problems.append(problem(field, f"not a feature of the dataset {self.meta.root} "
                                               f"(it has {sorted(self.meta.info['features'])})"))
                continue
            off_grid = [d for d in deltas if abs(d * fps - round(d * fps)) / fps > TOLERANCE_S]
            if off_grid:
                problems.append(problem(field, f"every delta must be a multiple of 1/fps = {1 / fps:g} s "
                                               f"(within {TOLERANCE_S} s); these are not: {off_grid}", list(deltas)))
            offsets[key] = np.array([round(d * fps) for d in deltas], dtype=np.int64)
        if problems:
            raise UserError(problems, "invalid delta_timestamps")
        return offsets

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        row, first, end = self.rows[i], self.episode_from[i], self.episode_to[i]
        item = {}
        for key, values in self.arrays.items():
            offsets = self.delta_indices.get(key)
            if offsets is None:
                item[key] = torch.from_numpy(np.array(values[row]))
            else:
                wanted = row + offsets
                item[key] = torch.from_numpy(values[np.clip(wanted, first, end - 1)])
                item[f"{key}_is_pad"] = torch.from_numpy((wanted < first) | (wanted >= end))
        return item
