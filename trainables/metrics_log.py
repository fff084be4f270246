"""What a worker prints and logs: LeRobot's log line, the metrics it reports, and its W&B run (rank 0 only)."""

from __future__ import annotations

import numpy as np

from orchestrator import metrics as M
from orchestrator.configs.parsing import encode
from orchestrator.configs.train import TrainPipelineConfig
from orchestrator.formatting import log_line


class LogLine:
    """Averages the steps since the last flush into one report (and LeRobot's one-line summary)."""

    def __init__(self, cfg: TrainPipelineConfig, dataset_frames: int, dataset_episodes: int):
        self.cfg = cfg
        self.frames = dataset_frames
        self.episodes = dataset_episodes
        self._rows: list[tuple[float, float, float, float]] = []
        self._info: dict[str, list[float]] = {}

    def add(self, loss: float, grad_norm: float, update_s: float, data_s: float, info: dict[str, float]) -> None:
        self._rows.append((loss, grad_norm, update_s, data_s))
        for k, v in info.items():
            self._info.setdefault(k, []).append(float(v))

    def flush(self, step: int, lr: float) -> dict:
        loss, grad_norm, update_s, data_s = (float(np.mean(col)) for col in zip(*self._rows))
        samples = step * self.cfg.batch_size
        metrics = {
            M.STEP: step,
            M.SAMPLES: samples,
            M.EPISODES: samples / max(1, self.frames) * self.episodes,
            M.EPOCH: samples / max(1, self.frames),
            M.TRAIN_LOSS: loss,
            M.TRAIN_GRAD_NORM: grad_norm,
            M.TRAIN_LR: lr,
            M.TRAIN_UPDATE_S: update_s,
            M.TRAIN_DATA_S: data_s,
            M.TRAIN_SAMPLES_PER_S: self.cfg.batch_size / max(1e-9, update_s + data_s),
            **{f"train/{k}": float(np.mean(v)) for k, v in self._info.items()},
        }
        self._rows, self._info = [], {}
        return metrics

    def line(self, step: int, m: dict) -> str:
        return log_line(m)


class WandbRun:
    """One W&B run per trial, on rank 0 only, grouped by sweep; resumes the same run id after a restart."""

    def __init__(self, cfg: TrainPipelineConfig, run_name: str, rank: int):
        self.run = None
        if not cfg.wandb.enable or rank != 0:
            return
        from pathlib import Path

        from ray.air.integrations.wandb import setup_wandb

        if cfg.wandb.dir:
            Path(cfg.wandb.dir).mkdir(parents=True, exist_ok=True)
        self.run = setup_wandb(
            config=encode(cfg),
            project=cfg.wandb.project,
            entity=cfg.wandb.entity,
            group=cfg.wandb.group,
            name=run_name,
            id=run_name,
            resume="allow",
            notes=cfg.wandb.notes,
            mode=cfg.wandb.mode,
            rank_zero_only=False,
            dir=cfg.wandb.dir,
        )

    def log(self, metrics: dict, step: int) -> None:
        if self.run is not None:
            self.run.log({k: v for k, v in metrics.items() if isinstance(v, (int, float))}, step=step)

    def finish(self) -> None:
        if self.run is not None:
            self.run.finish()
