"""The confirmation's decisions (orchestrator/results/confirmation.py) on synthetic confirmations: paired comparisons
on the shared episodes at the family-wise level, stopping once the winner is decided, saying so when it is not, and
a config against the default config over training seeds. Issue 17, item 5."""

from __future__ import annotations

import numpy as np
import pytest

from orchestrator import metrics as M
from orchestrator.report.table import confirmation_markdown, seeds_markdown
from orchestrator.results.candidates import Candidate
from orchestrator.results.confirmation import UNDECIDED, WORSE, decide, median_seed, plan_for, versus_default
from orchestrator.results.confirmed import Confirmed
from orchestrator.results.stats import mean_interval, wilson_interval

FIRST = 1_000_000


def confirmed(label: str, outcomes, max_rewards=None) -> Confirmed:
    """`label` confirmed on the episodes FIRST, FIRST + 1, ... with these successes (and max rewards)."""
    outcomes = [bool(x) for x in outcomes]
    n, s = len(outcomes), sum(outcomes)
    rewards = [float(r) for r in (max_rewards if max_rewards is not None else outcomes)]
    episodes = [(FIRST + i, x, r, r) for i, (x, r) in enumerate(zip(outcomes, rewards))]
    return Confirmed(
        label,
        Candidate(label, 100, {}, f"/ckpt/{label}"),
        s,
        n,
        s / n,
        wilson_interval(s, n),
        mean_interval(rewards),
        mean_interval(rewards),
        episodes,
    )


def rate(p: float, n: int) -> list[bool]:
    return [i < round(p * n) for i in range(n)]


def test_every_candidate_and_the_baseline_at_zero_is_no_evidence_for_a_winner():
    """The issue's act_or_diffusion case: every candidate and the baseline at 0 of 10."""
    entries = [confirmed(label, [False] * 10) for label in ("t1", "t2", "t3", "baseline")]
    plan = plan_for(3, True, 10, 10)
    d = decide(entries, M.EVAL_SUCCESS, "max", plan)
    assert d.leader == "t1" and d.undecided == ["t2", "t3"] and not d.distinguishable and not d.decided
    assert d.choice_sentence().startswith("no candidate is distinguishable from t1")
    assert "the choice among them is not evidence" in d.choice_sentence()
    assert d.comparison_sentence().startswith("no significant difference in success: +0.0 points")
    assert "paired 98.33 % CI" in d.comparison_sentence()  # 95 % / 3 comparisons
    summary = d.to_dict()
    assert summary["distinguishable"] is False and summary["versus"]["t2"]["status"] == UNDECIDED
    text = "\n".join(
        confirmation_markdown(
            {
                "n_episodes": 10,
                "first_seed": FIRST,
                "winner": "t1",
                "comparison": d.comparison_sentence(),
                "distinguishable": False,
                "choice": d.choice_sentence(),
                "stopping": d.stopping_sentence(),
                "family": plan.family(),
                "decision": summary,
                "candidates": [
                    {
                        "label": c.label,
                        "step": 100,
                        "success": 0.0,
                        "successes": 0,
                        "n_episodes": 10,
                        "success_ci95": list(c.success_ci95),
                        "avg_max_reward": list(c.avg_max_reward),
                    }
                    for c in entries
                ],
            }
        )
    )
    assert "**Not evidence: no candidate is distinguishable from t1" in text and "No significant difference" in text
    assert "family-wise 95 %" in text and "| t2 | 100 | 0.0% (0/10) |" in text


def test_a_reward_metric_is_compared_episode_by_episode():
    """Picked by avg max reward, 0.096 against 0.089 with episode noise: not distinguishable; a clear reward gap is."""
    rng = np.random.default_rng(3)
    a = 0.096 + 0.02 * rng.standard_normal(10)
    b = 0.089 + 0.02 * rng.standard_normal(10)
    entries = [
        confirmed("t1", [False] * 10, a),
        confirmed("t2", [False] * 10, b),
        confirmed("baseline", [False] * 10, b - 0.001),
    ]
    d = decide(entries, M.EVAL_AVG_MAX_REWARD, "max", plan_for(2, True, 10, 0))
    assert d.metric == M.EVAL_AVG_MAX_REWARD and not d.distinguishable
    assert not d.versus[d.undecided[0]].points and "avg max reward" in d.choice_sentence()
    clear = [
        confirmed("t1", [False] * 10, a + 0.5),
        confirmed("t2", [False] * 10, b),
        confirmed("baseline", [False] * 10, b),
    ]
    d = decide(clear, M.EVAL_AVG_MAX_REWARD, "max", plan_for(2, True, 10, 0))
    assert d.decided and d.status == {"t2": WORSE} and "improved avg max reward by 0.5" in d.comparison_sentence()


