"""What a researcher reads after a sweep: the trials ranked by their best evaluated checkpoint (with intervals), which
trials the scheduler stopped and whether their interval overlapped the survivors', the confirmation of the top
candidates against the baseline on fresh episodes. Written as summary.json + report.md and printed to the terminal."""
from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from orchestrator import metrics as M
from orchestrator.results.candidates import Candidate, best_candidate, candidates_of, local_pretrained, report_history
from orchestrator.results.seeds import config_id_of, split_repeat_keys, spread


@dataclass
class TrialRow:
    trial_id: str
    status: str  # finished, stopped early (the scheduler), error, or infeasible (broke a constraint: not trained)
    params: dict[str, Any]  # the sampled fields
    metrics: dict[str, Any]  # the trial's last report
    best: Candidate | None  # its best evaluated checkpoint (for a non-eval metric: its last checkpoint)
    evaluations: list[Candidate] = field(default_factory=list)  # every evaluated checkpoint, by step
    seconds: float = 0.0  # wall time of the trial
    history: list[dict] = field(default_factory=list)  # every report, oldest first (Tune's result.json)
    config_id: str | None = None  # --tune.repeats: the sampled config this trial is one seed of
    repeat: int | None = None  # its repeat index (seed = the config's seed + repeat)
    violated: list[str] = field(default_factory=list)  # infeasible: the constraints it broke
    over_seeds: dict | None = None  # its config's spread over seeds (n, mean, std, min, max of `value`), set by rank

    def value(self, metric: str) -> float | None:
        """The trial's result: its best checkpoint's value for eval/ metrics, its last report's otherwise."""
        if M.is_eval_metric(metric):
            return self.best.value(metric) if self.best else None
        v = self.metrics.get(metric)
        return float(v) if isinstance(v, (int, float)) and not math.isnan(v) else None

    def summary(self) -> dict:
        return {"trial_id": self.trial_id, "status": self.status, "params": self.params, "seconds": self.seconds,
                "best_step": self.best.step if self.best else None,
                "best_metrics": self.best.metrics if self.best else None,
                "checkpoint_path": self.best.checkpoint_path if self.best else None,
                "evaluations": [{"step": c.step, **c.metrics} for c in self.evaluations],
                **({"config_id": self.config_id, "repeat": self.repeat, "over_seeds": self.over_seeds}
                   if self.config_id is not None else {}),
                **({"violated_constraints": self.violated} if self.violated else {}),
                "last_metrics": {k: v for k, v in self.metrics.items()
                                 if k not in (M.EVALUATIONS, M.EVALUATIONS_BEFORE)}}


def rows_of(result_grid, total_steps: int, metric: str, mode: str) -> list[TrialRow]:
    rows = []
    for r in result_grid:
        m = dict(r.metrics or {})
        status = "error" if r.error else ("finished" if m.get(M.STEP, 0) >= total_steps else "stopped early")
        # (an infeasible trial, which trained nothing, is labelled so by trial_row)
        rows.append(trial_row(m.get("trial_id", Path(r.path).name), status, dict(r.config or {}), report_history(r),
                              m, metric, mode))
    return rows


def trial_row(trial_id: str, status: str, params: dict, history: list[dict], last: dict, metric: str,
              mode: str) -> TrialRow:
    """One trial from its report history (Tune's result.json lines) and its last report."""
    config_id = config_id_of(params)
    params, repeat, _ = split_repeat_keys(params)
    if any(h.get(M.INFEASIBLE) for h in history) or last.get(M.INFEASIBLE):
        broken = next((h.get(M.VIOLATED) for h in history if h.get(M.INFEASIBLE)), None) or last.get(M.VIOLATED)
        return TrialRow(trial_id, "infeasible", dict(params), last, None, [], float(last.get("time_total_s", 0.0)),
                        history, config_id, repeat if config_id else None, list(broken or []))
    evaluations = candidates_of(history, trial_id, params)
    if M.is_eval_metric(metric):
        best = best_candidate(evaluations, metric, mode)
    else:  # train/ and val/ metrics describe the last report: its last checkpoint
        saved = [h for h in history if h.get(M.CHECKPOINT_PATH)]
        best = Candidate(trial_id, saved[-1][M.STEP], saved[-1], saved[-1][M.CHECKPOINT_PATH],
                         dict(params)) if saved else None
    return TrialRow(trial_id, status, dict(params), last, best, evaluations, float(last.get("time_total_s", 0.0)),
                    history, config_id, repeat if config_id else None)


