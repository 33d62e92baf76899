"""Dramatiq actors: thin adapters that take ids and call services.

Delivery is at least once, so every actor is idempotent. CPU work (embedding,
indexing) and GPU work (rendering) go to separate queues. Actors return None: there is no
results backend, and Dramatiq warns on every message whose actor returns a value; what an
actor did goes to the log.
"""

from __future__ import annotations

import logging

import dramatiq
from django.conf import settings
from dramatiq.middleware import CurrentMessage

from generation import services
from generation.fleet import GPU_QUEUE
from generation.renderer import ConfigurationError

CPU_QUEUE = "cpu"
logger = logging.getLogger("tailor.job")


@dramatiq.actor(queue_name=CPU_QUEUE, max_retries=5, min_backoff=1_000, max_backoff=60_000, time_limit=10 * 60_000)
def embed_videos(video_ids: list[int]) -> None:
    """Embed the given videos and bring this process's item index up to date."""
    from profiles import indexes

    services.videos_embed(video_ids=video_ids)
    indexes.items().ready(force=True)  # sync now, so the saved index file has them


@dramatiq.actor(queue_name=CPU_QUEUE, max_retries=3, time_limit=60_000)
def ping(token: str) -> None:
    """A no-op job the health checks and tests send through the broker."""
    logger.info("ping token=%s", token)


@dramatiq.actor(
    queue_name=GPU_QUEUE,
    max_retries=settings.RENDER_MAX_RETRIES,
    min_backoff=settings.RENDER_MIN_BACKOFF_MS,
    max_backoff=settings.RENDER_MAX_BACKOFF_MS,
    time_limit=settings.RENDER_TIME_LIMIT_S * 1000,
    throws=(ConfigurationError,),
)
def render(job_id: int) -> None:
    """Render one job (and compatible queued ones with it) into a ready video. Sent to the shared
    gpu queue, or to gpu.<model> when a worker keeps the model warm (generation/fleet.py)."""
    from generation.rendering import render_job_run

    message = CurrentMessage.get_current_message()
    limit = message.options.get("max_retries", settings.RENDER_MAX_RETRIES) if message else settings.RENDER_MAX_RETRIES
    final = message is not None and message.options.get("retries", 0) >= limit
    outcome = render_job_run(job_id=job_id, final=final)
    if outcome != "done":  # a finished render logs itself ("render ready")
        logger.info("render job=%s outcome=%s", job_id, outcome)


@dramatiq.actor(queue_name=CPU_QUEUE, max_retries=3, time_limit=5 * 60_000)
def renders_recover() -> None:
    """Send again the render jobs whose worker died or whose message was lost (logged when any)."""
    from generation.rendering import renders_recover as recover

    recover()


@dramatiq.actor(queue_name=CPU_QUEUE, max_retries=3, min_backoff=10_000, time_limit=30 * 60_000)
def renders_plan(user_ids: list[int] | None = None, everyone: bool = False, budget: int | None = None) -> None:
    """Find content gaps and queue renders for them, shared by taste clusters where possible
    (user_ids, everyone: a newcomer's first renders, one for each of their interests)."""
    from generation.planning import renders_plan as plan

    plan(user_ids=user_ids, everyone=everyone, budget=budget)  # logs "renders planned"


@dramatiq.actor(queue_name=CPU_QUEUE, max_retries=3, min_backoff=10_000, time_limit=30 * 60_000)
def bandit_refresh() -> None:
    """Fold settled impressions of generated pieces into the bandit's arm statistics."""
    from generation.bandit import bandit_refresh as refresh

    refresh()  # logs "bandit refresh" when it folded any


@dramatiq.actor(queue_name=CPU_QUEUE, max_retries=3, min_backoff=60_000, time_limit=30 * 60_000)
def orphans_prune() -> None:
    """Delete rendered objects no Video points at, and abort multipart uploads left open."""
    from generation.rendering import orphans_prune as prune

    logger.info("orphans pruned %s", prune())


# Below every viewer's render: a loop waits while any render is queued or running (in the embedded
# mode one worker thread does everything), and the rest of its batch goes back in the queue.
@dramatiq.actor(queue_name=CPU_QUEUE, priority=100, max_retries=3, min_backoff=30_000, time_limit=20 * 60_000)
def demo_loops_render(video_ids: list[int]) -> None:
    """Storyboard loops for media-less catalogue videos (the demo seed); idempotent per video."""
    from generation.loops import loop_render
    from generation.models import RenderJob

    made = 0
    for n, video_id in enumerate(video_ids):
        if RenderJob.objects.exclude(state__in=RenderJob.TERMINAL).exists():
            demo_loops_render.send_with_options(args=(video_ids[n:],), delay=10_000)
            break
        made += loop_render(video_id=video_id)
    logger.info("demo loops rendered %d of %d", made, len(video_ids))
