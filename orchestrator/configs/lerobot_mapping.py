"""LeRobot's train_config.json (0.4 or 0.6, as a dict) mapped onto our fields: `convert` for a whole run config,
`eval_layer` for the env and eval sections; every set field with no home here is collected in `left_out`."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from typing import Any

from orchestrator.configs.lerobot_field_tables import (
    ALOHA_IMAGE,
    ALOHA_TASKS,
    NOT_NOTED,
    OUR_TRANSFORMS,
    PUSHT_OBS_TYPES,
    UNSUPPORTED_DEFAULTS,
)
from orchestrator.configs.lerobot_note import seed_difference
from orchestrator.configs.policy import PolicyConfig
from orchestrator.configs.train import EvalConfig
from orchestrator.errors import Problem, UserError, problem
from orchestrator.policies import registry  # noqa: F401  (registers every policy type)


@dataclass
class Converted:
    """A LeRobot train config, mapped."""

    layer: dict  # a config layer in our field names (for orchestrator.configs.parsing.build_config)
    left_out: list[str] = field(default_factory=list)  # "dotted = value" of each set LeRobot field with no home here
    differences: list[str] = field(default_factory=list)  # what behaves otherwise here (evaluation seeds), for the note


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
