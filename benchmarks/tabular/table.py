"""A recorded table (data/<task>/): per config, per evaluated checkpoint, every episode; the replay's ground truth.

A checkpoint's *true success* is the mean over all its recorded episodes. Compute is counted in CPU-seconds as
measured while recording: a config's seconds per training step and its start-up, and each checkpoint's seconds per
evaluation episode (a failing policy runs its episodes to the time limit, a good one ends them early).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.tabular.grid import DATA, config_key


@dataclass
class Checkpoint:
    step: int
    success: np.ndarray  # 0/1 per recorded episode, in seed order (the same seeds for every config)
    episode_s: float  # measured seconds per evaluation episode

    @property
    def true_success(self) -> float:
        return float(self.success.mean())


@dataclass
class Config:
    params: dict
    checkpoints: dict[int, Checkpoint]  # step -> checkpoint, ascending
    step_s: float  # seconds per training step (reports included), measured
    startup_s: float  # seconds from the trial's start to its first step (Ray Train start-up, data, model)
    losses: dict[int, float] = field(default_factory=dict)  # step -> train/loss

    @property
    def key(self) -> str:
        return config_key(self.params)

    @property
    def best_true(self) -> float:
        return max(c.true_success for c in self.checkpoints.values())


@dataclass
class Table:
    task: str
    grid: dict[str, list]  # dotted field -> its ordered values
    preset: dict  # the LeRobot preset's values (a point of the grid): the baseline
    eval_steps: list[int]  # the evaluated checkpoints' steps (the same for every config)
    configs: dict[str, Config]  # key -> config
    log_freq: int = 50  # steps between a trial's reports: an evaluation reaches the scheduler with the next one

    def config(self, params: dict) -> Config:
        return self.configs[config_key({k: params[k] for k in self.grid})]

    @property
    def best_true(self) -> float:
        """The best true success of any checkpoint of any config: what a sweep is looking for."""
        return max(c.best_true for c in self.configs.values())

    def restrict(self, fixed: dict) -> Table:
        """The sub-table where each field of `fixed` holds its one value (that field is no longer searched)."""
        grid = {k: v for k, v in self.grid.items() if k not in fixed}
        configs = {}
        for c in self.configs.values():
            if all(c.params[k] == v for k, v in fixed.items()):
                sub = Config({k: c.params[k] for k in grid}, c.checkpoints, c.step_s, c.startup_s, c.losses)
                configs[sub.key] = sub
        preset = {k: v for k, v in self.preset.items() if k in grid}
        return Table(self.task, grid, preset, self.eval_steps, configs, self.log_freq)

    def full_trial_s(self) -> float:
        """Median CPU-seconds of one config trained to the end (evaluations not counted): the budget's unit."""
        return statistics.median(c.startup_s + c.step_s * self.eval_steps[-1] for c in self.configs.values())

    def summary(self) -> dict:
        """What makes the task worth replaying: best, median and preset (last checkpoints), with the preset's interval."""
        from orchestrator.results.stats import wilson_interval

        last = {k: c.checkpoints[self.eval_steps[-1]] for k, c in self.configs.items()}
        best_key = max(self.configs, key=lambda k: self.configs[k].best_true)
        preset = last.get(config_key(self.preset))
        best_last = last[max(last, key=lambda k: last[k].true_success)]
        return {
            "configs": len(self.configs),
            "best_true": self.best_true,
            "best": self.configs[best_key].params,
            "median_last": statistics.median(c.true_success for c in last.values()),
            "best_last_ci95": wilson_interval(int(best_last.success.sum()), len(best_last.success)),
            "preset_last": None if preset is None else preset.true_success,
            "preset_last_ci95": None
            if preset is None
            else wilson_interval(int(preset.success.sum()), len(preset.success)),
        }


def load(task: str, root: Path = DATA, robust_seconds: bool = True) -> Table:
    """The recorded table. `robust_seconds`: each config's seconds per step become the median over the configs of
    its architecture (the same searched fields but the learning rate and kl_weight, which cost nothing), start-up and
    seconds per episode the table's medians: the recording shared 2 cores with other work, and single measurements
    (start-ups of 8-83 s for the same model) say more about that than about the config."""
    table = _load(task, root)
    if robust_seconds:
        _smooth_seconds(table)
    return table


def _smooth_seconds(table: Table) -> None:
    free = {"optimizer.lr", "policy.kl_weight"}

    def arch(c: Config) -> tuple:
        return tuple(sorted((k, v) for k, v in c.params.items() if k not in free))

    by_arch: dict[tuple, list[float]] = {}
    for c in table.configs.values():
        by_arch.setdefault(arch(c), []).append(c.step_s)
    startup = statistics.median(c.startup_s for c in table.configs.values())
    episode = statistics.median(ck.episode_s for c in table.configs.values() for ck in c.checkpoints.values())
    for c in table.configs.values():
        c.step_s, c.startup_s = statistics.median(by_arch[arch(c)]), startup
        for ck in c.checkpoints.values():
            ck.episode_s = episode


def _load(task: str, root: Path) -> Table:
    folder = root / task
    meta = json.loads((folder / "provenance.json").read_text())
    configs = {}
    for path in sorted((folder / "configs").glob("*.json")):
        record = json.loads(path.read_text())
        if any(record["params"].get(k) not in values for k, values in meta["grid"].items()):
            continue  # recorded for an earlier grid
        train = record["train"]
        first, last = train[0], train[-1]
        step_s = (last["time_s"] - first["time_s"]) / max(1, last["step"] - first["step"])
        checkpoints = {
            c["step"]: Checkpoint(
                c["step"],
                np.asarray(c["episodes"]["success"], dtype=np.int8),
                c["eval_s"] / len(c["episodes"]["success"]),
            )
            for c in record["checkpoints"]
        }
        config = Config(
            record["params"],
            dict(sorted(checkpoints.items())),
            step_s,
            max(0.0, first["time_s"] - first["step"] * step_s),
            {r["step"]: r["loss"] for r in train},
        )
        configs[config.key] = config
    return Table(meta["task"], meta["grid"], meta["preset"], meta["eval_steps"], configs, meta.get("log_freq", 50))
