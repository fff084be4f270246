"""Bookkeeping at scale: sweep wall time / ideal for many tiny trials on a simulated multi-node cluster.

    .venv/bin/python benchmarks/bench_bookkeeping.py [--trials 200] [--ours-trials 16] [--nodes 4 --cpus-per-node 4]

Ray Tune publishes its own bookkeeping overhead (release test `test_bookkeeping_overhead.py`, one 16-CPU node):
10,000 trials of one second each (one result per second, `reuse_actors=True`) took 715 s against the 625 s ideal of
10,000 x 1 s / 16, a ratio of 1.14. This script measures the same kind of ratio here, in one run, on a cluster of
`--nodes` simulated Ray nodes (`ray.cluster_utils.Cluster`, `--cpus-per-node` logical CPUs each, all on this machine):

(a) Tune alone: `--trials` trials of a 1-s function (sleep 1 s, report once), at most one per logical CPU, once with
    `reuse_actors=True` (Tune's published setting) and once with `reuse_actors=False` (a new trial actor per trial, as
    in our sweeps). ideal = trials x 1 s / logical CPUs.
(b) our trial path: `--ours-trials` trials of `orchestrator.sweep.recipe.search` (run_trial -> TorchTrainer) with a
    tiny ACT and `--ours-steps` steps, `--ours-concurrency` at a time. Two ideals: the trials' own time inside run_trial
    (its start to its return, from trainables/phase_log.py: what Tune's bookkeeping adds on top) and the trials'
    training loops (first step to last report: everything a trial pays before and after training counts as overhead).

ratio = wall / ideal; wall is one clock around Tuner.fit (a) or orchestrator.sweep.recipe.search (b), with the cluster
up. On a machine with few real cores the logical CPUs oversubscribe it: every trial actor that starts costs real CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import DEFAULT_CACHE, use_cache  # noqa: E402
from orchestrator.experiment_layout import trial_folder  # noqa: E402

TUNE_PUBLISHED = {"trials": 10_000, "wall": 715.0, "ideal": 625.0}  # docs: Tune scalability, bookkeeping overhead


def one_second_trial(config: dict) -> None:
    """Ray's release-test trainable at one result per second, one iteration."""
    from ray import tune

    time.sleep(1.0)
    tune.report({"score": config["score"]})


def start_cluster(nodes: int, cpus_per_node: int):
    """A head and nodes-1 more Ray nodes on this machine, each advertising `cpus_per_node` logical CPUs."""
    import ray
    from ray.cluster_utils import Cluster

    from orchestrator.runtime.ray_start import free_port, set_ray_env, worker_env

    os.environ.pop("RAY_ADDRESS", None)
    set_ray_env()  # the settings orchestrator.runtime.ray_start.connect_ray gives a sweep's Ray
    port = free_port(8265)  # Ray Train's placement-group cleaner finds this cluster's state API here (as connect_ray)
    os.environ["RAY_API_SERVER_ADDRESS"] = f"http://127.0.0.1:{port}"
    node = {"num_cpus": cpus_per_node, "memory": 2 * 2**30, "object_store_memory": 200 * 2**20}
    cluster = Cluster(
        initialize_head=True,
        head_node_args={**node, "include_dashboard": True, "dashboard_host": "127.0.0.1", "dashboard_port": port},
    )
    for _ in range(nodes - 1):
        cluster.add_node(**node)
    cluster.wait_for_nodes()
    ray.init(
        address=cluster.address, runtime_env={"env_vars": worker_env()}, log_to_driver=False, configure_logging=False
    )
    return cluster


def tune_alone(trials: int, concurrency: int, reuse_actors: bool, storage: str) -> dict:
    from ray import tune

    tuner = tune.Tuner(
        one_second_trial,
        param_space={"score": tune.uniform(0.0, 1.0)},
        tune_config=tune.TuneConfig(num_samples=trials, max_concurrent_trials=concurrency, reuse_actors=reuse_actors),
        run_config=tune.RunConfig(
            name=f"tune_alone_{trials}_reuse{int(reuse_actors)}", storage_path=storage, verbose=0
        ),
    )
    start = time.perf_counter()
    results = tuner.fit()
    wall = time.perf_counter() - start
    done = sum(1 for r in results if r.error is None)
    ideal = done * 1.0 / concurrency
    return {"wall": wall, "ideal": ideal, "ratio": wall / ideal, "done": done}


def our_path(trials: int, concurrency: int, steps: int, storage: str) -> dict:
    from orchestrator.sweep.prepare import prepare
    from orchestrator.sweep.recipe import search

    space = Path(storage) / "tiny_space.py"
    space.write_text(TINY_SPACE)
    prepared = prepare(
        str(space),
        [
            f"--steps={steps}",
            f"--save_freq={steps}",
            f"--log_freq={steps}",
            f"--tune.num_samples={trials}",
            f"--tune.max_concurrent_trials={concurrency}",
            f"--tune.storage_path={storage}",
            "--tune.experiment_name=ours",
        ],
    )
    start = time.perf_counter()
    results, _ = search(prepared)
    wall = time.perf_counter() - start
    marks: dict[str, dict[str, float]] = {}
    for line in Path(os.environ["ROBOT_SWEEPS_PHASE_LOG"]).read_text().splitlines():
        m = json.loads(line)
        marks.setdefault(m["run"], {}).setdefault(m["phase"], m["t"])
    inside, loops = [], []
    for r in results:
        if r.error is not None:
            continue
        m = marks.get(trial_folder(r.metrics.get("trial_id")), {})
        if "driver_end" not in m:  # stopped before it ran (Ctrl-C)
            continue
        inside.append(m["driver_end"] - m["driver_start"])
        loops.append(m["last_report"] - m["policy"])  # the first step to the last report
    ideal_inside, ideal_loop = sum(inside) / concurrency, sum(loops) / concurrency
    return {
        "wall": wall,
        "done": len(inside),
        "inside": statistics.median(inside),
        "loop": statistics.median(loops),
        "ideal_inside": ideal_inside,
        "ratio_inside": wall / ideal_inside,
        "ideal_loop": ideal_loop,
        "ratio_loop": wall / ideal_loop,
    }


