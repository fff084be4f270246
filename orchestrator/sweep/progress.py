"""The live table of a sweep's trials and each report's log line: a Tune callback in the driver (see terminal.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ray.tune import Callback
from rich import box
from rich.table import Table
from rich.text import Text

from orchestrator import metrics as M
from orchestrator.experiment_layout import BASELINE, BASELINE_SEEDS, ERROR, SEEDS, TRIALS
from orchestrator.formatting import log_line
from orchestrator.terminal import console, live_update, say_and_log, stop_live, verbose


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "-" if v is None else str(v)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return (
        f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        if seconds >= 3600
        else f"{seconds // 60}:{seconds % 60:02d}"
    )


def _success_cell(m: dict) -> str:
    if M.EVAL_SUCCESS not in m:
        return "-"
    return f"{m[M.EVAL_SUCCESS]:.0%} [{m[M.EVAL_SUCCESS_LOW]:.0%}, {m[M.EVAL_SUCCESS_HIGH]:.0%}]"


def _header(param: str, params: list[str]) -> str:
    """A searched field's column header: its name (`dim model`), with its type in a conditional space
    (`act.dim model` for policy.act.dim_model, beside `policy.type`)."""
    parts = param.split(".")
    conditional = len(parts) > 2 and ".".join(parts[:-2]) + ".type" in params
    return (".".join(parts[-2:]) if conditional else parts[-1]).replace("_", " ")


class _Row:
    def __init__(self, trial_id: str, params: dict, label: str | None = None):
        self.trial_id, self.params = trial_id, params
        self.label = label or trial_id  # how the log lines and the table name it
        self.status, self.step = "PENDING", 0
        self.metrics: dict = {}
        self.first: tuple[float, int] | None = None  # (time, step) of the first report of this attempt
        self.last_time: float | None = None
        self.replayed = False  # reports told again after a stop were announced


def _label(row: _Row) -> str:
    return getattr(row, "label", row.trial_id)  # (a row pickled by an older version lacks it)


class SweepProgress(Callback):
    """A Tune callback: the live table of the trials (refreshed in place on a terminal) and each report's log line,
    both also written to `log_path` (plain text). Picklable: Tune saves it with the experiment, and a resumed sweep
    uses the saved one; the live display is module state."""

    def __init__(
        self,
        title: str,
        params: list[str],
        total_steps: int,
        metric: str | list[str],
        log_path: str | None,
        kind: str = TRIALS,
    ):
        self.title, self.params, self.total_steps, self.log_path = title, list(params), total_steps, log_path
        self.kind = kind  # trials, baseline (named so, not by Tune's id), seeds or baseline_seeds (by their seed)
        self.metric = metric  # the sweep's metric, or its objectives
        self.rows: dict[str, _Row] = {}
        self.started = time.time()
        self.total_trials = 0

    # ---- Tune's hooks (called in the driver's main thread) ----
    def setup(self, stop=None, num_samples: int | None = None, total_num_samples: int | None = None, **info) -> None:
        self.started = time.time()
        self.total_trials = total_num_samples or 0

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        row = self._row(trial)
        row.status, row.first = "RUNNING", None
        self._refresh(trials)

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        row = self._row(trial)
        now, step = time.time(), int(result.get(M.STEP, 0))
        row.status, row.step, row.metrics, row.last_time = "RUNNING", step, dict(result), now
        if result.get(M.INFEASIBLE):  # broke a constraint: the trial reports this once and trains nothing
            row.status = "INFEASIBLE"
            self._say(f"{_label(row)} infeasible, not trained: breaks {', '.join(result.get(M.VIOLATED) or [])}")
            self._refresh(trials)
            return
        if result.get(M.REPLAYED):  # not trained now: the last reports before a stop Tune had not saved
            if not getattr(row, "replayed", False):  # (a row pickled by an older version lacks it)
                self._say(
                    f"{_label(row)} restarted: its checkpointed reports from step {step} on, which Tune's saved "
                    f"record lacks (saved every few seconds), are told again"
                )
            row.replayed = True
            self._refresh(trials)
            return
        if row.first is None or step < row.first[1]:
            row.first = (now, step)
        if M.TRAIN_LOSS in result:
            self._say(f"{_label(row)} {log_line(result)}")
        self._refresh(trials)

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        row = self._row(trial)
        if row.status == "INFEASIBLE":
            self._refresh(trials)
            return
        row.status = "DONE" if row.step >= self._total(trial) else "STOPPED"
        self._say(
            f"{_label(row)} {'finished' if row.status == 'DONE' else 'stopped by the scheduler'} at step {row.step}"
        )
        self._refresh(trials)

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        row = self._row(trial)
        row.status = "ERROR"
        path = Path(trial.path) / ERROR if getattr(trial, "path", None) else None
        self._say(f"{_label(row)} failed (attempt {trial.num_failures}): see {path or 'the trial folder'}")
        self._refresh(trials)

    def on_trial_recover(self, iteration, trials, trial, **info) -> None:
        row = self._row(trial)
        row.status = "RETRYING"
        self._say(f"{_label(row)} failed (attempt {trial.num_failures}); retrying from its last checkpoint")
        self._refresh(trials)

    def on_experiment_end(self, trials, **info) -> None:
        stop_live()

    # ---- helpers ----
    def _row(self, trial) -> _Row:
        if trial.trial_id not in self.rows:
            config = dict(trial.config or {})
            kind = getattr(self, "kind", TRIALS)  # (a callback pickled by an older version lacks it)
            label = (
                "baseline"
                if kind == BASELINE
                else f"seed {config.get('seed')}"
                if kind == SEEDS
                else f"baseline seed {config.get('seed')}"
                if kind == BASELINE_SEEDS
                else None
            )
            self.rows[trial.trial_id] = _Row(trial.trial_id, {p: config.get(p) for p in self.params}, label)
        return self.rows[trial.trial_id]

    def _total(self, trial) -> int:
        return int((trial.config or {}).get("steps", self.total_steps))

    def _eta(self, row: _Row, total: int) -> float | None:
        if row.status != "RUNNING" or row.first is None or row.last_time is None or row.step <= row.first[1]:
            return None
        rate = (row.step - row.first[1]) / max(1e-9, row.last_time - row.first[0])
        return (total - row.step) / rate

    def _say(self, text: str) -> None:
        say_and_log(text, self.log_path)

    def _refresh(self, trials) -> None:
        if verbose() or not console().is_terminal:
            return  # Ray prints its own status (--verbose); a file or a pipe gets the log lines only
        live_update(self.table(trials))

    def table(self, trials, width: int | None = None) -> Table:
        """The live table: every trial with its searched values, progress, loss, last evaluation and ETA (the searched
        values are left out when the terminal is too narrow for them)."""
        for trial in trials:
            self._row(trial)
        by_id = {t.trial_id: t for t in trials}
        metrics = self.metric if isinstance(self.metric, list) else [self.metric]
        extra = [m for m in metrics if m not in (M.EVAL_SUCCESS, M.TRAIN_LOSS)]
        # (header, width); headers wrap at spaces, cells never wrap
        columns = [
            ("trial", max([9] + [len(_label(r)) + 1 for r in self.rows.values()])),
            ("status", max([9] + [len(r.status) + 1 for r in self.rows.values()])),
        ]
        for p in self.params:
            header = _header(p, self.params)
            columns.append(
                (
                    header,
                    max([len(_fmt(r.params.get(p))) for r in self.rows.values()] + [len(w) for w in header.split()]),
                )
            )
        columns += [
            ("step", 4),
            ("loss", 4),
            ("eval@", 5),
            ("success [95% CI]", 7),
            *((e.rsplit("/", 1)[-1].replace("_", " "), 6) for e in extra),
            ("eta", 3),
        ]

        def cells_of(row, params) -> list[str]:
            total = self._total(by_id[row.trial_id]) if row.trial_id in by_id else self.total_steps
            m = row.metrics
            return [
                _label(row),
                row.status,
                *(_fmt(row.params.get(p)) for p in params),
                f"{row.step}/{total}",
                _fmt(m.get(M.TRAIN_LOSS)),
                _fmt(m.get(M.EVAL_STEP)),
                _success_cell(m),
                *(_fmt(m.get(e)) for e in extra),
                _duration(self._eta(row, total)),
            ]

        params = self.params
        body = [cells_of(row, params) for row in self.rows.values()]
        widths = [max([w] + [len(cells[i]) for cells in body]) for i, (_, w) in enumerate(columns)]  # cells fit
        if sum(w + 2 for w in widths) > (width or console().width):  # too wide: the searched values go
            columns, params = columns[:2] + columns[2 + len(self.params) :], []
            widths = widths[:2] + widths[2 + len(self.params) :]
            body = [cells_of(row, params) for row in self.rows.values()]
        done = sum(r.status in ("DONE", "STOPPED", "INFEASIBLE") for r in self.rows.values())
        table = Table(
            title=f"{self.title}: {done} of {max(self.total_trials, len(self.rows))} done, "
            f"{_duration(time.time() - self.started)} elapsed",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            collapse_padding=True,
            show_edge=False,
        )
        for i, ((header, _), w) in enumerate(zip(columns, widths)):
            table.add_column(header, justify="left" if i < 2 else "right", width=w)
        for cells in body:
            table.add_row(*(Text(c, no_wrap=True, overflow="ellipsis") for c in cells))
        return table
