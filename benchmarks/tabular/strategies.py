"""The strategies the tabulated benchmark compares: each is a sweep's settings (orchestrator/configs/tune.py and the
eval config), so a winner here is a default to set there. PBT/PB2 are left out: an exploiting trial continues a
donor's checkpoint with new values, a training run no table holds.

Names: search (random, tpe) + scheduler (asha, or none) + evaluation (eN: N episodes per evaluation; s5: in stages
of 5 that stop once decided; grow: doubling per evaluation; wait: trials pause at ASHA's rungs until decided;
at_once: results reported after the next step instead of with the next log_freq report (as sweeps do); rf3: ASHA keeps a third at a rung;
tpe4: TPE models the results after 4 random trials, not 10).
"""

from __future__ import annotations

from benchmarks.tabular.replay import Strategy

STRATEGIES = {
    s.name: s
    for s in [
        Strategy("random", search="random", scheduler="none"),
        Strategy("tpe", search="optuna", scheduler="none"),
        Strategy("asha_random", search="random", scheduler="asha"),
        Strategy("asha_tpe", search="optuna", scheduler="asha"),  # the sweep's default until now (20 episodes)
        Strategy("asha_tpe_at_once", search="optuna", scheduler="asha", report_at_once=True),
        Strategy("asha_tpe_s5_at_once", search="optuna", scheduler="asha", stage=5, report_at_once=True),
        Strategy("asha_tpe_wait", search="optuna", scheduler="asha", wait_for_rung=True),
        Strategy("asha_tpe_grow", search="optuna", scheduler="asha", n_episodes=10, growth=2.0),
        Strategy("asha_tpe_s5", search="optuna", scheduler="asha", stage=5),
        Strategy("asha_tpe_e10", search="optuna", scheduler="asha", n_episodes=10),
        Strategy("asha_tpe_e10_s5", search="optuna", scheduler="asha", n_episodes=10, stage=5),
        Strategy("asha_random_e10", search="random", scheduler="asha", n_episodes=10),
        Strategy("asha_random_e10_s5", search="random", scheduler="asha", n_episodes=10, stage=5),
        Strategy(
            "asha_random_e10_s5_rf3", search="random", scheduler="asha", n_episodes=10, stage=5, reduction_factor=3
        ),
        Strategy("asha_tpe_e10_s5_rf3", search="optuna", scheduler="asha", n_episodes=10, stage=5, reduction_factor=3),
        Strategy(
            "asha_random_e10_s5_wait", search="random", scheduler="asha", n_episodes=10, stage=5, wait_for_rung=True
        ),
        Strategy("asha_tpe4_e10_s5", search="optuna", scheduler="asha", n_episodes=10, stage=5, tpe_startup=4),
        Strategy(
            "asha_tpe4_e10_s5_rf3",
            search="optuna",
            scheduler="asha",
            n_episodes=10,
            stage=5,
            tpe_startup=4,
            reduction_factor=3,
        ),
        Strategy(
            "asha_tpe4_e10_s5_rf4",
            search="optuna",
            scheduler="asha",
            n_episodes=10,
            stage=5,
            tpe_startup=4,
            reduction_factor=4,
        ),
        Strategy(
            "asha_random_e10_s5_rf4", search="random", scheduler="asha", n_episodes=10, stage=5, reduction_factor=4
        ),
        Strategy(
            "asha_tpe4_e5_rf3", search="optuna", scheduler="asha", n_episodes=5, tpe_startup=4, reduction_factor=3
        ),
    ]
}
