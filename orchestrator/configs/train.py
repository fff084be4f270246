"""TrainPipelineConfig: the one source of truth for a run. Saved as JSON beside every checkpoint."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.configs.checks import non_negative, one_of, positive, prefixed
from orchestrator.configs.optim import OptimizerConfig, SchedulerConfig
from orchestrator.configs.policy import PolicyConfig
from orchestrator.datasets.transforms import ImageTransformsConfig
from orchestrator.envs.configs import EnvConfig, PushTEnvConfig
from orchestrator.errors import Problem, problem, raise_if
from orchestrator.policies import registry as _registry  # noqa: F401  (registers every policy type)
from orchestrator.policies.act.configuration import ACTConfig


def default_cache_dir() -> Path:
    """Where locally recorded datasets live ($ROBOT_SWEEPS_CACHE, else ~/.cache/robot-sweeps)."""
    import os

    return Path(os.environ.get("ROBOT_SWEEPS_CACHE", Path.home() / ".cache" / "robot-sweeps"))


@dataclass
class DatasetConfig:
    """Which LeRobotDataset to train on, which of its episodes, and how its frames are served."""

    repo_id: str = "local/pusht_keypoints_expert"  # "local/<name>": recorded on this machine; "<org>/<name>": the Hub
    revision: str | None = None  # Hub branch, tag or commit of a Hub dataset; None: main
    root: str | None = None  # read the dataset from this folder instead (no download, no recording)
    episodes: list[int] | None = None  # use these episode indices only; None: all
    val_episodes: list[int] | None = None  # hold these episodes out for the validation loss (overrides val_fraction)
    val_fraction: float = 0.0  # hold out this fraction of the episodes (the last ones) for the validation loss
    image_transforms: ImageTransformsConfig = field(default_factory=ImageTransformsConfig)  # camera augmentations
    use_imagenet_stats: bool = True  # normalize cameras with ImageNet's mean and std, not the dataset's (LeRobot's)
    record_episodes: int = 60  # a missing local dataset is recorded with this many successful expert episodes
    record_video: bool = True  # a recorded dataset stores cameras as MP4 videos (false: PNG inside the parquet)

    def problems(self) -> list[Problem]:
        out = positive("record_episodes", self.record_episodes)
        if self.repo_id.count("/") != 1 or not all(self.repo_id.split("/")):
            out.append(problem("repo_id", "must look like local/<name> or <org>/<name> (a Hub dataset)", self.repo_id))
        if not isinstance(self.val_fraction, (int, float)) or not 0 <= self.val_fraction < 1:
            out.append(problem("val_fraction", "must be a number in [0, 1)", self.val_fraction))
        return out + prefixed("image_transforms", self.image_transforms.problems())

    def is_local(self) -> bool:
        """Read from a folder on this machine (dataset.root, or a recorded local/<name>) rather than the Hub."""
        return self.root is not None or self.repo_id.startswith("local/")

    def resolved_root(self) -> Path:
        """The folder of a local dataset (for a Hub dataset, use orchestrator.datasets.record.ensure_dataset)."""
        return Path(self.root) if self.root else default_cache_dir() / "datasets" / self.repo_id


@dataclass
class EvalConfig:
    """Asynchronous evaluation in the simulator, by Ray actors holding vector envs."""

    n_episodes: int = 10  # episodes per evaluation (the same seeds for every trial and every evaluation)
    n_episodes_growth: float = 1.0  # the k-th evaluation of a run uses n_episodes * growth^(k-1) episodes (the
    #   first seeds shared): fewer episodes early, more at later ASHA rungs where the decisions matter more
    batch_size: int = 10  # envs per evaluator actor (episodes run in parallel in one vector env)
    num_actors: int = 1  # evaluator actors per trial; episodes are split between them
    use_async_envs: bool = False  # run each env of an actor in its own process
    seed: int = 100_000  # seed of the first evaluation episode
    stage_episodes: int = 5  # in a sweep, evaluate in stages of this many episodes and stop as soon as the checkpoint
    #   cannot beat the sweep's best evaluation so far, or is already clearly better (anytime-valid bounds,
    #   orchestrator/results/sequential.py); 0: every episode at once. 5: the tabulated benchmark's choice
    #   (benchmarks/README.md (i): the same compute to a near-best winner, no more wrong winners, fewer episodes)
    sequential_alpha: float = 0.05  # the staged evaluation's false-decision rate

    def problems(self) -> list[Problem]:
        out = positive("n_episodes", self.n_episodes) + positive("batch_size", self.batch_size)
        out += non_negative("stage_episodes", self.stage_episodes)
        if not isinstance(self.sequential_alpha, (int, float)) or not 0.0 < self.sequential_alpha < 0.5:
            out.append(problem("sequential_alpha", "must be a number in (0, 0.5)", self.sequential_alpha))
        out += positive("num_actors", self.num_actors) + non_negative("seed", self.seed)
        if not out and self.batch_size > self.n_episodes:
            out.append(problem("batch_size", f"must be <= eval.n_episodes (= {self.n_episodes})", self.batch_size))
        if not isinstance(self.n_episodes_growth, (int, float)) or not 1.0 <= self.n_episodes_growth <= 10.0:
            out.append(problem("n_episodes_growth", "must be a number in [1, 10]", self.n_episodes_growth))
        return out

    def episodes_at(self, step: int, eval_freq: int) -> int:
        """Episodes of the evaluation at training step `step` (the k-th evaluation, k = ceil(step / eval_freq))."""
        k = max(1, -(-step // max(1, eval_freq)))
        return max(1, round(self.n_episodes * self.n_episodes_growth ** (k - 1)))


@dataclass
class WandBConfig:
    """Weights & Biases logging: one run per trial (rank 0 only), grouped by sweep."""

    enable: bool = False  # log to W&B
    project: str = "robot-sweeps"  # W&B project
    entity: str | None = None  # W&B entity (team or user); None: your default
    group: str | None = None  # run group; None: the sweep's experiment name
    mode: str = "offline"  # online, offline (sync later with `wandb sync`) or disabled
    notes: str | None = None  # free-text notes attached to each run
    dir: str | None = (
        None  # folder that receives wandb/offline-run-*; None: the sweep's experiment folder (or output_dir)
    )

    def problems(self) -> list[Problem]:
        return one_of("mode", self.mode, ["online", "offline", "disabled"])


@dataclass
class HubConfig:
    """Publishing the best policy to the Hugging Face Hub (token from HF_TOKEN or the `hf auth login`)."""

    repo_id: str | None = None  # <user or org>/<name>; None: do not push
    private: bool = False  # create the repo as private
    push: bool = True  # push when repo_id is set

    def problems(self) -> list[Problem]:
        if self.repo_id is not None and self.repo_id.count("/") != 1:
            return [problem("repo_id", "must look like <user or org>/<name>", self.repo_id)]
        return []


@dataclass
class ResourcesConfig:
    """What one trial asks Ray for. The same config scales by changing these, not code."""

    num_workers: int = 1  # Ray Train workers (DDP ranks) per trial
    use_gpu: bool = False  # one GPU per worker (nccl); otherwise CPU (gloo)
    cpus_per_worker: float = 1.0  # CPUs reserved per Train worker
    gpus_per_worker: float = 1.0  # GPUs reserved per Train worker when use_gpu=true
    cpus_per_eval_actor: float = 1.0  # CPUs reserved per evaluator actor
    gpus_per_eval_actor: float = 0.0  # GPU share per evaluator actor (e.g. 0.25: four share a GPU); for large
    #   policies whose inference is slow on a CPU (Diffusion's denoising); 0: evaluators run on CPUs
    # On a Ray cluster (RAY_ADDRESS): how long to wait for a node that fits a trial (the autoscaler is asked for one)
    # and for a trial's Train workers to be placed, before giving up with an error instead of waiting forever
    placement_timeout_s: float = 600.0

    def problems(self) -> list[Problem]:
        out = positive("num_workers", self.num_workers) + positive("cpus_per_worker", self.cpus_per_worker)
        out += non_negative("cpus_per_eval_actor", self.cpus_per_eval_actor)
        out += non_negative("gpus_per_eval_actor", self.gpus_per_eval_actor)
        out += positive("placement_timeout_s", self.placement_timeout_s)
        if self.use_gpu:
            out += positive("gpus_per_worker", self.gpus_per_worker)
        return out


@dataclass
class TrainPipelineConfig:
    """Everything one training run needs. A sweep samples some of these fields."""

    dataset: DatasetConfig = field(default_factory=DatasetConfig)  # the demonstrations
    env: EnvConfig = field(default_factory=PushTEnvConfig)  # the simulator used for evaluation
    policy: PolicyConfig = field(default_factory=ACTConfig)  # the policy and its hyperparameters
    optimizer: OptimizerConfig | None = None  # None: the policy's preset (see use_policy_training_preset)
    scheduler: SchedulerConfig | None = None  # None: the policy's preset
    eval: EvalConfig = field(default_factory=EvalConfig)  # evaluation in the simulator
    wandb: WandBConfig = field(default_factory=WandBConfig)  # experiment tracking
    hub: HubConfig = field(default_factory=HubConfig)  # publishing
    resources: ResourcesConfig = field(default_factory=ResourcesConfig)  # Ray resources per trial
    steps: int = 2000  # optimizer steps
    batch_size: int = 64  # samples per step, summed over workers
    num_workers: int = 0  # data-loader worker processes per Train worker
    seed: int = 1000  # seed of model init, data order and dropout
    log_freq: int = 50  # log and report metrics every this many steps
    save_freq: int = 500  # checkpoint every this many steps (and at the end)
    eval_freq: int = 500  # evaluate every this many steps (and at the end); 0 disables evaluation
    output_dir: str | None = None  # run folder; None: outputs/train/<job_name>
    job_name: str | None = None  # name of the run; None: <env.type>_<policy.type>
    resume: bool = False  # continue the run found in output_dir instead of refusing to overwrite it
    use_policy_training_preset: bool = True  # fill optimizer/scheduler from the policy's preset (explicit fields win)

    def problems(self) -> list[Problem]:
        out: list[Problem] = []
        for name in ("dataset", "env", "policy", "eval", "wandb", "hub", "resources"):
            out += prefixed(name, getattr(self, name).problems())
        for name in ("optimizer", "scheduler"):
            sub = getattr(self, name)
            if sub is None:
                known = sorted((OptimizerConfig if name == "optimizer" else SchedulerConfig).get_known_choices())
                out.append(
                    problem(name, f"required when use_policy_training_preset=false: set --{name}.type (one of {known})")
                )
            else:
                out += prefixed(name, sub.problems())
        for name in ("steps", "batch_size", "log_freq", "save_freq"):
            out += positive(name, getattr(self, name))
        out += non_negative("num_workers", self.num_workers) + non_negative("eval_freq", self.eval_freq)
        out += non_negative("seed", self.seed)
        if not out and self.batch_size < self.resources.num_workers:
            out.append(
                problem(
                    "batch_size", f"must be >= resources.num_workers (= {self.resources.num_workers})", self.batch_size
                )
            )
        return out

    def most_eval_episodes(self) -> int:
        """The largest number of episodes any evaluation of this run uses (its last one)."""
        return self.eval.episodes_at(self.steps, self.eval_freq) if self.evaluates else 0

    @property
    def evaluates(self) -> bool:
        """This run evaluates in the simulator (every eval_freq steps and at the end)."""
        return self.eval_freq > 0

    def validate(self) -> TrainPipelineConfig:
        """Raise one UserError listing every problem; return self when there is none."""
        raise_if(self.problems())
        return self

    @property
    def name(self) -> str:
        return self.job_name or f"{self.env.type}_{self.policy.type}"

    def resolved_output_dir(self) -> Path:
        return Path(self.output_dir) if self.output_dir else Path("outputs/train") / self.name
