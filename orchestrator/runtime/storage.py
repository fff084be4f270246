"""Where experiments live: a local folder, or a URI every node of a cluster can reach (s3://, gs://, file:// on a
shared mount). One home for storage: everything that is not a plain local path goes through pyarrow.fs, as Ray
Tune and Ray Train do (FileSystem.from_uri).

For a URI, Tune and Train write trials and checkpoints straight to it; the driver's own files (summary.json,
report.md, report/, best/, logs/) are written into a local copy first (`local_copy`) and uploaded when the sweep
ends. Credentials come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL for an
S3-compatible server, ...; a Ray the driver starts inherits them, cluster nodes hold their own: never through a
runtime environment, whose variables Ray logs; see orchestrator/ray_start.CREDENTIALS), never from the
URI: paths are printed and written into configs, summaries and logs.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

from orchestrator.configs.train import default_cache_dir
from orchestrator.errors import Problem, problem
from orchestrator.experiment_layout import PRETRAINED

# Query parameters of a pyarrow URI that carry credentials (they would be printed and saved with the path).
_SECRET_PARAMS = ("access_key", "secret_key", "session_token")


def is_uri(path: str | os.PathLike) -> bool:
    """s3://bucket/key, gs://..., file:///mnt/shared/...: anything with a scheme, as opposed to a local path."""
    return "://" in str(path)


def resolve(path: str | os.PathLike) -> str:
    """A URI as given; a local path made absolute (trials run in other working directories)."""
    return str(path) if is_uri(path) else str(Path(path).expanduser().resolve())


def join(base: str | os.PathLike, *parts: str) -> str:
    """`base`/part/...: for a URI, inside its path and before its query (?endpoint_override=... stays at the end)."""
    if not is_uri(base):
        return str(Path(base, *parts))
    u = urlsplit(str(base))
    path = "/".join([u.path.rstrip("/"), *(p.strip("/") for p in parts)])
    return urlunsplit((u.scheme, u.netloc, path, u.query, u.fragment))


def with_path(uri_like: str, fs_path: str) -> str:
    """A path on `uri_like`'s filesystem (Ray reports checkpoints as bucket/key, the scheme stripped) as a URI on the
    same storage: s3://bucket/key, with `uri_like`'s query."""
    if not is_uri(uri_like) or is_uri(fs_path):
        return fs_path
    u = urlsplit(uri_like)
    netloc, _, path = fs_path.lstrip("/").partition("/") if u.netloc else ("", "", fs_path)
    return urlunsplit((u.scheme, netloc, "/" + path if u.netloc else fs_path, u.query, ""))


def filesystem(path: str | os.PathLike):
    """(pyarrow filesystem, path on it) for a URI or a local path."""
    import pyarrow.fs

    if not is_uri(path):
        return pyarrow.fs.LocalFileSystem(), str(Path(path).expanduser().resolve())
    return pyarrow.fs.FileSystem.from_uri(str(path))


def exists(path: str | os.PathLike) -> bool:
    import pyarrow.fs

    fs, p = filesystem(path)
    return fs.get_file_info(p).type != pyarrow.fs.FileType.NotFound


def read_text(path: str | os.PathLike) -> str:
    fs, p = filesystem(path)
    with fs.open_input_stream(p) as f:
        return f.read().decode()


def write_text(path: str | os.PathLike, text: str) -> None:
    fs, p = filesystem(path)
    fs.create_dir(p.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(p) as f:
        f.write(text.encode())


def upload(folder: str | os.PathLike, dest: str) -> int:
    """Copy the files under a local `folder` to `dest` (a URI or a path), replacing files of the same name; symbolic
    links (logs/ray -> Ray's session logs) are left out. Returns the number of files copied."""
    fs, root = filesystem(dest)
    folder = Path(folder)
    count = 0
    for here, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not Path(here, d).is_symlink()]
        rel = Path(here).relative_to(folder).as_posix()
        target_dir = root if rel == "." else f"{root.rstrip('/')}/{rel}"
        fs.create_dir(target_dir, recursive=True)
        for name in files:
            source = Path(here, name)
            if source.is_symlink():
                continue
            with open(source, "rb") as f, fs.open_output_stream(f"{target_dir}/{name}") as out:
                while chunk := f.read(8 << 20):
                    out.write(chunk)
            count += 1
    return count


def download(source: str, folder: str | os.PathLike, skip: Callable[[str], bool] | None = None) -> Path:
    """Copy every file under `source` (a URI or a path) into the local `folder`, except those whose path relative to
    `source` `skip` returns True for. Raises FileNotFoundError when there is nothing at `source`."""
    import pyarrow.fs

    fs, root = filesystem(source)
    root = root.rstrip("/")
    folder = Path(folder)
    infos = fs.get_file_info(pyarrow.fs.FileSelector(root, recursive=True, allow_not_found=True))
    if not infos and fs.get_file_info(root).type == pyarrow.fs.FileType.NotFound:
        raise FileNotFoundError(f"nothing at {source}")
    for info in infos:
        rel = info.path[len(root) + 1 :]
        if info.type != pyarrow.fs.FileType.File or (skip and skip(rel)):
            continue
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with fs.open_input_stream(info.path) as f, open(target, "wb") as out:
            while chunk := f.read(8 << 20):
                out.write(chunk)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def local_copy(uri: str) -> Path:
    """The local folder kept for a URI on this machine: <ROBOT_SWEEPS_CACHE or ~/.cache/robot-sweeps>/storage/<scheme>/
    <bucket>/<key>. A sweep's driver writes its own files there before uploading them; W&B writes its runs there on
    each node; `report` writes the page there."""
    u = urlsplit(uri)
    parts = [p for p in (u.netloc, *u.path.split("/")) if p not in ("", ".", "..")]
    return default_cache_dir().joinpath("storage", u.scheme, *parts)


