"""Everything that can be wrong with a dataset folder, found before Ray starts, each as one message naming the file.

`check_dataset(root)` reads the metadata (info.json, stats.json, tasks, episodes), every data file (a missing,
truncated or corrupt parquet), compares each data file's columns with info.json's features, matches the episodes
of meta/episodes with the frames of the data files, checks that every video file exists and opens, and builds the
memory-mapped frame table the trials then share. Non-finite statistics only warn (naming the feature): training can
go on with them replaced.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from orchestrator.datasets.files import bad_file
from orchestrator.datasets.layout import CODEBASE_VERSION, EPISODES_DIR, INFO_PATH, V21_EPISODES_PATH
from orchestrator.datasets.meta import DatasetMeta
from orchestrator.datasets.reader import LeRobotDataset
from orchestrator.errors import UserError, problem


def check_dataset(root: Path | str) -> DatasetMeta:
    """The dataset's metadata, once the whole folder has been checked; UserError naming the first bad file."""
    meta = DatasetMeta.load(root)
    files = meta.data_files()
    spans: dict[int, tuple[int, int, int, Path]] = {}  # episode_index -> (first index, last index + 1, frames, file)
    for path in files:
        _check_columns(meta, path)
        for episode, span in _episode_spans(path).items():
            if episode in spans:
                first, end, n, where = spans[episode]
                span = (min(first, span[0]), max(end, span[1]), n + span[2], where)
            spans[episode] = span
    _check_episodes(meta, spans)
    _check_videos(meta)
    LeRobotDataset(meta.root)  # every column of every file read; frame count and `index` checked; table built
    return meta


def _read_schema(path: Path) -> pa.Schema:
    try:
        return pq.read_schema(path)
    except (OSError, pa.ArrowException) as e:
        raise bad_file(path, f"cannot be read as parquet, the file is truncated or corrupt ({e})") from None


def _check_columns(meta: DatasetMeta, path: Path) -> None:
    """The file holds a column for every feature of info.json but the videos, with the shape info.json gives."""
    schema = _read_schema(path)
    problems = []
    for key, ft in meta.info["features"].items():
        if ft["dtype"] == "video":
            continue
        if key not in schema.names:
            problems.append(
                problem(
                    str(path),
                    f"has no column {key!r}, a feature of {meta.root / INFO_PATH} (the file has {schema.names})",
                )
            )
            continue
        kind = schema.field(key).type
        if pa.types.is_fixed_size_list(kind) and kind.list_size != int(np.prod(ft["shape"])):
            problems.append(
                problem(
                    str(path),
                    f"column {key!r} holds {kind.list_size} values per frame but "
                    f"{meta.root / INFO_PATH} gives features.{key}.shape = {ft['shape']}",
                )
            )
    if problems:
        raise UserError(problems, "invalid dataset")


def _episode_spans(path: Path) -> dict[int, tuple[int, int, int, Path]]:
    """episode_index -> (first index, last index + 1, frames) of the frames in one data file."""
    try:
        table = pq.read_table(path, columns=["episode_index", "index"])
    except (OSError, pa.ArrowException) as e:
        raise bad_file(path, f"cannot be read as parquet, the file is truncated or corrupt ({e})") from None
    episodes, index = (table[name].to_numpy() for name in ("episode_index", "index"))
    out = {}
    for episode in np.unique(episodes):
        rows = index[episodes == episode]
        out[int(episode)] = (int(rows.min()), int(rows.max()) + 1, len(rows), path)
    return out


def _check_episodes(meta: DatasetMeta, spans: dict[int, tuple[int, int, int, Path]]) -> None:
    """meta/episodes and the data files agree: the same episodes, each over the frames its row says."""
    where = meta.root / (EPISODES_DIR if meta.version == CODEBASE_VERSION else V21_EPISODES_PATH)
    known = {row["episode_index"]: row for row in meta.episodes}
    listed = f"it lists {_ranges(sorted(known))}"
    problems = []
    for episode, (_first, _end, n, path) in sorted(spans.items()):
        if episode not in known:
            problems.append(
                problem(
                    str(path),
                    f"holds {n} frames of episode {episode}, which {where} does not "
                    f"list ({listed}): episode index out of range",
                )
            )
    for episode, row in sorted(known.items()):
        if episode not in spans:
            problems.append(problem(f"{where}: episode {episode}", "has no frames in the data files"))
            continue
        first, end, n, path = spans[episode]
        claimed = (int(row["dataset_from_index"]), int(row["dataset_to_index"]))
        if claimed != (first, end) or n != end - first:
            problems.append(
                problem(
                    f"{where}: episode {episode}",
                    f"spans frames {claimed[0]}..{claimed[1] - 1} but the data files hold its {n} "
                    f"frames at index {first}..{end - 1} ({path.name})",
                )
            )
    if problems:
        raise UserError(problems[:10], "invalid dataset")


def _ranges(values: list[int]) -> str:
    return f"{values[0]}..{values[-1]}" if values == list(range(values[0], values[-1] + 1)) else str(values)


def _check_videos(meta: DatasetMeta) -> None:
    """Every episode's video of every camera exists and opens as a video."""
    import av

    seen = set()
    for key in meta.video_keys:
        for episode in meta.episodes:
            path = meta.video_file(key, episode)
            if path in seen:
                continue
            seen.add(path)
            if not path.is_file():
                raise bad_file(path, f"not found: the {key} video of episode {episode['episode_index']}")
            try:
                with av.open(str(path)) as container:
                    if not container.streams.video:
                        raise bad_file(
                            path, f"holds no video stream (the {key} video of episode {episode['episode_index']})"
                        )
            except av.FFmpegError as e:
                raise bad_file(path, f"cannot be opened as a video, the file is truncated or corrupt ({e})") from None