def test_a_clear_winner_is_decided_early_and_the_stop_is_said():
    """Stages of 10 up to 50: 90 % against 10 %, 0 % and a 5 % baseline is decided at the second look."""
    full = {"t1": rate(0.9, 50), "t2": rate(0.1, 50), "t3": rate(0.0, 50), "baseline": rate(0.05, 50)}
    plan = plan_for(3, True, 50, 10)
    assert plan.looks == 5 and plan.level == pytest.approx(0.05 / 15)
    assert plan.family() == (
        "each paired interval at 99.67 % (5 % / 3 comparisons x 5 looks, Bonferroni): "
        "family-wise 95 %, whenever it stops"
    )
    for n in range(10, 51, 10):  # what confirm() asks after each stage
        d = decide([confirmed(label, outcomes[:n]) for label, outcomes in full.items()], M.EVAL_SUCCESS, "max", plan)
        if d.decided:
            break
    assert n == 20 and d.leader == "t1" and d.distinguishable
    assert d.stopping_sentence() == "stopped after 20 of 50 episodes (look 2 of 5): the winner was decided"
    assert d.comparison_sentence().startswith("the sweep improved success by 90.0 points (paired 99.67 % CI")
    assert d.baseline.n == 20


def test_a_winner_worse_than_the_baseline_is_said_so():
    entries = [confirmed("t1", rate(0.1, 40)), confirmed("baseline", rate(0.9, 40))]
    d = decide(entries, M.EVAL_SUCCESS, "max", plan_for(1, True, 40, 0))
    assert d.choice_sentence() == "t1 was the only candidate confirmed" and d.decided
    assert d.comparison_sentence().startswith("the sweep made success worse by 80.0 points")


def test_the_staged_decision_rarely_crowns_a_winner_among_equals():
    """Anytime validity by simulation: 3 candidates and a baseline of the same true success rate, episodes drawn
    independently, looks after every 10 of 50: the rule stops claiming a distinguishable winner (or a difference with
    the baseline) in at most 5 % of the sweeps, whichever look it stops at."""
    rng = np.random.default_rng(0)
    plan = plan_for(3, True, 50, 10)
    false_claims, reps = 0, 300
    for _ in range(reps):
        full = {label: rng.random(50) < 0.5 for label in ("t1", "t2", "t3", "baseline")}
        for n in range(10, 51, 10):
            d = decide([confirmed(label, o[:n]) for label, o in full.items()], M.EVAL_SUCCESS, "max", plan)
            if d.distinguishable or d.baseline.significant:
                false_claims += 1
                break
    assert false_claims / reps <= 0.05


def test_a_config_that_does_not_beat_the_default_over_seeds():
    """The issue's case: the winner's config confirmed 75 %, 40 %, 50 % over three seeds (the search's seed at 75 %),
    the default config 70 % (and, retrained with the same seeds, 70 %, 60 %, 65 %). It does not beat the default,
    and best/ is its median seed (50 %), not the 75 % one."""
    config = [
        confirmed("t1", rate(0.75, 20)),
        confirmed("seed_1001", rate(0.40, 20)),
        confirmed("seed_1002", rate(0.50, 20)),
    ]
    for default in (
        [confirmed("baseline", rate(0.70, 20))],
        [
            confirmed("baseline", rate(0.70, 20)),
            confirmed("baseline_seed_1001", rate(0.60, 20)),
            confirmed("baseline_seed_1002", rate(0.65, 20)),
        ],
    ):
        v = versus_default(config, default, M.EVAL_SUCCESS)
        assert not v.better() and v.difference < 0
        assert "the winner's config does not beat the default config over seeds" in v.sentence(
            "the winner's config", "the default config"
        )
    assert median_seed(config, M.EVAL_SUCCESS, "max").label == "seed_1002"
    assert median_seed(config[:2], M.EVAL_SUCCESS, "max").label == "seed_1001"  # even count: the lower middle one
    strong = [confirmed(f"s{i}", rate(p, 20)) for i, p in enumerate((0.9, 0.95, 0.9))]
    weak = [confirmed(f"b{i}", rate(p, 20)) for i, p in enumerate((0.2, 0.3, 0.25))]
    v = versus_default(strong, weak, M.EVAL_SUCCESS)
    assert v.better() and "beats the default config by" in v.sentence("the winner's config", "the default config")


