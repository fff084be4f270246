"""Datasets LeRobot 0.4.4 wrote (../shared/lerobot/fixtures/datasets/state) are read, in every layout LeRobot's reader
accepts; each way such a folder can be broken is found by check_dataset with one message naming the file."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from orchestrator.configs.train import DatasetConfig
from orchestrator.datasets.check import check_dataset
from orchestrator.datasets.reader import LeRobotDataset
from orchestrator.datasets.record import ensure_dataset
from orchestrator.envs.configs import PushTEnvConfig
from orchestrator.errors import UserError

FIXTURE = Path(__file__).resolve().parents[2] / ".." / "shared" / "lerobot" / "fixtures" / "datasets" / "state"
DATA = "data/chunk-000/file-000.parquet"
EPISODES = "meta/episodes/chunk-000/file-000.parquet"
LENGTHS = [25, 31, 18]
CAMERA = "observation.images.cam"
VIDEO = f"videos/{CAMERA}/chunk-000/file-000.mp4"


@pytest.fixture(autouse=True)
def _table_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBOT_SWEEPS_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def copy(tmp_path) -> Path:
    """A copy of the fixture, free to damage."""
    return Path(shutil.copytree(FIXTURE, tmp_path / "ds"))


def edit_info(root: Path, change) -> None:
    info = json.loads((root / "meta/info.json").read_text())
    change(info)
    (root / "meta/info.json").write_text(json.dumps(info, indent=4))


def edit_episodes(root: Path, change) -> None:
    pq.write_table(change(pq.read_table(root / EPISODES)), root / EPISODES)


def set_column(table: pa.Table, name: str, values: list) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, pa.array(values, table.schema.field(name).type))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def add_video_feature(root: Path) -> None:
    """Declare a video camera (as LeRobot's info.json and episodes rows do) without writing its file."""
    edit_info(
        root,
        lambda info: (
            info["features"].__setitem__(
                CAMERA, {"dtype": "video", "shape": [8, 8, 3], "names": ["height", "width", "channels"]}
            ),
            info.__setitem__("video_path", "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"),
        ),
    )
    starts = np.cumsum([0, *LENGTHS]) / 10
    edit_episodes(
        root,
        lambda t: (
            t.append_column(f"videos/{CAMERA}/chunk_index", pa.array([0, 0, 0], pa.int64()))
            .append_column(f"videos/{CAMERA}/file_index", pa.array([0, 0, 0], pa.int64()))
            .append_column(f"videos/{CAMERA}/from_timestamp", pa.array(starts[:-1]))
            .append_column(f"videos/{CAMERA}/to_timestamp", pa.array(starts[1:]))
        ),
    )


def test_the_fixture_reads_as_lerobot_wrote_it():
    meta = check_dataset(FIXTURE)
    assert meta.tasks == ["push the T"]  # tasks.parquet's unnamed pandas index (__index_level_0__)
    assert [e["length"] for e in meta.episodes] == LENGTHS
    assert {k: f.shape for k, f in meta.features.items()} == {
        "observation.state": (2,),
        "observation.environment_state": (16,),
        "action": (2,),
    }
    data = pq.read_table(FIXTURE / DATA)
    item = LeRobotDataset(FIXTURE, delta_timestamps={"action": [0.0, 0.1]})[24]  # the last frame of episode 0
    np.testing.assert_array_equal(
        item["observation.environment_state"].numpy(), data["observation.environment_state"][24].as_py()
    )
    np.testing.assert_array_equal(item["action"][0].numpy(), data["action"][24].as_py())
    assert item["action_is_pad"].tolist() == [False, True]


def test_a_task_column_or_a_named_task_index_reads_the_same(copy):
    import pandas as pd

    pd.DataFrame({"task_index": [0]}, index=pd.Index(["push the T"], name="task")).to_parquet(
        copy / "meta/tasks.parquet"
    )  # newer LeRobot
    assert check_dataset(copy).tasks == ["push the T"]
    pq.write_table(pa.table({"task": ["push the T"], "task_index": [0]}), copy / "meta/tasks.parquet")
    assert check_dataset(copy).tasks == ["push the T"]


def test_without_stats_json_the_stats_are_computed_like_lerobots(copy):
    lerobot_stats = json.loads((FIXTURE / "meta/stats.json").read_text())
    (copy / "meta/stats.json").unlink()
    with pytest.warns(UserWarning, match=r"stats\.json: no normalization stats for \['observation\.state'"):
        stats = LeRobotDataset(copy).meta.stats
    for key in ("observation.state", "observation.environment_state", "action"):
        for name in ("mean", "std", "min", "max"):
            np.testing.assert_allclose(stats[key][name], lerobot_stats[key][name], rtol=1e-5, err_msg=f"{key} {name}")


def test_several_data_files_and_a_data_path_template(copy):
    """One file per episode under names of info.json's own data_path, as LeRobot's reader accepts them."""
    template = "data/part-{chunk_index:02d}/episodes-{file_index:02d}.parquet"
    table = pq.read_table(copy / DATA)
    (copy / DATA).unlink()
    for episode in range(3):
        path = copy / template.format(chunk_index=0, file_index=episode)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.filter(pc.equal(table["episode_index"], episode)), path)
    edit_info(copy, lambda info: info.__setitem__("data_path", template))
    edit_episodes(copy, lambda t: set_column(t, "data/file_index", [0, 1, 2]))
    assert len(check_dataset(copy).data_files()) == 3
    ours, theirs = LeRobotDataset(copy), LeRobotDataset(FIXTURE)
    for i in (0, 30, 73):
        assert all(np.array_equal(ours[i][k].numpy(), theirs[i][k].numpy()) for k in theirs[i]), i


