"""Memory of concurrent readers of one dataset: N processes reading it through the memory-mapped table (what trials
on a node do) versus N processes each holding its own in-memory copy (reading the parquet into NumPy).

Prints, per mode, the proportional set size (PSS, from /proc/<pid>/smaps_rollup) that the frame table adds to the
readers (over a baseline of the interpreter with torch, pyarrow and the dataset's metadata loaded), summed over N processes and divided by the same for one process: ~1.0 means one copy per machine.

    python benchmarks/bench_data_sharing.py [--frames 500000] [--dim 64] [--procs 4]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def pss_mib(pid: int | str = "self", field: str = "Pss") -> float:
    """A field of /proc/<pid>/smaps_rollup in MiB: Pss (proportional set size), or Anonymous (private heap)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in smaps_rollup")


def make_dataset(root: Path, frames: int, dim: int) -> None:
    from orchestrator.configs.features import FeatureType, PolicyFeature
    from orchestrator.datasets.writer import write_dataset

    rng = np.random.default_rng(0)
    length = 1000
    episodes = [
        {
            "observation.state": rng.standard_normal((length, dim), dtype=np.float32),
            "action": rng.standard_normal((length, dim), dtype=np.float32),
        }
        for _ in range(frames // length)
    ]
    features = {
        "observation.state": PolicyFeature(FeatureType.STATE, (dim,)),
        "action": PolicyFeature(FeatureType.ACTION, (dim,)),
    }
    write_dataset(root, episodes, 10, features, "bench", "bench")


def reader(root: str, mode: str, ready, done) -> None:
    """Load the dataset, touch every value (as an epoch of training does), report, and hold it until `done`."""
    import pyarrow.parquet as pq

    from orchestrator.datasets.reader import DatasetMeta, LeRobotDataset

    DatasetMeta.load(root)  # baseline: torch, pyarrow (its parquet reader and pools warmed up) and the metadata
    baseline = pss_mib(), pss_mib(field="Anonymous")
    if mode == "mmap":
        dataset = LeRobotDataset(root)
        arrays = [dataset.arrays["observation.state"], dataset.arrays["action"]]
    else:  # "copy": each process reads the parquet into its own memory
        table = pq.read_table(sorted(Path(root, "data").rglob("*.parquet")))
        arrays = [table[key].combine_chunks().flatten().to_numpy().copy() for key in ("observation.state", "action")]
    checksum = sum(float(a.sum()) for a in arrays)
    ready.put((os.getpid(), baseline, checksum))
    done.wait()


def measure(root: Path, mode: str, procs: int) -> tuple[float, float, float]:
    """(PSS the dataset adds, summed over `procs` readers; of which anonymous memory; total PSS), in MiB."""
    ctx = multiprocessing.get_context("spawn")
    ready, done = ctx.Queue(), ctx.Event()
    workers = [ctx.Process(target=reader, args=(str(root), mode, ready, done)) for _ in range(procs)]
    for worker in workers:
        worker.start()
    reports = [ready.get(timeout=600) for _ in workers]
    time.sleep(0.5)
    totals = {pid: (pss_mib(pid), pss_mib(pid, "Anonymous")) for pid, _, _ in reports}
    done.set()
    for worker in workers:
        worker.join()
    added = sum(totals[pid][0] - baseline[0] for pid, baseline, _ in reports)
    anonymous = sum(totals[pid][1] - baseline[1] for pid, baseline, _ in reports)
    return added, anonymous, sum(total for total, _ in totals.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=500_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--procs", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ROBOT_SWEEPS_CACHE"] = str(Path(tmp) / "cache")
        root = Path(tmp) / "ds"
        start = time.perf_counter()
        make_dataset(root, args.frames, args.dim)
        print(
            f"dataset: {args.frames} frames x 2 x {args.dim} float32 "
            f"({sum(p.stat().st_size for p in root.rglob('*.parquet')) / 2**20:.0f} MiB of parquet), "
            f"written in {time.perf_counter() - start:.1f} s"
        )
        start = time.perf_counter()
        measure(root, "mmap", 1)  # builds the memory-mapped table once, as the first trial on a node does
        print(f"memory-mapped table built in {time.perf_counter() - start:.1f} s")
        for mode in ("mmap", "copy"):
            one, one_anonymous, one_total = measure(root, mode, 1)
            many, many_anonymous, many_total = measure(root, mode, args.procs)
            print(
                f"{mode:5s}: dataset PSS {args.procs} procs {many:7.0f} MiB / 1 proc {one:6.0f} MiB = "
                f"{many / one:.2f}x (of which private heap {many_anonymous:.0f} / {one_anonymous:.0f} MiB); "
                f"whole processes {many_total:.0f} / {one_total:.0f} MiB = {many_total / one_total:.2f}x"
            )


if __name__ == "__main__":
    main()
