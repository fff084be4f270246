"""orchestrator/runtime/storage.py against a real S3-compatible server (moto's, tests/support/s3_server.py): URIs joined
before their query, files written, read, uploaded and downloaded through pyarrow.fs with the endpoint from the
environment; credentials in a URI and a local path on a cluster of several hosts are refused."""

import pyarrow.fs
import pytest

from orchestrator.runtime import storage
from tests.support.s3_server import SECRET_KEY


@pytest.fixture
def bucket(s3_server, monkeypatch, request):
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    name = "unit-" + request.node.name.replace("_", "-")[:50].lower()
    s3_server.create_bucket(name)
    return name


def test_uri_paths():
    assert (
        storage.join("s3://b/sweeps?endpoint_override=127.0.0.1:9000", "act", "trials")
        == "s3://b/sweeps/act/trials?endpoint_override=127.0.0.1:9000"
    )
    assert storage.join("s3://b/", "act") == "s3://b/act" and storage.join("/tmp/x", "act") == "/tmp/x/act"
    # Ray reports a URI storage's checkpoints with the scheme stripped: bucket/key.
    assert (
        storage.with_path("s3://b/sweeps/act/train?scheme=http", "b/sweeps/act/train/trial_1/checkpoint_0")
        == "s3://b/sweeps/act/train/trial_1/checkpoint_0?scheme=http"
    )
    assert storage.with_path("file:///mnt/shared/x", "/mnt/shared/x/c") == "file:///mnt/shared/x/c"
    assert storage.with_path("/local/x", "/local/x/c") == "/local/x/c"
    assert not storage.is_uri("outputs/sweeps") and storage.is_uri("gs://b/x")


def test_local_copy_lives_in_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("ROBOT_SWEEPS_CACHE", str(tmp_path))
    assert storage.local_copy("s3://b/sweeps/act?endpoint_override=h:1") == tmp_path / "storage/s3/b/sweeps/act"
    assert storage.local_copy("s3://b/../../etc") == tmp_path / "storage/s3/b/etc"  # never outside the cache


def test_write_read_upload_download_in_a_real_bucket(bucket, s3_server, tmp_path):
    root = f"s3://{bucket}/sweeps/act"
    assert not storage.exists(root)
    storage.write_text(storage.join(root, "summary.json"), '{"a": 1}')
    assert storage.exists(root) and storage.read_text(storage.join(root, "summary.json")) == '{"a": 1}'

    local = tmp_path / "act"
    (local / "best").mkdir(parents=True)
    (local / "best" / "model.safetensors").write_bytes(b"\0weights" * 1000)
    (local / "report.md").write_text("# Sweep")
    (local / "logs").mkdir()
    (local / "logs" / "ray").symlink_to(tmp_path, target_is_directory=True)  # Ray's session logs: not uploaded
    (local / "link.txt").symlink_to(local / "report.md")
    assert storage.upload(local, root) == 2
    objects = sorted(k for k in s3_server.keys(bucket) if not k.endswith("/"))  # "x/": pyarrow's folder markers
    assert objects == ["sweeps/act/best/model.safetensors", "sweeps/act/report.md", "sweeps/act/summary.json"]
    assert s3_server.read(bucket, "sweeps/act/best/model.safetensors") == b"\0weights" * 1000

    back = storage.download(root, tmp_path / "back", skip=lambda rel: rel.endswith(".safetensors"))
    assert sorted(p.relative_to(back).as_posix() for p in back.rglob("*") if p.is_file()) == [
        "report.md",
        "summary.json",
    ]
    with pytest.raises(FileNotFoundError):
        storage.download(f"s3://{bucket}/nothing/here", tmp_path / "none")


def test_a_missing_bucket_is_named_before_anything_runs(bucket):
    (p,) = storage.reach_problems("s3://no-such-bucket-xyz/sweeps")
    assert p.field == "tune.storage_path" and "bucket 'no-such-bucket-xyz' does not exist" in p.message
    assert storage.reach_problems(f"s3://{bucket}/sweeps") == []


def test_credentials_in_the_uri_are_refused_without_echoing_them():
    for uri in (f"s3://AKIA:{SECRET_KEY}@b/sweeps", f"s3://b/sweeps?access_key=AKIA&secret_key={SECRET_KEY}"):
        (p,) = storage.uri_problems(uri)
        assert p.field == "tune.storage_path" and "AWS_SECRET_ACCESS_KEY" in p.message
        assert SECRET_KEY not in str(p)
    assert storage.uri_problems("s3://b/sweeps?endpoint_override=127.0.0.1:9000") == []


def _node(ip: str, alive: bool = True) -> dict:  # the fields of ray.nodes() the check reads
    return {"NodeManagerAddress": ip, "Alive": alive, "Resources": {"CPU": 2.0}}


