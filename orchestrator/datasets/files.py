"""Reading a dataset's files: a file that is missing or cannot be read is a UserError naming it ("invalid dataset")."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from orchestrator.errors import UserError, problem


def bad_file(path: Path, message: str) -> UserError:
    return UserError(problem(str(path), message), "invalid dataset")


def read_parquet(path: Path) -> pa.Table:
    if not path.is_file():
        raise bad_file(path, "not found: the dataset is incomplete")
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        raise bad_file(path, f"cannot be read as parquet, the file is truncated or corrupt ({e})") from None


def read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise bad_file(path, f"cannot be read as JSON ({e})") from None
