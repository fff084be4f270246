"""--tune.confirm_seeds: the winner's config retrained with more seeds, beside the default config over the same
seeds, each confirmed on the same fresh episodes; best/ is the config's median seed."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from rich.console import Console

from orchestrator import metrics as M
from orchestrator.experiment_layout import BASELINE_SEEDS, SEEDS
from orchestrator.results.confirmation import compared_metric, median_seed, score, versus_default, words
from orchestrator.results.confirmed import Confirmed
from orchestrator.results.paired import OverSeeds
from orchestrator.results.rows import TrialRow, rows_of
from orchestrator.sweep.confirm import confirm
from orchestrator.sweep.confirm_top import write_eval_infos
from orchestrator.sweep.prepare import PreparedSweep
from orchestrator.sweep.rank import checkpoint_of
from orchestrator.sweep.tuner import retrain_with_seeds


@dataclass
class Seeds:
    """--tune.confirm_seeds: the winner's config and the default config over the same training seeds."""

    config: list[Confirmed]  # the winner's config, one per seed (the search's seed first)
    config_rows: list[TrialRow]  # the same order
    default: list[Confirmed]  # the default config, one per seed (its search-time baseline first)
    versus: OverSeeds | None  # config - default over seeds (None: no baseline)
    representative: Confirmed  # best/: the config's median seed
    representative_row: TrialRow
    summary: dict


def seed_of(row: TrialRow, default_seed: int) -> int:
    """A run's training seed: the one it was given (a seed retrain), else the base seed plus its repeat index."""
    return int(row.params.get("seed", default_seed)) + (row.repeat or 0)


def new_seeds(taken: set[int], first: int, count: int) -> list[int]:
    """`count` seeds from `first` on that no run of the config has trained with."""
    out: list[int] = []
    seed = first
    while len(out) < count:
        if seed not in taken:
            out.append(seed)
        seed += 1
    return out


