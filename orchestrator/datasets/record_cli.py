"""`python -m orchestrator dataset record`: record expert demonstrations in a real simulator as a LeRobotDataset."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import draccus

from orchestrator.configs.checks import non_negative, positive, prefixed
from orchestrator.configs.parsing import check_types, encode, merge, parse_cli
from orchestrator.configs.train import DatasetConfig
from orchestrator.datasets.record import record_dataset
from orchestrator.envs.configs import EnvConfig, PushTEnvConfig
from orchestrator.errors import Problem, raise_if


@dataclass
class RecordConfig:
    """What to record."""

    env: EnvConfig = field(default_factory=PushTEnvConfig)  # the simulator (its expert drives it)
    episodes: int = 60  # successful episodes to keep (attempted episodes with keep_failures=true)
    root: str | None = None  # output folder; default: the cache folder of the default training dataset
    seed: int = 0  # seed of the first episode; episode i uses seed + i
    keep_failures: bool = False  # keep unsuccessful episodes too
    num_procs: int = 0  # parallel rollout processes; 0: one per core
    video: bool = True  # store cameras as MP4 videos (LeRobot's default); false: PNG images inside the parquet

    def problems(self) -> list[Problem]:
        out = prefixed("env", self.env.problems()) + positive("episodes", self.episodes)
        return out + non_negative("seed", self.seed) + non_negative("num_procs", self.num_procs)


def record_from_args(args: list[str]) -> None:
    cli, _ = parse_cli(args)
    data = merge(encode(RecordConfig()), cli, RecordConfig)
    raise_if(check_types(data, RecordConfig))
    cfg = draccus.decode(RecordConfig, data)
    raise_if(cfg.problems())
    root = Path(cfg.root) if cfg.root else DatasetConfig().resolved_root()
    report = record_dataset(
        cfg.env,
        root,
        cfg.episodes,
        seed=cfg.seed,
        num_procs=cfg.num_procs or os.cpu_count(),
        keep_failures=cfg.keep_failures,
        video=cfg.video,
    )
    print(
        f"recorded {report.kept} episodes to {root} in {report.seconds:.0f}s; expert success rate "
        f"{report.success_rate:.0%} ({report.attempted} attempted)"
    )