def rank(rows: list[TrialRow], metric: str, mode: str) -> list[TrialRow]:
    """Best first; trials without the metric last. With repeats (rows with a config id), configs are ranked by the
    mean of their seeds' values, each config's seeds together, best seed first; each row gets its config's spread."""
    sign = -1 if mode == "max" else 1
    groups: dict[str, list[float]] = {}
    for r in rows:
        if r.config_id is not None and (value := r.value(metric)) is not None:
            groups.setdefault(r.config_id, []).append(value)
    stats = {cid: spread(values) for cid, values in groups.items()}
    for r in rows:
        r.over_seeds = stats.get(r.config_id) if r.config_id is not None else None

    def key(r: TrialRow):
        own = (r.value(metric) is None, sign * (r.value(metric) or 0.0))
        if r.config_id is None:
            return (*own, "", *own)
        mean = stats[r.config_id]["mean"] if r.config_id in stats else None
        return (mean is None, sign * (mean or 0.0), r.config_id, *own)

    return sorted(rows, key=key)


def config_summaries(rows: list[TrialRow]) -> list[dict]:
    """One entry per sampled config of a repeated sweep, in rank order: its params, trials, seeds and spread."""
    out: dict[str, dict] = {}
    for r in rows:
        if r.config_id is None:
            continue
        entry = out.setdefault(r.config_id, {"config_id": r.config_id, "params": r.params, "trials": [],
                                             "repeats": [], "over_seeds": r.over_seeds, "status": []})
        entry["trials"].append(r.trial_id)
        entry["repeats"].append(r.repeat)
        entry["status"].append(r.status)
    return list(out.values())


def headline_metric(rows: list[TrialRow]) -> str:
    """Success rate once any trial succeeds at all; until then the average max reward tells trials apart."""
    return M.EVAL_SUCCESS if any((r.value(M.EVAL_SUCCESS) or 0) > 0 for r in rows) else M.EVAL_AVG_MAX_REWARD


def scheduler_stops(rows: list[TrialRow]) -> list[dict]:
    """Each trial the scheduler stopped: the rung (its last evaluated step), its success interval there, and how many
    of the trials that went on past that rung had an interval overlapping it (a stop the noise could explain)."""
    stops = []
    for row in rows:
        if row.status != "stopped early" or not row.evaluations:
            continue
        at = row.evaluations[-1]
        survivors = [r for r in rows if r is not row and any(c.step > at.step for c in r.evaluations)]
        peers = [c for r in survivors for c in r.evaluations if c.step == at.step]
        overlapping = [c for c in peers if _overlap(_ci(c), _ci(at))]
        stops.append({"trial_id": row.trial_id, "rung": at.step, "success": at.value(M.EVAL_SUCCESS),
                      "success_ci95": _ci(at), "survivors": len(peers), "overlapping": len(overlapping)})
    return stops


def _ci(c: Candidate) -> tuple[float, float]:
    return c.metrics.get(M.EVAL_SUCCESS_LOW, 0.0), c.metrics.get(M.EVAL_SUCCESS_HIGH, 1.0)


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _success_cell(c: Candidate | None) -> str:
    if c is None or c.value(M.EVAL_SUCCESS) is None:
        return "-"
    low, high = _ci(c)
    return f"{c.value(M.EVAL_SUCCESS):.0%} [{low:.0%}, {high:.0%}]"


def _columns(rows: list[TrialRow], metric: str | list[str]) -> tuple[list[str], list[list[str]]]:
    """The table's columns and cells; `metric`: the ranking metric, or every objective (the first ranks)."""
    metrics = [metric] if isinstance(metric, str) else list(metric)
    params = sorted({k for r in rows for k in r.params})
    repeated = any(r.config_id is not None for r in rows)
    seeds = ["config", "seed #"] if repeated else []
    spread_cols = [f"mean {metrics[0]} over seeds", "std", "min - max"] if repeated else []
    cols = ["#", "trial", "status", *seeds, *params, *metrics, *spread_cols, "success [95% CI]", "best step",
            M.TRAIN_LOSS, "minutes"]
    body = []
    for i, r in enumerate(rows, 1):
        status = f"{r.status} ({'; '.join(r.violated)})" if r.violated else r.status
        s = r.over_seeds
        body.append([str(i), r.trial_id, status,
                     *([_fmt(r.config_id), _fmt(r.repeat)] if repeated else []),
                     *[_fmt(r.params.get(p)) for p in params], *[_fmt(r.value(m)) for m in metrics],
                     *([_fmt(s["mean"]), _fmt(s["std"]), f"{_fmt(s['min'])} - {_fmt(s['max'])}"] if s
                       else ["-"] * len(spread_cols)),
                     _success_cell(r.best), _fmt(r.best.step if r.best else None), _fmt(r.metrics.get(M.TRAIN_LOSS)),
                     f"{r.seconds / 60:.1f}"])
    return cols, body


def markdown_table(rows: list[TrialRow], metric: str | list[str]) -> str:
    cols, body = _columns(rows, metric)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    return "\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in body])


