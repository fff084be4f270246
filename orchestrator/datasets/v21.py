"""Read the metadata of a LeRobotDataset v2.0/v2.1 folder into the v3.0 shape the reader uses:

meta/info.json, meta/episodes.jsonl, meta/tasks.jsonl, meta/episodes_stats.jsonl (v2.1) or meta/stats.json (v2.0)
data/chunk-000/episode_000000.parquet                    one parquet per episode
videos/chunk-000/<key>/episode_000000.mp4                one video per episode and camera
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from orchestrator.datasets.files import bad_file, read_json
from orchestrator.datasets.layout import (
    V21_CHUNKS_SIZE,
    V21_DATA_PATH,
    V21_EPISODES_PATH,
    V21_EPISODES_STATS_PATH,
    V21_STATS_PATH,
    V21_TASKS_PATH,
)


def _read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise bad_file(path, "not found: a v2.1 dataset needs it")
    return [_json_line(path, i, line) for i, line in enumerate(path.read_text().splitlines()) if line.strip()]


def _json_line(path: Path, i: int, line: str) -> dict:
    try:
        return json.loads(line)
    except ValueError as e:
        raise bad_file(path, f"line {i + 1} is not valid JSON ({e})") from None


def load_v21(root: Path, info: dict) -> tuple[dict, list[dict], list[str]]:
    """(stats, episodes as v3.0 rows, tasks) of a v2.x folder."""
    fps, chunks_size = int(info["fps"]), int(info.get("chunks_size", V21_CHUNKS_SIZE))
    video_keys = [key for key, ft in info["features"].items() if ft["dtype"] == "video"]
    episodes, start = [], 0
    for row in sorted(_read_jsonl(root / V21_EPISODES_PATH), key=lambda row: row["episode_index"]):
        index, length = int(row["episode_index"]), int(row["length"])
        episode = {
            "episode_index": index,
            "tasks": row.get("tasks", []),
            "length": length,
            "dataset_from_index": start,
            "dataset_to_index": start + length,
        }
        for key in video_keys:  # one video per episode, starting at 0 s
            episode.update(
                {
                    f"videos/{key}/chunk_index": index // chunks_size,
                    f"videos/{key}/file_index": index,
                    f"videos/{key}/from_timestamp": 0.0,
                    f"videos/{key}/to_timestamp": length / fps,
                }
            )
        episodes.append(episode)
        start += length
    tasks = sorted(_read_jsonl(root / V21_TASKS_PATH), key=lambda row: row["task_index"])
    return _stats(root), episodes, [row["task"] for row in tasks]


def _stats(root: Path) -> dict[str, dict[str, np.ndarray]]:
    """v2.0 keeps meta/stats.json; v2.1 keeps per-episode stats, aggregated here as LeRobot does."""
    if (root / V21_STATS_PATH).is_file():
        return {
            key: {name: np.asarray(v, dtype=np.float64) for name, v in s.items()}
            for key, s in read_json(root / V21_STATS_PATH).items()
        }
    per_episode = [row["stats"] for row in _read_jsonl(root / V21_EPISODES_STATS_PATH)]
    if not per_episode:
        raise bad_file(root / V21_EPISODES_STATS_PATH, "holds no episode")
    stats = {}
    for key in per_episode[0]:
        s = [{name: np.asarray(v, dtype=np.float64) for name, v in episode[key].items()} for episode in per_episode]
        counts = np.array([float(np.asarray(e["count"]).reshape(-1)[0]) for e in s])
        weights = (counts / counts.sum()).reshape(-1, *[1] * s[0]["mean"].ndim)
        means = np.stack([e["mean"] for e in s])
        mean = (weights * means).sum(0)
        variance = (weights * (np.stack([e["std"] for e in s]) ** 2 + (means - mean) ** 2)).sum(0)
        stats[key] = {
            "min": np.min([e["min"] for e in s], axis=0),
            "max": np.max([e["max"] for e in s], axis=0),
            "mean": mean,
            "std": np.sqrt(variance),
            "count": np.array([counts.sum()]),
        }
    return stats


def data_files(root: Path, info: dict, episodes: list[dict]) -> list[Path]:
    """One parquet per episode (the rows load_v21 gave), in episode order; UserError naming the first missing one."""
    template = info.get("data_path") or V21_DATA_PATH
    chunks_size = int(info.get("chunks_size", V21_CHUNKS_SIZE))
    paths = [
        root / template.format(episode_chunk=e["episode_index"] // chunks_size, episode_index=e["episode_index"])
        for e in episodes
    ]
    for path, episode in zip(paths, episodes):
        if not path.is_file():
            raise bad_file(path, f"not found: the data of episode {episode['episode_index']}")
    return paths
