"""What the sweep's searcher needs of Ray's OptunaSearch and Repeater that Ray keeps private: the Optuna study behind
the searcher, the Optuna trial asked for each Tune trial, and the group of a config's repeated trials.

Ray 2.60 offers no public access to any of them, and what we add to its searcher needs them: a config is suggested
once (untried.py), an infeasible config is told to Optuna as such (constraints.py), a resumed trial's steps are told
once (algorithms.py), and each seed of a repeated config knows the config's id (repeats.py). Reaching into another
library's private state is fragile, so it happens here only, one function per attribute, each saying what it relies
on; tests/unit/test_optuna_glue.py fails first when a new Ray (or Optuna) renames one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna


def study(searcher: Any) -> optuna.Study:
    """The Optuna study an OptunaSearch asks and tells."""
    # OptunaSearch._ot_study: created in its setup (a space given, or set_search_properties). Asked directly to list
    # its trials, to enqueue an untried config and to tell a trial that OptunaSearch's own calls would not tell.
    return searcher._ot_study


def asked_trials(searcher: Any) -> dict[str, optuna.Trial]:
    """Tune trial id -> the Optuna trial an OptunaSearch asked for it: its own dict (a suggestion dropped is popped
    from it, so OptunaSearch forgets it too)."""
    # OptunaSearch._ot_trials: filled by suggest, kept by save/restore (a resumed sweep's searcher knows its trials).
    return searcher._ot_trials


def told_trials(searcher: Any) -> set[str]:
    """The Tune trial ids whose outcome an OptunaSearch has told the study: its own set (a trial told elsewhere is
    added, so OptunaSearch passes over its later reports instead of telling a finished Optuna trial again)."""
    # OptunaSearch._completed_trials: on_trial_complete adds to it; it and on_trial_result skip the trials in it.
    return searcher._completed_trials


def distributions(searcher: Any) -> Any:
    """The space an OptunaSearch samples: {name: Optuna distribution}, or a define-by-run function."""
    # OptunaSearch._space: the Tune space converted by set_search_properties (or given in Optuna's terms).
    return searcher._space


def intermediate_values(ot_trial: optuna.Trial) -> dict[int, float]:
    """The values already reported for an asked Optuna trial, by step (read from the study's storage)."""
    # optuna.Trial._trial_id (Optuna 5.0): the trial's id in the storage. A Trial has no public getter of what was
    # reported; study.get_trials would copy every trial of the study for each report.
    return ot_trial.storage.get_trial(ot_trial._trial_id).intermediate_values


def config_group(repeater: Any, trial_id: str) -> Any:
    """The group of trials of one config that a Repeater made for a Tune trial (Ray's _TrialGroup: the config's first
    trial, primary_trial_id, and their scores); None for a trial it does not know."""
    # Repeater._trial_id_to_group: filled by suggest, kept by get_state/set_state (repeats.py saves it).
    return repeater._trial_id_to_group.get(trial_id)
