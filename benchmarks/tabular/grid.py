"""The recorded grid's files: one JSON per config under data/<task>/configs/, named by its values."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def config_key(params: dict) -> str:
    """e.g. "optimizer.lr=0.001,policy.chunk_size=20": the sorted dotted fields and values."""
    return ",".join(f"{k}={params[k]!r}" for k in sorted(params))


def config_file(task: str, params: dict) -> Path:
    return DATA / task / "configs" / f"{config_key(params)}.json"


def values_of(cfg, fields) -> dict:
    """{dotted field: value} of a typed config."""
    out = {}
    for dotted in fields:
        obj = cfg
        for part in dotted.split("."):
            obj = getattr(obj, part)
        out[dotted] = obj
    return out


def not_recorded(task: str, grid: dict):
    """A sweep constraint: a config whose file already exists (recorded by an earlier run) is not trained again."""
    return lambda cfg: not config_file(task, values_of(cfg, grid)).is_file()
