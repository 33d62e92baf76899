"""Storyboard loops for catalogue videos that have text but no media (the demo seed): a few
seconds of their world, drawn by the storyboard renderer with a music bed and no voice, so a
newcomer's feed looks like a feed and not a wall of title cards.

Rendered in the background at low priority (below every viewer's render), the videos a
newcomer's first pages show first (the most liked), and idempotent: a video that has media is
left alone, so a redelivered message or a second start does nothing twice.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from core.vec import from_bytes
from core import storage
from generation.encoding import mp4_write, thumbnail_write
from generation.models import Video

logger = logging.getLogger("tailor.loops")
LOOP_SECONDS = 4.0


def loop_script(video: Video) -> dict:
    """A two-shot, wordless script in the world nearest the video's text."""
    import random

    from generation.writing.world import worlds_near

    rng = random.Random(video.pk)
    world = worlds_near(from_bytes(video.embedding), rng, 1)[0] if video.embedding else None
    settings_ = list(world.settings if world else ()) or ["a quiet studio"]
    props = list(world.props if world else ())[:4]
    music = list(world.music if world else ()) or ["ambient"]
    half = LOOP_SECONDS / 2
    return {
        "version": 1, "title": video.title, "logline": video.description[:200], "format": "ambient", "tone": "calm",
        "duration_s": LOOP_SECONDS, "aspect": "9:16", "world": {"subject": video.title, "setting": settings_[0]},
        "cast": [], "lines": [], "seed": video.pk,
        "shots": [{"duration_s": half, "setting": s, "action": video.title, "camera": c, "characters": [], "props": props,
                   "transition": "dissolve", "prompt": f"{video.title}, {s}"}
                  for s, c in zip([settings_[0], settings_[-1]], ["push-in", "pan-right"])],
        "music": {"genre": music[0], "mood": "calm", "tempo_bpm": 90, "key": "C major"},
        "sound": {"ambience": world.ambience if world else "", "effects": []},
    }


def loop_render(*, video_id: int) -> bool:
    """Give one media-less catalogue video its loop; False if it has media already (or is gone)."""
    from generation.storyboard import render_script

    video = Video.objects.filter(pk=video_id, video_key="", video_url="", source=Video.Source.CATALOG).first()
    if video is None:
        return False
    out = render_script(loop_script(video), fps=12.0, burn_captions=False, voice="silent",
                        cache_dir=Path(settings.RENDER_MODEL_DIR) / "storyboard")
    frames = out.frames[1:]  # the title card's first frame is a flat panel: start on the scene
    stem = f"loops/{video.pk}-{secrets.token_hex(8)}"
    with tempfile.TemporaryDirectory() as tmp:
        mp4, jpg = Path(tmp) / "loop.mp4", Path(tmp) / "loop.jpg"
        info = mp4_write(mp4, frames=frames, fps=out.fps, audio=out.audio, sample_rate=out.sample_rate)
        thumbnail_write(jpg, frames)
        video_key = storage.media_upload(f"{stem}.mp4", mp4, content_type="video/mp4")
        thumb_key = storage.media_upload(f"{stem}.jpg", jpg, content_type="image/jpeg")
    # Conditional: a video that got media meanwhile (another worker, an import) keeps it.
    done = Video.objects.filter(pk=video.pk, video_key="").update(
        video_key=video_key, thumbnail_key=thumb_key, duration_s=info.duration_s, fps=info.fps, width=info.width,
        height=info.height)
    if not done:
        storage.media_delete([video_key, thumb_key])
    return bool(done)


def loops_pending(limit: int = 1000) -> list[int]:
    """Catalogue videos without media, the ones a first page shows (most liked) first."""
    return list(Video.objects.filter(source=Video.Source.CATALOG, video_key="", video_url="", made_for__isnull=True)
                .order_by("-likes", "-views", "id").values_list("pk", flat=True)[:limit])


def loops_queue(*, batch: int = 8, progress: Callable[[str], None] = lambda _: None) -> int:
    """Send the pending loops in small batches (so viewers' renders get the worker between them)."""
    from generation.tasks import demo_loops_render

    if not settings.DEMO_LOOPS:
        return 0
    pending = loops_pending()
    for start in range(0, len(pending), batch):
        demo_loops_render.send(pending[start: start + batch])
    progress(f"demo loops: {len(pending)} queued")
    return len(pending)
