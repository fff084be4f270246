"""Population-based training (`--tune.scheduler=pbt|pb2`) on Ray Tune's own schedulers, made to work with Ray Train V2.

- The scheduler: Ray's PopulationBasedTraining (or PB2), its time being the evaluated step (`eval/step`), deciding
  every `tune.perturbation_interval` evaluated steps whether a trial in the bottom `quantile_fraction` continues
  the latest checkpoint of one in the top fraction, with the donor's values mutated within the search space
  (PBT: scaled by 0.8/1.2 or redrawn; a choice moves to a neighbour; PB2: a GP bandit within [low, high]).
  Asynchronous (Ray's default): a trial is paused only to exploit, never to wait for the others; with Train V2 each
  pause is a new Train run (10-18 s to start on a laptop), which synchronous PBT would pay for every trial at every
  interval.
- The checkpoint handed over: trainables/exploit.py (a Tune checkpoint pointing to the donor's Train checkpoint).
- The scheduler's state survives `--tune.resume=true` (orchestrator/sweep/resume.py): Ray's PBT has no save/restore,
  and its state is keyed by Trial objects, which a restored Tuner recreates; here it is saved by trial id.
- Lineage: each exploit is a line of trials/trial_<id>/lineage.jsonl (written by the exploiting trial's driver);
  orchestrator/results/lineage.py reads them for report.md and the HTML report.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ray.tune.schedulers import PopulationBasedTraining
from ray.tune.schedulers.pb2 import PB2
from ray.tune.schedulers.trial_scheduler import TrialScheduler
from ray.tune.search.sample import Categorical, Float, Integer

from orchestrator.configs.features import FeatureType, PolicyFeature
from orchestrator.configs.fields import value_at
from orchestrator.errors import Problem, UserError, problem
from orchestrator.metrics import EVAL_STEP
from orchestrator.search.fine_tuning import shape_changes, weight_shapes
from orchestrator.search.space import describe

POPULATION_SCHEDULERS = ("pbt", "pb2")


def is_population(scheduler: str) -> bool:
    return scheduler in POPULATION_SCHEDULERS


# ------------------------------------------------------------------------------------------------ checks, before Ray
def population_problems(t, space: dict[str, Any], cfg, config_of: Callable[[dict], Any]) -> list[Problem]:
    """Everything that would make PBT/PB2 fail or lie, found before Ray starts. `t` is the TuneConfig, `cfg` the
    default config, `config_of(partial sample)` a trial's config."""
    name = t.scheduler
    out = []
    if t.search == "optuna":
        out.append(
            problem(
                "tune.search",
                f"{name} draws its initial population at random and then mutates it itself;"
                " Ray Tune runs it with its random/grid generator only (it rejects a Searcher such as "
                "Optuna): add --tune.search=random",
                t.search,
            )
        )
    if not cfg.evaluates:
        out.append(problem("eval_freq", f"{name} decides at evaluated steps: set eval_freq > 0", cfg.eval_freq))
    elif (t.perturbation_interval or cfg.eval_freq) >= cfg.steps:
        out.append(
            problem(
                "tune.perturbation_interval" if t.perturbation_interval else "eval_freq",
                f"{name}'s first decision (evaluated step {t.perturbation_interval or cfg.eval_freq}) "
                f"must come before the last step ({cfg.steps}): lower it or raise steps",
                t.perturbation_interval or cfg.eval_freq,
            )
        )
    if not space:
        out.append(
            problem("tune.scheduler", f"{name} mutates the searched fields, and the search space has none", name)
        )
    if name == "pb2":
        for key, dist in space.items():
            if not isinstance(dist, (Float, Integer)):
                out.append(
                    problem(
                        key,
                        "pb2 mutates numbers within [low, high] only: use tune.uniform/loguniform/"
                        "randint here, or --tune.scheduler=pbt for choices",
                        describe(dist),
                    )
                )
        if not sklearn_available():
            out.append(
                problem(
                    "tune.scheduler",
                    "pb2 needs scikit-learn (Ray's PB2 fits its GP with it): install "
                    "the project again (pip install -c constraints.txt -e .), or use pbt",
                    name,
                )
            )
    out += shape_problems(space, cfg, config_of, name)
    return out


