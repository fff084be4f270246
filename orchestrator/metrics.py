"""Every metric a run reports, by name, in one place: the train loop, the evaluators, Tune's scheduler and searcher,
the report, W&B and the model card all use these names.

An evaluation's success rate always travels with its episode count and 95 % Wilson interval (low, high, and the
half-width a scheduler can weigh), so no number is read without its noise.
"""

from __future__ import annotations

STEP = "step"  # optimizer steps done
SAMPLES = "samples"  # training samples seen (step x batch_size)
EPISODES = "episodes"  # samples seen, in episodes of the training split
EPOCH = "epoch"  # passes over the training split
START_STEP = "start_step"  # > 0 when the run resumed from a checkpoint (its own, or a PBT donor's)
START_WEIGHTS = "start_weights_sha256"  # digest of the weights the run started from (when it restored a checkpoint)
CHECKPOINT_PATH = "checkpoint_path"  # set by Ray's TuneReportCallback on reports that carry a checkpoint
EVALUATIONS = "evaluations"  # the evaluations that finished since the previous report: JSON list of eval/* dicts
EVALUATIONS_BEFORE = "evaluations_before_checkpoint"  # on a checkpoint's report: the evaluations reported since the
#   previous checkpoint in reports without one (JSON), so the checkpoint's registered metrics hold them (replay.py)
REPLAYED = "replayed"  # a checkpointed report told to Tune again after a stop Tune had not saved it before

TRAIN_LOSS = "train/loss"
TRAIN_GRAD_NORM = "train/grad_norm"
TRAIN_LR = "train/lr"  # the schedule's lr (of the main parameter group) at this step
OPTIMIZER_LR = "train/optimizer_lr"  # the lr the optimizer's main parameter group holds now: what the next step uses
TRAIN_SAMPLES_PER_S = "train/samples_per_s"
TRAIN_UPDATE_S = "train/update_s"
TRAIN_DATA_S = "train/data_s"
VAL_LOSS = "val/loss"  # loss on held-out episodes

EVAL_SUCCESS = "eval/success"  # fraction of episodes the env reported solved
EVAL_SUCCESS_LOW = "eval/success_ci95_low"  # 95 % Wilson interval of eval/success
EVAL_SUCCESS_HIGH = "eval/success_ci95_high"
EVAL_SUCCESS_HALF_WIDTH = "eval/success_ci95_half_width"  # (high - low) / 2: how much to trust a difference
EVAL_AVG_SUM_REWARD = "eval/avg_sum_reward"
EVAL_AVG_MAX_REWARD = "eval/avg_max_reward"
EVAL_N_EPISODES = "eval/n_episodes"
EVAL_SECONDS = "eval/eval_s"
EVAL_STEP = "eval/step"  # the training step whose weights were evaluated (ASHA's time attribute)
EVAL_DECISION = "eval/decision"  # a staged evaluation's ending (eval.stage_episodes): -1 it could not beat the sweep's
#   best so far, +1 it was already clearly better, 0 it ran every planned episode
DECISION_CODES = {"worse": -1, "complete": 0, "better": 1}  # orchestrator/results/sequential.py's decisions

# What the policy costs on the robot, measured once per run on rank 0 before training (orchestrator/policies/costs.py)
# and carried by every report: objectives a sweep can trade against success (--tune.metric=[eval/success, ...]).
POLICY_N_PARAMS = "policy/n_params"  # the policy's parameters (normalization statistics not counted)
POLICY_LATENCY_MS = "policy/latency_ms"  # mean ms per action of select_action at batch 1 on the run's device: one
#   model query amortized over the n_action_steps actions it queues (what a control loop waits, on average)
POLICY_CHUNK_MS = "policy/chunk_ms"  # ms of one model query (predict_action_chunk) at batch 1: the longest wait
# Timings are measurements with noise: each carries its 95 % interval over the repeated cycles (Student's t), so a sweep
# that trades latency against success decides by latency only where the intervals separate (orchestrator/results/pareto.py).
POLICY_LATENCY_LOW, POLICY_LATENCY_HIGH = f"{POLICY_LATENCY_MS}_ci95_low", f"{POLICY_LATENCY_MS}_ci95_high"
POLICY_CHUNK_LOW, POLICY_CHUNK_HIGH = f"{POLICY_CHUNK_MS}_ci95_low", f"{POLICY_CHUNK_MS}_ci95_high"
POLICY_COSTS = (
    POLICY_N_PARAMS,
    POLICY_LATENCY_MS,
    POLICY_LATENCY_LOW,
    POLICY_LATENCY_HIGH,
    POLICY_CHUNK_MS,
    POLICY_CHUNK_LOW,
    POLICY_CHUNK_HIGH,
)

INFEASIBLE = "infeasible"  # True in the one report of a trial whose config broke a constraint (it trained nothing)
VIOLATED = "violated_constraints"  # the names of the constraints it broke

# What `tune.metric` may name: every numeric metric a trial reports.
OPTIMIZABLE = (
    TRAIN_LOSS,
    TRAIN_GRAD_NORM,
    TRAIN_LR,
    TRAIN_SAMPLES_PER_S,
    TRAIN_UPDATE_S,
    TRAIN_DATA_S,
    EVAL_SUCCESS,
    EVAL_SUCCESS_LOW,
    EVAL_SUCCESS_HIGH,
    EVAL_AVG_SUM_REWARD,
    EVAL_AVG_MAX_REWARD,
    EVAL_N_EPISODES,
    EVAL_SECONDS,
    EVAL_STEP,
    VAL_LOSS,
    STEP,
    EPOCH,
    POLICY_N_PARAMS,
    POLICY_LATENCY_MS,
    POLICY_CHUNK_MS,
)


def policy_costs_of(report: dict) -> dict[str, float]:
    """The policy/* costs a run reported (empty for a run from before they were measured)."""
    return {k: float(report[k]) for k in POLICY_COSTS if k in report}


def is_eval_metric(name: str) -> bool:
    """Measured by evaluation in the simulator (so it needs eval_freq > 0 and can be confirmed on fresh episodes)."""
    return name.startswith("eval/")
