"""Write a LeRobotDataset v3.0 folder, laid out as LeRobot writes it so that LeRobot can open it (the layout is in
layout.py; tasks.parquet's index is named "task", as newer LeRobot writes it; stats as in stats.py).

Vectors are stored as fixed-size lists of float32, shape-(1,) features as plain columns (LeRobot's convention).
Camera features (shape (3, H, W); frames given as uint8 (H, W, 3), as envs render them) are stored either as video
(dtype "video", not in the data parquet) or inline as PNG structs (dtype "image"); info.json gives their shape as
[H, W, 3] with names ["height", "width", "channels"], as LeRobot does.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from orchestrator.configs.features import PolicyFeature
from orchestrator.datasets.images import image_column
from orchestrator.datasets.layout import (
    BOOKKEEPING_COLUMNS,
    CHUNKS_SIZE,
    CODEBASE_VERSION,
    DATA_FILES_SIZE_IN_MB,
    DATA_PATH,
    EPISODES_PATH,
    IMAGE_NAMES,
    INFO_PATH,
    STATS_PATH,
    TASKS_PATH,
    VIDEO_FILES_SIZE_IN_MB,
    VIDEO_PATH,
)
from orchestrator.datasets.stats import compute_stats
from orchestrator.datasets.video import DEFAULT_CODEC, VideoEncoder, video_info
from orchestrator.errors import UserError, problem

IMAGE_STORAGES = ("video", "image")  # camera features as MP4 videos, or as PNG bytes inside the data parquet

OPTIONAL_COLUMNS = {"next.reward": "float32", "next.success": "bool", "next.done": "bool"}  # written when given


def write_dataset(
    root: Path,
    episodes: list[dict[str, np.ndarray]],
    fps: int,
    features: dict[str, PolicyFeature],
    robot_type: str,
    task: str,
    image_storage: str = "video",
    video_codec: str = DEFAULT_CODEC,
) -> None:
    """Write `episodes` (each key -> array of shape (T, *feature.shape); cameras (T, H, W, 3) uint8) at `root`.

    `image_storage` is "video" (MP4 files, encoded with `video_codec`) or "image" (PNG inside the data parquet).
    Writes into a temporary folder beside `root` and renames it at the end, so a reader never sees half a
    dataset; refuses to overwrite an existing, non-empty `root`.
    """
    root = Path(root)
    check_writable(root)
    if image_storage not in IMAGE_STORAGES:
        raise ValueError(f"image_storage must be one of {IMAGE_STORAGES}, got {image_storage!r}")
    columns = _columns(episodes, features, fps, image_storage, video_codec)
    starts = itertools.accumulate((len(episode["action"]) for episode in episodes[:-1]), initial=0)
    frames = [
        _with_bookkeeping(episode, i, start, fps, columns) for i, (episode, start) in enumerate(zip(episodes, starts))
    ]
    tmp = root.parent / f".{root.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        locations = _write_data(tmp, frames, columns)
        videos = {
            key: _write_videos(tmp, key, frames, fps, video_codec)
            for key, ft in columns.items()
            if ft["dtype"] == "video"
        }
        stats = compute_stats(frames, columns)
        _write_json(tmp / STATS_PATH, {key: {k: v.tolist() for k, v in s.items()} for key, s in stats.items()})
        _write_episodes(tmp, frames, columns, locations, videos, task)
        _write_tasks(tmp, [task])
        _write_json(tmp / INFO_PATH, _info(frames, fps, columns, robot_type))
        if root.exists():
            root.rmdir()
        os.rename(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_writable(root: Path) -> None:
    """UserError when `root` holds anything: datasets are never overwritten."""
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise UserError(
            problem(str(root), "already exists and is not empty: delete it or write elsewhere"), "cannot write dataset"
        )


def _columns(
    episodes: list[dict[str, np.ndarray]],
    features: dict[str, PolicyFeature],
    fps: int,
    image_storage: str,
    video_codec: str,
) -> dict[str, dict]:
    """info.json feature entries for every column, checking that every episode provides them with the right shape."""
    if not episodes:
        raise ValueError("write_dataset needs at least one episode")
    columns: dict[str, dict] = {}
    frame_shapes: dict[str, tuple[int, ...]] = {}
    for key, feature in features.items():
        if len(feature.shape) == 3 and feature.shape[0] == 3:  # a camera: (3, H, W) for policies
            _, height, width = feature.shape
            columns[key] = {"dtype": image_storage, "shape": [height, width, 3], "names": IMAGE_NAMES}
            if image_storage == "video":
                columns[key]["info"] = video_info(fps, height, width, video_codec)
            frame_shapes[key] = (height, width, 3)
        elif len(feature.shape) == 1:
            columns[key] = {"dtype": "float32", "shape": list(feature.shape), "names": None}
            frame_shapes[key] = feature.shape
        else:
            raise ValueError(f"{key}: only vectors (D,) and RGB cameras (3, H, W) are supported, got {feature.shape}")
    for key, dtype in OPTIONAL_COLUMNS.items():
        if all(key in episode for episode in episodes):
            columns[key] = {"dtype": dtype, "shape": [1], "names": None}
            frame_shapes[key] = ()
    for i, episode in enumerate(episodes):
        length = len(episode["action"])
        for key, frame_shape in frame_shapes.items():
            shape = (length, *frame_shape)
            if key not in episode or np.shape(episode[key]) != shape:
                raise ValueError(
                    f"episode {i}: {key} must have shape {shape}, got "
                    f"{np.shape(episode[key]) if key in episode else 'nothing'}"
                )
    columns.update({key: {"dtype": dtype, "shape": [1], "names": None} for key, dtype in BOOKKEEPING_COLUMNS.items()})
    return columns


def _with_bookkeeping(
    episode: dict[str, np.ndarray], episode_index: int, start: int, fps: int, columns: dict[str, dict]
) -> dict[str, np.ndarray]:
    """The episode's columns cast to their dtypes (shape-(1,) ones flattened), plus LeRobot's bookkeeping columns."""
    length = len(episode["action"])
    frame_index = np.arange(length, dtype=np.int64)
    out = {}
    for key, column in columns.items():
        if key in episode:
            dtype = "uint8" if column["dtype"] in IMAGE_STORAGES else column["dtype"]
            values = np.asarray(episode[key], dtype=dtype)
            out[key] = values.reshape(length) if column["shape"] == [1] else values
    out["timestamp"] = (frame_index / fps).astype(np.float32)
    out["frame_index"] = frame_index
    out["episode_index"] = np.full(length, episode_index, dtype=np.int64)
    out["index"] = start + frame_index
    out["task_index"] = np.zeros(length, dtype=np.int64)
    return out


def _table(frames: dict[str, np.ndarray], columns: dict[str, dict]) -> pa.Table:
    arrays = {}
    for key, column in columns.items():
        values = frames[key]
        if column["dtype"] == "video":
            continue  # videos live in their own files
        if column["dtype"] == "image":
            arrays[key] = image_column(values)
        elif values.ndim == 1:
            arrays[key] = pa.array(values)
        else:
            arrays[key] = pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), values.shape[1])
    return pa.table(arrays)


def _next_file(chunk: int, file: int) -> tuple[int, int]:
    return (chunk + 1, 0) if file == CHUNKS_SIZE - 1 else (chunk, file + 1)


def _write_data(root: Path, frames: list[dict], columns: dict[str, dict]) -> list[tuple[int, int]]:
    """Write the frames into data files of about DATA_FILES_SIZE_IN_MB; return each episode's (chunk, file)."""
    locations: list[tuple[int, int]] = []
    group: list[pa.Table] = []
    group_bytes, chunk, file = 0, 0, 0
    for table in (_table(episode, columns) for episode in frames):
        if group and group_bytes + table.nbytes > DATA_FILES_SIZE_IN_MB * 1024**2:
            _write_parquet(pa.concat_tables(group), root / DATA_PATH.format(chunk_index=chunk, file_index=file))
            chunk, file = _next_file(chunk, file)
            group, group_bytes = [], 0
        group.append(table)
        group_bytes += table.nbytes
        locations.append((chunk, file))
    _write_parquet(pa.concat_tables(group), root / DATA_PATH.format(chunk_index=chunk, file_index=file))
    return locations


