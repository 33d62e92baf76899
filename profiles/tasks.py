"""Periodic and on-demand jobs for taste and the indexes."""

from __future__ import annotations

import logging

import dramatiq

from generation.tasks import CPU_QUEUE

logger = logging.getLogger("tailor.job")


@dramatiq.actor(queue_name=CPU_QUEUE, max_retries=3, min_backoff=5_000, time_limit=30 * 60_000)
def index_refresh() -> None:
    """Bring every saved index level with the database (idempotent: a no-op when it already is)."""
    from profiles import indexes

    for get in indexes.ALL.values():
        get().ready(force=True)


@dramatiq.actor(queue_name=CPU_QUEUE, max_retries=3, min_backoff=10_000, time_limit=60 * 60_000)
def interests_recluster_all() -> None:
    """Nightly: rebuild every active viewer's learned interests (idempotent)."""
    from django.contrib.auth import get_user_model

    from profiles.clustering import interests_recluster
    from profiles.models import Interaction

    User = get_user_model()
    for user_id in Interaction.objects.values_list("user_id", flat=True).distinct().iterator():
        interests_recluster(user=User(pk=user_id))


@dramatiq.actor(queue_name=CPU_QUEUE, max_retries=3, min_backoff=10_000, time_limit=30 * 60_000)
def index_snapshot() -> None:
    """Publish the item index as a versioned snapshot for the web replicas (when snapshots are on)."""
    from django.conf import settings

    from profiles.snapshots import snapshot_publish

    if not settings.INDEX_SNAPSHOTS:
        logger.info("index snapshot skipped: TAILOR_INDEX_SNAPSHOTS is off")
        return
    logger.info("index snapshot published %s", snapshot_publish(name="items"))
