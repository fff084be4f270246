"""What a run (`train`, or a sweep's recipe) checks before Ray starts, so that a problem the user can fix exits 2 at
once rather than after the cluster, the trials or the training: the Hub token, the dataset against the policy and
the env."""

from __future__ import annotations

from pathlib import Path

from orchestrator.datasets.check import check_dataset
from orchestrator.datasets.record import ensure_dataset, existing_dataset
from orchestrator.errors import UserError, problem
from orchestrator.policies.factory import check_features
from orchestrator.publish.hub import check_hub_access


def check_hub(cfg) -> None:
    """A missing or invalid Hub token is reported before training, not after."""
    if cfg.hub.repo_id and cfg.hub.push:
        check_hub_access(cfg.hub.repo_id)


def dataset_that_fits(cfg) -> Path:
    """The run's dataset, recorded or downloaded first when missing (datasets/record.py), checked against the policy
    and the env (`check_dataset_fits`). A `local/` dataset not recorded yet will hold the env's features: the policy
    is checked against those first, so that a policy that cannot use them exits 2 before the expert records it."""
    if cfg.dataset.root is None and cfg.dataset.is_local() and existing_dataset(cfg.dataset) is None:
        check_features(cfg.policy, cfg.env.features())
    root = ensure_dataset(cfg.dataset, cfg.env)
    check_dataset_fits(cfg, root)
    return root


def check_dataset_fits(cfg, dataset_root) -> None:
    """The dataset is whole and readable (every file checked, each problem named with its file), the policy can
    use its features (cameras large enough, ...), and the env that evaluates it produces them: exit 2 before Ray."""
    features = check_dataset(dataset_root).features
    check_features(cfg.policy, features)
    env = cfg.env.features()
    wrong = {
        key: tuple(f.shape) for key, f in features.items() if key not in env or tuple(env[key].shape) != tuple(f.shape)
    }
    if cfg.evaluates and wrong:
        made = {key: tuple(f.shape) for key, f in env.items()}
        raise UserError(
            problem(
                "env.type",
                f"the {cfg.env.type} env, which evaluates the policy, makes {made}, not "
                f"the dataset's {wrong} ({dataset_root}): choose the env the dataset was recorded in "
                "(--env.type, --env.obs_type, ...), or train without evaluation (--eval_freq=0)",
                cfg.env.type,
            ),
            "dataset does not match the env",
        )
