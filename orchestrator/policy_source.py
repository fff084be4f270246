"""`--policy.path=<folder or Hub id>`: start from a saved policy (to fine-tune or evaluate it).

The saved folder (ours, or one LeRobot >= 0.4 wrote) has config.json, model.safetensors and LeRobot's processor
files (policies/processors.py). Its config.json becomes the policy section of that config layer (its `type` and
LeRobot's base fields included); fields the same layer sets next to `path` override it, and `policy.pretrained_path`
records the folder so the weights are loaded when the policy is built (`eval` also takes the normalization
statistics from the processor files; fine-tuning normalizes with the new dataset's, as LeRobot does). A Hub id is
downloaded with `huggingface_hub.snapshot_download` into the local Hugging Face cache (a cached copy is used when
offline).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from orchestrator.errors import Problem, UserError, problem
from orchestrator.hub_env import hub_cache_dir, hub_endpoint, is_offline

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
PREPROCESSOR_CONFIG = "policy_preprocessor.json"  # see policies/processors.py
POLICY_FILES = [CONFIG_NAME, WEIGHTS_NAME, "train_config.json", "README.md", "policy_*processor*"]  # to download


def resolve_policy_folder(path: str) -> Path:
    """A local folder as is; otherwise `path` is taken as a Hub model id and downloaded (or found in the cache)."""
    local = Path(path).expanduser()
    if local.exists() or path.startswith((".", "/", "~")) or path.count("/") != 1:
        return local
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(
            snapshot_download(
                path,
                repo_type="model",
                allow_patterns=POLICY_FILES,
                etag_timeout=5,
                cache_dir=hub_cache_dir(),
                endpoint=hub_endpoint(),
                local_files_only=is_offline(),
            )
        )
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as e:
        raise UserError(
            problem(
                "policy.path",
                f"is neither a local folder nor a Hub model that can be downloaded "
                f"(no network and nothing in the cache {hub_cache_dir()}?): "
                f"{type(e).__name__}",
                path,
            )
        ) from None


def saved_policy_problems(folder: Path, path: str) -> list[Problem]:
    """What makes `folder` unusable as a saved policy."""
    if not folder.is_dir():
        return [problem("policy.path", "folder not found", path)]
    missing = [name for name in (CONFIG_NAME, WEIGHTS_NAME, PREPROCESSOR_CONFIG) if not (folder / name).is_file()]
    if missing:
        why = (
            (
                " (the normalization statistics: policy folders of LeRobot < 0.4 keep them in model.safetensors; "
                "convert them with `python -m lerobot.processor.migrate_policy_normalization`)"
            )
            if PREPROCESSOR_CONFIG in missing
            else ""
        )
        return [problem("policy.path", f"is not a saved policy: {folder} has no {' and no '.join(missing)}{why}", path)]
    return []


def expand_policy_path(section: dict[str, Any]) -> dict[str, Any]:
    """A policy section holding `path` -> the saved config with the section's other fields over it."""
    if not isinstance(section, dict) or section.get("path") is None:
        return section
    section = dict(section)
    path = str(section.pop("path"))
    folder = resolve_policy_folder(path)
    bad = saved_policy_problems(folder, path)
    if bad:
        raise UserError(bad)
    try:
        saved = json.loads((folder / CONFIG_NAME).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(problem("policy.path", f"{folder / CONFIG_NAME} is not valid JSON ({e})", path)) from None
    if "type" in section and section["type"] != saved.get("type"):
        raise UserError(
            problem(
                "policy.type",
                f"conflicts with policy.path = {path!r}, which holds a "
                f"{saved.get('type')!r} policy: drop --policy.type or point at a "
                f"{section['type']!r} policy",
                section["type"],
            )
        )
    if "pretrained_backbone_weights" in saved:  # the saved backbone is in model.safetensors: nothing to download
        saved["pretrained_backbone_weights"] = None
    if saved.get("device") not in (None, "cpu") and "device" not in section:  # where it was trained, not a request
        print(
            f"note: {folder / CONFIG_NAME} records device {saved['device']!r} (where it was trained); here the "
            "device follows resources.use_gpu (--policy.device=cuda asks for a GPU)",
            file=sys.stderr,
            flush=True,
        )
    saved["device"] = None
    return {**saved, **section, "pretrained_path": str(folder.resolve())}
