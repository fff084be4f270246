"""LeRobotDataset v3.0 writer/reader: files and fields as LeRobot lays them out, stats, delta_timestamps windows."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from orchestrator.configs.features import FeatureType, PolicyFeature
from orchestrator.datasets import writer
from orchestrator.datasets.reader import DatasetMeta, LeRobotDataset
from orchestrator.datasets.stats import compute_stats
from orchestrator.datasets.writer import write_dataset
from orchestrator.errors import UserError

FEATURES = {
    "observation.state": PolicyFeature(FeatureType.STATE, (2,)),
    "observation.environment_state": PolicyFeature(FeatureType.ENV, (16,)),
    "action": PolicyFeature(FeatureType.ACTION, (2,)),
}
LENGTHS = [5, 7, 3]
TASK = "Push the T."


def make_episodes(lengths=LENGTHS, seed=0):
    rng = np.random.default_rng(seed)
    return [
        {
            "observation.state": rng.uniform(0, 512, (n, 2)).astype(np.float32),
            "observation.environment_state": rng.uniform(0, 512, (n, 16)).astype(np.float32),
            "action": rng.uniform(0, 512, (n, 2)).astype(np.float32),
            "next.reward": rng.random(n).astype(np.float32),
            "next.success": np.arange(n) == n - 1,
            "next.done": np.arange(n) == n - 1,
        }
        for n in lengths
    ]


@pytest.fixture(autouse=True)
def _table_cache(tmp_path, monkeypatch):
    """Memory-mapped tables go to a fresh cache folder, not ~/.cache."""
    monkeypatch.setenv("ROBOT_SWEEPS_CACHE", str(tmp_path / "cache"))


def with_camera(episodes, size=(12, 16), seed=1):
    """The episodes plus an `observation.image` (T, H, W, 3) uint8 camera; the FEATURES to write them with."""
    rng = np.random.default_rng(seed)
    out = [
        {**e, "observation.image": rng.integers(0, 256, (len(e["action"]), *size, 3), dtype=np.uint8)} for e in episodes
    ]
    return out, {**FEATURES, "observation.image": PolicyFeature(FeatureType.VISUAL, (3, *size))}


@pytest.fixture
def episodes():
    return make_episodes()


@pytest.fixture
def root(tmp_path, episodes):
    path = tmp_path / "ds"
    write_dataset(path, episodes, fps=10, features=FEATURES, robot_type="pusht", task=TASK)
    return path


def test_every_column_round_trips(root, episodes):
    dataset = LeRobotDataset(root)
    assert len(dataset) == sum(LENGTHS)
    i = 0
    for e, episode in enumerate(episodes):
        for t in range(len(episode["action"])):
            item = dataset[i]
            for key, values in episode.items():
                assert item[key].numpy().tolist() == values[t].tolist(), (key, e, t)
            assert item["observation.state"].dtype == item["action"].dtype == torch.float32
            assert (item["index"], item["episode_index"], item["frame_index"], item["task_index"]) == (i, e, t, 0)
            assert item["timestamp"].item() == pytest.approx(t / 10)
            i += 1


def test_files_and_fields_are_lerobot_v3(root):
    info = json.loads((root / "meta/info.json").read_text())
    assert info["codebase_version"] == "v3.0"
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"], info["fps"]) == (3, 15, 1, 10)
    assert (info["chunks_size"], info["data_files_size_in_mb"], info["video_files_size_in_mb"]) == (1000, 100, 500)
    assert info["splits"] == {"train": "0:3"} and info["robot_type"] == "pusht" and info["video_path"] is None
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    expected = {
        "observation.state": ("float32", [2]),
        "observation.environment_state": ("float32", [16]),
        "action": ("float32", [2]),
        "next.reward": ("float32", [1]),
        "next.success": ("bool", [1]),
        "next.done": ("bool", [1]),
        "timestamp": ("float32", [1]),
        "frame_index": ("int64", [1]),
        "episode_index": ("int64", [1]),
        "index": ("int64", [1]),
        "task_index": ("int64", [1]),
    }
    assert {key: (ft["dtype"], ft["shape"]) for key, ft in info["features"].items()} == expected
    assert all("names" in ft for ft in info["features"].values())

    data = pq.read_table(root / "data/chunk-000/file-000.parquet")  # every episode in one file
    assert data.num_rows == 15 and sorted(set(data["episode_index"].to_pylist())) == [0, 1, 2]
    assert str(data.schema.field("observation.environment_state").type) == "fixed_size_list<element: float>[16]"
    assert str(data.schema.field("timestamp").type) == "float"

    episodes = pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert [e["episode_index"] for e in episodes] == [0, 1, 2]
    assert [e["length"] for e in episodes] == LENGTHS
    assert [(e["dataset_from_index"], e["dataset_to_index"]) for e in episodes] == [(0, 5), (5, 12), (12, 15)]
    assert all(e["tasks"] == [TASK] for e in episodes)
    for column in ("data/chunk_index", "data/file_index", "meta/episodes/chunk_index", "meta/episodes/file_index"):
        assert [e[column] for e in episodes] == [0, 0, 0]
    assert episodes[1]["stats/action/count"] == [7]

    tasks = pq.read_table(root / "meta/tasks.parquet")
    assert tasks.to_pylist() == [{"task_index": 0, "task": TASK}]
    assert json.loads(tasks.schema.metadata[b"pandas"])["index_columns"] == ["task"]  # pandas reads it indexed

    meta = DatasetMeta.load(root)
    assert (meta.fps, meta.total_episodes, meta.total_frames, meta.tasks) == (10, 3, 15, [TASK])
    assert meta.features == FEATURES


def test_stats_equal_numpy(root, episodes):
    stats = DatasetMeta.load(root).stats
    assert set(stats) == set(json.loads((root / "meta/info.json").read_text())["features"])
    for key in ("observation.environment_state", "action", "next.reward"):
        data = np.concatenate([e[key] for e in episodes]).astype(np.float64).reshape(15, -1)
        np.testing.assert_allclose(stats[key]["mean"], data.mean(0))
        np.testing.assert_allclose(stats[key]["std"], data.std(0))
        np.testing.assert_allclose(stats[key]["min"], data.min(0))
        np.testing.assert_allclose(stats[key]["max"], data.max(0))
        for name, q in [("q01", 0.01), ("q10", 0.10), ("q50", 0.5), ("q90", 0.9), ("q99", 0.99)]:
            np.testing.assert_allclose(stats[key][name], np.quantile(data, q, axis=0))
        assert stats[key]["count"].tolist() == [15]
    assert stats["next.success"]["mean"].tolist() == [3 / 15]
    np.testing.assert_allclose(
        compute_stats(episodes, {"action": {"dtype": "float32"}})["action"]["mean"], stats["action"]["mean"]
    )


def test_windows_are_clamped_and_padded_at_episode_edges(root, episodes):
    dataset = LeRobotDataset(
        root, delta_timestamps={"action": [0.0, 0.1, 0.2, 0.3], "observation.state": [-0.2, -0.1, 0.0]}
    )
    second = episodes[1]  # frames 5..11
    start = dataset[5]
    np.testing.assert_array_equal(start["observation.state"], second["observation.state"][[0, 0, 0]])
    assert start["observation.state_is_pad"].tolist() == [True, True, False]
    np.testing.assert_array_equal(start["action"], second["action"][[0, 1, 2, 3]])
    assert start["action_is_pad"].tolist() == [False] * 4
    end = dataset[10]  # second to last frame: the action chunk runs past the end
    np.testing.assert_array_equal(end["action"], second["action"][[5, 6, 6, 6]])
    assert end["action_is_pad"].tolist() == [False, False, True, True]
    assert end["observation.state_is_pad"].tolist() == [False, False, False]
    assert end["action"].shape == (4, 2) and end["observation.environment_state"].shape == (16,)


def test_episode_subset(root, episodes):
    dataset = LeRobotDataset(root, episodes=[2, 0], delta_timestamps={"action": [0.0, 0.1]})
    assert len(dataset) == LENGTHS[0] + LENGTHS[2]
    assert [int(dataset[i]["episode_index"]) for i in range(len(dataset))] == [0] * 5 + [2] * 3
    last = dataset[len(dataset) - 1]
    np.testing.assert_array_equal(last["action"], episodes[2]["action"][[2, 2]])
    with pytest.raises(UserError, match="episodes"):
        LeRobotDataset(root, episodes=[3])


def test_episodes_spread_over_several_data_files(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "DATA_FILES_SIZE_IN_MB", 1e-4)  # ~100 bytes: one episode per file
    episodes = make_episodes()
    write_dataset(tmp_path / "ds", episodes, 10, FEATURES, "pusht", TASK)
    assert len(list((tmp_path / "ds/data/chunk-000").glob("file-*.parquet"))) == 3
    meta = pq.read_table(tmp_path / "ds/meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert [e["data/file_index"] for e in meta] == [0, 1, 2]
    dataset = LeRobotDataset(tmp_path / "ds")
    np.testing.assert_array_equal(dataset[14]["action"], episodes[2]["action"][2])


def test_bad_delta_timestamp_names_the_key(root):
    with pytest.raises(UserError, match=r"delta_timestamps\.action.*0\.15"):
        LeRobotDataset(root, delta_timestamps={"action": [0.0, 0.15]})
    with pytest.raises(UserError, match=r"delta_timestamps\.observation\.image"):
        LeRobotDataset(root, delta_timestamps={"observation.image": [0.0]})
    LeRobotDataset(root, delta_timestamps={"action": [0.0, 0.10004]})  # within LeRobot's 1e-4 s tolerance


def test_missing_or_broken_info_names_the_file(tmp_path, root):
    with pytest.raises(UserError, match=r"meta/info\.json.*not found"):
        LeRobotDataset(tmp_path / "nowhere")
    (root / "meta/info.json").write_text("{not json")
    with pytest.raises(UserError, match=r"meta/info\.json.*not valid JSON"):
        DatasetMeta.load(root)
    (root / "meta/info.json").write_text(
        json.dumps({"codebase_version": "v1.6", "fps": 10, "features": {}, "total_episodes": 0, "total_frames": 0})
    )
    with pytest.raises(UserError, match=r"meta/info\.json.*v1\.6"):
        DatasetMeta.load(root)


def test_refuses_to_overwrite_and_leaves_no_temp_folder(root, episodes, monkeypatch):
    with pytest.raises(UserError, match="already exists"):
        write_dataset(root, episodes, 10, FEATURES, "pusht", TASK)
    short = {**episodes[0], "observation.state": episodes[0]["observation.state"][:2]}
    with pytest.raises(ValueError, match="observation.state"):
        write_dataset(root.parent / "bad", [short], 10, FEATURES, "pusht", TASK)

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(writer, "_write_tasks", fail)
    with pytest.raises(OSError):
        write_dataset(root.parent / "half", episodes, 10, FEATURES, "pusht", TASK)
    assert sorted(p.name for p in root.parent.iterdir()) == ["ds"]


def test_inline_images_round_trip_exactly_with_per_channel_stats(tmp_path, episodes):
    episodes, features = with_camera(episodes)
    write_dataset(tmp_path / "ds", episodes, 10, features, "pusht", TASK, image_storage="image")
    info = json.loads((tmp_path / "ds/meta/info.json").read_text())
    assert info["features"]["observation.image"] == {
        "dtype": "image",
        "shape": [12, 16, 3],
        "names": ["height", "width", "channels"],
    }
    assert info["video_path"] is None and not (tmp_path / "ds/videos").exists()
    column = pq.read_table(tmp_path / "ds/data/chunk-000/file-000.parquet").schema.field("observation.image")
    assert str(column.type) == "struct<bytes: binary, path: string>"  # LeRobot's (Hugging Face's) Image feature
    dataset = LeRobotDataset(tmp_path / "ds", delta_timestamps={"observation.image": [-0.1, 0.0]})
    assert dataset.meta.features["observation.image"] == PolicyFeature(FeatureType.VISUAL, (3, 12, 16))
    item = dataset[6]  # second frame of episode 1
    assert item["observation.image"].dtype == torch.float32 and item["observation.image"].shape == (2, 3, 12, 16)
    expected = episodes[1]["observation.image"][[0, 1]].transpose(0, 3, 1, 2) / 255.0
    np.testing.assert_allclose(item["observation.image"].numpy(), expected, atol=1e-6)
    assert LeRobotDataset(tmp_path / "ds")[5]["observation.image"].shape == (3, 12, 16)  # no window: one frame
    assert dataset[5]["observation.image_is_pad"].tolist() == [True, False]

    stats = dataset.meta.stats["observation.image"]
    pixels = np.concatenate([e["observation.image"] for e in episodes]).astype(np.float64) / 255.0
    for name, reduce in [("mean", np.mean), ("std", np.std), ("min", np.min), ("max", np.max)]:
        assert stats[name].shape == (3, 1, 1)
        np.testing.assert_allclose(stats[name].reshape(3), reduce(pixels, axis=(0, 1, 2)))
    np.testing.assert_allclose(stats["q50"].reshape(3), np.quantile(pixels.reshape(-1, 3), 0.5, axis=0))
    assert stats["count"].tolist() == [15]


def test_one_memory_mapped_table_per_machine(root):
    first, second = LeRobotDataset(root), LeRobotDataset(root, episodes=[1])
    tables = list((root.parent / "cache/tables").glob("*.arrow"))
    assert len(tables) == 1  # built once, then mapped by every reader
    assert np.shares_memory(first.arrays["action"], first.arrays["action"]) and not first.arrays["action"].flags.owndata
    np.testing.assert_array_equal(second[0]["action"], first[5]["action"])
    import pickle

    clone = pickle.loads(pickle.dumps(first))  # what a spawned data-loader worker gets: it maps the file again
    assert len(pickle.dumps(first)) < 20_000
    np.testing.assert_array_equal(clone[14]["action"], first[14]["action"])


def test_episode_shorter_than_the_action_chunk_is_padded(root, episodes):
    dataset = LeRobotDataset(root, delta_timestamps={"action": [i / 10 for i in range(10)]})
    item = dataset[12]  # first frame of the 3-frame episode 2
    np.testing.assert_array_equal(item["action"], episodes[2]["action"][[0, 1, 2] + [2] * 7])
    assert item["action_is_pad"].tolist() == [False] * 3 + [True] * 7


def test_truncated_parquet_names_the_file(root):
    path = root / "data/chunk-000/file-000.parquet"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(UserError, match=r"data/chunk-000/file-000\.parquet.*cannot be read as parquet"):
        LeRobotDataset(root)


def test_info_features_disagreeing_with_the_parquet_name_the_field(root):
    info = json.loads((root / "meta/info.json").read_text())
    info["features"]["observation.velocity"] = {"dtype": "float32", "shape": [2], "names": None}
    info["features"]["action"]["shape"] = [3]
    (root / "meta/info.json").write_text(json.dumps(info))
    with pytest.raises(UserError) as e:
        LeRobotDataset(root)
    assert "features.observation.velocity: is not a column" in str(e.value)
    assert "features.action.shape = [3]: disagrees with the data files, whose rows hold 2 values" in str(e.value)


def test_nan_and_zero_std_stats_are_warned_about_and_guarded(root):
    stats = json.loads((root / "meta/stats.json").read_text())
    stats["action"]["mean"] = [float("nan"), 1.0]
    stats["observation.state"]["std"] = [0.0, 2.0]
    (root / "meta/stats.json").write_text(json.dumps(stats))
    with pytest.warns(UserWarning, match=r"stats\.json.*'action'.*'mean'.*NaN"):
        meta = DatasetMeta.load(root)
    assert meta.stats["action"]["mean"].tolist() == [0.0, 1.0]
    assert meta.stats["observation.state"]["std"].tolist() == [1.0, 2.0]
    with pytest.warns(UserWarning, match=r"'observation\.state'\]\['std'\] is 0"):
        DatasetMeta.load(root)


def test_validation_split_and_image_transforms(tmp_path, episodes):
    from orchestrator.configs.train import DatasetConfig
    from orchestrator.datasets.split import make_datasets, split_episodes
    from orchestrator.datasets.transforms import ImageTransformsConfig, apply_transforms

    episodes, features = with_camera(episodes)
    write_dataset(tmp_path / "ds", episodes, 10, features, "pusht", TASK, image_storage="image")
    meta = DatasetMeta.load(tmp_path / "ds")
    assert split_episodes(meta, DatasetConfig(val_fraction=0.3)) == ([0, 1], [2])
    assert split_episodes(meta, DatasetConfig(val_episodes=[0])) == ([1, 2], [0])
    assert split_episodes(meta, DatasetConfig()) == ([0, 1, 2], [])
    with pytest.raises(UserError, match="val_episodes"):
        split_episodes(meta, DatasetConfig(val_episodes=[7]))
    transforms = ImageTransformsConfig(
        enable=True, max_num_transforms=4, brightness=[0.5, 0.5], contrast=[1, 1], saturation=[1, 1], sharpness=[1, 1]
    )
    train, val = make_datasets(
        DatasetConfig(root=str(tmp_path / "ds"), val_episodes=[2], image_transforms=transforms), tmp_path / "ds", None
    )
    assert (len(train), len(val)) == (12, 3)
    assert [int(val[i]["episode_index"]) for i in range(3)] == [2, 2, 2]
    plain = LeRobotDataset(tmp_path / "ds")
    np.testing.assert_allclose(train[0]["observation.image"], plain[0]["observation.image"] * 0.5, atol=1e-6)
    np.testing.assert_array_equal(val[0]["observation.image"], plain[12]["observation.image"])  # val: never augmented
    image = torch.rand(2, 3, 8, 8)
    assert apply_transforms(ImageTransformsConfig(), image) is image  # off by default
    out = apply_transforms(ImageTransformsConfig(enable=True), image)
    assert out.shape == image.shape and out.min() >= 0 and out.max() <= 1
    assert [
        p.field
        for p in DatasetConfig(
            val_fraction=1.0, image_transforms=ImageTransformsConfig(brightness=[1.2, 0.8])
        ).problems()
    ] == ["val_fraction", "image_transforms.brightness"]


def test_imagenet_stats_replace_a_cameras_mean_and_std_as_lerobot_does():
    from orchestrator.datasets.stats import with_imagenet_stats

    stats = {
        "observation.image": {
            "mean": np.full((3, 1, 1), 0.5),
            "std": np.full((3, 1, 1), 0.1),
            "min": np.zeros((3, 1, 1)),
        },
        "observation.state": {"mean": np.array([1.0]), "std": np.array([2.0])},
    }
    out = with_imagenet_stats(stats, ["observation.image"])
    np.testing.assert_allclose(out["observation.image"]["mean"].reshape(3), [0.485, 0.456, 0.406])
    np.testing.assert_allclose(out["observation.image"]["std"].reshape(3), [0.229, 0.224, 0.225])
    assert out["observation.image"]["min"].shape == (3, 1, 1) and out["observation.state"] is stats["observation.state"]
    assert stats["observation.image"]["mean"].reshape(3).tolist() == [0.5] * 3  # the dataset's are left as they were