# The demo's policy shrunk to the size of the tests' (a step takes milliseconds): a trial is almost all start-up.
TINY_SPACE = """
from ray import tune
from orchestrator.configs.train import DatasetConfig, TrainPipelineConfig
from orchestrator.configs.tune import Sweep, TuneConfig
from orchestrator.policies.act.configuration import ACTConfig

sweep = Sweep(
    base=TrainPipelineConfig(
        dataset=DatasetConfig(record_episodes=20),
        policy=ACTConfig(chunk_size=4, n_action_steps=4, dim_model=32, n_heads=2, dim_feedforward=64,
                         n_encoder_layers=1, n_vae_encoder_layers=1, latent_dim=8, kl_weight=tune.choice([1.0, 10.0])),
        steps=5, batch_size=16, log_freq=5, save_freq=5, eval_freq=0,
    ),
    tune=TuneConfig(metric="train/loss", mode="min", search="random", scheduler="none", baseline=False),
)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200, help="1-s trials of (a)")
    parser.add_argument("--nodes", type=int, default=4, help="simulated Ray nodes (head included)")
    parser.add_argument("--cpus-per-node", type=int, default=4, help="logical CPUs per simulated node")
    parser.add_argument("--ours-trials", type=int, default=12, help="trials of (b); 0 skips (b)")
    parser.add_argument("--ours-steps", type=int, default=5, help="training steps per trial of (b)")
    parser.add_argument("--ours-concurrency", type=int, default=4, help="trials of (b) at a time")
    parser.add_argument("--cache", default=DEFAULT_CACHE, help="ROBOT_SWEEPS_CACHE for the recorded dataset")
    args = parser.parse_args()

    import ray

    os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "100")  # as in Ray's release test
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # no status box at verbose=0 (as orchestrator.sweep.tuner.fit)
    use_cache(args.cache, 20)
    concurrency = args.nodes * args.cpus_per_node
    with tempfile.TemporaryDirectory(prefix="bench_bookkeeping_") as storage:
        os.environ["ROBOT_SWEEPS_PHASE_LOG"] = str(Path(storage) / "phases.jsonl")  # before Ray: workers write it
        cluster = start_cluster(args.nodes, args.cpus_per_node)
        try:
            print(
                f"cluster: {args.nodes} simulated nodes x {args.cpus_per_node} logical CPUs on {os.cpu_count()} "
                f"real cores (load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )
            tune_alone(concurrency, concurrency, True, storage)  # warm-up (this process's first Tuner), not counted
            rows = {}
            for reuse in (True, False):
                rows[reuse] = tune_alone(args.trials, concurrency, reuse, storage)
                r = rows[reuse]
                print(
                    f"(a) Tune alone, {r['done']} x 1-s trials, {concurrency} at a time, reuse_actors={reuse}: "
                    f"wall {r['wall']:.1f} s, ideal {r['ideal']:.1f} s, ratio {r['ratio']:.3f} "
                    f"(load average {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
            ours = None
            if args.ours_trials:
                ours = our_path(args.ours_trials, args.ours_concurrency, args.ours_steps, storage)
                print(
                    f"(b) our trial path, {ours['done']} trials of {args.ours_steps} steps, {args.ours_concurrency} "
                    f"at a time: wall {ours['wall']:.1f} s; median trial {ours['inside']:.1f} s inside run_trial, "
                    f"{ours['loop']:.2f} s training (load average {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
        finally:
            ray.shutdown()
            cluster.shutdown()
    pub = TUNE_PUBLISHED
    print(
        f"RATIO Tune's published bookkeeping ({pub['trials']:,} x 1-s trials, 16 CPUs, reuse_actors=True) = "
        f"{pub['wall'] / pub['ideal']:.3f} ({pub['wall']:.0f} s vs {pub['ideal']:.0f} s ideal)"
    )
    for reuse, r in rows.items():
        print(
            f"RATIO (a) Tune alone here, {r['done']} x 1-s trials, {concurrency} logical CPUs, reuse_actors={reuse} "
            f"= {r['ratio']:.3f} ({r['wall']:.1f} s vs {r['ideal']:.1f} s ideal)"
        )
    if ours:
        print(
            f"RATIO (b) ours, {ours['done']} trials, {args.ours_concurrency} at a time, wall / (sum of time inside "
            f"run_trial / {args.ours_concurrency}) = {ours['ratio_inside']:.3f} ({ours['wall']:.1f} s vs "
            f"{ours['ideal_inside']:.1f} s)"
        )
        print(
            f"RATIO (b) ours, wall / (sum of training loops / {args.ours_concurrency}) = {ours['ratio_loop']:.1f} "
            f"({ours['wall']:.1f} s vs {ours['ideal_loop']:.2f} s: a tiny trial is all fixed cost)"
        )


if __name__ == "__main__":
    main()