def shape_problems(space: dict[str, Any], cfg, config_of: Callable[[dict], Any], name: str) -> list[Problem]:
    """A searched field whose values change a weight's shape (dim_model, chunk_size, ...): an exploiting trial
    could not load its donor's weights. Shapes are compared on PyTorch's meta device (orchestrator/search/fine_tuning.py)."""
    features = _stand_in_features(cfg.policy)
    if features is None:
        return []  # a policy that none of the stand-in feature sets fits: left to the trials
    reference = _shapes(cfg.policy, features)
    base = {key: value_at(cfg, key) for key in space if key.startswith("policy.")}  # the default config's values
    return [
        problem(
            key,
            f"changes the shapes of the policy's weights (e.g. {tensor}) at {value!r}: {name} copies "
            "weights between trials, so it can only search fields that keep them (lr, dropout, kl_weight, "
            "optimizer.*, ...); fix this field or use --tune.scheduler=asha",
            describe(dist),
        )
        for key, value, tensor, dist in shape_changes(
            space, reference, lambda sample: _shapes(config_of(sample).policy, features), base
        )
    ]


def _shapes(policy, features: dict) -> dict[str, tuple[int, ...]]:
    """The weights' shapes of `policy` built on the meta device with `features` (the dataset's are not known before
    Ray: the policy's own if it has them, else stand-ins, the same for every value compared)."""
    import dataclasses

    inputs = {k: f for k, f in features.items() if k != "action"}
    return weight_shapes(
        dataclasses.replace(policy, input_features=inputs, output_features={"action": features["action"]})
    )


def _stand_in_features(policy) -> dict | None:
    if policy.input_features and policy.output_features:
        return {**policy.input_features, **policy.output_features}
    state, action = PolicyFeature(FeatureType.STATE, (2,)), PolicyFeature(FeatureType.ACTION, (2,))
    candidates = [
        {
            "observation.state": state,
            "observation.environment_state": PolicyFeature(FeatureType.ENV, (16,)),
            "action": action,
        },
        {
            "observation.state": state,
            "observation.image": PolicyFeature(FeatureType.VISUAL, (3, 96, 96)),
            "action": action,
        },
    ]
    for features in candidates:
        try:
            _shapes(policy, features)
            return features
        except (UserError, ValueError, RuntimeError):
            continue
    return None


def sklearn_available() -> bool:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return False
    return True


# ------------------------------------------------------------------------------------------------------ scheduler
def mutations(space: dict[str, Any]) -> dict[str, Any]:
    """PBT's hyperparam_mutations from the search space: numbers keep their Tune domain (scaled by 0.8/1.2, or
    redrawn); a choice or grid becomes a list (PBT moves to a neighbouring value, or redraws: a domain of strings
    could not be scaled)."""
    out = {}
    for key, dist in space.items():
        if isinstance(dist, Categorical):
            out[key] = list(dist.categories)
        elif isinstance(dist, dict) and "grid_search" in dist:
            out[key] = list(dist["grid_search"])
        else:
            out[key] = dist
    return out


class KeepInSpace:
    """PBT's custom_explore_fn: a scaled value is clipped to its distribution's bounds (Ray's PBT does not clip: a
    lr scaled by 1.2 twice leaves loguniform(1e-4, 1e-2)), and an int field stays an int (PB2 proposes floats)."""

    def __init__(self, space: dict[str, Any]):
        self.bounds = {
            k: (d.lower, d.upper - 1 if isinstance(d, Integer) else d.upper, isinstance(d, Integer))
            for k, d in space.items()
            if isinstance(d, (Float, Integer))
        }

    def __call__(self, config: dict) -> dict:
        for key, (low, high, integer) in self.bounds.items():
            if key in config and isinstance(config[key], (int, float)):
                value = min(max(config[key], low), high)
                config[key] = int(round(value)) if integer else float(value)
        return config