# ---- the wiring in orchestrator/sweep/confirm_top.py and seeds.py, confirm() and the retraining replaced (no Ray) ----


def _row(tid: str, params: dict | None = None, config_id: str | None = None, repeat: int | None = None):
    from orchestrator.results.rows import TrialRow

    best = Candidate(tid, 100, {M.EVAL_SUCCESS: 0.5}, f"/ckpt/{tid}")
    return TrialRow(tid, "finished", dict(params or {}), {}, best, [best], config_id=config_id, repeat=repeat)


def _prepared(tmp_path, **tune):
    from types import SimpleNamespace

    from orchestrator.configs.tune import TuneConfig

    return SimpleNamespace(tune_cfg=TuneConfig(**tune), default_cfg=SimpleNamespace(seed=1000), experiment_dir=tmp_path)


def _fake_confirm(outcomes: dict[str, list[bool]], calls: list):
    """confirm() as orchestrator/sweep/confirm.py runs it: every entry the same seeds, stage by stage, `decided` asked
    after each stage."""

    def fake(cfg, entries, n_episodes, first_seed, stage=0, decided=None):
        stage = stage if 0 < stage < n_episodes else n_episodes
        done = 0
        while done < n_episodes:
            done += min(stage, n_episodes - done)
            results = [confirmed(label, outcomes[label][:done]) for label, _ in entries]
            if done < n_episodes and decided is not None and decided(results):
                break
        calls.append(([label for label, _ in entries], done))
        return results

    return fake


def test_the_sweep_confirms_in_stages_and_reports_the_paired_decision(tmp_path, monkeypatch):
    import io

    from rich.console import Console

    from orchestrator.sweep import confirm_top as sweep_results

    outcomes = {"t1": rate(0.9, 50), "t2": rate(0.1, 50), "t3": rate(0.0, 50), "baseline": rate(0.05, 50)}
    calls = []
    monkeypatch.setattr(sweep_results, "confirm", _fake_confirm(outcomes, calls))
    monkeypatch.setattr(sweep_results, "write_eval_infos", lambda *a, **k: None)
    prepared = _prepared(tmp_path, confirm_top_k=3, confirm_episodes=50, confirm_stage_episodes=10)
    out = io.StringIO()
    winner, confirmed_, baseline, decision = sweep_results.confirm_top(
        prepared, [_row("t1"), _row("t2"), _row("t3")], _row("baseline"), None, Console(file=out, width=200)
    )
    assert winner.trial_id == "t1" and baseline.label == "baseline" and calls == [(["t1", "t2", "t3", "baseline"], 20)]
    summary = sweep_results.confirmation_summary(confirmed_, decision, prepared.tune_cfg)
    assert summary["n_episodes"] == 20 and summary["planned_episodes"] == 50 and summary["distinguishable"]
    assert summary["difference_vs_baseline"]["ci"][0] > 0 and summary["difference_vs_baseline"]["paired"]
    assert summary["comparison"].startswith("the sweep improved success by 90.0 points (paired 99.67 % CI")
    text = out.getvalue()
    assert "in stages of 10 until the winner is decided" in text and "stopped after 20 of 50 episodes" in text
    assert "family-wise 95 %" in text and "t1 - it: +75.0 points" in text
    assert "The winner: t1 is distinguishable" in text


