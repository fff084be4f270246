"""Build a policy from its config and the dataset's metadata, or load a saved one. Add a line per new policy here;
a package of yours calls `register_policy` instead (README: Bring your own policy or env)."""

from __future__ import annotations

import copy
from pathlib import Path

from orchestrator.configs.features import FeatureType, PolicyFeature
from orchestrator.configs.policy import PolicyConfig
from orchestrator.errors import UserError, problem, raise_if
from orchestrator.policies.act.modeling import ACTPolicy
from orchestrator.policies.base import Policy, read_config
from orchestrator.policies.diffusion.modeling import DiffusionPolicy
from orchestrator.policies.mlp.modeling import MLPPolicy

POLICY_CLASSES: dict[str, type[Policy]] = {
    "act": ACTPolicy,
    "diffusion": DiffusionPolicy,
    "mlp": MLPPolicy,
}


def register_policy(name: str, cls: type[Policy] | None = None):
    """Register `cls` as the model of policy type `name`, the name its config registered with
    `@PolicyConfig.register_subclass(name)`. Call it, `register_policy("my_policy", MyPolicy)`, or decorate the
    class, `@register_policy("my_policy")`. A name taken by another class is refused."""

    def register(policy: type[Policy]) -> type[Policy]:
        if not (isinstance(policy, type) and issubclass(policy, Policy)):
            raise TypeError(
                f"register_policy({name!r}): {policy!r} is not a subclass of orchestrator.policies.base.Policy"
            )
        taken = POLICY_CLASSES.get(name)
        if taken is not None and (taken.__module__, taken.__qualname__) != (policy.__module__, policy.__qualname__):
            raise ValueError(f"register_policy({name!r}): the name is taken by {taken.__module__}.{taken.__qualname__}")
        POLICY_CLASSES[name] = policy
        return policy

    return register if cls is None else register(cls)


def policy_class(name: str) -> type[Policy]:
    """The Policy subclass registered as `name` (the config's "type")."""
    if name not in POLICY_CLASSES:
        raise UserError(
            problem(
                "policy.type",
                f"has no model: must be one of {sorted(POLICY_CLASSES)} (a package "
                "of yours registers one with orchestrator.policies.factory.register_policy)",
                name,
            )
        )
    return POLICY_CLASSES[name]


def with_features(cfg: PolicyConfig, features: dict[str, PolicyFeature]) -> PolicyConfig:
    """A copy of `cfg` whose ACTION features are the outputs and every other feature an input."""
    cfg = copy.deepcopy(cfg)
    cfg.output_features = {k: f for k, f in features.items() if f.type == FeatureType.ACTION}
    cfg.input_features = {k: f for k, f in features.items() if f.type != FeatureType.ACTION}
    return cfg


def check_features(cfg: PolicyConfig, features: dict[str, PolicyFeature]) -> None:
    """UserError naming the fields when the policy cannot use these features (e.g. an image smaller than the
    crop): checked before Ray starts, without building the model."""
    cfg = with_features(cfg, features)
    raise_if(policy_class(cfg.type).feature_problems(cfg), f"the {cfg.type} policy cannot use these features")


def make_policy(cfg: PolicyConfig, features: dict[str, PolicyFeature], stats: dict[str, dict] | None) -> Policy:
    """A new policy for a dataset: its ACTION features become the outputs, every other feature an input.

    `features` come from the dataset's metadata; `stats[key]` holds its "mean", "std", "min", "max" arrays.
    With `stats=None` the normalization buffers hold NaN (enough to build and count parameters; load weights
    before use). `cfg` is not modified: the features are set on a copy, which becomes `policy.config`.
    """
    return policy_class(cfg.type)(with_features(cfg, features), stats)


def load_policy(directory: Path | str) -> Policy:
    """Load a policy written by `Policy.save_pretrained`, choosing its class from config.json's "type"."""
    return policy_class(read_config(directory).type).from_pretrained(directory)