def _write_videos(root: Path, key: str, frames: list[dict], fps: int, codec: str) -> list[dict]:
    """Encode camera `key` episode after episode into files of about VIDEO_FILES_SIZE_IN_MB; return, per episode,
    its file (chunk, file index) and its time range in that file."""
    out: list[dict] = []
    chunk, file = 0, 0
    encoder: VideoEncoder | None = None
    height, width = frames[0][key].shape[1:3]
    for episode in frames:
        if (
            encoder is not None
            and encoder.path.exists()
            and (  # no file until the first packet is written
                encoder.path.stat().st_size > VIDEO_FILES_SIZE_IN_MB * 1024**2
            )
        ):
            encoder.close()
            chunk, file = _next_file(chunk, file)
            encoder = None
        if encoder is None:
            path = root / VIDEO_PATH.format(video_key=key, chunk_index=chunk, file_index=file)
            encoder = VideoEncoder(path, fps, height, width, codec)
        start = encoder.frames
        encoder.add(episode[key])
        out.append(
            {
                "chunk_index": chunk,
                "file_index": file,
                "from_timestamp": start / fps,
                "to_timestamp": encoder.frames / fps,
            }
        )
    assert encoder is not None, "frames holds at least one episode"
    encoder.close()
    return out


def _write_episodes(
    root: Path,
    frames: list[dict],
    columns: dict[str, dict],
    locations: list[tuple[int, int]],
    videos: dict[str, list[dict]],
    task: str,
) -> None:
    lengths = [len(episode["index"]) for episode in frames]
    rows = {
        "episode_index": list(range(len(frames))),
        "tasks": [[task] for _ in frames],
        "length": lengths,
        "data/chunk_index": [chunk for chunk, _ in locations],
        "data/file_index": [file for _, file in locations],
        "dataset_from_index": [int(episode["index"][0]) for episode in frames],
        "dataset_to_index": [int(episode["index"][-1]) + 1 for episode in frames],
    }
    for key, per_episode in videos.items():
        for field in ("chunk_index", "file_index", "from_timestamp", "to_timestamp"):
            rows[f"videos/{key}/{field}"] = [video[field] for video in per_episode]
    rows["meta/episodes/chunk_index"] = [0] * len(frames)
    rows["meta/episodes/file_index"] = [0] * len(frames)
    per_episode = [compute_stats([episode], columns) for episode in frames]
    for key in columns:
        for stat in per_episode[0][key]:
            rows[f"stats/{key}/{stat}"] = [s[key][stat].tolist() for s in per_episode]
    _write_parquet(pa.table(rows), root / EPISODES_PATH.format(chunk_index=0, file_index=0))