def make_scheduler(t, cfg, space: dict[str, Any]):
    """Ray's PopulationBasedTraining or PB2 for this sweep, with its state kept across `--tune.resume=true`."""
    # Tune then suggests `reuse_actors`: an exploit starts a new Train run anyway (trainables/exploit.py), and the
    # sweep does not reuse trial actors (orchestrator/sweep/tuner.py says why), so the advice does not apply here.
    warnings.filterwarnings("ignore", message="Consider boosting PBT performance", category=UserWarning)
    common = dict(
        time_attr=EVAL_STEP,
        perturbation_interval=t.perturbation_interval or cfg.eval_freq,
        quantile_fraction=t.quantile_fraction,
        custom_explore_fn=KeepInSpace(space),
        # Reports before a trial's first evaluation carry no eval/step and no eval metric: they are passed
        # over (_StateByTrialId.on_trial_result), so Ray's check would only warn about them.
        require_attrs=False,
        synch=False,
    )
    scheduler: _StateByTrialId
    if t.scheduler == "pb2":
        scheduler = PB2WithState(
            hyperparam_bounds={
                k: [d.lower, d.upper - 1 if isinstance(d, Integer) else d.upper] for k, d in space.items()
            },
            **common,
        )
    else:
        scheduler = PBTWithState(
            hyperparam_mutations=mutations(space), resample_probability=t.resample_probability, **common
        )
    scheduler.last_step = cfg.steps
    return scheduler


if TYPE_CHECKING:
    _SchedulerBase = PopulationBasedTraining  # what the mixin is mixed into (PB2 is one too)
else:
    _SchedulerBase = object


class _StateByTrialId(_SchedulerBase):
    """No decision at the last evaluated step, and save/restore for Ray's PBT (which has none: TrialScheduler.save raises NotImplementedError). Its per-trial
    state is keyed by Trial objects, which a restored Tuner recreates, so it is saved by trial id and put back on
    each trial as the restored controller adds it. A save still in flight (a future) is not kept: that trial is
    exploited from its next checkpoint."""

    _TRIAL_FIELDS = ("last_score", "last_checkpoint", "last_perturbation_time", "last_train_time", "last_result")
    _SKIP = ("_trial_state", "_restored_trial_state")

    def save(self, checkpoint_path: str) -> None:
        from ray.train._internal.session import _FutureTrainingResult

        trials = {}
        for trial, state in self._trial_state.items():
            fields = {k: getattr(state, k) for k in self._TRIAL_FIELDS}
            if isinstance(fields["last_checkpoint"], _FutureTrainingResult):
                fields["last_checkpoint"] = None
            trials[trial.trial_id] = fields
        own = {k: v for k, v in self.__dict__.items() if k not in self._SKIP}
        with open(checkpoint_path, "wb") as f:
            pickle.dump({"scheduler": own, "trials": trials}, f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            saved = pickle.load(f)
        self.__dict__.update(saved["scheduler"])
        self._restored_trial_state = dict(saved["trials"])
        for trial, state in self._trial_state.items():  # trials the controller added before the callbacks' restore
            self._put_back(trial, state)

    last_step: int | None = None  # the training budget: no decision at (or after) it, nothing would be left to train

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        if self._time_attr not in result or self._metric not in result:
            return TrialScheduler.CONTINUE  # before the first evaluation: nothing to decide on (Ray would log that)
        if self.last_step is not None and result[self._time_attr] >= self.last_step:
            return TrialScheduler.CONTINUE  # an exploit here would restart a run with no step left
        return super().on_trial_result(tune_controller, trial, result)

    def on_trial_add(self, tune_controller, trial) -> None:
        super().on_trial_add(tune_controller, trial)
        self._put_back(trial, self._trial_state[trial])

    def _put_back(self, trial, state) -> None:
        fields = getattr(self, "_restored_trial_state", {}).pop(trial.trial_id, None)
        for k, v in (fields or {}).items():
            setattr(state, k, v)


class PBTWithState(_StateByTrialId, PopulationBasedTraining):
    """Ray's PopulationBasedTraining, with its state saved by trial id."""


class PB2WithState(_StateByTrialId, PB2):
    """Ray's PB2 (it needs scikit-learn when built), with its state saved by trial id."""
