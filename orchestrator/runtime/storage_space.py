"""A full disk stops the sweep with one message, before Ray's syncs and Tune's state files fail one by one.

Tune asks `StorageGuard.stop_all` on every turn of its loop: once the local storage volume has less free space than
the next checkpoints need (three times the largest checkpoint seen, at least MIN_FREE), it stops the sweep as a Ctrl-C
would (Tune's graceful stop: each trial keeps its registered checkpoints and stays RUNNING in the state Tune saves
while it still fits, so a resume continues it), and `raise_if_full` turns that into `StorageFull`: what the storage
holds, what is free, and how to resume. A write that fails anyway
(ENOSPC: the disk filled faster than a checkpoint) ends the same way. URIs (s3://...) are not watched: their space is
the bucket's.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from ray.tune.stopper import Stopper

from orchestrator import metrics as M
from orchestrator.errors import StorageFull
from orchestrator.runtime import interrupts

MIN_FREE = 16 * 2**20  # bytes kept free at least: Tune's state files, a small checkpoint


class StorageGuard(Stopper):
    def __init__(self, storage_dir: str):
        self.path = Path(storage_dir)
        self.need = MIN_FREE
        self.full: StorageFull | None = None

    def __getstate__(self) -> dict:  # Tune saves its stopper with the experiment: a resumed sweep starts unstopped
        return {**self.__dict__, "full": None}

    def __call__(self, trial_id: str, result: dict) -> bool:
        checkpoint = result.get(M.CHECKPOINT_PATH)
        if checkpoint and "://" not in str(checkpoint) and Path(checkpoint).is_dir():
            # room for the checkpoint a trial may still write while the stop takes effect, the next one, and Tune's
            # state files: three of the largest seen
            self.need = max(self.need, 3 * _size(Path(checkpoint)))
        return False

    def stop_all(self) -> bool:
        if self.full is not None:
            return False
        free = _free(self.path)
        if free is None or free >= self.need:
            return False
        self.full = StorageFull(str(self.path), free, self.need, _size(self.path))
        # Tune's graceful stop, as a Ctrl-C's: its state is saved with the running trials still RUNNING, so
        # --tune.resume=true continues them (stop_all's own stop would end them as finished)
        return not interrupts.stop_tune("storage full")


_guards: dict[str, StorageGuard] = {}


def storage_guard(storage_dir: str) -> StorageGuard | None:
    """The guard of a local experiment folder (one per folder and process); None for a URI."""
    if "://" in storage_dir:
        return None
    return _guards.setdefault(storage_dir, StorageGuard(storage_dir))


def raise_if_full(storage_dir: str, error: BaseException | None = None) -> None:
    """StorageFull if the guard stopped the sweep, or if `error` is a write that found the disk full."""
    guard = storage_guard(storage_dir)
    if guard is None:
        return
    if guard.full is None and isinstance(error, OSError) and error.errno == errno.ENOSPC:
        guard.full = StorageFull(str(guard.path), _free(guard.path) or 0, guard.need, _size(guard.path))
    if guard.full is not None:
        raise guard.full


def _free(path: Path) -> int | None:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return shutil.disk_usage(candidate).free
    return None


def _size(path: Path) -> int:
    try:
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    except OSError:
        return 0
