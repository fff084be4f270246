"""Replay a sweep strategy through a recorded table in simulated time, driving the project's own decision code.

The searcher and the scheduler are the objects a sweep builds (`orchestrator.search.algorithms`), with the same
settings, told the same results in the same shapes (`eval/step`, `eval/success`, `step`) through the same Tune APIs
(`suggest`, `on_trial_result`, `on_trial_complete`). Only Ray is missing: time is simulated.

One replay, at a given concurrency (trials running at once, each with its Train worker and its evaluator):
- its random split of every checkpoint's recorded episodes into a search pool and a confirmation pool (by seed,
  the same split for every config, so configs are compared on the same episodes as in a sweep);
- a trial trains at its config's measured seconds per step; at each evaluation step its evaluator (one per trial,
  first come first served, running beside training) draws the strategy's episodes from the checkpoint's search
  pool (in stages when the strategy stages them), taking their measured seconds; the result reaches the scheduler
  with the trial's next report, so ASHA's decisions arrive as late as they do live;
- when the compute spent reaches each budget point, the candidates known then (each trial's best evaluated
  checkpoint) are confirmed as a sweep confirms them, on the confirmation pool, and the winner's true success is
  read from the table.
Compute is CPU-seconds: training (start-up included) plus evaluation episodes, each at its measured seconds.
"""

from __future__ import annotations

import contextlib
import heapq
import io
import logging
import math
from dataclasses import dataclass, field

import numpy as np

from benchmarks.tabular.table import Config, Table
from orchestrator import metrics as M

# What a replay reports; ASHA and Optuna see the metric under the product's names.
METRIC = M.EVAL_SUCCESS


@dataclass(frozen=True)
class Strategy:
    """A sweep's settings that decide what is trained and evaluated: the TuneConfig / EvalConfig fields of the same
    names, plus `sequential` (staged evaluation that stops once it has decided)."""

    name: str
    search: str = "optuna"  # tune.search: optuna (TPE) or random
    scheduler: str = "asha"  # tune.scheduler: asha or none
    n_episodes: int = 20  # eval.n_episodes: episodes per evaluation (the first; see growth)
    growth: float = 1.0  # eval.n_episodes_growth
    reduction_factor: int = 2  # tune.reduction_factor (ASHA)
    tpe_startup: int = 10  # tune.tpe_startup_trials
    grace_period: int = 0  # tune.grace_period (ASHA); 0: the first evaluation
    confirm_top_k: int = 3  # tune.confirm_top_k
    confirm_episodes: int = 50  # tune.confirm_episodes (capped by the confirmation pool)
    confirm_stage: int = 10  # tune.confirm_stage_episodes: confirmation in stages that stop once decided; 0: at once
    stage: int = 0  # eval.stage_episodes: evaluate in stages of this many episodes, stopping once decided; 0: off
    alpha: float = 0.05  # eval.sequential_alpha: the staged evaluation's false-decision rate
    report_at_once: bool = False  # a finished evaluation is reported after the next step (False: with the next
    #   log_freq report, as sweeps do)
    wait_for_rung: bool = False  # a trial pauses at each ASHA rung until its evaluation there is decided

    def tune_config(self, seed: int):
        from orchestrator.configs.tune import TuneConfig

        return TuneConfig(
            metric=METRIC,
            mode="max",
            search=self.search,
            scheduler=self.scheduler,
            seed=seed,
            reduction_factor=self.reduction_factor,
            grace_period=self.grace_period,
            tpe_startup_trials=self.tpe_startup,
            confirm_top_k=self.confirm_top_k,
            confirm_episodes=self.confirm_episodes,
        )

    def train_config(self, table: Table):
        from orchestrator.configs.train import EvalConfig, TrainPipelineConfig

        freq = table.eval_steps[0]
        return TrainPipelineConfig(
            steps=table.eval_steps[-1],
            eval_freq=freq,
            save_freq=freq,
            log_freq=table.log_freq,
            eval=EvalConfig(
                n_episodes=self.n_episodes, n_episodes_growth=self.growth, batch_size=min(10, self.n_episodes)
            ),
        )


