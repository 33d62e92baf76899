"""Reads of videos and render jobs that check who may see them (OWASP API1)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from generation.models import RenderJob, Video


def videos_visible(*, user) -> QuerySet[Video]:
    """Public videos, and this viewer's own private renders."""
    return Video.objects.filter(Q(made_for__isnull=True) | Q(made_for=user))


def video_visible_to(*, user, made_for_id: int | None) -> bool:
    """videos_visible's rule for a row already fetched by id (a lookup by primary key keeps its
    plan whatever the table statistics say; the OR above can mislead the planner after a bulk load)."""
    return made_for_id is None or made_for_id == getattr(user, "pk", None)


def render_jobs_visible(*, user) -> QuerySet[RenderJob]:
    """This viewer's own render jobs."""
    return RenderJob.objects.filter(user=user).select_related("video")
