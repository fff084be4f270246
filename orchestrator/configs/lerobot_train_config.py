"""The file `--config_path` names (our own JSON/YAML config, or LeRobot's train_config.json) as a config layer, and
LeRobot's train_config.json mapped onto our fields: the starting point of `train --config_path=...`, and of
`from_lerobot(...)` (orchestrator/configs/parsing.py) as the base of a search-space file.

LeRobot writes its whole run config beside every checkpoint (`checkpoints/<step>/pretrained_model/train_config.json`)
and publishes it beside the weights on the Hub. `--config_path` takes such a file, a folder holding one, or a Hub model
repo id (`lerobot/diffusion_pusht`), as LeRobot's own `--config_path` does. LeRobot 0.4 and 0.6 files are both read
(0.6 renamed `eval_freq` to `env_eval_freq`, among others). Its fields map onto ours (`convert`); every field that was
set (not LeRobot's default, not null) and has no equivalent here is named in one note on stderr and left out, never
dropped silently. Skipped without a note: fields LeRobot derives or never uses (`env.features`, `env.features_map`,
PushT's `observation_height/width`, which gym-pusht never receives, `checkpoint_path`), and the optimizer/scheduler
of a file with `use_policy_training_preset=true`, which LeRobot itself replaces with the policy's preset on load
(ours is the same preset, built from the same `policy.optimizer_*` fields). The note also says how evaluation
episodes are seeded, which differs: LeRobot seeds them from the run's `seed`, we from `eval.seed`.

`eval --policy.path=<a lerobot-train checkpoint>/pretrained_model` reads only the file's env and eval sections
(`eval_layer`): a run without an env (LeRobot trains on a dataset without a simulator) leaves the env to the command
line or the default.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orchestrator.configs.policy import PolicyConfig
from orchestrator.configs.train import EvalConfig
from orchestrator.errors import Problem, UserError, problem
from orchestrator.hub_env import hub_cache_dir, hub_endpoint, is_offline
from orchestrator.policies import registry  # noqa: F401  (registers every policy type)

TRAIN_CONFIG_NAME = "train_config.json"

# Top-level keys only LeRobot's TrainPipelineConfig has (0.4 and 0.6): how a LeRobot file is told from ours.
LEROBOT_ONLY_KEYS = {
    "tolerance_s",
    "save_checkpoint",
    "rename_map",
    "checkpoint_path",
    "peft",
    "env_eval_freq",
    "use_rabc",
    "sample_weighting",
    "ema",
    "accelerator",
    "parallelism",
    "job",
    "reward_model",
}
OURS_ONLY_KEYS = {"hub", "resources"}

# LeRobot's defaults of the fields we do not support (0.4.4 and 0.6.2): a field holding its default is not noted.
# A field missing here is noted whenever it is set (not null, false, 0 or empty).
UNSUPPORTED_DEFAULTS: dict[str, Any] = {
    "resume": False,
    "tolerance_s": 1e-4,
    "save_checkpoint": True,
    "peft": None,
    "rename_map": {},
    "use_rabc": False,
    "rabc_progress_path": None,
    "rabc_kappa": 0.01,
    "rabc_epsilon": 1e-6,
    "rabc_head_mode": "sparse",
    "reward_model": None,
    "sample_weighting": None,
    "cudnn_deterministic": False,
    "prefetch_factor": 4,
    "persistent_workers": True,
    "dataloader_multiprocessing_context": "spawn",
    "eval_steps": 0,
    "max_eval_samples": 0,
    "checkpoint_format": "safetensors",
    "save_checkpoint_to_hub": False,
    "ema": {
        "enable": False,
        "decay": None,
        "update_after_step": 0,
        "inv_gamma": 1.0,
        "power": 0.75,
        "min_decay": 0.0,
        "max_decay": 0.9999,
        "use_for_eval": True,
    },
    "job": {"target": None, "image": "huggingface/lerobot-gpu:latest", "timeout": "2d", "detach": False, "tags": []},
    "parallelism": {
        "dp_replicate": 1,
        "dp_shard": 1,
        "cfg_parallel": 1,
        "context_parallel": {"ring_degree": 1, "ulysses_degree": 1},
    },
    "accelerator": {
        "mixed_precision": "no",
        "gradient_accumulation": {"steps": 1},
        "fsdp": {
            "reshard_after_forward": True,
            "wrap_modules": None,
            "min_num_params": None,
            "cpu_offload": False,
            "ignored_modules": None,
        },
        "ddp": {"find_unused_parameters": True, "gradient_as_bucket_view": False, "static_graph": False},
        "compile": {"enabled": False, "backend": "inductor", "mode": None, "regional": True},
        "activation_checkpointing": {"mode": "none"},
    },
    "dataset": {
        "video_backend": "torchcodec",
        "streaming": False,
        "repo_type": "dataset",
        "exclude_episodes": None,
        "return_uint8": False,
        "depth_output_unit": "mm",
    },
    "eval": {"recording": False, "recording_repo_id": None, "recording_private": False},
    "wandb": {"disable_artifact": False, "run_id": None, "add_tags": True},
    "policy": {
        "device": None,
        "use_amp": False,
        "use_peft": False,
        "push_to_hub": True,
        "repo_id": None,
        "private": None,
        "tags": None,
        "license": None,
        "pretrained_path": None,
        "pretrained_revision": None,
    },
    "env": {
        "task": None,
        "render_mode": "rgb_array",
        "max_parallel_tasks": 1,
        "disable_env_checker": True,
        "visualization_width": 384,
        "visualization_height": 384,
        "multitask_eval": True,
    },
}
NOT_NOTED = {"checkpoint_path", "env.features", "env.features_map", "eval_freq", "env_eval_freq"}

PUSHT_OBS_TYPES = {
    "environment_state_agent_pos": "keypoints",
    "pixels_agent_pos": "pixels_agent_pos",
    "pixels": "pixels",
    "state": "state",
}
ALOHA_TASKS = {"AlohaInsertion-v0": "insertion", "AlohaTransferCube-v0": "transfer_cube"}
ALOHA_IMAGE = (480, 640)  # gym-aloha's camera size: LeRobot never passes its observation_height/width to the env
# LeRobot's image transform (name, torchvision type, kwarg) -> ours: same name, the kwarg's range.
OUR_TRANSFORMS = {
    "brightness": "ColorJitter",
    "contrast": "ColorJitter",
    "saturation": "ColorJitter",
    "sharpness": "SharpnessJitter",
}


@dataclass
class Converted:
    """A LeRobot train config, mapped."""

    layer: dict  # a config layer in our field names (for orchestrator.configs.parsing.build_config)
    left_out: list[str] = field(default_factory=list)  # "dotted = value" of each set LeRobot field with no home here
    differences: list[str] = field(default_factory=list)  # what behaves otherwise here (evaluation seeds), for the note


def is_lerobot_train_config(data: Any) -> bool:
    """LeRobot's TrainPipelineConfig (as draccus writes it): a dataset section and LeRobot-only run fields."""
    return (
        isinstance(data, dict)
        and isinstance(data.get("dataset"), dict)
        and not OURS_ONLY_KEYS & data.keys()
        and bool(LEROBOT_ONLY_KEYS & data.keys())
    )


