"""Writes for videos: catalogue upserts and text embedding."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.vec import to_bytes
from generation.models import Video

logger = logging.getLogger("tailor.generation")


def video_upsert(*, external_id: str, **fields: Any) -> tuple[Video, bool]:
    """Create or update a catalogue video by external id; text changes clear its embedding."""
    video, created = Video.objects.get_or_create(external_id=external_id, defaults=fields)
    if not created:
        changed = [k for k, v in fields.items() if getattr(video, k) != v]
        if changed:
            for k in changed:
                setattr(video, k, fields[k])
            video.save(update_fields=changed)
    return video, created


def videos_embed(*, video_ids: Iterable[int] | None = None, progress: Callable[[int, int], None] | None = None) -> int:
    """Embed videos whose text changed since their last embedding. Idempotent; returns how many changed."""
    from profiles.embedding import embed_texts, text_hash

    qs = Video.objects.all() if video_ids is None else Video.objects.filter(pk__in=list(video_ids))
    rows = list(qs.only("id", "title", "description", "tags", "prompt", "text_hash").order_by("id"))
    todo = [(v, v.text, text_hash(v.text)) for v in rows]
    todo = [(v, text, h) for v, text, h in todo if h != v.text_hash]
    done = 0
    for start in range(0, len(todo), 256):
        chunk = todo[start : start + 256]
        vectors = embed_texts([text for _, text, _ in chunk])
        now = timezone.now()
        with transaction.atomic():
            for (video, _, digest), vector in zip(chunk, vectors):
                Video.objects.filter(pk=video.pk).update(embedding=to_bytes(vector), text_hash=digest, embedded_at=now)
        done += len(chunk)
        if progress:
            progress(done, len(todo))
    if done:
        logger.info("embedded videos n=%d", done)
    return done


def generation_data_load(*, progress: Callable[[str], None] = lambda _: None) -> dict[str, int]:
    """Create missing concepts and templates from the shipped data, and embed concepts whose
    text changed. Existing rows (and admin edits to them) are left as they are."""
    from generation.data.concepts import CONCEPTS
    from generation.data.prompt_templates import TEMPLATES
    from generation.models import Concept, PromptTemplate
    from profiles.embedding import embed_texts, text_hash

    created = 0
    for category, names in CONCEPTS.items():
        existing = set(Concept.objects.filter(category=category).values_list("name", flat=True))
        new = [Concept(category=category, name=n) for n in names if n not in existing]
        Concept.objects.bulk_create(new, ignore_conflicts=True)
        created += len(new)
    stale = [c for c in Concept.objects.all() if c.text_hash != text_hash(c.text)]
    if stale:
        vectors = embed_texts([c.text for c in stale])
        for concept, vector in zip(stale, vectors):
            concept.embedding = to_bytes(vector)
            concept.text_hash = text_hash(concept.text)
        Concept.objects.bulk_update(stale, ["embedding", "text_hash"], batch_size=500)
    progress(f"concepts: {Concept.objects.count()} ({created} new, {len(stale)} embedded)")
    templates = 0
    for family, spec in TEMPLATES.items():
        _, was_created = PromptTemplate.objects.get_or_create(family=family, defaults=spec)
        templates += was_created
    return {"concepts_created": created, "concepts_embedded": len(stale), "templates_created": templates}
