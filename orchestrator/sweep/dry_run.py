"""`sweep --dry-run`: sample a few configs, build each one's policy on CPU, report every error, train nothing.
With constraints, many more points are sampled (no policy built) to count how many pass each constraint; a
constraint that no sample passes is refused, by name."""

from __future__ import annotations

import random

from rich.console import Console

from orchestrator.datasets.check import check_dataset
from orchestrator.datasets.record import existing_dataset
from orchestrator.errors import UserError, problem
from orchestrator.policies.factory import make_policy
from orchestrator.search.conditional import sample_point
from orchestrator.search.constraints import pass_counts, sample_configs, violated
from orchestrator.search.space import from_sample
from orchestrator.sweep.prepare import PreparedSweep

CONSTRAINT_SAMPLES = 200  # points sampled to count how many pass each constraint (~5 ms each)

__all__ = ["dry_run", "sample_point"]


def dry_run(prepared: PreparedSweep, n: int = 4, console: Console | None = None) -> None:
    console = console or Console()
    features = _dataset_features(prepared, console)
    if prepared.constraints:
        _count_constraints(prepared, console)
    rng = random.Random(prepared.tune_cfg.seed)
    problems = []
    built, tries = 0, 0
    while built < n and tries < 50 * n:
        tries += 1
        point = sample_point(prepared.space, rng) if built else {}  # the first config is the defaults (the baseline)
        try:
            cfg = from_sample(prepared.base, point, prepared.overrides, prepared.ties, validate=False)
            if built and violated(prepared.constraints, cfg):
                continue  # infeasible: it would not be trained, so it need not build
            cfg = cfg.validate()
            policy = make_policy(cfg.policy, features, stats=None)
            n_params = sum(p.numel() for p in policy.parameters())
            console.print(f"config {built} ok: {point or 'defaults'} -> {cfg.policy.type} with {n_params:,} parameters")
        except UserError as e:
            problems += [problem(f"sample {built} {point}: {p.field}", p.message, p.value) for p in e.problems]
        except Exception as e:  # noqa: BLE001  (a policy that cannot be built is reported, with the sample)
            problems.append(problem(f"sample {built} {point}", f"building the policy failed: {type(e).__name__}: {e}"))
        built += 1
    if problems:
        raise UserError(problems, "dry run found problems")
    console.print(f"dry run: {built} configs sampled and built; nothing was trained")


def _count_constraints(prepared: PreparedSweep, console: Console) -> None:
    """How many of CONSTRAINT_SAMPLES random points pass each constraint, and all of them; none: a UserError."""
    sampled = sample_configs(prepared, CONSTRAINT_SAMPLES, prepared.tune_cfg.seed)
    configs = [c for _, c in sampled if not isinstance(c, UserError)]
    counts, every = pass_counts(prepared.constraints, configs)
    n = len(sampled)
    for name, k in counts.items():
        console.print(f"constraint {name!r}: {k} of {n} samples pass")
    console.print(
        f"all constraints: {every} of {n} samples pass ({every / n:.0%}); the others would be reported "
        "infeasible, not trained"
    )
    invalid = []  # samples that pass every constraint but are not valid configs: those trials would fail
    for point, cfg in sampled:
        try:
            if isinstance(cfg, UserError):
                raise cfg
            if not violated(prepared.constraints, cfg):
                cfg.validate()
        except UserError as e:
            invalid += [problem(f"sample {point}: {p.field}", p.message, p.value) for p in e.problems]
    if invalid:
        raise UserError(
            invalid[:3],
            f"dry run found problems ({len(invalid)} of {n} samples pass the constraints "
            "but are invalid configs; add a constraint or narrow the space)",
        )
    dead = [name for name, k in counts.items() if k == 0]
    if dead:
        raise UserError(
            [
                problem(
                    f"constraints[{name!r}]",
                    f"no sample of {n} passes it: every trial would be "
                    "infeasible; widen the space or fix the predicate",
                )
                for name in dead
            ],
            "dry run found problems",
        )
    if configs and every == 0:
        raise UserError(
            problem(
                "constraints",
                f"no sample of {n} passes all of them together: every trial would be infeasible",
                sorted(counts),
            ),
            "dry run found problems",
        )


def _dataset_features(prepared: PreparedSweep, console: Console) -> dict:
    """The dataset's features once the dataset has been checked (`dataset.root` must hold one), or the env's when
    the dataset is not on this machine yet (a dry run records and downloads nothing)."""
    cfg = prepared.default_cfg
    root = existing_dataset(cfg.dataset)
    if root is None:
        console.print(
            f"dataset {cfg.dataset.repo_id}: not on this machine yet (a sweep records or downloads it "
            f"first); the configs are built for the env's features"
        )
        return cfg.env.features()
    meta = check_dataset(root)
    console.print(f"dataset {root} ok: {meta.total_episodes} episodes, {meta.total_frames} frames")
    return meta.features
