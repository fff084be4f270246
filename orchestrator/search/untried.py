"""A config is trained once: the Optuna searcher suggests only configs not evaluated yet.

"Evaluated" means a trial of this sweep (finished, stopped, infeasible, or still running; a resumed sweep's searcher
keeps them), or an earlier sweep's trial that `--tune.warm_start` found to be this sweep's very run (the same
concrete config, seed included: orchestrator/search/warm_start.py). A trial that failed is not evaluated: it may be tried
again. A new seed is a new config: with `--tune.repeats` each seed of a config is its own trial, and the searcher
sees the config once.

Why Optuna proposes a config twice: TPE starts with `n_startup_trials` seeded random samples, and told trials do not
move that random start (a warm start with the same seed draws the earlier sweep's configs again, value for value);
after it, TPE in a small discrete space keeps proposing the config it believes best. So a suggestion that repeats an
evaluated config is dropped (told to Optuna as failed, which its samplers leave out of what they learn) and Optuna is
asked again, up to REASKS times; then, in a space small enough to list, an untried config is chosen at random, and
when none is left the search ends (Tune's `Searcher.FINISHED`). A space too large to list (continuous) accepts the
repeat, with a line saying so: there a repeat after REASKS fresh draws is as good as impossible.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from typing import TYPE_CHECKING, Any

from ray.tune.search import Searcher

from orchestrator import terminal
from orchestrator.search.optuna_glue import asked_trials, distributions, study

if TYPE_CHECKING:
    _SearcherBase = Searcher  # what the mixin is mixed into: OptunaSearch, a Searcher
else:
    _SearcherBase = object

REASKS = 10  # fresh suggestions asked for before choosing an untried config another way
MAX_LISTED = 100_000  # a discrete space with more configs than this is not listed


def config_key(params: dict[str, Any]) -> str:
    """The sampled values as one comparable text (numbers as floats: 64 and 64.0 are one value; tuples as lists)."""
    return json.dumps(
        {k: float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for k, v in params.items()},
        sort_keys=True,
        default=str,
    )


def listed_configs(space: Any) -> list[dict[str, Any]] | None:
    """Every config of an Optuna space ({name: distribution}) when it is discrete and has at most MAX_LISTED; else
    None (a continuous field, a define-by-run space)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if not isinstance(space, dict) or not space:
        return None
    values: dict[str, list] = {}
    for name, d in space.items():
        if isinstance(d, CategoricalDistribution):
            values[name] = list(d.choices)
        elif isinstance(d, IntDistribution) and (d.high - d.low) // d.step < MAX_LISTED:
            values[name] = list(range(d.low, d.high + 1, d.step))
        elif isinstance(d, FloatDistribution) and d.step is not None and (d.high - d.low) / d.step < MAX_LISTED:
            values[name] = [i * d.step + d.low for i in range(round((d.high - d.low) / d.step) + 1)]
        else:
            return None
    if math.prod(len(v) for v in values.values()) > MAX_LISTED:
        return None
    return [dict(zip(values, combination)) for combination in itertools.product(*values.values())]


class SuggestsUntried(_SearcherBase):
    """Mixin for Ray's OptunaSearch (before it in the bases): `suggest` returns only configs not evaluated yet.
    `evaluated`: configs evaluated elsewhere (the warm start's runs of this sweep's very configs).

    Uses OptunaSearch's study, the Optuna trial asked for each Tune trial (this sweep's trials, kept across a resume)
    and its Optuna distributions, which Ray keeps private (optuna_glue.py)."""

    _evaluated_elsewhere: frozenset = frozenset()  # (class defaults: a searcher restored from an older save)
    _exhausted: bool = False

    def __init__(self, *args, evaluated: list[dict[str, Any]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._evaluated_elsewhere = frozenset(config_key(p) for p in evaluated or [])

    def suggest(self, trial_id: str):
        if trial_id in asked_trials(self):  # asked before (Tune asks again after a restore): the same config
            return super().suggest(trial_id)
        if self._exhausted:
            return Searcher.FINISHED
        for attempt in range(REASKS + 1):
            config = super().suggest(trial_id)
            asked = asked_trials(self)[trial_id]
            params, known = asked.params, self.evaluated_keys(besides=asked.number)
            if config_key(params) not in known:
                return config
            if attempt < REASKS:
                self._drop(trial_id)
        listed = listed_configs(distributions(self))
        if listed is None:
            terminal.say(
                f"optuna suggested configs already evaluated or running {REASKS + 1} times in a row: this "
                f"one is trained again: {params}"
            )
            return config
        self._drop(trial_id)
        untried = [c for c in listed if config_key(c) not in known]
        if not untried:
            terminal.say(
                f"every one of the {len(listed)} configs of the search space is evaluated or running: the "
                "search ends here (a config is trained once; more seeds: --tune.repeats)"
            )
            self._exhausted = True
            return Searcher.FINISHED
        # Optuna keeps choosing evaluated configs: an untried one at random (seeded by the study's length, so a
        # sweep replays the same), given to Optuna as its next trial.
        seed = len(study(self).get_trials(deepcopy=False))
        study(self).enqueue_trial(random.Random(seed).choice(untried))
        return super().suggest(trial_id)

    def evaluated_keys(self, besides: int | None = None) -> set[str]:
        """config_key of every config evaluated or being evaluated: this sweep's trials but failed ones (and the
        Optuna trial numbered `besides`: the suggestion being checked), and those evaluated elsewhere."""
        from optuna.trial import TrialState

        mine = {t.number for t in asked_trials(self).values()} - {besides}
        keys = set(self._evaluated_elsewhere)
        for t in study(self).get_trials(
            deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
        ):
            if t.number in mine:
                keys.add(config_key(t.params))
        return keys

    def _drop(self, trial_id: str) -> None:
        """Forget the suggestion for `trial_id`: told to Optuna as failed, which TPE and the random sampler leave out
        of what they learn (they read complete and pruned trials), so asking again draws anew."""
        from optuna.trial import TrialState

        trial = asked_trials(self).pop(trial_id)
        trial.set_user_attr("not_trained", "a config already evaluated or running: Optuna was asked again")  # (seen
        # in optuna-dashboard, which lists failed trials too)
        study(self).tell(trial, state=TrialState.FAIL)
