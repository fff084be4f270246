"""Where a dataset's files come from: a local folder (`dataset.root`), a dataset recorded on this machine
(`local/<name>`), or a Hugging Face Hub dataset repo (`<org>/<name>` at `dataset.revision`), downloaded once into
the Hugging Face cache and reused from there, also offline."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.errors import UserError, problem

if TYPE_CHECKING:
    from orchestrator.configs.train import DatasetConfig

ETAG_TIMEOUT_S = 5  # seconds to wait for the Hub before falling back to the local cache


def is_offline() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set to a true value, read now rather than at import time."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().upper() in ("1", "ON", "YES", "TRUE")


def hub_endpoint() -> str:
    """HF_ENDPOINT now, else what huggingface_hub resolved at import (it reads the variable only then)."""
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def hub_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(os.environ.get("HF_HUB_CACHE") or constants.HF_HUB_CACHE)


def download(repo_id: str, revision: str | None) -> Path:
    """The local folder of a Hub dataset repo at `revision`: the cached snapshot, downloaded first when online.

    Offline (HF_HUB_OFFLINE=1 or no network) with nothing cached: a UserError naming the repo and the cache folder,
    at once (no retries).
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError, \
        RevisionNotFoundError

    cache = hub_cache_dir()
    field = "dataset.repo_id"
    try:
        return Path(snapshot_download(repo_id, repo_type="dataset", revision=revision, cache_dir=cache,
                                      local_files_only=is_offline(), etag_timeout=ETAG_TIMEOUT_S,
                                      endpoint=hub_endpoint()))
    except RevisionNotFoundError:
        raise UserError(problem("dataset.revision", f"no such revision of the dataset {repo_id} on the Hub",
                                revision), "dataset not found") from None
    except RepositoryNotFoundError:
        raise UserError(problem(field, "no such dataset on the Hub (or it is private: log in with `hf auth login`)",
                                repo_id), "dataset not found") from None
    except LocalEntryNotFoundError:
        why = "HF_HUB_OFFLINE is set" if is_offline() else "the Hub cannot be reached"
        raise UserError(problem(field, f"{why} and the dataset (revision {revision or 'main'}) is not in the "
                                       f"Hugging Face cache {cache}; download it once online, or set dataset.root "
                                       f"to a local copy", repo_id), "dataset not found") from None
    except (HfHubHTTPError, OSError) as e:
        raise UserError(problem(field, f"downloading from the Hub failed: {e}", repo_id), "dataset not found") from None


def cached_snapshot(repo_id: str, revision: str | None) -> Path | None:
    """The Hub dataset's snapshot when it is in the Hugging Face cache already, else None (nothing downloaded)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id, repo_type="dataset", revision=revision, cache_dir=hub_cache_dir(),
                                      local_files_only=True))
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None
