"""Reads of videos and render jobs that check who may see them (OWASP API1)."""

from __future__ import annotations

import re

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


def video_captions_url(*, video: Video) -> str:
    """The WebVTT captions' URL, signed like the video's for a private render ('' if none)."""
    from core.storage import media_url

    return media_url(video.captions_key, private=video.made_for_id is not None) if video.captions_key else ""


def video_media_urls(*, video: Video) -> tuple[str, str]:
    """(video URL, thumbnail URL) for a viewer who may see the video (it came from videos_visible
    or render_jobs_visible): a private render's are presigned (S3) or signed for the media view
    (local disk), and expire; a public video's are public."""
    from core.storage import media_url

    private = video.made_for_id is not None
    src = media_url(video.video_key, private=private) if video.video_key else video.video_url
    poster = media_url(video.thumbnail_key, private=private) if video.thumbnail_key else ""
    return src, poster


# A render's stored objects: renders/<2 chars>/<media token>.mp4|.jpg|.vtt (the token of an older job is its key).
_RENDER_OBJECT = re.compile(r"^renders/[0-9a-zA-Z_-]{2}/(?P<token>[0-9a-zA-Z_-]{16,64})\.(?:mp4|jpg|vtt)\Z")


# A catalogue video's storyboard loop (generation/loops.py): loops/<video id>-<random>.mp4|.jpg.
_LOOP_OBJECT = re.compile(r"^loops/(?P<video>[0-9]{1,18})-[0-9a-f]{16}\.(?:mp4|jpg)\Z")


def video_for_media_key(*, key: str) -> Video | None:
    """The video a stored object belongs to, or None (a key of anything else: snapshots, stray
    files, a guess). Indexed lookups only; nothing is decided about who may see it."""
    loop = _LOOP_OBJECT.match(key)
    if loop is not None:
        video = Video.objects.filter(pk=int(loop["video"])).first()
        return video if video is not None and key in (video.video_key, video.thumbnail_key) else None
    match = _RENDER_OBJECT.match(key)
    if match is None:
        return None
    token = match["token"]
    job = RenderJob.objects.filter(Q(media_token=token) | Q(key=token)).select_related("video").first()
    video = job.video if job is not None else None
    if video is None or key not in (video.video_key, video.thumbnail_key, video.captions_key):
        return None
    return video


def video_media_visible_to(*, user, video: Video) -> bool:
    """Who may fetch a video's files: anyone for a public video; its viewer and staff for a private render."""
    if video.made_for_id is None:
        return True
    return bool(getattr(user, "is_authenticated", False) and (user.pk == video.made_for_id or user.is_staff))