def config_path_layer(path: str) -> dict:
    """The layer of `--config_path`: our own JSON/YAML config file as is, or LeRobot's train_config.json (a file, a
    folder holding one, or a Hub model repo id) mapped onto our fields, with the note of what was left out."""
    data, source = read_config_path(path)
    if not is_lerobot_train_config(data):
        return data
    converted = convert(data, source)
    print_note(converted.left_out, source, converted.differences)
    return converted.layer


def read_config_path(path: str) -> tuple[dict, str]:
    """(the file's mapping, how to name it): a file, a folder with train_config.json, or a Hub model repo id."""
    local = Path(path).expanduser()
    if local.is_dir():
        return load_config_file(local / TRAIN_CONFIG_NAME), str(local / TRAIN_CONFIG_NAME)
    if local.exists() or not looks_like_hub_id(path):
        return load_config_file(path), str(path)
    return load_config_file(download_train_config(path)), f"{path} (Hub)"


def load_config_file(path: str | Path) -> dict:
    """A JSON or YAML file holding a (partial) TrainPipelineConfig."""
    p = Path(path)
    if not p.is_file():
        raise UserError(problem("config_path", "file not found", str(path)))
    try:
        data = json.loads(p.read_text()) if p.suffix == ".json" else yaml.safe_load(p.read_text())
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        first_line = str(e).splitlines()[0]
        raise UserError(
            problem("config_path", f"is not valid {'JSON' if p.suffix == '.json' else 'YAML'}: {first_line}", str(path))
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(problem("config_path", "must hold a mapping of config fields", str(path)))
    return data


def looks_like_hub_id(path: str) -> bool:
    """`org/name`, not a config file's name (a missing local file is reported as such, not looked up on the Hub)."""
    return (
        re.fullmatch(r"[\w.-]+/[\w.-]+", path) is not None
        and not path.endswith((".json", ".yaml", ".yml"))
        and not {".", ".."} & set(path.split("/"))
    )


def download_train_config(repo_id: str) -> Path:
    """train_config.json of a Hub model repo (HF_ENDPOINT honoured; a cached copy is used when offline)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    try:
        return Path(
            hf_hub_download(
                repo_id,
                TRAIN_CONFIG_NAME,
                repo_type="model",
                etag_timeout=5,
                endpoint=hub_endpoint(),
                cache_dir=hub_cache_dir(),
                local_files_only=is_offline(),
            )
        )
    except LocalEntryNotFoundError:
        why = (
            f"is not a local file, and {TRAIN_CONFIG_NAME} of that Hub model repo could not be downloaded (offline? "
            f"HF_HUB_OFFLINE set?) and is not in the cache {hub_cache_dir()}"
        )
    except RepositoryNotFoundError:
        why = "is neither a local file nor a Hub model repo this token can see (private or gated? `hf auth login`)"
    except EntryNotFoundError:
        why = f"is a Hub model repo without {TRAIN_CONFIG_NAME} (LeRobot writes it beside the weights it trains)"
    except (HfHubHTTPError, OSError) as e:
        why = f"is not a local file, and downloading {TRAIN_CONFIG_NAME} from the Hub failed: {type(e).__name__}"
    raise UserError(problem("config_path", why, repo_id))


def print_note(left_out: list[str], source: str, differences: Sequence[str] = ()) -> None:
    """The one note naming every LeRobot field that was set but is not supported here, and what behaves otherwise
    (stderr)."""
    if left_out or differences:
        print(note_text(left_out, source, differences=differences), file=sys.stderr)


def note_text(left_out: list[str], source: str, width: int = 120, differences: Sequence[str] = ()) -> str:
    header = f"note: from LeRobot's train_config.json ({source})"
    lines = [f"{header} these fields are not supported here and were left out:" if left_out else f"{header}:"]
    lines += _wrapped([item + ("," if i < len(left_out) - 1 else "") for i, item in enumerate(left_out)], width)
    for i, text in enumerate(differences):
        lines += _wrapped((("and " if left_out and i == 0 else "") + text).split(" "), width)
    return "\n".join(lines)


def _wrapped(words: list[str], width: int) -> list[str]:
    """`words` joined by spaces into lines of at most `width` characters, each indented by two spaces (none: [])."""
    lines, line = [], " "
    for word in words:
        if len(line) + 1 + len(word) > width and line.strip():
            lines.append(line)
            line = " "
        line += " " + word
    return lines + [line] if line.strip() else lines


def seed_difference(seed: Any) -> str:
    """How LeRobot's evaluation episodes are seeded and how ours are: LeRobot's run evaluates the episodes seeded
    `seed`, `seed` + 1, ... (lerobot_train.py: eval_policy_all(start_seed=cfg.seed)); ours eval.seed, eval.seed + 1,
    ... (`seed` seeds the training only)."""
    ours = EvalConfig.seed
    lerobot = (
        f"from `seed` (episodes {seed}, {seed + 1}, ...)"
        if isinstance(seed, int)
        else "from `seed`, null in this file (unseeded episodes)"
    )
    same = f"; --eval.seed={seed} runs the episodes lerobot-train evaluated" if isinstance(seed, int) else ""
    return (
        f"evaluation seeds differ: LeRobot seeds its evaluation episodes {lerobot}, this project from eval.seed "
        f"(episodes {ours}, {ours + 1}, ...; `seed` seeds only the training){same}"
    )


def convert(data: dict, source: str = "train_config.json") -> Converted:
    """LeRobot's train config (0.4 or 0.6, as a dict) -> our layer and the fields left out. UserError when the
    dataset or the policy cannot be used at all."""
    reader = _Reader(source)
    layer = reader.train(data)
    reader.raise_problems()
    return Converted(layer, reader.left_out, [seed_difference(data.get("seed"))])


def eval_layer(data: dict, source: str = "train_config.json") -> Converted:
    """What `eval --policy.path` takes from LeRobot's train_config.json beside a checkpoint: the env and eval sections,
    mapped. A file without an env (LeRobot trained on a dataset alone), or with a simulator we lack, gives no env:
    the command line or the default chooses it. `left_out` names the env and eval fields with no home here."""
    reader = _Reader(source)
    layer: dict[str, Any] = {}
    env = reader.env(data.get("env"))
    if env is not None:
        layer["env"] = env
    if isinstance(data.get("eval"), dict):
        layer["eval"] = reader.eval(data["eval"])
    return Converted(layer, reader.left_out)


class _Reader:
    """Walks one LeRobot config: maps what has an equivalent, notes what is set and has none."""

    def __init__(self, source: str):
        self.source = source
        self.left_out: list[str] = []
        self.problems: list[Problem] = []

    def leave_out(self, dotted: str, value: Any, shown: str | None = None) -> None:
        self.left_out.append(f"{dotted} = {shown or _short(value)}")

    def rest(self, section: dict, used: set[str], prefix: str, defaults: dict | None = None) -> None:
        """Note every key of `section` outside `used` that holds neither LeRobot's default nor an unset value."""
        if defaults is None:
            defaults = UNSUPPORTED_DEFAULTS.get(prefix[:-1], {}) if prefix else UNSUPPORTED_DEFAULTS
        for key, value in section.items():
            dotted = prefix + key
            if key in used or dotted in NOT_NOTED:
                continue
            default = defaults.get(key, _UNKNOWN) if isinstance(defaults, dict) else _UNKNOWN
            if isinstance(default, dict) and isinstance(value, dict) and default:
                self.rest(value, set(), dotted + ".", default)
            elif default is _UNKNOWN and not _is_set(value) or default is not _UNKNOWN and _same(value, default):
                continue
            else:
                self.leave_out(dotted, value)

    def raise_problems(self) -> None:
        if self.problems:
            raise UserError(self.problems, f"cannot use LeRobot's train_config.json ({self.source})")

    def train(self, data: dict) -> dict:
        out: dict[str, Any] = {}
        copy = [
            "output_dir",
            "job_name",
            "num_workers",
            "batch_size",
            "steps",
            "log_freq",
            "use_policy_training_preset",
        ]
        out.update({key: data[key] for key in copy if key in data and data[key] is not None})
        used = set(copy) | {
            "dataset",
            "env",
            "policy",
            "optimizer",
            "scheduler",
            "eval",
            "wandb",
            "seed",
            "save_freq",
            "resume",
            "save_checkpoint",
        }
        if data.get("seed") is not None:
            out["seed"] = data["seed"]
        elif "seed" in data:
            self.leave_out("seed", None)  # LeRobot: unseeded; ours always seeds
        if isinstance(data.get("save_freq"), int):  # 0.6: a non-positive save_freq keeps the final checkpoint only
            out["save_freq"] = data["save_freq"] if data["save_freq"] > 0 else data.get("steps", data["save_freq"])
        if data.get("save_checkpoint") is False:
            self.leave_out("save_checkpoint", False)  # ours always checkpoints
        if data.get("resume"):
            self.leave_out("resume", True)  # a LeRobot run cannot be resumed here: this starts a new run
        freq = data.get("env_eval_freq", data.get("eval_freq"))
        if freq is not None:
            out["eval_freq"] = freq
        out["dataset"] = self.dataset(data["dataset"])
        env = self.env(data.get("env"))
        if env is None:
            out["eval_freq"] = 0  # LeRobot trains without simulator evaluation when there is no env
        else:
            out["env"] = env
        out["policy"] = self.policy(data.get("policy"))
        if not data.get("use_policy_training_preset", True):
            optimizer, scheduler = self.optimizer(data.get("optimizer")), self.scheduler(data.get("scheduler"), data)
            out.update({k: v for k, v in (("optimizer", optimizer), ("scheduler", scheduler)) if v is not None})
        if isinstance(data.get("eval"), dict):
            out["eval"] = self.eval(data["eval"])
        if isinstance(data.get("wandb"), dict):
            out["wandb"] = self.wandb(data["wandb"])
        self.rest(data, used, "")
        return out

    def dataset(self, section: dict) -> dict:
        repo_id = section.get("repo_id")
        if not isinstance(repo_id, str):
            self.problems.append(
                problem(
                    "dataset.repo_id",
                    "must be one dataset id (a list of datasets is not supported, by LeRobot's train either)",
                    repo_id,
                )
            )
        out = {
            key: section[key]
            for key in ("repo_id", "root", "episodes", "revision", "use_imagenet_stats")
            if key in section
        }
        if section.get("eval_split"):  # 0.6: the last episodes held out for the validation loss
            out["val_fraction"] = section["eval_split"]
        if isinstance(section.get("image_transforms"), dict):
            out["image_transforms"] = self.image_transforms(section["image_transforms"])
        self.rest(section, set(out) | {"eval_split", "image_transforms"}, "dataset.")
        return out

    def image_transforms(self, section: dict) -> dict:
        out = {key: section[key] for key in ("enable", "max_num_transforms") if key in section}
        enabled = bool(section.get("enable"))
        if section.get("random_order"):
            self.leave_out("dataset.image_transforms.random_order", True)
        tfs = section.get("tfs") or {}
        for name, tf in tfs.items():
            kwargs = tf.get("kwargs", {}) if isinstance(tf, dict) else {}
            if OUR_TRANSFORMS.get(name) == tf.get("type") and list(kwargs) == [name] and tf.get("weight", 1.0) == 1.0:
                out[name] = list(kwargs[name])
            elif enabled:  # LeRobot applies it; we cannot
                shown = f"{tf.get('type')}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
                self.leave_out(f"dataset.image_transforms.tfs.{name}", tf, shown if isinstance(tf, dict) else None)
        for name in OUR_TRANSFORMS:
            if name not in tfs:
                out[name] = [1.0, 1.0]  # LeRobot's config has no such transform: ours leaves images unchanged
        return out

    def env(self, section: dict | None) -> dict | None:
        if not isinstance(section, dict):
            return None
        etype = section.get("type")
        out: dict[str, Any] = {"type": etype}
        out.update({key: section[key] for key in ("fps", "episode_length") if section.get(key) is not None})
        used = {"type", "fps", "episode_length", "obs_type", "task", "observation_height", "observation_width"}
        obs_type, task = section.get("obs_type"), section.get("task")
        if etype == "pusht":
            if obs_type in PUSHT_OBS_TYPES:
                out["obs_type"] = PUSHT_OBS_TYPES[obs_type]
            elif obs_type is not None:
                self.leave_out("env.obs_type", obs_type)
            if task not in (None, "PushT-v0"):
                self.leave_out("env.task", task)
        elif etype == "aloha":
            out["render_height"], out["render_width"] = ALOHA_IMAGE
            if task in ALOHA_TASKS:
                out["task"] = ALOHA_TASKS[task]
            elif task is not None:
                self.leave_out("env.task", task)
            if obs_type not in (None, "pixels_agent_pos"):
                self.leave_out("env.obs_type", obs_type)  # ours always observes the joints and the top camera
        elif etype == "metaworld":
            name = re.sub(r"-v\d$", "", str(task or "").removeprefix("metaworld-"))
            if task is None or "," in name:
                self.leave_out("env.task", task)  # ours runs one task
            else:
                out["task"] = name
            if obs_type is not None and "pixels" in obs_type:
                self.leave_out("env.obs_type", obs_type)  # ours has no camera: state observations only
        else:
            self.leave_out("env.type", etype)
            return None  # no such simulator here: training runs without evaluation, as LeRobot's with no env
        self.rest(section, used, "env.")
        return out

    def policy(self, section: Any) -> dict:
        known = PolicyConfig.get_known_choices()
        ptype = section.get("type") if isinstance(section, dict) else None
        if ptype not in known:
            self.problems.append(
                problem("policy.type", f"LeRobot's policy has no counterpart here; known: {sorted(known)}", ptype)
            )
            return {}
        ours = {f.name for f in dataclasses.fields(known[ptype])}
        out: dict[str, Any] = {"type": ptype}
        for key, value in section.items():
            if key == "pretrained_path" or key not in ours:
                continue  # pretrained_path: LeRobot's run started from those weights; here --policy.path does that
            if key == "pretrained_backbone_weights" and isinstance(value, str) and "_Weights." in value:
                continue  # torchvision's download name: noted below; ours needs a local safetensors file
            out[key] = value
        self.rest(section, set(out), "policy.")
        return out

    def optimizer(self, section: Any) -> dict | None:
        if section is None:
            return None
        otype = section.get("type")
        fields = {
            "adam": ["lr", "weight_decay", "grad_clip_norm", "betas", "eps"],
            "adamw": ["lr", "weight_decay", "grad_clip_norm", "betas", "eps"],
            "sgd": ["lr", "weight_decay", "grad_clip_norm", "momentum"],
        }.get(otype)
        if fields is None:
            self.leave_out("optimizer", {"type": otype})
            return None
        out = {"type": otype, **{key: section[key] for key in fields if key in section}}
        self.rest(section, set(out), "optimizer.", {"dampening": 0.0, "nesterov": False})
        return out

    def scheduler(self, section: Any, data: dict) -> dict | None:
        """LeRobot's schedule -> ours where the curve is the same; no scheduler in LeRobot: a constant lr."""
        if section is None:
            return {"type": "constant"}
        stype, warmup = section.get("type"), section.get("num_warmup_steps") or 0
        if stype == "diffuser" and section.get("name") == "cosine" or stype == "cosine_annealing_with_warmup":
            return {"type": "cosine_decay_with_warmup", "num_warmup_steps": warmup, "min_lr_ratio": 0.0}
        if (
            stype == "diffuser" and section.get("name") == "constant" or stype == "constant_with_warmup"
        ) and not warmup:
            return {"type": "constant"}
        if (
            stype == "cosine_decay_with_warmup"
            and not warmup
            and section.get("peak_lr")
            and section.get("num_decay_steps", 0) >= data.get("steps", 0)
        ):
            # LeRobot's decays from step 0 over min(num_decay_steps, steps): ours, when there is no warm-up
            return {
                "type": "cosine_decay_with_warmup",
                "num_warmup_steps": 0,
                "min_lr_ratio": section["decay_lr"] / section["peak_lr"],
            }
        self.leave_out("scheduler", section)
        return None

    def eval(self, section: dict) -> dict:
        out = {key: section[key] for key in ("n_episodes", "batch_size", "use_async_envs") if key in section}
        n_episodes = out.get("n_episodes")
        if isinstance(n_episodes, int) and isinstance(out.get("batch_size"), int):
            # 0.6: batch_size 0 is "auto" and a batch larger than n_episodes is cut to it
            out["batch_size"] = min(out["batch_size"] or EvalConfig.batch_size, n_episodes)
        self.rest(section, set(out), "eval.")
        return out

    def wandb(self, section: dict) -> dict:
        out = {key: section[key] for key in ("enable", "project", "entity", "notes") if key in section}
        if section.get("mode") is not None:
            out["mode"] = section["mode"]
        elif section.get("enable"):
            out["mode"] = "online"  # LeRobot's null mode logs online
        self.rest(section, set(out) | {"mode"}, "wandb.")
        return out


_UNKNOWN = object()


def _is_set(value: Any) -> bool:
    return value not in (None, False, 0, "", [], {})


def _same(value: Any, default: Any) -> bool:
    if isinstance(default, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return abs(value - default) <= 1e-12 * max(1.0, abs(default))
    return value == default


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value) if isinstance(value, (dict, list)) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
