"""Readiness of everything the platform needs: database, broker, storage and index.

A report is kept for HEALTHZ_CACHE_S seconds in each process, and one thread checks at a time
while the others wait for its answer: however often /healthz is called, a process opens at most
one set of broker and storage connections per period. The cache is per process on purpose: the
index check is about this process's own index, which a shared cache would answer for another.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection

logger = logging.getLogger("tailor.health")


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return connection.vendor


def _broker() -> str:
    from core.jobs import broker_ping

    broker_ping()
    return settings.BROKER_KIND


def _storage() -> str:
    from core.storage import backend_name, storage_ping

    storage_ping()
    return backend_name()


def _index() -> str:
    from profiles import indexes

    synced = indexes.items()
    index = synced.ready()
    expected = synced.table_count()
    if len(index) != expected:
        index = synced.ready(force=True)  # deletions are noticed by the periodic full check; do it now
    if len(index) != expected:
        raise RuntimeError(f"item index holds {len(index)} vectors, the database has {expected}")
    return f"{len(index)} items"


CHECKS: dict[str, Callable[[], str]] = {
    "database": _database,
    "broker": _broker,
    "storage": _storage,
    "index": _index,
}


def health_report() -> tuple[bool, dict[str, dict]]:
    report, healthy = {}, True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            detail = check()
            report[name] = {"ok": True, "detail": detail}
        except Exception as exc:  # a health check reports every failure, whatever its type
            healthy = False
            report[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
            logger.warning("health check=%s failed: %s", name, exc)
        report[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return healthy, report


_cache_lock = threading.Lock()
_cached: tuple[float, bool, dict[str, dict]] | None = None  # (monotonic time, healthy, report)


def health_report_cached() -> tuple[bool, dict[str, dict], float]:
    """health_report(), at most once per HEALTHZ_CACHE_S; also returns the report's age in seconds."""
    global _cached
    with _cache_lock:
        if _cached is not None and time.monotonic() - _cached[0] < settings.HEALTHZ_CACHE_S:
            return _cached[1], _cached[2], time.monotonic() - _cached[0]
        healthy, report = health_report()
        _cached = (time.monotonic(), healthy, report)
        return healthy, report, 0.0


def health_cache_clear() -> None:
    global _cached
    with _cache_lock:
        _cached = None