def test_the_sweep_compares_the_config_with_the_default_over_the_same_seeds(tmp_path, monkeypatch):
    """--tune.confirm_seeds=2 with --tune.repeats=2: the winner's config has seeds 1000 (the search's winner, 75 %)
    and 1001 (its repeat), two new seeds 1002 and 1003 are trained; the default config is retrained with 1001..1003
    (its baseline ran 1000). The config does not beat the default; best/ is its median seed."""
    from rich.console import Console

    from orchestrator.sweep import seeds as sweep_results

    outcomes = {
        "t1b": rate(0.40, 20),
        "seed_1002": rate(0.50, 20),
        "seed_1003": rate(0.45, 20),
        **{f"baseline_seed_{s}": rate(0.7, 20) for s in (1001, 1002, 1003)},
    }
    calls, retrained = [], []

    def fake_retrain(prepared, params, seeds, name):
        retrained.append((params, seeds, name))
        return [_row(f"{name}{s}", {**params, "seed": s}) for s in seeds]

    monkeypatch.setattr(sweep_results, "confirm", _fake_confirm(outcomes, calls))
    monkeypatch.setattr(sweep_results, "write_eval_infos", lambda *a, **k: None)
    monkeypatch.setattr(sweep_results, "retrain", fake_retrain)
    prepared = _prepared(tmp_path, confirm_seeds=2, confirm_episodes=20, repeats=2)
    winner = _row("t1", {"optimizer.lr": 1e-3}, config_id="c1", repeat=0)
    sibling = _row("t1b", {"optimizer.lr": 1e-3}, config_id="c1", repeat=1)
    other = _row("t2", {"optimizer.lr": 1e-4}, config_id="c2", repeat=0)
    seeds = sweep_results.confirm_seeds(
        prepared,
        [winner, sibling, other],
        winner,
        confirmed("t1", rate(0.75, 20)),
        _row("baseline"),
        confirmed("baseline", rate(0.7, 20)),
        Console(width=200),
    )
    assert retrained == [({"optimizer.lr": 1e-3}, [1002, 1003], "seeds"), ({}, [1001, 1002, 1003], "baseline_seeds")]
    s = seeds.summary
    assert s["seeds"] == [1000, 1001, 1002, 1003] and s["success"] == [0.75, 0.4, 0.5, 0.45]
    assert s["default"]["seeds"] == [1000, 1001, 1002, 1003] and s["default"]["success"] == [0.7] * 4
    assert s["versus_default"]["beats"] is False
    assert "does not beat the default config" in s["versus_default"]["sentence"]
    assert s["best"]["seed"] == 1003 and seeds.representative.label == "seed_1003"  # 40, 45 | 50, 75: lower middle
    assert seeds.representative_row.trial_id == "seeds1003" and "median" in s["best"]["rule"]
    text = "\n".join(seeds_markdown(s))
    assert "| default config | 1003 | 70.0% |" in text and "The winner's config does not beat" in text


def test_confirmation_starts_an_evaluator_only_for_work_worth_its_start_up():
    from orchestrator.sweep.confirm import EVALUATOR_START_S, evaluators_for, seconds_per_episode

    def entry(eval_s, n):
        return ("t", Candidate("t", 10, {M.EVAL_SECONDS: eval_s, M.EVAL_N_EPISODES: n}, "/ckpt"))

    # cheap episodes (a tiny PushT policy: 0.15 s each): one evaluator runs a stage of 10 sooner than 4 would start
    assert evaluators_for(4, 10, 0.15) == 1
    # dear ones (MetaWorld, ~1 s each): as many as the free CPUs hold, each with at least its start-up's worth
    assert evaluators_for(4, 10, 1.0) == 4 and evaluators_for(8, 9, 1.0) == int(9 * 1.0 // EVALUATOR_START_S)
    assert evaluators_for(2, 30, 5.0) == 2 and evaluators_for(0, 5, 5.0) == 1  # never none, never more than fit
    assert evaluators_for(4, 3, None) == 3 and evaluators_for(4, 10, None) == 4  # cost unknown: as many as fit
    # the dearest candidate's episodes count; entries without a measured evaluation say nothing
    assert seconds_per_episode([entry(0.3, 2), entry(3.0, 4), ("b", Candidate("b", 0, {}, "/c"))]) == 0.75
    assert seconds_per_episode([("b", Candidate("b", 0, {}, "/c"))]) is None
