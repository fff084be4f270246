"""Where a LeRobotDataset keeps its files: paths, path templates and LeRobot's defaults (lerobot/datasets/utils.py),
for v3.0 (written and read) and for v2.0/v2.1 (read only).

v3.0:
    meta/info.json                                  fps, features (dtype, shape, names), counts, path templates
    meta/stats.json                                 per-feature stats (optional for LeRobot's reader)
    meta/tasks.parquet                              task strings (a pandas index: column `task`, or unnamed
                                                    `__index_level_0__` as LeRobot 0.4.4 writes it) -> task_index
    meta/episodes/chunk-000/file-000.parquet        one row per episode: length, frame range, data/video files, stats
    data/chunk-000/file-000.parquet                 one row per frame, many episodes per file
    videos/<key>/chunk-000/file-000.mp4             camera `key` (dtype "video"), many episodes per file

v2.0/v2.1:
    meta/info.json, meta/episodes.jsonl, meta/tasks.jsonl, meta/episodes_stats.jsonl (v2.1) or meta/stats.json (v2.0)
    data/chunk-000/episode_000000.parquet           one parquet per episode
    videos/chunk-000/<key>/episode_000000.mp4       one video per episode and camera

info.json's `data_path` and `video_path` override the default templates.
"""

from __future__ import annotations

CODEBASE_VERSION = "v3.0"
V21_VERSIONS = ("v2.0", "v2.1")  # read through v21.py

INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
TASKS_PATH = "meta/tasks.parquet"
EPISODES_DIR = "meta/episodes"
DATA_DIR = "data"
VIDEO_DIR = "videos"
EPISODES_PATH = EPISODES_DIR + "/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
DATA_PATH = DATA_DIR + "/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = VIDEO_DIR + "/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
NESTED_PARQUET_GLOB = "*/*.parquet"  # LeRobot reads every parquet two levels below data/ and meta/episodes/

CHUNKS_SIZE = 1000  # files per chunk folder (LeRobot's default)
DATA_FILES_SIZE_IN_MB = 100  # a data file takes episodes until it holds about this much (LeRobot's default)
VIDEO_FILES_SIZE_IN_MB = 500  # a video file takes episodes until it holds about this much

IMAGE_NAMES = ["height", "width", "channels"]  # info.json `names` of a camera feature
BOOKKEEPING_COLUMNS = {  # LeRobot's DEFAULT_FEATURES, in every data file
    "timestamp": "float32",
    "frame_index": "int64",
    "episode_index": "int64",
    "index": "int64",
    "task_index": "int64",
}

V21_EPISODES_PATH = "meta/episodes.jsonl"
V21_TASKS_PATH = "meta/tasks.jsonl"
V21_EPISODES_STATS_PATH = "meta/episodes_stats.jsonl"
V21_STATS_PATH = STATS_PATH  # v2.0 (v2.1 keeps per-episode stats instead)
V21_DATA_PATH = "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
V21_VIDEO_PATH = "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
V21_CHUNKS_SIZE = 1000  # episodes per chunk folder
