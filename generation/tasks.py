"""Dramatiq actors: thin adapters that take ids and call services.

Delivery is at least once, so every actor is idempotent. CPU work (embedding,
indexing) and GPU work (rendering) go to separate queues.
"""

from __future__ import annotations

import dramatiq

from generation import services

CPU_QUEUE = "cpu"
GPU_QUEUE = "gpu"


@dramatiq.actor(queue_name=CPU_QUEUE, max_retries=5, min_backoff=1_000, max_backoff=60_000, time_limit=10 * 60_000)
def embed_videos(video_ids: list[int]) -> None:
    """Embed the given videos and bring this process's item index up to date."""
    from profiles import indexes

    services.videos_embed(video_ids=video_ids)
    indexes.items().ready(force=True)  # sync now, so the saved index file has them


@dramatiq.actor(queue_name=CPU_QUEUE, max_retries=3, time_limit=60_000)
def ping(token: str) -> str:
    """A no-op job the health checks and tests send through the broker."""
    return token
