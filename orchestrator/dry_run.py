"""`sweep --dry-run`: sample a few configs, build each one's policy on CPU, report every error, train nothing."""
from __future__ import annotations

import random

from rich.console import Console

from orchestrator.errors import UserError, problem
from orchestrator.space import from_sample
from orchestrator.sweep import PreparedSweep


def sample_point(space: dict, rng: random.Random) -> dict:
    """One point of the space: grid_search values and distributions alike are drawn at random."""
    point = {}
    for dotted, dist in space.items():
        if isinstance(dist, dict):
            point[dotted] = rng.choice(list(dist["grid_search"]))
        else:
            point[dotted] = dist.sample(random_state=rng.randrange(2**31))
    return point


def dry_run(prepared: PreparedSweep, n: int = 4, console: Console | None = None) -> None:
    from orchestrator.policies.factory import make_policy

    console = console or Console()
    features = _dataset_features(prepared, console)
    rng = random.Random(prepared.tune_cfg.seed)
    problems = []
    for i in range(n):
        point = sample_point(prepared.space, rng) if i else {}  # the first config is the defaults (the baseline)
        try:
            cfg = from_sample(prepared.base, point, prepared.overrides, prepared.ties)
            policy = make_policy(cfg.policy, features, stats=None)
            n_params = sum(p.numel() for p in policy.parameters())
            console.print(f"config {i} ok: {point or 'defaults'} -> {cfg.policy.type} with {n_params:,} parameters")
        except UserError as e:
            problems += [problem(f"sample {i} {point}: {p.field}", p.message, p.value) for p in e.problems]
        except Exception as e:  # noqa: BLE001  (a policy that cannot be built is reported, with the sample)
            problems.append(problem(f"sample {i} {point}", f"building the policy failed: {type(e).__name__}: {e}"))
    if problems:
        raise UserError(problems, "dry run found problems")
    console.print(f"dry run: {n} configs sampled and built; nothing was trained")


def _dataset_features(prepared: PreparedSweep, console: Console) -> dict:
    """The dataset's features once the dataset has been checked (`dataset.root` must hold one), or the env's when
    the dataset is not on this machine yet (a dry run records and downloads nothing)."""
    from orchestrator.datasets.check import check_dataset
    from orchestrator.datasets.record import existing_dataset

    cfg = prepared.default_cfg
    root = existing_dataset(cfg.dataset)
    if root is None:
        console.print(f"dataset {cfg.dataset.repo_id}: not on this machine yet (a sweep records or downloads it "
                      f"first); the configs are built for the env's features")
        return cfg.env.features()
    meta = check_dataset(root)
    console.print(f"dataset {root} ok: {meta.total_episodes} episodes, {meta.total_frames} frames")
    return meta.features
