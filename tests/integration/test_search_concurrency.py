"""Every search algorithm x scheduler respects the sweep's concurrency limit (issue 11, item 4).

Tune sees only a trial's own bundles (its driver and its evaluator actors); the Train workers get a placement group
of their own later. So Tune alone would start as many trials as the evaluators' CPUs fit (4 on the test cluster's
2 nodes x 2 CPUs), and no Train worker could then be placed: the sweep hung with WorkerGroupStartupTimeoutError
every 60 s (seen with random and grid, whose BasicVariantGenerator took no limit while Ray logged that
`max_concurrent_trials` "will be ignored"; random search now samples through Optuna's searcher). Here each trial
body (tests/support/stub_trial.py) does what a Train worker does: it asks for one CPU outside the trial's placement
group. Each case runs 3 trials where 2 fit: without the limit Tune starts all 3 at once (their evaluators fit), and
the test checks that no more trials ran at once than fit (with 4, the fourth trial's request would never run and it
would fail after 60 s).
The real trial path runs in test_sweep.py (Optuna + ASHA, 2 trials on the same cluster) and
tests/e2e/test_job_submit.py (random)."""

import logging

import pytest

from orchestrator.sweep import tuner as sweep_mod
from orchestrator.sweep.prepare import prepare
from tests.support.stub_trial import trial_body

pytestmark = pytest.mark.integration

SPACE = """
from ray import tune
from orchestrator.configs.optim import AdamWConfig
from orchestrator.configs.train import EvalConfig, TrainPipelineConfig
from orchestrator.configs.tune import Sweep, TuneConfig
from orchestrator.policies.act.configuration import ACTConfig

sweep = Sweep(
    base=TrainPipelineConfig(
        policy=ACTConfig(chunk_size=4, n_action_steps=4, dim_model=32, n_heads=2, dim_feedforward=64,
                         n_encoder_layers=1, n_vae_encoder_layers=1, latent_dim=8),
        optimizer=AdamWConfig(lr=LR),
        steps=30, eval_freq=10, save_freq=10, eval=EvalConfig(n_episodes=2, batch_size=2),
    ),
    tune=TuneConfig(metric="eval/avg_max_reward", num_samples=SAMPLES, baseline=False, confirm_top_k=0),
)
"""


def _most_at_once(intervals: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = now = 0
    for _, change in edges:
        now += change
        most = max(most, now)
    return most


# The searcher classes a sweep builds (orchestrator/search/algorithms.py): Optuna's searcher (TPE and random search
# both, behind the once-only check) and Tune's BasicVariantGenerator (grid), each with and without a scheduler.
@pytest.mark.parametrize(
    "search, scheduler",
    [
        ("optuna", "asha"),
        ("random", "none"),
        ("grid", "asha"),
        ("grid", "none"),
    ],
)
def test_every_search_and_scheduler_runs_only_the_trials_that_fit(
    search, scheduler, tmp_path, ray_cluster, monkeypatch, caplog
):
    grid = search == "grid"
    path = tmp_path / "space.py"
    path.write_text(
        SPACE.replace("LR", "tune.grid_search([1e-4, 2e-4, 3e-4])" if grid else "tune.loguniform(1e-4, 1e-2)").replace(
            "SAMPLES", "1" if grid else "3"
        )  # 3 trials where 2 fit: Tune alone would start all 3 at once
    )
    prepared = prepare(
        str(path), [f"--tune.storage_path={tmp_path}", f"--tune.search={search}", f"--tune.scheduler={scheduler}"]
    )
    assert sweep_mod.max_concurrency(prepared) == 2  # a trial: evaluator CPU + Train worker CPU; 2 nodes x 2 CPUs
    monkeypatch.setattr("orchestrator.sweep.tuner.run_trial", trial_body)  # the trainable build_tuner wraps
    tuner = sweep_mod.build_tuner(prepared, "trials", prepared.space, prepared.tune_cfg.num_samples, search=True)
    with caplog.at_level(logging.WARNING, logger="ray.tune"):
        results = tuner.fit()
    assert len(results) == 3 and not results.errors, [str(e)[-500:] for e in results.errors]
    intervals = [(r.metrics_dataframe["started"].min(), r.metrics_dataframe["now"].max()) for r in results]
    assert _most_at_once(intervals) <= 2
    assert not [r.message for r in caplog.records if "will be ignored" in r.getMessage()]