def add_column(root: Path, key: str, feature: dict, values: pa.Array) -> None:
    edit_info(root, lambda info: info["features"].__setitem__(key, feature))
    pq.write_table(pq.read_table(root / DATA).append_column(key, values), root / DATA)


def test_a_text_feature_is_carried_but_not_served(copy):
    add_column(
        copy, "language_instruction", {"dtype": "string", "shape": [1], "names": None}, pa.array(["push the T"] * 74)
    )
    item = LeRobotDataset(check_dataset(copy).root)[3]
    assert "language_instruction" not in item and item["observation.state"].shape == (2,)


def test_images_stored_as_paths_are_refused_saying_so(copy):
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    add_column(
        copy,
        "observation.images.cam",
        {"dtype": "image", "shape": [8, 8, 3], "names": ["height", "width", "channels"]},
        pa.array([{"bytes": None, "path": f"frame_{i}.png"} for i in range(74)], image),
    )
    with pytest.raises(
        UserError,
        match=r"'observation\.images\.cam': holds image file paths instead of PNG bytes; "
        r"LeRobot's reader \(datasets\.Image\) accepts that, this one does not",
    ):
        check_dataset(copy)


def test_non_finite_stats_warn_naming_the_feature(copy):
    stats = json.loads((copy / "meta/stats.json").read_text())
    stats["action"]["std"][1] = float("nan")
    (copy / "meta/stats.json").write_text(json.dumps(stats))
    with pytest.warns(UserWarning, match=r"stats\.json: stats\['action'\]\['std'\] holds NaN"):
        meta = check_dataset(copy)
    assert np.isfinite(meta.stats["action"]["std"]).all()


def _missing_data(root):
    (root / DATA).unlink()


def _truncated_data(root):
    truncate(root / DATA)


def _garbage_footer(root):
    data = bytearray((root / DATA).read_bytes())
    data[-300:-8] = bytes(292)
    (root / DATA).write_bytes(bytes(data))


def _truncated_episodes(root):
    truncate(root / EPISODES)


def _truncated_tasks(root):
    truncate(root / "meta/tasks.parquet")


