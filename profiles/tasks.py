"""Periodic and on-demand jobs for taste and the indexes."""

from __future__ import annotations

import dramatiq

from generation.tasks import CPU_QUEUE


@dramatiq.actor(queue_name=CPU_QUEUE, max_retries=3, min_backoff=5_000, time_limit=30 * 60_000)
def index_refresh() -> None:
    """Bring the saved item index level with the database (idempotent: a no-op when it already is)."""
    from profiles import indexes

    indexes.items().ready(force=True)