@dataclass
class Pools:
    """One replay's split of the recorded episodes (by index into a checkpoint's episodes)."""

    search: dict[int, np.ndarray]  # n recorded -> the indices the search draws from, in drawing order
    confirm: dict[int, np.ndarray]  # n recorded -> the indices confirmation draws from

    @staticmethod
    def split(rng: np.random.Generator, sizes: set[int], search_fraction: float = 0.5) -> Pools:
        """Episodes shared by every checkpoint (the first min(sizes)) are split once; a checkpoint with more (the
        last, evaluated on more episodes) splits its extra episodes the same way, after them."""
        search, confirm, done, s_parts, c_parts = {}, {}, 0, [], []
        for n in sorted(sizes):
            extra = done + rng.permutation(n - done)
            cut = int(round(len(extra) * search_fraction))
            s_parts.append(extra[:cut])
            c_parts.append(extra[cut:])
            search[n], confirm[n], done = np.concatenate(s_parts), np.concatenate(c_parts), n
        return Pools(search, confirm)


@dataclass
class Evaluation:
    trial: str
    step: int
    value: float  # success on the episodes drawn
    n: int  # episodes drawn
    known_at: float  # simulated seconds when the scheduler (and the sweep) learnt it


@dataclass
class Outcome:
    """What one replay found."""

    budgets: list[float]  # compute points (CPU-seconds of the search)
    compute: list[float]  # search compute + the confirmation's, at each point
    winner_true: list[float]  # true success of the confirmed winner at each point (nan: no candidate yet)
    trials: int = 0  # trials started
    train_steps: int = 0  # steps trained in all
    eval_episodes: int = 0  # search episodes evaluated
    lag_steps: list[int] = field(default_factory=list)  # per stop: steps trained past the evaluated rung
    wall_s: list[float] = field(default_factory=list)  # simulated seconds when each budget point was reached


@dataclass
class _Confirmed:
    """What the confirmation's decision reads of a confirmed entry."""

    label: str
    episodes: list  # (seed, success, sum reward, max reward)

    def value(self, metric: str) -> float:
        return sum(e[1] for e in self.episodes) / max(1, len(self.episodes))


class _Trial:
    """What Tune's schedulers need of a trial: an id (and a config)."""

    def __init__(self, trial_id: str, config: dict):
        self.trial_id, self.config = trial_id, config
        self.evaluated = 0

    def __repr__(self) -> str:
        return self.trial_id


def replay(table: Table, strategy: Strategy, seed: int, concurrency: int, budgets: list[float]) -> Outcome:
    """One replay of `strategy` on `table` until the search has spent max(budgets) CPU-seconds. What the decision
    code prints for a user (e.g. "the search ends here") is dropped."""
    with contextlib.redirect_stdout(io.StringIO()):
        return _Replay(table, strategy, seed, concurrency).run(budgets)


