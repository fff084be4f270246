"""One copy of a dataset's frame table per machine: the data parquet files are converted once into an Arrow IPC file
(sorted by `index`, one contiguous record batch), and every process memory-maps it. Pages come from the OS page
cache, so concurrent trials on a node share one copy, and reading a column never copies the whole table.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from orchestrator.datasets.files import bad_file, read_parquet
from orchestrator.datasets.meta import DatasetMeta

FORMAT_VERSION = "1"  # bump when the cached table's layout changes


def table_cache_dir() -> Path:
    """Where the memory-mapped tables live: <ROBOT_SWEEPS_CACHE or ~/.cache/robot-sweeps>/tables."""
    return Path(os.environ.get("ROBOT_SWEEPS_CACHE", Path.home() / ".cache" / "robot-sweeps")) / "tables"


def shared_table(meta: DatasetMeta) -> pa.Table:
    """The dataset's frames as a memory-mapped Arrow table sorted by `index`; built on first use under a file lock."""
    files = meta.data_files()
    path = table_cache_dir() / f"{_key(meta.root, files)}.arrow"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not path.is_file():
                _build(meta, files, path)
    return pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()


def _key(root: Path, files: list[Path]) -> str:
    """Changes whenever a data file does (path, size, modification time), so a rewritten dataset is re-read."""
    digest = hashlib.sha1(f"{FORMAT_VERSION}|{root.resolve()}".encode())
    for file in files:
        stat = file.stat()
        digest.update(f"|{file}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return f"{root.name}-{digest.hexdigest()[:16]}"


def _build(meta: DatasetMeta, files: list[Path], path: Path) -> None:
    tables = [read_parquet(file) for file in files]
    schemas = {table.schema.remove_metadata() for table in tables}
    if len(schemas) > 1:
        raise bad_file(files[0].parent, f"the data files disagree on their columns: {[str(s) for s in schemas]}")
    table = pa.concat_tables(tables).replace_schema_metadata(None)
    if "index" not in table.column_names:
        raise bad_file(files[0], "has no `index` column")
    table = table.take(pc.sort_indices(table["index"])).combine_chunks()
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=max(1, table.num_rows))
    os.replace(tmp, path)
