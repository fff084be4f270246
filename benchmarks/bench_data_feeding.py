"""(e) Feeding a training step from video: decode throughput of 96x96 AV1 frames, and data_s / updt_s while
training ACT on 96x96 video frames at batch 8 with DataLoader workers, on a freshly written dataset.

    .venv/bin/python benchmarks/bench_data_feeding.py [--episodes 20] [--length 100] [--workers 0 2] [--steps 40]
                                                      [--threads N]

The dataset: `episodes` x `length` frames at 10 fps of one 96x96 camera (observation.image, AV1 video through the
product's writer), observation.state (2,) and action (2,), PushT-like pictures.

- decode: frames/s of LeRobotDataset[i] (one frame, no windows) in this process, sequential and random order.
- train: ACT at LeRobot's defaults with chunk_size = n_action_steps = 10 (bench_policies.py's ACT, 51.5 M
  parameters, ResNet-18 on the camera), batch 8, built and stepped as trainables/train_loop.py does: the train
  split with the policy's delta_timestamps, a shuffling DataLoader with N persistent workers, the policy from the
  dataset's features and stats, its preset optimizer, the loop's step (bench_policies.train_step). data_s and
  updt_s are timed as the loop times them (data_s: waiting for the next batch and moving it to the device;
  updt_s: the step) and averaged over `--steps` steps after 5 warm-up steps, for each `--workers` count.
  Torch threads: every usable core (as the loop with cpus_per_worker = cores); the loader workers share them, so
  their decoding shows up as a slower updt_s rather than as data_s.

The RATIO line is data_s / updt_s at the largest `--workers` count (target <= 0.05: loading is hidden).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZE = 96
TARGET = 0.05  # data_s / updt_s


def make_dataset(root: Path, episodes: int, length: int) -> None:
    """PushT-like frames: a moving disc and a rotating bar on a light background."""
    from orchestrator.configs.features import FeatureType, PolicyFeature
    from orchestrator.datasets.writer import write_dataset

    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    rng = np.random.default_rng(0)
    data = []
    for _ in range(episodes):
        path = rng.uniform(15, 80, 2) + np.cumsum(rng.normal(0, 1, (length, 2)), axis=0)
        frames = np.full((length, SIZE, SIZE, 3), 230, np.uint8)
        for t, (x, y) in enumerate(path):
            angle = t / 10
            bar = np.abs((xx - 48) * np.sin(angle) - (yy - 48) * np.cos(angle)) < 4
            frames[t][bar] = (120, 120, 200)
            frames[t][(xx - x) ** 2 + (yy - y) ** 2 < 36] = (60, 60, 240)
        data.append(
            {
                "observation.image": frames,
                "observation.state": path.astype(np.float32),
                "action": (path + 1).astype(np.float32),
            }
        )
    features = {
        "observation.image": PolicyFeature(FeatureType.VISUAL, (3, SIZE, SIZE)),
        "observation.state": PolicyFeature(FeatureType.STATE, (2,)),
        "action": PolicyFeature(FeatureType.ACTION, (2,)),
    }
    write_dataset(root, data, 10, features, "pusht", "bench")


def decode_rate(dataset, order) -> float:
    start = time.perf_counter()
    for i in order:
        dataset[int(i)]
    return len(order) / (time.perf_counter() - start)


def train_ratio(cfg, root: Path, workers: int, steps: int, warmup: int = 5) -> tuple[float, float]:
    """Mean data_s and updt_s per step, timed as trainables/train_loop.py times them, after `warmup` steps.

    Built as the loop builds it: train split of the dataset with the policy's delta_timestamps, a shuffling
    DataLoader with `workers` persistent workers, ACT from the dataset's features and statistics, the policy's
    preset optimizer and schedule; the step is the loop's (bench_policies.train_step).
    """
    import torch
    from torch.utils.data import DataLoader

    from benchmarks.bench_policies import train_step
    from orchestrator.datasets.meta import DatasetMeta
    from orchestrator.datasets.split import make_datasets
    from orchestrator.policies.factory import make_policy

    torch.manual_seed(cfg.seed)
    device = torch.device("cpu")
    meta = DatasetMeta.load(root)
    dataset, _ = make_datasets(cfg.dataset, root, cfg.policy.delta_timestamps(meta.fps, list(meta.features)))
    loader = DataLoader(
        dataset,
        batch_size=cfg.batch_size,
        shuffle=True,
        num_workers=workers,
        drop_last=True,
        persistent_workers=workers > 0,
    )
    policy = make_policy(cfg.policy, dataset.meta.features, dataset.meta.stats).to(device)
    optimizer = cfg.optimizer.build(policy.optim_param_groups())
    scheduler = cfg.scheduler.build(optimizer, cfg.steps)

    def forever(batches):
        while True:
            yield from batches

    batches = forever(loader)
    data_s, updt_s = [], []
    data_start = time.perf_counter()
    for step in range(warmup + steps):
        batch = {k: v.to(device, non_blocking=True) for k, v in next(batches).items()}
        update_start = time.perf_counter()
        train_step(policy, batch, optimizer, scheduler, cfg.optimizer.grad_clip_norm, device, use_amp=False)
        if step >= warmup:
            data_s.append(update_start - data_start)
            updt_s.append(time.perf_counter() - update_start)
        data_start = time.perf_counter()
    del batches, loader  # stops the workers
    return float(np.mean(data_s)), float(np.mean(updt_s))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="DataLoader worker counts to try")
    parser.add_argument("--steps", type=int, default=40, help="timed ACT steps per worker count")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: every usable core)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads or len(os.sched_getaffinity(0)))
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ROBOT_SWEEPS_CACHE"] = str(Path(tmp) / "cache")
        from benchmarks.bench_policies import train_config
        from orchestrator.datasets.reader import LeRobotDataset

        root = Path(tmp) / "ds"
        start = time.perf_counter()
        make_dataset(root, args.episodes, args.length)
        frames = args.episodes * args.length
        print(f"wrote {frames} frames of {SIZE}x{SIZE} video (libsvtav1) in {time.perf_counter() - start:.1f} s")
        dataset = LeRobotDataset(root)
        rng = np.random.default_rng(0)
        print(f"decode, sequential frames: {decode_rate(dataset, np.arange(min(frames, 500))):.0f} frames/s")
        print(
            f"decode, random frames:     {decode_rate(dataset, rng.permutation(frames)[:300]):.0f} frames/s", flush=True
        )
        cfg = train_config("act", dataset={"root": str(root)})
        print(
            f"ACT (chunk_size {cfg.policy.chunk_size}, dim_model {cfg.policy.dim_model}, ResNet-18 camera), "
            f"batch {cfg.batch_size}, {torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        ratios = {}
        for workers in args.workers:
            data_s, updt_s = train_ratio(cfg, root, workers, args.steps)
            ratios[workers] = data_s / updt_s
            print(
                f"ACT step, batch {cfg.batch_size}, {workers} loader workers: data_s {data_s * 1e3:.1f} ms, "
                f"updt_s {updt_s * 1e3:.1f} ms, data_s/updt_s = {ratios[workers]:.3f}",
                flush=True,
            )
    most = max(args.workers)
    print(
        f"RATIO data_s/updt_s (ACT, 96x96 video, batch 8, {most} loader workers) = {ratios[most]:.3f} "
        f"(target <= {TARGET})"
    )


if __name__ == "__main__":
    main()
