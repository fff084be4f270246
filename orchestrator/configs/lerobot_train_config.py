"""The file `--config_path` names (our own JSON/YAML config, or LeRobot's train_config.json) as a config layer, and
LeRobot's train_config.json mapped onto our fields: the starting point of `train --config_path=...`, and of
`from_lerobot(...)` (orchestrator/configs/parsing.py) as the base of a search-space file.

LeRobot writes its whole run config beside every checkpoint (`checkpoints/<step>/pretrained_model/train_config.json`)
and publishes it beside the weights on the Hub. `--config_path` takes such a file, a folder holding one, or a Hub model
repo id (`lerobot/diffusion_pusht`), as LeRobot's own `--config_path` does. LeRobot 0.4 and 0.6 files are both read
(0.6 renamed `eval_freq` to `env_eval_freq`, among others). Its fields map onto ours (`convert`, in
orchestrator/configs/lerobot_mapping.py, over the tables of orchestrator/configs/lerobot_field_tables.py); every
field that was set (not LeRobot's default, not null) and has no equivalent here is named in one note on stderr
(orchestrator/configs/lerobot_note.py) and left out, never dropped silently. Skipped without a note: fields LeRobot
derives or never uses (`env.features`, `env.features_map`, PushT's `observation_height/width`, which gym-pusht never
receives, `checkpoint_path`), and the optimizer/scheduler of a file with `use_policy_training_preset=true`, which
LeRobot itself replaces with the policy's preset on load (ours is the same preset, built from the same
`policy.optimizer_*` fields). The note also says how evaluation episodes are seeded, which differs: LeRobot seeds them
from the run's `seed`, we from `eval.seed`.

`eval --policy.path=<a lerobot-train checkpoint>/pretrained_model` reads only the file's env and eval sections
(`eval_layer`, in lerobot_mapping.py): a run without an env (LeRobot trains on a dataset without a simulator)
leaves the env to the command line or the default.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from orchestrator.configs.lerobot_mapping import convert
from orchestrator.configs.lerobot_note import print_note
from orchestrator.errors import UserError, problem
from orchestrator.hub_env import hub_cache_dir, hub_endpoint, is_offline

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