def print_table(rows: list[TrialRow], metric: str | list[str], console: Console) -> None:
    cols, body = _columns(rows, metric)
    first = metric if isinstance(metric, str) else metric[0]
    table = Table(title=f"Trials ranked by {first} (each at its best evaluated checkpoint)")
    for col in cols:
        table.add_column(col, justify="left" if col in ("trial", "status") else "right")
    for cells in body:
        table.add_row(*cells)
    if console.is_terminal:
        console.print(table)
        return
    # Whole on a file or a pipe (as under `ray job submit`): its natural width, not the console's default (rich caps
    # print's width at the console's)
    width = console.width
    console.width = max(width, Measurement.get(console, console.options.update(width=10_000), table).maximum)
    try:
        console.print(table)
    finally:
        console.width = width


def _fmt(v: Any) -> str:
    if isinstance(v, float) and v.is_integer() and 1e4 <= abs(v) < 1e15:  # a count read back as a float
        return str(int(v))
    if isinstance(v, float):
        return f"{v:.4g}"
    return "-" if v is None else str(v)


def _upper(text: str) -> str:
    return text[0].upper() + text[1:] if text else text


def confirmation_markdown(c: dict | None, seeds: dict | None = None) -> list[str]:
    """report.md's confirmation and seeds sections, from summary.json's `confirmation` and `seed_spread` (older
    summaries, without the paired decision, give what they hold)."""
    if not c:
        return []
    lines = [f"## Confirmation on {c['n_episodes']} fresh episodes (seeds {c['first_seed']}.."
             f"{c['first_seed'] + c['n_episodes'] - 1})", ""]
    if c.get("stopping"):
        lines += [f"{_upper(c['stopping'])}; {c['family']}.", ""]
    versus = (c.get("decision") or {}).get("versus", {})
    top = (c.get("decision") or {}).get("top")
    points = (c.get("decision") or {}).get("metric", M.EVAL_SUCCESS) not in (M.EVAL_AVG_SUM_REWARD,
                                                                             M.EVAL_AVG_MAX_REWARD)

    def against(label: str) -> str:
        v = versus.get(label)
        if v is None:
            return "-"
        scale, unit = (100, " pts") if points else (1, "")
        return (f"{scale * v['difference']:+.3g}{unit} [{scale * v['ci'][0]:+.3g}, {scale * v['ci'][1]:+.3g}] "
                f"({v['status']})")

    extra = [f"{top} - it (paired)"] if versus else []
    lines += ["| " + " | ".join(["candidate", "step", "success", "95% CI", "avg max reward", *extra]) + " |",
              "|" + "---|" * (5 + len(extra))]
    lines += [f"| {x['label']}{' (winner)' if x['label'] == c['winner'] else ''} | {x['step']} | "
              f"{x['success']:.1%} ({x['successes']}/{x['n_episodes']}) | {x['success_ci95'][0]:.1%} - "
              f"{x['success_ci95'][1]:.1%} | {x['avg_max_reward'][0]:.3f} |"
              + (f" {against(x['label'])} |" if versus else "") for x in c["candidates"]]
    if c.get("choice"):
        lines += ["", (f"**Not evidence: {c['choice']}.**" if c.get("distinguishable") is False
                       else f"The winner: {c['choice']}.")]
    if c.get("comparison"):
        lines += ["", f"**{_upper(c['comparison'])}**"]
    lines.append("")
    if seeds:
        lines += seeds_markdown(seeds)
    return lines


def seeds_markdown(s: dict) -> list[str]:
    """report.md's section on --tune.confirm_seeds: each config's seeds, the comparison over seeds, best/'s seed."""
    metric = s.get("metric", M.EVAL_SUCCESS)
    lines = ["## The winner's config and the default config over training seeds", "",
             f"| config | seed | success | {metric} | episodes |", "|---|---|---|---|---|"]
    for name, runs in (("winner's config", s), ("default config", s.get("default"))):
        if not runs:
            continue
        values = runs.get("values") or runs["success"]
        episodes = runs.get("n_episodes") or ["-"] * len(values)
        lines += [f"| {name} | {seed} | {success:.1%} | {_fmt(value)} | {n} |"
                  for seed, success, value, n in zip(runs["seeds"], runs["success"], values, episodes)]
    versus = s.get("versus_default")
    lines += ["", f"**{_upper(versus['sentence'])}**" if versus else
              "The default config was not retrained, so the configs are not compared over seeds."]
    if s.get("best"):
        lines += ["", f"{s['best']['rule']}."]
    return lines + [""]


def export_best(candidate: Candidate, folder: Path) -> Path:
    """Copy a checkpoint's pretrained_model (config.json, model.safetensors, train_config.json) to `folder`."""
    if folder.exists():
        shutil.rmtree(folder)
    assert candidate.checkpoint_path is not None, "the best candidate's checkpoint was committed"
    shutil.copytree(local_pretrained(candidate.checkpoint_path), folder)
    return folder


def write_summary(path: Path, **content: Any) -> None:
    path.write_text(json.dumps(content, indent=2, default=str))
