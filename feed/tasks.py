"""Feed jobs."""

from __future__ import annotations

import dramatiq

from generation.tasks import CPU_QUEUE


@dramatiq.actor(queue_name=CPU_QUEUE, max_retries=3, min_backoff=10_000, time_limit=30 * 60_000)
def collab_refresh() -> None:
    """Rebuild the item-item co-engagement table, refit the long-term model when its fit is
    an hour old, and trim the sequence table (idempotent: the same data gives the same files
    and rows)."""
    from feed.collaborative import neighbours_refresh
    from feed.ease import ease_refresh_due
    from feed.sequence import covisit_trim

    neighbours_refresh()
    ease_refresh_due()
    covisit_trim()
