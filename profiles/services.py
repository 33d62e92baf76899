"""Writes for viewers: interactions, onboarding and taste controls.

interaction_record is the one path every signal takes: the web feed, the API
and bulk import all call it, so taste learns the same way from each.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.vec import from_bytes, to_bytes
from generation.models import Video
from profiles import weights
from profiles.models import Interaction, Interest, Profile
from profiles.taste import taste_update

logger = logging.getLogger("tailor.profiles")
User = get_user_model()

KINDS = {k.value for k in Interaction.Kind}


def profile_ensure(*, user) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


def user_get_or_create_external(*, external_id: str) -> Any:
    """The viewer a bulk import names; created (without a usable password) if new."""
    profile = Profile.objects.select_related("user").filter(external_id=external_id).first()
    if profile:
        return profile.user
    username = f"ext-{external_id}"[:150]
    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    Profile.objects.update_or_create(user=user, defaults={"external_id": external_id, "onboarded": True})
    return user


def _clean_event(kind: Any, value: Any, watch_fraction: Any, client_event_id: Any) -> tuple:
    errors: dict[str, str] = {}
    if kind not in KINDS:
        errors["kind"] = f"must be one of {', '.join(sorted(KINDS))}"
    for name, number in (("value", value), ("watch_fraction", watch_fraction)):
        if number is not None and (
            isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number) or number < 0
        ):
            errors[name] = "must be a finite number >= 0"
    if isinstance(watch_fraction, (int, float)) and not isinstance(watch_fraction, bool) and watch_fraction > 1.0:
        errors["watch_fraction"] = "must be between 0 and 1"
    if client_event_id is not None and (not isinstance(client_event_id, str) or not 0 < len(client_event_id) <= 100):
        errors["client_event_id"] = "must be a string of 1 to 100 characters"
    if errors:
        raise ValidationError(errors)
    return kind, value, watch_fraction, client_event_id


def interaction_record(
    *,
    user,
    video: Video | int,
    kind: str,
    value: float | None = None,
    watch_fraction: float | None = None,
    client_event_id: str | None = None,
    at: datetime | None = None,
) -> tuple[Interaction, bool]:
    """Record one event and fold it into taste. Returns (interaction, created); a repeated
    client_event_id returns the first interaction and changes nothing."""
    kind, value, watch_fraction, client_event_id = _clean_event(kind, value, watch_fraction, client_event_id)
    if not isinstance(video, Video):
        video = Video.objects.filter(pk=video).first()
        if video is None:
            raise ValidationError({"video": "no such video"})
    if video.made_for_id is not None and video.made_for_id != user.pk:
        raise ValidationError({"video": "no such video"})  # another viewer's private render
    if client_event_id is not None:
        existing = Interaction.objects.filter(user=user, client_event_id=client_event_id).first()
        if existing:
            return existing, False
    try:
        with transaction.atomic():
            interaction = Interaction.objects.create(
                user=user,
                video=video,
                kind=kind,
                value=value,
                watch_fraction=watch_fraction,
                client_event_id=client_event_id,
                created_at=at or timezone.now(),
            )
            counters = {"views": F("views") + 1}
            if kind in (Interaction.Kind.LIKE, Interaction.Kind.SHARE):
                counters["likes"] = F("likes") + 1
            elif kind in weights.NEGATIVE_KINDS:
                counters["negatives"] = F("negatives") + 1
            Video.objects.filter(pk=video.pk).update(**counters)
            if video.embedding is not None:
                taste_update(
                    user=user,
                    item_vector=from_bytes(video.embedding),
                    weight=weights.event_weight(kind, watch_fraction),
                    at=interaction.created_at,
                )
    except IntegrityError:
        # A concurrent duplicate of the same client event won the race.
        existing = Interaction.objects.filter(user=user, client_event_id=client_event_id).first()
        if existing is None:
            raise
        return existing, False
    logger.debug("interaction user=%s video=%s kind=%s id=%s", user.pk, video.pk, kind, interaction.pk)
    return interaction, True


@dataclass
class IngestResult:
    created: int = 0
    duplicates: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def interactions_ingest(*, user, events: list[dict[str, Any]]) -> IngestResult:
    """A batch of events from one viewer; bad ones are reported by index and field, good ones kept."""
    result = IngestResult()
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            result.errors.append({"index": index, "errors": {"event": "must be an object"}})
            continue
        unknown = set(event) - {"video", "kind", "value", "watch_fraction", "client_event_id"}
        if unknown:
            result.errors.append({"index": index, "errors": {f: "unknown field" for f in sorted(unknown)}})
            continue
        try:
            _, created = interaction_record(
                user=user,
                video=_video_id(event.get("video")),
                kind=event.get("kind"),
                value=event.get("value"),
                watch_fraction=event.get("watch_fraction"),
                client_event_id=event.get("client_event_id"),
            )
        except ValidationError as exc:
            result.errors.append({"index": index, "errors": _messages(exc)})
            continue
        if created:
            result.created += 1
        else:
            result.duplicates += 1
    return result


def _video_id(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
        raise ValidationError({"video": "must be a positive integer id"})
    return raw


def _messages(exc: ValidationError) -> dict[str, str]:
    if hasattr(exc, "message_dict"):
        return {k: "; ".join(v) for k, v in exc.message_dict.items()}
    return {"event": "; ".join(exc.messages)}


@transaction.atomic
def onboarding_apply(*, user, topics: list[str], free_text: str = "") -> list[Interest]:
    """Seed a newcomer's interests from picked topics and an optional typed taste."""
    from profiles.embedding import embed_texts
    from profiles.labels import interest_label
    from profiles.topics import TOPICS, topic_text

    unknown = [t for t in topics if t not in TOPICS]
    if unknown:
        raise ValidationError({"topics": f"unknown topics: {', '.join(unknown)}"})
    free_text = (free_text or "").strip()
    if len(free_text) > 200:
        raise ValidationError({"free_text": "must be at most 200 characters"})
    if not topics and not free_text:
        raise ValidationError({"topics": "pick at least one topic or describe what you like"})
    texts = [topic_text(t) for t in topics] + ([free_text] if free_text else [])
    labels = [TOPICS[t][0] for t in topics] + ([free_text[:60]] if free_text else [])
    vectors = embed_texts(texts)
    Interest.objects.filter(user=user, origin=Interest.Origin.ONBOARDING).delete()
    created = [
        Interest.objects.create(
            user=user,
            vector=to_bytes(v),
            weight=1.0,
            count=1,
            label=label or interest_label(v),
            origin=Interest.Origin.ONBOARDING,
        )
        for v, label in zip(vectors, labels)
    ]
    Profile.objects.update_or_create(user=user, defaults={"onboarded": True})
    return created


def interest_remove(*, user, interest_id: int) -> bool:
    deleted, _ = Interest.objects.filter(user=user, pk=interest_id).delete()
    return bool(deleted)


def taste_reset(*, user) -> int:
    deleted, _ = Interest.objects.filter(user=user).delete()
    Profile.objects.filter(user=user).update(onboarded=False)
    return deleted