def _missing_tasks(root):
    (root / "meta/tasks.parquet").unlink()


def _feature_not_a_column(root):
    edit_info(
        root,
        lambda info: info["features"].__setitem__(
            "observation.velocity", {"dtype": "float32", "shape": [2], "names": None}
        ),
    )


def _feature_shape(root):
    edit_info(root, lambda info: info["features"]["observation.environment_state"].__setitem__("shape", [12]))


def _total_frames(root):
    edit_info(root, lambda info: info.__setitem__("total_frames", 70))


def _missing_video(root):
    add_video_feature(root)


def _truncated_video(root):
    add_video_feature(root)
    path = root / VIDEO
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(100))


def _episode_out_of_range(root):
    edit_episodes(root, lambda t: set_column(t, "episode_index", [0, 1, 5]))


def _episode_row_missing(root):
    edit_episodes(root, lambda t: t.slice(0, 2))


def _episode_span(root):
    edit_episodes(root, lambda t: set_column(t, "dataset_to_index", [25, 55, 74]))


def _episodes_column_missing(root):
    edit_episodes(root, lambda t: t.drop_columns(["dataset_from_index"]))


BROKEN = [  # (damage, the file the message must name, what it must say)
    (_missing_data, DATA, "not found: it holds the frames of episode 0"),
    (_truncated_data, DATA, "truncated or corrupt"),
    (_garbage_footer, DATA, "truncated or corrupt"),
    (_truncated_episodes, EPISODES, "truncated or corrupt"),
    (_truncated_tasks, "meta/tasks.parquet", "truncated or corrupt"),
    (_missing_tasks, "meta/tasks.parquet", "not found"),
    (_feature_not_a_column, DATA, "has no column 'observation.velocity'"),
    (_feature_shape, DATA, "'observation.environment_state' holds 16 values per frame but"),
    (_total_frames, "meta/info.json", "total_frames is 70 but the data files"),
    (_missing_video, VIDEO, "not found: the observation.images.cam video"),
    (_truncated_video, VIDEO, "cannot be opened as a video"),
    (_episode_out_of_range, DATA, "holds 18 frames of episode 2, which"),
    (_episode_row_missing, "meta/info.json", "total_episodes is 3 but"),
    (_episode_span, "meta/episodes", "episode 1: spans frames 25..54 but the data files hold its 31"),
    (_episodes_column_missing, EPISODES, "misses the columns ['dataset_from_index']"),
]


@pytest.mark.parametrize("damage, file, fragment", BROKEN, ids=[case[0].__name__.strip("_") for case in BROKEN])
def test_a_broken_dataset_names_the_file(copy, damage, file, fragment):
    damage(copy)
    with pytest.raises(UserError) as e:
        check_dataset(copy)
    assert str(copy / file) in str(e.value)
    assert fragment in str(e.value)


def test_a_dataset_root_without_a_dataset_is_an_error_not_a_recording(tmp_path):
    before = sorted(tmp_path.rglob("*"))
    for root in (tmp_path / "typo", tmp_path):
        with pytest.raises(UserError, match=r"dataset\.root = .*: no LeRobotDataset there"):
            ensure_dataset(DatasetConfig(root=str(root)), PushTEnvConfig())  # repo_id is local/... by default
    assert sorted(tmp_path.rglob("*")) == before  # nothing recorded, not even a lock file


def test_a_dataset_root_is_read_whatever_the_env(copy):
    """Whether the env can evaluate on it is the CLI's check before Ray (only when evaluating: tests/e2e/test_cli)."""
    assert ensure_dataset(DatasetConfig(root=str(copy)), PushTEnvConfig()) == copy
    assert ensure_dataset(DatasetConfig(root=str(copy)), PushTEnvConfig(obs_type="pixels_agent_pos")) == copy
    assert not (copy / "data" / "chunk-001").exists()  # nothing was recorded into it


def test_warnings_of_a_whole_dataset_are_none():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_dataset(FIXTURE)
