"""Versioned index snapshots in media storage (S3 when USE_S3), for many web replicas.

A writer (a CPU worker, on the schedule) brings an index level with the database, saves
it, and publishes the saved file under index-snapshots/NAME/VERSION/, then moves the
NAME/LATEST pointer to it. A replica with no index of its own loads the newest snapshot
instead of rebuilding from the database, and any replica takes a newer snapshot when one
appears (a rebuilt or retrained index). The swap happens under the index's write lock,
so searches wait a moment and none fails; the replica then catches up from the database
as always.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from django.conf import settings

from generation import storage

logger = logging.getLogger("tailor.index")
PREFIX = "index-snapshots"
KEEP = 3


def _pointer_key(name: str) -> str:
    return f"{PREFIX}/{name}/LATEST"


def snapshot_publish(*, name: str = "items") -> dict:
    """Publish the index as it is now in the database; returns the pointer."""
    from profiles import indexes

    synced = indexes.ALL[name]()
    index = synced.ready(force=True)  # caught up, and saved
    with index._save_lock:  # no save may replace the file while it uploads
        meta = json.loads(index.meta_path.read_text())
        version = f"{time.time_ns()}"
        key = f"{PREFIX}/{name}/{version}/{meta['file']}"
        storage.media_upload(key, index.directory / meta["file"], content_type="application/octet-stream")
    pointer = {**meta, "version": version, "key": key}
    storage.media_save(_pointer_key(name), json.dumps(pointer).encode())  # moved last: readers see whole snapshots
    _prune(name, keep={version})
    logger.info("index snapshot published name=%s version=%s n=%s", name, version, meta["ntotal"])
    return pointer


def _prune(name: str, *, keep: set[str]) -> None:
    versions = sorted({k.split("/")[2] for k in storage.media_keys(f"{PREFIX}/{name}/") if k.count("/") >= 3})
    old = [v for v in versions if v not in keep][: max(0, len(versions) - KEEP)]
    stale = [k for k in storage.media_keys(f"{PREFIX}/{name}/") if k.count("/") >= 3 and k.split("/")[2] in old]
    if stale:
        storage.media_delete(stale)


def snapshot_pointer(name: str) -> dict | None:
    try:
        return json.loads(storage.media_read(_pointer_key(name)))
    except Exception:  # none published yet, or storage unreachable: the database is the fallback
        return None


def snapshot_load(index, *, name: str, pointer: dict | None = None, only_if_newer: bool = True) -> bool:
    """Load the newest snapshot into this VectorIndex (a hot swap); False if there is none
    or it is not newer than what the index holds."""
    pointer = pointer or snapshot_pointer(name)
    if pointer is None or pointer.get("dim") != index.dim:
        return False
    if only_if_newer and (pointer["last"], pointer["count"]) <= (index.watermark.last, index.watermark.count) and len(index):
        return False
    directory = Path(index.directory)
    started = time.monotonic()
    storage.media_download(pointer["key"], directory / pointer["file"])
    meta = {k: pointer[k] for k in ("dim", "count", "last", "ntotal", "file", "size")}
    tmp = directory / f".{index.name}.json.snapshot.tmp"
    tmp.write_text(json.dumps(meta))
    tmp.replace(index.meta_path)
    if not index.load():
        return False
    logger.info("index snapshot loaded name=%s version=%s n=%d ms=%.0f", name, pointer["version"], len(index),
                1000 * (time.monotonic() - started))
    return True


class SnapshotSource:
    """What a SyncedIndex asks: load the newest snapshot at start, and look for a newer one
    every INDEX_SNAPSHOT_CHECK_S seconds."""

    def __init__(self, name: str):
        self.name = name
        self.seen: str | None = None
        self.checked_at = 0.0

    def enabled(self) -> bool:
        return settings.INDEX_SNAPSHOTS

    def cold_start(self, index) -> bool:
        pointer = snapshot_pointer(self.name) if self.enabled() else None
        if pointer is None:
            return False
        self.seen, self.checked_at = pointer["version"], time.monotonic()
        return snapshot_load(index, name=self.name, pointer=pointer, only_if_newer=False)

    def maybe_swap(self, index) -> bool:
        if not self.enabled() or time.monotonic() - self.checked_at < settings.INDEX_SNAPSHOT_CHECK_S:
            return False
        self.checked_at = time.monotonic()
        pointer = snapshot_pointer(self.name)
        if pointer is None or pointer["version"] == self.seen:
            return False
        self.seen = pointer["version"]
        return snapshot_load(index, name=self.name, pointer=pointer)