class _Replay:
    def __init__(self, table: Table, strategy: Strategy, seed: int, concurrency: int):
        from ray import tune

        from orchestrator.search.algorithms import search_algorithm, trial_scheduler

        self.table, self.strategy, self.concurrency = table, strategy, concurrency
        self.rng = np.random.default_rng(seed)
        sizes = {len(c.success) for cfg in table.configs.values() for c in cfg.checkpoints.values()}
        self.pools = Pools.split(self.rng, sizes)
        self.space = {k: tune.choice(v) for k, v in table.grid.items()}
        tune_cfg, self.cfg = strategy.tune_config(seed), strategy.train_config(table)
        logging.getLogger("optuna").setLevel(logging.WARNING)
        self.searcher = search_algorithm(tune_cfg, concurrency, self.space)  # Optuna's TPE or random sampler
        self.searcher.set_search_properties(METRIC, "max", self.space)
        self.scheduler = trial_scheduler(tune_cfg, self.cfg, self.space)
        if self.scheduler is not None:
            self.scheduler.set_search_properties(METRIC, "max")
        self.events: list = []  # (time, order, kind, payload)
        self.order = 0
        self.intervals: list[tuple[float, float]] = []  # busy CPU intervals (start, end); end may grow
        self.evaluations: list[Evaluation] = []
        self.cfg_of: dict[str, Config] = {}
        self.outcome = Outcome([], [], [])

    # -- events --------------------------------------------------------------------------------------------------
    def push(self, time: float, kind: str, payload) -> None:
        self.order += 1
        heapq.heappush(self.events, (time, self.order, kind, payload))

    def run(self, budgets: list[float]) -> Outcome:
        self.limit = max(budgets)
        self.running: dict[str, dict] = {}
        self.now = 0.0
        self.launch()
        while self.events and self.compute(self.now) < self.limit:
            self.now, _, kind, payload = heapq.heappop(self.events)
            getattr(self, f"on_{kind}")(payload)
            self.launch()
        self.outcome.budgets = list(budgets)
        for b in budgets:
            t = self.time_of(b)
            compute, winner = self.confirm(t)
            self.outcome.compute.append(b + compute)
            self.outcome.winner_true.append(winner)
            self.outcome.wall_s.append(t)
        return self.outcome

    def launch(self) -> None:
        while len(self.running) < self.concurrency and self.compute(self.now) < self.limit:
            trial_id = f"t{self.outcome.trials:04d}"
            config = self.searcher.suggest(trial_id)
            if not config or config == "FINISHED":  # (Searcher.FINISHED: every config of the space was tried)
                return
            self.outcome.trials += 1
            trial = _Trial(trial_id, config)
            if self.scheduler is not None:
                self.scheduler.on_trial_add(None, trial)
            cfg = self.cfg_of[trial_id] = self.table.config(config)
            state = {
                "trial": trial,
                "cfg": cfg,
                "start": self.now,
                "last": None,
                "eval_free": self.now,
                "pending": 0,
                "queue": [],
                "eval_intervals": [],
                "train_intervals": [],
                "offset": 0.0,
                "paused_at": None,
                "epoch": 0,
            }
            self.running[trial_id] = state
            self.train_from(trial_id, state, 0)

    def train_from(self, trial_id: str, state: dict, step: int) -> None:
        """Training runs (again) from `step` now: its busy interval, and the evaluation steps ahead."""
        state["train_intervals"].append(self.busy(self.now, self.step_time(state, self.cfg.steps)))
        state["epoch"] += 1
        for s in self.table.eval_steps:
            if s > step:
                self.push(self.step_time(state, s), "reached", (trial_id, s, state["epoch"]))

    def step_time(self, state: dict, step: int) -> float:
        """When the trial reaches `step` (after its pauses so far)."""
        cfg: Config = state["cfg"]
        return state["start"] + state["offset"] + cfg.startup_s + cfg.step_s * step

    def step_at(self, state: dict, time: float) -> int:
        if state["paused_at"] is not None:
            return state["paused_at"]
        cfg: Config = state["cfg"]
        return int(
            min(self.cfg.steps, max(0.0, (time - state["start"] - state["offset"] - cfg.startup_s) / cfg.step_s))
        )

    def is_rung(self, step: int) -> bool:
        """An ASHA rung the scheduler decides at (grace x reduction_factor^k, below the last step)."""
        if self.scheduler is None or step >= self.cfg.steps:
            return False
        grace, rf = self.strategy.grace_period or self.cfg.eval_freq, self.strategy.reduction_factor
        while grace < step:
            grace *= rf
        return grace == step

    def on_reached(self, payload) -> None:
        """A checkpoint exists: queue its evaluation on the trial's evaluator (and, with wait_for_rung, pause at an
        ASHA rung until the scheduler has decided on it)."""
        trial_id, step, epoch = payload
        state = self.running.get(trial_id)
        if state is None or epoch != state["epoch"]:
            return
        if self.strategy.wait_for_rung and self.is_rung(step):
            state["paused_at"] = step
            state["epoch"] += 1  # the steps ahead are reached later now (train_from pushes them again)
            self.cut(state["train_intervals"][-1], self.now)
            state["paused_since"] = self.now
        n = self.cfg.eval.episodes_at(step, self.cfg.eval_freq)
        ckpt = state["cfg"].checkpoints[step]
        pool = self.pools.search[len(ckpt.success)]
        state["pending"] += 1
        state["queue"].append({"step": step, "drawn": pool[: min(n, len(pool))], "n": 0})
        if len(state["queue"]) == 1:
            self.start_stage(trial_id, state)

    def start_stage(self, trial_id: str, state: dict) -> None:
        """Run the next stage of the evaluation at the head of the trial's queue (all its episodes when unstaged)."""
        job = state["queue"][0]
        ckpt = state["cfg"].checkpoints[job["step"]]
        rule = self.rule(len(job["drawn"]))
        k = rule.next_stage(job["n"]) if rule else len(job["drawn"]) - job["n"]
        start = max(self.now, state["eval_free"])
        end = start + k * ckpt.episode_s
        state["eval_free"] = end
        state["eval_intervals"].append(self.busy(start, end))
        self.outcome.eval_episodes += k
        job["n"] += k
        self.push(end, "stage_done", trial_id)

    def rule(self, max_episodes: int):
        from orchestrator.results.sequential import StagedEvaluation

        stage = self.strategy.stage
        return StagedEvaluation(stage, max_episodes, self.strategy.alpha) if stage and stage < max_episodes else None

    def incumbent(self) -> tuple[int, int] | None:
        """(successes, episodes) of the best evaluation known now (highest success, then more episodes)."""
        if not self.evaluations:
            return None
        best = max(self.evaluations, key=lambda e: (e.value, e.n))
        return round(best.value * best.n), best.n

    def on_stage_done(self, trial_id: str) -> None:
        state = self.running.get(trial_id)
        if state is None:
            return
        job = state["queue"][0]
        ckpt = state["cfg"].checkpoints[job["step"]]
        used = job["drawn"][: job["n"]]
        successes = int(ckpt.success[used].sum())
        rule = self.rule(len(job["drawn"]))
        if rule is not None and not rule.decide(successes, job["n"], self.incumbent()):
            self.start_stage(trial_id, state)
            return
        state["queue"].pop(0)
        value = successes / len(used)
        # The result is reported after the trial's next step (or, as before, with its next log_freq report); at once
        # when training has ended.
        if state["paused_at"] is None and self.now < self.step_time(state, self.cfg.steps):
            every = 1 if self.strategy.report_at_once else self.cfg.log_freq
            report_step = min(self.cfg.steps, (self.step_at(state, self.now) // every + 1) * every)
            known = max(self.now, self.step_time(state, report_step))
        else:  # training ended, or waits at a rung for this very result
            known = self.now
        self.push(known, "result", (trial_id, Evaluation(trial_id, job["step"], value, len(used), known)))
        if state["queue"]:
            self.start_stage(trial_id, state)

    def on_result(self, payload) -> None:
        trial_id, evaluation = payload
        state = self.running.get(trial_id)
        if state is None:
            return
        state["pending"] -= 1
        self.evaluations.append(evaluation)
        trial = state["trial"]
        trial.evaluated += 1
        result = {
            METRIC: evaluation.value,
            M.EVAL_STEP: evaluation.step,
            M.EVAL_N_EPISODES: evaluation.n,
            M.STEP: self.step_at(state, self.now),
            "training_iteration": trial.evaluated,
        }
        state["last"] = result
        self.searcher.on_trial_result(trial_id, result)
        if state["paused_at"] == evaluation.step:  # its rung is decided: it goes on (or is stopped below)
            state["offset"] += self.now - state.pop("paused_since")
            state["paused_at"] = None
            self.train_from(trial_id, state, evaluation.step)
        decision = self.scheduler.on_trial_result(None, trial, result) if self.scheduler is not None else "CONTINUE"
        if decision == "STOP" and evaluation.step < self.cfg.steps:  # (ASHA says STOP at max_t too: done)
            self.outcome.lag_steps.append(result[M.STEP] - evaluation.step)
            self.finish(trial_id, stopped=True)
        elif (
            state["pending"] == 0
            and self.now >= self.step_time(state, self.cfg.steps) - 1e-9
            and evaluation.step == self.table.eval_steps[-1]
        ):
            self.finish(trial_id, stopped=False)

    def finish(self, trial_id: str, stopped: bool) -> None:
        state = self.running.pop(trial_id)
        if stopped:  # training and any evaluation in flight end now
            for interval in state["train_intervals"]:
                self.cut(interval, self.now)
            for interval in state["eval_intervals"]:
                self.cut(interval, self.now)
            self.evaluations = [e for e in self.evaluations if e.trial != trial_id or e.known_at <= self.now]
        self.outcome.train_steps += self.step_at(state, self.now)
        self.searcher.on_trial_complete(trial_id, state["last"])
        if self.scheduler is not None:
            self.scheduler.on_trial_complete(None, state["trial"], state["last"])

    # -- compute -------------------------------------------------------------------------------------------------
    def busy(self, start: float, end: float) -> list:
        interval = [start, end]
        self.intervals.append(interval)
        return interval

    @staticmethod
    def cut(interval: list, time: float) -> None:
        interval[1] = max(interval[0], min(interval[1], time))

    def compute(self, time: float) -> float:
        return sum(max(0.0, min(end, time) - start) for start, end in self.intervals if start < time)

    def time_of(self, budget: float) -> float:
        """The simulated time at which the search had spent `budget` CPU-seconds (the last event's if never)."""
        lo, hi = 0.0, max([end for _, end in self.intervals] + [self.now])
        if self.compute(hi) <= budget:
            return hi
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if self.compute(mid) < budget else (lo, mid)
        return hi

    # -- confirmation --------------------------------------------------------------------------------------------
    def confirm(self, time: float) -> tuple[float, float]:
        """(confirmation compute, the winner's true success) for the candidates known at `time`: each trial's best
        evaluated checkpoint; the top k confirmed as a sweep confirms them (orchestrator/results/confirmation.py:
        the same paired decision, in stages that stop once the winner is decided) on the confirmation pool."""
        from orchestrator.results.confirmation import decide, plan_for

        best: dict[str, Evaluation] = {}
        for e in self.evaluations:
            if e.known_at <= time and (
                e.trial not in best
                or e.value > best[e.trial].value
                or (e.value == best[e.trial].value and e.step > best[e.trial].step)
            ):
                best[e.trial] = e
        if not best:
            return 0.0, math.nan
        top = sorted(best.values(), key=lambda e: (e.value, e.step), reverse=True)[: self.strategy.confirm_top_k]
        checkpoints = [self._checkpoint(e) for e in top]
        pool = self.pools.confirm[min(len(c.success) for c in checkpoints)]  # episodes every candidate has
        if len(top) == 1:
            return 0.0, checkpoints[0].true_success  # nothing to choose between
        plan = plan_for(
            len(top),
            baseline=False,
            episodes=min(self.strategy.confirm_episodes, len(pool)),
            stage=self.strategy.confirm_stage,
        )
        n = 0
        while True:
            n = min(n + plan.stage_size, plan.episodes)
            entries = [
                _Confirmed(e.trial, [(int(i), bool(c.success[i]), 0.0, 0.0) for i in pool[:n]])
                for e, c in zip(top, checkpoints)
            ]
            decision = decide(entries, METRIC, "max", plan)
            if decision.decided or n >= plan.episodes:
                break
        compute = sum(n * c.episode_s for c in checkpoints)
        return compute, checkpoints[[e.trial for e in top].index(decision.leader)].true_success

    def _checkpoint(self, e: Evaluation):
        return self.cfg_of[e.trial].checkpoints[e.step]
