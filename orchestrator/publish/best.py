"""best/: the winning checkpoint's policy folder, copied out of the sweep's storage (config.json, model.safetensors,
train_config.json, the processors); its model card is written beside it (orchestrator/publish/model_card.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from orchestrator.results.candidates import Candidate
from orchestrator.runtime.storage import local_pretrained


def export_best(candidate: Candidate, folder: Path) -> Path:
    """Copy a checkpoint's pretrained_model (config.json, model.safetensors, train_config.json) to `folder`."""
    if folder.exists():
        shutil.rmtree(folder)
    assert candidate.checkpoint_path is not None, "the best candidate's checkpoint was committed"
    shutil.copytree(local_pretrained(candidate.checkpoint_path), folder)
    return folder
