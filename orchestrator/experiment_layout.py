"""Where an experiment keeps its files: the name of each part of the folder, in one place. The sweep writes them, the
report, the warm start, best/'s push and the trials read them; every one names them from here.

<storage_path>/<experiment>/
    trials/          Tune's experiment of the search (tuner state, experiment_state-*.json with the trials'
                     statuses; Tuner.restore resumes it), one folder per trial:
        trial_<id>/      params.json, result.json, progress.csv (Tune's), error.txt (a failure); PBT's
                         lineage.jsonl (one line per exploit) and sample.json (trainables/exploit.py)
    baseline/        the base config's defaults, trained and evaluated on the same episodes (a Tune experiment too)
    seeds/           --tune.confirm_seeds: the winner's config over more training seeds (a Tune experiment)
    baseline_seeds/  ... and the default config over the same seeds
    train/           Ray Train runs, one per trial: trial_<id>/checkpoint_*/{pretrained_model, training_state}
                     (trainables/checkpointing.py); PBT's exploits run as trial_<id>_from_<donor>_<step>
    confirm/         the confirmation's episodes in lerobot-eval's layout: <label>/eval_info.json
    best/            the best policy in the Hub layout, with its model card
    optuna/study.log the Optuna study (JournalStorage): `optuna-dashboard <it>`
    logs/            <Tune experiment>.log (the live table's lines), ray -> this machine's Ray session's logs
    report/          report.html and its PNGs
    wandb/           W&B's local runs
    summary.json report.md
    interrupted.json written when Ctrl-C/SIGINT/SIGTERM stopped the sweep; gone once it resumes
A URI storage (s3://...): Tune and Train write trials/ and train/ there directly; the driver writes its own files
into a local copy (orchestrator/runtime/storage.py: local_copy) and uploads them when the sweep ends. A `train`
run's folder holds Train's checkpoint_*/ and logs/ alike.
"""

from __future__ import annotations

# The Tune experiments of a sweep, each a folder of trial folders (named so in RunConfig(name=...)).
TRIALS = "trials"
BASELINE = "baseline"
SEEDS = "seeds"
BASELINE_SEEDS = "baseline_seeds"

TRAIN = "train"  # Ray Train's runs
CONFIRM = "confirm"
BEST = "best"
STUDY = "optuna/study.log"
LOGS = "logs"
RAY_LOGS = LOGS + "/ray"  # a link, not a copy: the session's logs stay where Ray writes them
REPORT = "report"  # the HTML report's folder
REPORT_PAGE = "report.html"
REPORT_MD = "report.md"
SUMMARY = "summary.json"
INTERRUPTED = "interrupted.json"

# Tune's files: in a Tune experiment, and in each of its trial folders.
EXPERIMENT_STATES = "experiment_state-*.json"
TRIAL_FOLDERS = "trial_*"
PARAMS = "params.json"
RESULT = "result.json"
PROGRESS = "progress.csv"
ERROR = "error.txt"
LINEAGE = "lineage.jsonl"

# In a Train run: Train's checkpoint folders, each in LeRobot's layout.
CHECKPOINTS = "checkpoint_*"
PRETRAINED = "pretrained_model"
TRAINING_STATE = "training_state"


def trial_folder(trial_id: str) -> str:
    """A trial's folder in its Tune experiment, and its Train run's in train/ (also the run's name in Ray Train's
    logs and in the phase log: benchmarks match them)."""
    return f"trial_{trial_id}"


def trial_id_of(folder_name: str) -> str:
    """The trial id a trial folder is named for."""
    return folder_name.removeprefix("trial_")


def exploit_run(trial_id: str, donor: str, step: int) -> str:
    """The Train run a PBT exploit starts: trial `trial_id` continuing `donor`'s checkpoint at `step` (a new run, so
    Train's own auto-resume of the trial's earlier run cannot win)."""
    return f"{trial_folder(trial_id)}_from_{donor}_{step}"


def log_file(name: str) -> str:
    """The log of Tune experiment `name` (or of a `train` run): the live table's lines, as plain text."""
    return f"{LOGS}/{name}.log"
