"""Where a dataset's files come from: a local folder (`dataset.root`), a dataset recorded on this machine
(`local/<name>`), or a Hugging Face Hub dataset repo (`<org>/<name>` at `dataset.revision`), downloaded once into
the Hugging Face cache and reused from there, also offline."""

from __future__ import annotations

from pathlib import Path

from orchestrator.errors import UserError, problem
from orchestrator.hub_env import hub_cache_dir, hub_endpoint, is_offline

ETAG_TIMEOUT_S = 5  # seconds to wait for the Hub before falling back to the local cache


def download(repo_id: str, revision: str | None) -> Path:
    """The local folder of a Hub dataset repo at `revision`: the cached snapshot, downloaded first when online.

    Offline (HF_HUB_OFFLINE=1 or no network) with nothing cached: a UserError naming the repo and the cache folder,
    at once (no retries).
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    cache = hub_cache_dir()
    field = "dataset.repo_id"
    try:
        return Path(
            snapshot_download(
                repo_id,
                repo_type="dataset",
                revision=revision,
                cache_dir=cache,
                local_files_only=is_offline(),
                etag_timeout=ETAG_TIMEOUT_S,
                endpoint=hub_endpoint(),
            )
        )
    except RevisionNotFoundError:
        raise UserError(
            problem("dataset.revision", f"no such revision of the dataset {repo_id} on the Hub", revision),
            "dataset not found",
        ) from None
    except RepositoryNotFoundError:
        raise UserError(
            problem(field, "no such dataset on the Hub (or it is private: log in with `hf auth login`)", repo_id),
            "dataset not found",
        ) from None
    except LocalEntryNotFoundError:
        why = "HF_HUB_OFFLINE is set" if is_offline() else "the Hub cannot be reached"
        raise UserError(
            problem(
                field,
                f"{why} and the dataset (revision {revision or 'main'}) is not in the "
                f"Hugging Face cache {cache}; download it once online, or set dataset.root "
                f"to a local copy",
                repo_id,
            ),
            "dataset not found",
        ) from None
    except (HfHubHTTPError, OSError) as e:
        raise UserError(problem(field, f"downloading from the Hub failed: {e}", repo_id), "dataset not found") from None


def cached_snapshot(repo_id: str, revision: str | None) -> Path | None:
    """The Hub dataset's snapshot when it is in the Hugging Face cache already, else None (nothing downloaded)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(
            snapshot_download(
                repo_id, repo_type="dataset", revision=revision, cache_dir=hub_cache_dir(), local_files_only=True
            )
        )
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None