def confirm_seeds(
    prepared: PreparedSweep,
    ranked: list[TrialRow],
    winner: TrialRow,
    winner_confirmed: Confirmed,
    baseline: TrialRow | None,
    baseline_confirmed: Confirmed | None,
    console: Console,
) -> Seeds:
    """Retrain the winner's config with tune.confirm_seeds more seeds, and the default config with every seed the
    winner's config has (its search seeds too, with --tune.repeats); confirm each on the same fresh episodes; compare
    the two configs over seeds; pick the config's median seed for best/."""
    t, cfg = prepared.tune_cfg, prepared.default_cfg
    metric, mode = t.rank_metric, t.rank_mode
    siblings = [
        r
        for r in ranked
        if r is not winner
        and winner.config_id is not None
        and r.config_id == winner.config_id
        and r.best
        and r.best.checkpoint_path
    ]  # --tune.repeats
    taken = {seed_of(winner, cfg.seed), *(seed_of(r, cfg.seed) for r in siblings)}
    seeds = new_seeds(taken, cfg.seed + 1, t.confirm_seeds)
    config_seeds = [seed_of(winner, cfg.seed), *(seed_of(r, cfg.seed) for r in siblings), *seeds]
    # the default config's seed, when it was confirmed: it is retrained with the config's other seeds
    baseline_seed = seed_of(baseline, cfg.seed) if baseline_confirmed is not None and baseline is not None else None
    default_seeds = [s for s in config_seeds if s != baseline_seed] if baseline_seed is not None else []
    console.print(
        f"\nRetraining the winner's config with seeds {seeds}"
        + (f" and the default config with seeds {default_seeds}" if default_seeds else "")
        + " ..."
    )
    retrained = retrain(prepared, winner.params, seeds, SEEDS)
    default_rows = retrain(prepared, {}, default_seeds, BASELINE_SEEDS) if default_seeds else []
    entries = [(r.trial_id, checkpoint_of(r)) for r in siblings] + [
        (f"seed_{seed_of(r, cfg.seed)}", checkpoint_of(r)) for r in retrained
    ]
    entries += [(f"baseline_seed_{seed_of(r, cfg.seed)}", checkpoint_of(r)) for r in default_rows]
    confirmed = {c.label: c for c in confirm(cfg, entries, t.confirm_episodes, t.confirm_seed)}
    write_eval_infos(prepared, list(confirmed.values()))

    config = [winner_confirmed] + [confirmed[label] for label, _ in entries[: len(siblings) + len(retrained)]]
    config_rows = [winner, *siblings, *retrained]
    default = (
        [baseline_confirmed] + [confirmed[label] for label, _ in entries[len(siblings) + len(retrained) :]]
        if baseline_confirmed is not None and baseline_seed is not None
        else []
    )
    versus = versus_default(config, default, metric) if default else None
    representative = median_seed(config, metric, mode)
    row = config_rows[config.index(representative)]
    compared = compared_metric(metric)
    rule = (
        f"best/ holds seed {seed_of(row, cfg.seed)} ({row.trial_id}): the median of the config's {len(config)} "
        f"seeds by confirmed {words(compared)} ({score(representative, compared):.3g}; for an even count the "
        "lower of the two middle ones), a typical seed of the config rather than its luckiest"
    )
    summary = _seed_summary([seed_of(r, cfg.seed) for r in config_rows], config, compared)
    summary["default"] = (
        _seed_summary([baseline_seed] + [seed_of(r, cfg.seed) for r in default_rows], default, compared)
        if default and baseline_seed is not None
        else None
    )
    sentence = (
        versus.sentence(
            "the winner's config", "the default config", words(compared), mode if compared == metric else "max"
        )
        if versus
        else None
    )
    summary["versus_default"] = (
        {**versus.to_dict(), "beats": versus.better(mode if compared == metric else "max"), "sentence": sentence}
        if versus
        else None
    )
    summary["best"] = {
        "seed": seed_of(row, cfg.seed),
        "label": representative.label,
        "trial_id": row.trial_id,
        "rule": rule,
    }
    console.print(f"  the winner's config over seeds {summary['seeds']}: {_seed_values(summary)}")
    if summary["default"]:
        console.print(
            f"  the default config over seeds {summary['default']['seeds']}: {_seed_values(summary['default'])}"
        )
    if sentence:
        console.print(f"  [bold]{sentence[0].upper() + sentence[1:]}[/bold]")
    console.print(f"  {rule}")
    return Seeds(config, config_rows, default, versus, representative, row, summary)


def retrain(prepared: PreparedSweep, params: dict, seeds: list[int], name: str) -> list[TrialRow]:
    """The config `params` retrained with `seeds` (the Tune experiment `name`): its runs that kept a checkpoint."""
    if not seeds:
        return []
    t, cfg = prepared.tune_cfg, prepared.default_cfg
    rows = rows_of(retrain_with_seeds(prepared, params, seeds, name), cfg.steps, t.rank_metric, t.rank_mode)
    return [r for r in rows if r.best and r.best.checkpoint_path]


def _seed_summary(seeds: list[int], runs: list[Confirmed], metric: str) -> dict:
    """Seeds, labels, confirmed success (mean, std) and the compared metric's value of each seed."""
    success = [c.success for c in runs]
    values = [score(c, metric) for c in runs]
    return {
        "seeds": seeds,
        "labels": [c.label for c in runs],
        "success": success,
        "mean": statistics.mean(success),
        "std": statistics.stdev(success) if len(success) > 1 else 0.0,
        "n_episodes": [c.n_episodes for c in runs],
        "metric": metric,
        "values": values,
        "values_mean": statistics.mean(values),
    }


def _seed_values(s: dict) -> str:
    if s["metric"] == M.EVAL_SUCCESS:
        return f"success {', '.join(f'{v:.0%}' for v in s['success'])} (mean {s['mean']:.1%}, std {s['std']:.1%})"
    return (
        f"{words(s['metric'])} {', '.join(f'{v:.3g}' for v in s['values'])} (mean {s['values_mean']:.3g}); "
        f"success {', '.join(f'{v:.0%}' for v in s['success'])}"
    )
