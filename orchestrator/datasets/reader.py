"""Read a LeRobotDataset (v3.0, or v2.1) as a torch Dataset, with LeRobot's `delta_timestamps` windows.

The frame table is memory-mapped (table.py): one copy per machine, however many trials read it, and `__getitem__`
indexes NumPy views of it. Cameras come back as float32 in [0, 1], shaped (C, H, W), or (T, C, H, W) in a window:
videos are decoded by timestamp (within LeRobot's 1e-4 s) in the data-loader worker that asks, inline PNGs are
decoded from the table. A window frame that falls outside its episode is clamped to the episode's first/last frame
and flagged in `<key>_is_pad`, as LeRobot does, for every key, cameras included.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import torch

from orchestrator.datasets.files import bad_file
from orchestrator.datasets.images import decode_png
from orchestrator.datasets.layout import INFO_PATH
from orchestrator.datasets.meta import DatasetMeta
from orchestrator.datasets.stats import complete_stats
from orchestrator.datasets.table import shared_table
from orchestrator.datasets.transforms import ImageTransformsConfig, apply_transforms
from orchestrator.datasets.video import TOLERANCE_S, FrameNotFound, decode_frames
from orchestrator.errors import UserError, problem

__all__ = ["DatasetMeta", "LeRobotDataset"]


class LeRobotDataset(torch.utils.data.Dataset):
    """Frames of a dataset folder; item i is a dict of tensors (windows where delta_timestamps ask)."""

    def __init__(
        self,
        root: Path | str,
        episodes: list[int] | None = None,
        delta_timestamps: dict[str, list[float]] | None = None,
        image_transforms: ImageTransformsConfig | None = None,
        tolerance_s: float = TOLERANCE_S,
    ):
        self.meta = DatasetMeta.load(root)
        self.delta_indices = self._check_deltas(delta_timestamps or {})
        self.image_transforms = image_transforms or ImageTransformsConfig()
        self.tolerance_s = tolerance_s
        self._map_table()
        self.meta.stats = complete_stats(self.meta, self.arrays)
        known = [e["episode_index"] for e in self.meta.episodes]  # sorted
        selected = known if episodes is None else list(episodes)
        unknown = sorted(set(selected) - set(known))
        if unknown:
            raise UserError(problem("episodes", f"not in the dataset (it has episodes 0..{len(known) - 1})", unknown))
        self.rows = np.flatnonzero(np.isin(self.arrays["episode_index"], selected))  # the frames, as data rows
        self.position = np.searchsorted(known, self.arrays["episode_index"][self.rows])  # into meta.episodes
        self.episode_from = np.array([e["dataset_from_index"] for e in self.meta.episodes])[self.position]
        self.episode_to = np.array([e["dataset_to_index"] for e in self.meta.episodes])[self.position]
        self.videos = {key: [self.meta.video_file(key, e) for e in self.meta.episodes] for key in self.meta.video_keys}
        for key, paths in self.videos.items():
            for position in np.unique(self.position):
                if not paths[position].is_file():
                    raise bad_file(paths[position], f"not found: the {key} video of episode {known[position]}")

    def _map_table(self) -> None:
        """Memory-map the frame table and check it against info.json."""
        table = shared_table(self.meta)
        features = self.meta.info["features"]
        if table.num_rows != self.meta.total_frames:
            raise bad_file(
                self.meta.root / INFO_PATH,
                f"total_frames is {self.meta.total_frames} but the data files "
                f"({self.meta.root / 'data'}) hold {table.num_rows} frames",
            )
        problems = []
        for key, ft in features.items():
            if ft["dtype"] == "video":
                continue
            if key not in table.column_names:
                problems.append(
                    problem(
                        f"{INFO_PATH}: features.{key}",
                        f"is not a column of the data files (they have {table.column_names})",
                    )
                )
            elif pa.types.is_fixed_size_list(table.schema.field(key).type):
                size = table.schema.field(key).type.list_size
                if size != int(np.prod(ft["shape"])):
                    problems.append(
                        problem(
                            f"{INFO_PATH}: features.{key}.shape",
                            f"disagrees with the data files, whose rows hold {size} values",
                            ft["shape"],
                        )
                    )
        if problems:
            raise UserError(problems, f"invalid dataset {self.meta.root}")
        policy = self.meta.features
        self.arrays, self.images = {}, {}
        for key, ft in features.items():
            if ft["dtype"] == "video":
                continue
            column = table[key].chunk(0) if table[key].num_chunks == 1 else table[key].combine_chunks()
            if ft["dtype"] == "image":
                self.images[key] = column.field("bytes")
                if self.images[key].null_count:
                    raise UserError(
                        problem(
                            f"{self.meta.root / 'data'}: column {key!r}",
                            "holds image file paths "
                            "instead of PNG bytes; LeRobot's reader (datasets.Image) accepts that, "
                            "this one does not: save the dataset with its images embedded (LeRobot "
                            "writes them so)",
                        ),
                        f"unsupported dataset {self.meta.root}",
                    )
            elif (
                ft["dtype"] in ("string", "str")
                or pa.types.is_string(column.type)
                or pa.types.is_large_string(column.type)
            ):  # text (LeRobot's "string" dtype): no tensor; a policy cannot take it as input
                if key in policy:
                    raise UserError(
                        problem(
                            f"{INFO_PATH}: features.{key}",
                            "is text; LeRobot's reader accepts text "
                            "features, but policies here take numbers only: rename it outside "
                            "observation.* or drop it",
                            ft["dtype"],
                        ),
                        f"unsupported dataset {self.meta.root}",
                    )
            elif (
                pa.types.is_fixed_size_list(column.type)
                or pa.types.is_list(column.type)
                or pa.types.is_large_list(column.type)
            ):  # lists of a fixed length, or (as some converted datasets hold) of any length
                values = column.flatten().to_numpy(zero_copy_only=False)
                if len(values) != len(column) * int(np.prod(ft["shape"])):
                    raise UserError(
                        problem(
                            f"{INFO_PATH}: features.{key}.shape",
                            f"disagrees with the data files, whose {len(column)} rows hold {len(values)} values",
                            ft["shape"],
                        ),
                        f"invalid dataset {self.meta.root}",
                    )
                self.arrays[key] = values.reshape(len(column), *ft["shape"])
            else:
                values = column.to_numpy(zero_copy_only=False)
                self.arrays[key] = values.reshape(-1, *policy[key].shape) if key in policy else values
        if not np.array_equal(self.arrays["index"], np.arange(table.num_rows)):
            raise bad_file(self.meta.root / "data", "the `index` column is not 0..total_frames-1")

    def __getstate__(self) -> dict:  # data-loader workers started with spawn map the table again
        return {k: v for k, v in self.__dict__.items() if k not in ("arrays", "images")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._map_table()

    def _check_deltas(self, delta_timestamps: dict[str, list[float]]) -> dict[str, np.ndarray]:
        """delta_timestamps (seconds) -> frame offsets; UserError naming the key when one is not a frame step."""
        fps, problems, offsets = self.meta.fps, [], {}
        for key, deltas in delta_timestamps.items():
            field = f"delta_timestamps.{key}"
            if key not in self.meta.info["features"]:
                problems.append(
                    problem(
                        field,
                        f"not a feature of the dataset {self.meta.root} (it has {sorted(self.meta.info['features'])})",
                    )
                )
                continue
            off_grid = [d for d in deltas if abs(d * fps - round(d * fps)) / fps > TOLERANCE_S]
            if off_grid:
                problems.append(
                    problem(
                        field,
                        f"every delta must be a multiple of 1/fps = {1 / fps:g} s "
                        f"(within {TOLERANCE_S} s); these are not: {off_grid}",
                        list(deltas),
                    )
                )
            offsets[key] = np.array([round(d * fps) for d in deltas], dtype=np.int64)
        if problems:
            raise UserError(problems, "invalid delta_timestamps")
        return offsets

    def __len__(self) -> int:
        return len(self.rows)

    def _rows(self, key: str, i: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The data rows `key` needs for item i (clamped to the episode) and its pad mask (None: no window)."""
        row, first, end = self.rows[i], self.episode_from[i], self.episode_to[i]
        offsets = self.delta_indices.get(key)
        if offsets is None:
            return np.array([row]), None
        wanted = row + offsets
        return np.clip(wanted, first, end - 1), (wanted < first) | (wanted >= end)

    def _camera(self, key: str, i: int, rows: np.ndarray) -> torch.Tensor:
        """(len(rows), C, H, W) float32 frames of camera `key` in [0, 1]."""
        if key in self.images:
            frames = np.stack([decode_png(self.images[key][row].as_buffer()) for row in rows])
        else:
            episode = self.meta.episodes[self.position[i]]
            path = self.videos[key][self.position[i]]
            timestamps = (self.arrays["timestamp"][rows] + episode[f"videos/{key}/from_timestamp"]).tolist()
            try:
                frames = decode_frames(path, timestamps, self.tolerance_s)
            except FrameNotFound as e:
                raise bad_file(path, f"episode {episode['episode_index']}: {e}") from None
        return torch.from_numpy(frames).permute(0, 3, 1, 2).float().div_(255.0)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        item = {}
        for key, values in self.arrays.items():
            rows, is_pad = self._rows(key, i)
            item[key] = torch.from_numpy(np.array(values[rows] if is_pad is not None else values[rows[0]]))
            if is_pad is not None:
                item[f"{key}_is_pad"] = torch.from_numpy(is_pad)
        for key in [*self.images, *self.videos]:
            rows, is_pad = self._rows(key, i)
            frames = apply_transforms(self.image_transforms, self._camera(key, i, rows))
            item[key] = frames if is_pad is not None else frames[0]
            if is_pad is not None:
                item[f"{key}_is_pad"] = torch.from_numpy(is_pad)
        return item