def _write_tasks(root: Path, tasks: list[str]) -> None:
    """tasks.parquet as LeRobot writes it with pandas: a task_index column indexed by the task string."""
    pandas_metadata = {
        "index_columns": ["task"],
        "column_indexes": [
            {
                "name": None,
                "field_name": None,
                "pandas_type": "unicode",
                "numpy_type": "object",
                "metadata": {"encoding": "UTF-8"},
            }
        ],
        "columns": [
            {
                "name": "task_index",
                "field_name": "task_index",
                "pandas_type": "int64",
                "numpy_type": "int64",
                "metadata": None,
            },
            {"name": "task", "field_name": "task", "pandas_type": "unicode", "numpy_type": "object", "metadata": None},
        ],
    }
    table = pa.table({"task_index": pa.array(range(len(tasks)), pa.int64()), "task": pa.array(tasks, pa.string())})
    _write_parquet(table.replace_schema_metadata({"pandas": json.dumps(pandas_metadata)}), root / TASKS_PATH)


def _info(frames: list[dict], fps: int, columns: dict[str, dict], robot_type: str) -> dict:
    has_video = any(column["dtype"] == "video" for column in columns.values())
    return {
        "codebase_version": CODEBASE_VERSION,
        "robot_type": robot_type,
        "total_episodes": len(frames),
        "total_frames": sum(len(episode["index"]) for episode in frames),
        "total_tasks": 1,
        "chunks_size": CHUNKS_SIZE,
        "data_files_size_in_mb": DATA_FILES_SIZE_IN_MB,
        "video_files_size_in_mb": VIDEO_FILES_SIZE_IN_MB,
        "fps": fps,
        "splits": {"train": f"0:{len(frames)}"},
        "data_path": DATA_PATH,
        "video_path": VIDEO_PATH if has_video else None,
        "features": columns,
    }


def _write_parquet(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="snappy")


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=4))
