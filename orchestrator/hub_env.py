"""Where the Hugging Face Hub is, where its cache is, and whether to stay offline: read from the environment when
asked (huggingface_hub reads HF_ENDPOINT, HF_HUB_CACHE and HF_HUB_OFFLINE once, at import), so one process can be
pointed at a private Hub or a local test server. Used by every download and upload (datasets, policies, configs)."""

from __future__ import annotations

import os
from pathlib import Path


def is_offline() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set to a true value, read now rather than at import time."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().upper() in ("1", "ON", "YES", "TRUE")


def hub_endpoint() -> str:
    """HF_ENDPOINT now, else what huggingface_hub resolved at import."""
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def hub_cache_dir() -> Path:
    """HF_HUB_CACHE now, else what huggingface_hub resolved at import."""
    from huggingface_hub import constants

    return Path(os.environ.get("HF_HUB_CACHE") or constants.HF_HUB_CACHE)