def test_a_local_path_is_refused_on_a_cluster_of_several_hosts():
    nodes = [_node("10.0.0.1"), _node("10.0.0.2"), _node("10.0.0.2"), _node("10.0.0.3")]
    for seen_by in (None, {"10.0.0.1"}):  # not checked yet; only the driver's host found the file it wrote there
        (p,) = storage.cluster_problems("/data/sweeps", nodes, seen_by)
        assert p.field == "tune.storage_path" and p.value == "/data/sweeps"
        assert "3 hosts (10.0.0.1, 10.0.0.2, 10.0.0.3)" in p.message
        assert all(s in p.message for s in ("s3://", "gs://", "shared filesystem mounted at the same path on every"))
    (p,) = storage.cluster_problems("/data/sweeps", nodes, {"10.0.0.1", "10.0.0.2"})
    assert "and 10.0.0.3 cannot see it" in p.message


@pytest.mark.parametrize(
    "path, nodes",
    [
        ("/data/sweeps", [_node("10.0.0.1"), _node("10.0.0.1")]),  # several Ray nodes on one host share its disk
        ("/data/sweeps", [_node("10.0.0.1"), _node("10.0.0.2", alive=False)]),  # a dead node holds nothing
        ("s3://b/sweeps", [_node("10.0.0.1"), _node("10.0.0.2")]),
        ("file:///mnt/shared/sweeps", [_node("10.0.0.1"), _node("10.0.0.2")]),
    ],
)
def test_storage_every_node_sees_is_accepted(path, nodes):
    assert storage.cluster_problems(path, nodes) == []


def test_a_shared_mount_every_host_sees_is_accepted():  # e.g. EFS at /mnt/shared on every node (cluster.yaml)
    assert (
        storage.cluster_problems("/mnt/shared/sweeps", [_node("10.0.0.1"), _node("10.0.0.2")], {"10.0.0.1", "10.0.0.2"})
        == []
    )


def test_report_from_a_bucket_reads_the_experiment_without_weights(bucket, monkeypatch, tmp_path, capsys):
    """`python -m orchestrator report s3://...`: the experiment's files are read from the bucket (not its checkpoints'
    weights), the page lands in the URI's local copy, and a URI with no experiment is refused naming the folder."""
    from orchestrator.errors import UserError
    from orchestrator.report.command import report_from_args
    from orchestrator.runtime.experiment import reads
    from tests.unit.test_report_html import finished_sweep

    monkeypatch.setenv("ROBOT_SWEEPS_CACHE", str(tmp_path / "cache"))
    local = finished_sweep(tmp_path / "sweeps" / "tiny")
    weights = local / "train/trial_aaa00001/checkpoint_000020/pretrained_model/model.safetensors"
    weights.write_bytes(b"not read by the report")
    storage.upload(local, f"s3://{bucket}/sweeps/tiny")

    page = report_from_args([f"s3://{bucket}/sweeps/tiny"])
    assert page == tmp_path / "cache/storage/s3" / bucket / "sweeps/tiny/report/report.html"
    text = page.read_text()
    assert all(tid in text for tid in ("aaa00001", "aaa00004", "bbb_00000")) and f"s3://{bucket}/sweeps/tiny" in text
    assert "The sweep improved success by 55.0 points" in text  # summary.json came along
    assert "finished" in capsys.readouterr().out
    ckpt = "train/trial_aaa00001/checkpoint_000020"  # what is downloaded: no weights, no optimizer state
    assert [
        reads(f"{ckpt}/{f}")
        for f in (
            "pretrained_model/train_config.json",
            "pretrained_model/model.safetensors",
            "training_state/optimizer_state.pt",
        )
    ] == [True, False, False]
    with pytest.raises(UserError, match="has no trials/ folder"):
        report_from_args([f"s3://{bucket}/sweeps/nothing"])
    with pytest.raises(UserError, match="bucket 'no-such-bucket-xyz' does not exist"):
        report_from_args(["s3://no-such-bucket-xyz/sweeps/tiny"])


def test_every_report_path_names_a_uri_storages_checkpoints_with_their_scheme():
    """Ray gives a checkpoint in s3:// storage as bucket/key. Both ways a trial's reports reach the sweep (Tune's
    callback, and the relay PBT's trials use) must give s3://bucket/key, or the sweep reads a local path that does not
    exist (found with PBT on S3: best/ could not be exported)."""
    from ray.train import Checkpoint

    from trainables.trial import _RelayCallback

    class Queue(list):  # the relay's Ray queue, as the callback uses it
        put = list.append

    checkpoint = Checkpoint("b/sweeps/pbt/train/trial_1/checkpoint_0", filesystem=pyarrow.fs.LocalFileSystem())
    for storage_path, expected in [
        ("s3://b/sweeps/pbt/train", "s3://b/sweeps/pbt/train/trial_1/checkpoint_0"),
        ("/local/train", "b/sweeps/pbt/train/trial_1/checkpoint_0"),
    ]:
        queue = Queue()
        _RelayCallback(queue, storage_path).after_report(None, [{"step": 10}], checkpoint)
        assert queue == [{"step": 10, "checkpoint_path": expected}]