def uri_problems(path: str, field: str = "tune.storage_path") -> list[Problem]:
    """Credentials written into the storage URI (they would be printed and saved with it)."""
    if not is_uri(path):
        return []
    u = urlsplit(path)
    in_query = [k for k in parse_qs(u.query) if k in _SECRET_PARAMS]
    if u.password is not None or u.username is not None or in_query:
        return [
            problem(
                field,
                "holds credentials, and the path is printed and saved in configs and "
                "logs: remove them and set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or your cloud's "
                "credentials) in the environment instead",
            )
        ]
    return []


def reach_problems(path: str, field: str = "tune.storage_path") -> list[Problem]:
    """A URI whose storage cannot be reached or whose bucket does not exist, as one problem naming `field` (what
    pyarrow said, and where the endpoint and credentials come from)."""
    if not is_uri(path):
        return []
    import pyarrow.fs

    shown = urlunsplit(urlsplit(path)._replace(query=""))
    try:
        fs, p = filesystem(path)
        bucket = p.split("/", 1)[0]
        missing = fs.get_file_info(bucket).type == pyarrow.fs.FileType.NotFound
        if missing and not isinstance(fs, pyarrow.fs.LocalFileSystem):
            return [problem(field, f"bucket {bucket!r} does not exist: create it first", shown)]
        fs.get_file_info(p)
    except (OSError, ValueError, pyarrow.ArrowException) as e:
        return [
            problem(
                field,
                f"cannot be reached ({type(e).__name__}: {e}); the endpoint and "
                "credentials come from the environment (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, "
                "AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION for S3)",
                shown,
            )
        ]
    return []


def cluster_problems(storage_path: str, nodes: list[dict], seen_by: set[str] | None = None) -> list[Problem]:
    """A local storage path on a Ray cluster whose alive nodes run on more than one host (distinct
    NodeManagerAddress, as in ray.nodes()) and that not every host sees (`seen_by`: the hosts that found a file the
    driver wrote there, see hosts_seeing; None: none checked): trials on the other hosts would write their
    checkpoints to folders this driver never reads. Several Ray nodes on one host share its disk, a shared
    filesystem mounted at the same path on every host is seen by all, and a URI is reachable from every node."""
    hosts = sorted({host for n in nodes if n.get("Alive") and (host := n.get("NodeManagerAddress"))})
    blind = [h for h in hosts if h not in (seen_by or set())]
    if is_uri(storage_path) or len(hosts) < 2 or not blind:
        return []
    return [
        problem(
            "tune.storage_path",
            f"is a local path, but this Ray cluster's nodes run on {len(hosts)} hosts "
            f"({', '.join(hosts)}) and {', '.join(blind)} cannot see it: trials there would write their "
            "checkpoints where this driver never finds them. Use object storage (s3://bucket/path, "
            "gs://bucket/path; credentials from the environment), or a shared filesystem mounted at the "
            "same path on every node (e.g. NFS/EFS at /mnt/shared, as in cluster.yaml)",
            storage_path,
        )
    ]


def hosts_seeing(folder: str, nodes: list[dict], timeout_s: float = 60.0) -> set[str]:
    """The hosts (NodeManagerAddress) on which a file this driver writes into the local `folder` is visible: one
    zero-CPU Ray task per alive host looks for it. Hosts that do not answer within `timeout_s` count as blind."""
    import uuid

    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    marker = Path(folder, f".robot-sweeps-visible-{uuid.uuid4().hex}")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("written by the sweep's driver to check that every host sees this folder\n")
    try:
        look = ray.remote(num_cpus=0)(os.path.exists)
        by_host = {n["NodeManagerAddress"]: n["NodeID"] for n in nodes if n.get("Alive")}
        refs = {
            host: look.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(str(marker))
            for host, node in by_host.items()
        }
        ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=timeout_s)
        return {host for host, ref in refs.items() if ref in ready and ray.get(ref)}
    finally:
        marker.unlink(missing_ok=True)


def local_pretrained(checkpoint_path: str) -> Path:
    """A checkpoint's pretrained_model folder on this machine (downloaded from a URI storage, e.g. s3://, into a
    temporary folder; its training_state, which only resuming needs, stays where it is)."""
    if not is_uri(checkpoint_path):
        return Path(checkpoint_path) / PRETRAINED
    folder = Path(tempfile.mkdtemp(prefix="checkpoint-")) / PRETRAINED
    return download(join(checkpoint_path, PRETRAINED), folder)
