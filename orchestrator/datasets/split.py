"""The training and held-out validation episodes of a run, and the datasets over them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.datasets.meta import DatasetMeta
from orchestrator.datasets.reader import LeRobotDataset
from orchestrator.errors import UserError, problem

if TYPE_CHECKING:
    from orchestrator.configs.train import DatasetConfig


def split_episodes(meta: DatasetMeta, cfg: DatasetConfig) -> tuple[list[int], list[int]]:
    """(train, val) episode indices: `val_episodes` if given, else the last `val_fraction` of the episodes
    (at least one when the fraction is > 0), taken from `episodes` (default: all). The same for every trial."""
    known = [e["episode_index"] for e in meta.episodes]
    pool = list(cfg.episodes) if cfg.episodes is not None else known
    if cfg.val_episodes is not None:
        unknown = sorted(set(cfg.val_episodes) - set(known))
        if unknown:
            raise UserError(
                problem(
                    "dataset.val_episodes",
                    f"not in the dataset {meta.root} (it has episodes 0..{len(known) - 1})",
                    unknown,
                )
            )
        val = list(cfg.val_episodes)
    else:
        n_val = max(1, round(cfg.val_fraction * len(pool))) if cfg.val_fraction > 0 else 0
        val = pool[len(pool) - n_val :] if n_val else []
    train = [e for e in pool if e not in set(val)]
    if not train:
        raise UserError(
            problem(
                "dataset.val_fraction", f"leaves no training episode (the dataset has {len(pool)})", cfg.val_fraction
            )
        )
    return train, val


def make_datasets(
    cfg: DatasetConfig, root: Path, delta_timestamps: dict[str, list[float]] | None
) -> tuple[LeRobotDataset, LeRobotDataset | None]:
    """The training dataset (with cfg.image_transforms) and the validation one (none when no episode is held out)."""
    train, val = split_episodes(DatasetMeta.load(root), cfg)
    train_set = LeRobotDataset(
        root, episodes=train, delta_timestamps=delta_timestamps, image_transforms=cfg.image_transforms
    )
    val_set = LeRobotDataset(root, episodes=val, delta_timestamps=delta_timestamps) if val else None
    return train_set, val_set
