"""Reads of videos and render jobs that check who may see them (OWASP API1)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from generation.models import RenderJob, Video


def videos_visible(*, user) -> QuerySet[Video]:
    """Public videos, and this viewer's own private renders."""
    return Video.objects.filter(Q(made_for__isnull=True) | Q(made_for=user))


def render_jobs_visible(*, user) -> QuerySet[RenderJob]:
    """This viewer's own render jobs."""
    return RenderJob.objects.filter(user=user).select_related("video")
