"""Which searched parameters mattered: Optuna's parameter importance (PED-ANOVA in Optuna 5) over an experiment's
finished trials, for the HTML report (orchestrator/report/html.py). Needs no Ray: an in-memory study is rebuilt from
the experiment's folder."""

from __future__ import annotations

import warnings

from orchestrator.runtime.experiment import Experiment, choice_value, finite


def param_importances(exp: Experiment) -> tuple[dict[str, float] | None, str]:
    """Optuna's (PED-ANOVA) importances over the finished trials, from an in-memory study; (None, why) if impossible."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    scored = [
        (r, value) for r in exp.rows if r.status == "finished" and (value := finite(r.value(exp.metric))) is not None
    ]
    finished = [r for r, _ in scored]
    names = [n for n in exp.space if all(n in r.params for r in finished)]
    if len(finished) < 2:
        return None, (
            f"{len(finished)} finished trial(s) with {exp.metric}; importance needs at least 2 (trials "
            "the scheduler stopped are left out: their result is from a shorter run)"
        )
    distributions: dict[str, optuna.distributions.BaseDistribution] = {}
    for n in names:
        spec, seen = exp.space[n], [r.params[n] for r in finished]
        if spec.get("kind") == "categorical":
            choices = [choice_value(v) for v in spec.get("choices", [])]
            choices += [v for v in map(choice_value, seen) if v not in choices]
            distributions[n] = CategoricalDistribution(choices)
        else:
            low = min([spec.get("low", min(seen))] + seen)
            high = max([spec.get("high", max(seen))] + seen)
            if spec.get("kind") == "int":
                distributions[n] = IntDistribution(int(low), int(high), log=bool(spec.get("log")) and low >= 1)
            else:
                distributions[n] = FloatDistribution(float(low), float(high), log=bool(spec.get("log")) and low > 0)
    varied = [n for n in names if len({repr(choice_value(r.params[n])) for r in finished}) > 1]
    if not varied:
        return None, "no searched parameter took more than one value among the finished trials"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize" if exp.mode == "max" else "minimize")
    for r, value in scored:
        study.add_trial(
            optuna.trial.create_trial(
                value=value,
                distributions={n: distributions[n] for n in names},
                params={
                    n: choice_value(r.params[n]) if exp.space[n].get("kind") == "categorical" else r.params[n]
                    for n in names
                },
            )
        )
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            importances = optuna.importance.get_param_importances(study, params=varied)  # Optuna 5: PED-ANOVA
    except (ValueError, RuntimeError) as e:
        return None, f"Optuna could not assess them: {e}"
    if any("importances will be equal" in str(w.message) for w in caught):  # too few trials: not a finding
        return None, (
            f"too few finished trials ({len(finished)}) for Optuna's PED-ANOVA to tell the parameters "
            "apart (its top and region quantiles hold the same trials)"
        )
    return dict(importances), f"over the {len(finished)} finished trials"
