"""Versioned index snapshots in media storage (S3 when USE_S3), for many web replicas.

A writer (a CPU worker, on the schedule) brings an index level with the database, saves
it, and publishes the saved file under index-snapshots/NAME/VERSION/, then moves the
NAME/LATEST pointer to it. A replica with no index of its own loads the newest snapshot
instead of rebuilding from the database, and any replica takes a newer snapshot when one
appears (a rebuilt or retrained index). The swap happens under the index's write lock,
so searches wait a moment and none fails; the replica then catches up from the database
as always.

Snapshots hold every video's vector, so they live in storage's "private" area (outside
MEDIA_ROOT on disk; a prefix no handed-out URL points at on S3). The pointer is signed (HMAC
with SECRET_KEY over its fields, the file name and the file's sha256 among them) and checked
before anything is loaded: a pointer someone else wrote, a file name that is not a plain name
(`../../x`), or a file whose sha256 differs is refused with an error in the log, and the
replica goes on serving what it has.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from pathlib import Path

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from core import storage

logger = logging.getLogger("tailor.index")
PREFIX = "index-snapshots"
KEEP = 3
AREA = "private"
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}\Z")
_FIELDS = ("dim", "count", "last", "ntotal", "file", "size", "version", "key", "sha256")


class SnapshotRefused(Exception):
    """A pointer that is not ours, or a file that is not the one it names."""


def _signature(pointer: dict) -> str:
    body = json.dumps({k: pointer.get(k) for k in _FIELDS}, sort_keys=True, separators=(",", ":"))
    return salted_hmac("tailor.index-snapshot", body, algorithm="sha256").hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pointer_check(pointer: dict, *, name: str) -> None:
    """Raise SnapshotRefused unless we signed this pointer and its names stay where they belong."""
    if not isinstance(pointer, dict) or not isinstance(pointer.get("sig"), str):
        raise SnapshotRefused("unsigned pointer")
    if not constant_time_compare(pointer["sig"], _signature(pointer)):
        raise SnapshotRefused("bad signature")
    file, version = pointer.get("file"), pointer.get("version")
    if not (isinstance(file, str) and _PLAIN_NAME.match(file) and file not in (".", "..")):
        raise SnapshotRefused(f"file {file!r} is not a plain file name")
    if not (isinstance(version, str) and version.isdigit()):
        raise SnapshotRefused(f"version {version!r} is not a number")
    if pointer.get("key") != f"{PREFIX}/{name}/{version}/{file}":
        raise SnapshotRefused(f"key {pointer.get('key')!r} is not this snapshot's")
    if not (isinstance(pointer.get("sha256"), str) and re.fullmatch(r"[0-9a-f]{64}", pointer["sha256"])):
        raise SnapshotRefused("no sha256")


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
        sha256 = _sha256(index.directory / meta["file"])
        storage.media_upload(key, index.directory / meta["file"], content_type="application/octet-stream", area=AREA)
    pointer = {**meta, "version": version, "key": key, "sha256": sha256}
    pointer["sig"] = _signature(pointer)
    storage.media_save(_pointer_key(name), json.dumps(pointer).encode(), area=AREA)  # moved last: readers see whole snapshots
    _prune(name, keep={version})
    logger.info("index snapshot published name=%s version=%s n=%s", name, version, meta["ntotal"])
    return pointer


def _prune(name: str, *, keep: set[str]) -> None:
    keys = storage.media_keys(f"{PREFIX}/{name}/", area=AREA)
    versions = sorted({k.split("/")[2] for k in keys if k.count("/") >= 3})
    old = [v for v in versions if v not in keep][: max(0, len(versions) - KEEP)]
    stale = [k for k in keys if k.count("/") >= 3 and k.split("/")[2] in old]
    if stale:
        storage.media_delete(stale, area=AREA)


def snapshot_pointer(name: str) -> dict | None:
    """The published pointer, checked; None if there is none, storage is unreachable, or it is refused."""
    try:
        pointer = json.loads(storage.media_read(_pointer_key(name), area=AREA))
    except Exception:  # none published yet, or storage unreachable: the database is the fallback
        return None
    try:
        pointer_check(pointer, name=name)
    except SnapshotRefused as exc:
        logger.error("index snapshot pointer refused name=%s: %s", name, exc)
        return None
    return pointer


def snapshot_load(index, *, name: str, pointer: dict | None = None, only_if_newer: bool = True) -> bool:
    """Load the newest snapshot into this VectorIndex (a hot swap); False if there is none
    or it is not newer than what the index holds."""
    pointer = pointer or snapshot_pointer(name)
    if pointer is None:
        return False
    try:
        pointer_check(pointer, name=name)  # again: a caller may hand us one it read itself
    except SnapshotRefused as exc:
        logger.error("index snapshot pointer refused name=%s: %s", name, exc)
        return False
    if pointer.get("dim") != index.dim:
        return False
    if only_if_newer and (pointer["last"], pointer["count"]) <= (index.watermark.last, index.watermark.count) and len(index):
        return False
    directory = Path(index.directory)
    started = time.monotonic()
    # Downloaded beside the index and checked before it takes the index file's place.
    incoming = directory / f".{pointer['file']}.{os.getpid()}.incoming"
    storage.media_download(pointer["key"], incoming, area=AREA)
    if not constant_time_compare(_sha256(incoming), pointer["sha256"]):
        incoming.unlink(missing_ok=True)
        logger.error("index snapshot refused name=%s version=%s: sha256 differs from the pointer's", name, pointer["version"])
        return False
    os.replace(incoming, directory / pointer["file"])
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
