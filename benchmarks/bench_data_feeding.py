"""Feeding a training step from video: decode throughput of 96x96 frames, and data_s / updt_s of a small conv-net
step (a stand-in for ACT with images) at batch 8 with DataLoader workers, on a freshly written AV1 dataset.

    python benchmarks/bench_data_feeding.py [--episodes 20] [--length 100] [--workers 2] [--steps 60]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

SIZE = 96


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
        data.append({"observation.image": frames, "observation.state": path.astype(np.float32),
                     "action": (path + 1).astype(np.float32)})
    features = {"observation.image": PolicyFeature(FeatureType.VISUAL, (3, SIZE, SIZE)),
                "observation.state": PolicyFeature(FeatureType.STATE, (2,)),
                "action": PolicyFeature(FeatureType.ACTION, (2,))}
    write_dataset(root, data, 10, features, "pusht", "bench")


def decode_rate(dataset, order) -> float:
    start = time.perf_counter()
    for i in order:
        dataset[int(i)]
    return len(order) / (time.perf_counter() - start)


def train_ratio(dataset, workers: int, steps: int) -> tuple[float, float]:
    """Mean data_s and updt_s per step (as the train loop measures them) after 5 warm-up steps."""
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(1)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 32, 5, stride=2), torch.nn.ReLU(), torch.nn.Conv2d(32, 64, 3, stride=2), torch.nn.ReLU(),
        torch.nn.Conv2d(64, 64, 3, stride=2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten(),
        torch.nn.Linear(1024, 256), torch.nn.ReLU(), torch.nn.Linear(256, 20 * 2))
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4)
    loader = torch.utils.data.DataLoader(dataset, batch_size=8, shuffle=True, num_workers=workers, drop_last=True,
                                         persistent_workers=workers > 0)
    batches = iter(loader)
    data_s, updt_s = [], []
    for step in range(steps + 5):
        start = time.perf_counter()
        batch = next(batches)
        loaded = time.perf_counter()
        prediction = net(batch["observation.image"]).reshape(8, 20, 2)
        loss = ((prediction - batch["action"]) ** 2).mean(-1)[~batch["action_is_pad"]].mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step >= 5:
            data_s.append(loaded - start)
            updt_s.append(time.perf_counter() - loaded)
    return float(np.mean(data_s)), float(np.mean(updt_s))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ROBOT_SWEEPS_CACHE"] = str(Path(tmp) / "cache")
        from orchestrator.datasets.reader import LeRobotDataset

        root = Path(tmp) / "ds"
        start = time.perf_counter()
        make_dataset(root, args.episodes, args.length)
        frames = args.episodes * args.length
        print(f"wrote {frames} frames of {SIZE}x{SIZE} video (libsvtav1) in {time.perf_counter() - start:.1f} s")
        dataset = LeRobotDataset(root)
        rng = np.random.default_rng(0)
        print(f"decode, sequential frames: {decode_rate(dataset, np.arange(min(frames, 500))):.0f} frames/s")
        print(f"decode, random frames:     {decode_rate(dataset, rng.permutation(frames)[:300]):.0f} frames/s")
        chunk = LeRobotDataset(root, delta_timestamps={"action": [i / 10 for i in range(20)]})
        data_s, updt_s = train_ratio(chunk, args.workers, args.steps)
        print(f"conv-net step, batch 8, {args.workers} loader workers: data_s {data_s * 1e3:.1f} ms, "
              f"updt_s {updt_s * 1e3:.1f} ms, data_s/updt_s = {data_s / updt_s:.2f}")


if __name__ == "__main__":
    main()
