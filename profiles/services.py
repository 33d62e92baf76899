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

import numpy as np

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.vec import from_bytes, to_bytes
from generation.models import Video
from profiles import weights
from profiles.models import Interaction, Interest, Profile
from profiles.taste import Fold, fold, fold_save_many

logger = logging.getLogger("tailor.profiles")
User = get_user_model()

KINDS = {k.value for k in Interaction.Kind}


def profile_ensure(*, user) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


def users_ensure_external(external_ids: set[str]) -> dict[str, Any]:
    """The users behind external ids, creating (in bulk) the ones not seen before."""
    found = {
        p.external_id: p.user
        for p in Profile.objects.select_related("user").filter(external_id__in=external_ids)
    }
    missing = sorted(external_ids - set(found))
    if missing:
        with transaction.atomic():
            names = {f"ext-{e}"[:150]: e for e in missing}
            existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
            new_users = [User(username=n) for n in names if n not in existing]
            for user in new_users:
                user.set_unusable_password()
            User.objects.bulk_create(new_users, batch_size=1000)
            users = {u.username: u for u in User.objects.filter(username__in=names)}
            Profile.objects.bulk_create(
                [Profile(user=users[n], external_id=e, onboarded=True) for n, e in names.items()],
                batch_size=1000, ignore_conflicts=True,
            )
        found.update({e: users[n] for n, e in names.items()})
    return found


def _event_errors(kind: Any, value: Any, watch_fraction: Any, client_event_id: Any) -> dict[str, str]:
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
    return errors


def _counter_updates(kind: str, *, first_view: bool, first_like: bool, first_negative: bool) -> dict[str, int]:
    """What one event adds to its video's counters: each viewer counts once per counter, so
    one account repeating a like (or a view) cannot steer "Trending"."""
    changes = {"views": 1} if first_view else {}
    if kind in (Interaction.Kind.LIKE, Interaction.Kind.SHARE) and first_like:
        changes["likes"] = 1
    if kind in weights.NEGATIVE_KINDS and first_negative:
        changes["negatives"] = 1
    return changes


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
    """Record one event through the same path as a batch (_ingest_chunk): taste is folded before
    it returns, so the next feed page already reflects it. Returns (interaction, created); a
    repeated client_event_id returns the first interaction and changes nothing."""
    event = EventIn(index=0, user=user, video=video.pk if isinstance(video, Video) else video, kind=kind, value=value,
                    watch_fraction=watch_fraction, client_event_id=client_event_id, at=at)
    result = IngestResult()
    try:
        created = _ingest_chunk([event], result)
    except IntegrityError:
        created = []  # a concurrent duplicate of the same client event won the race
        if client_event_id is None:
            raise
    if result.errors:
        raise ValidationError(result.errors[0]["errors"])
    if created:
        logger.debug("interaction user=%s video=%s kind=%s id=%s", user.pk, event.video, kind, created[0].pk)
        return created[0], True
    return Interaction.objects.get(user=user, client_event_id=client_event_id), False


@dataclass
class EventIn:
    """One incoming event for bulk ingest; `index` is what errors refer to (a line or list position)."""

    index: int
    user: Any
    video: Any
    kind: Any
    value: Any = None
    watch_fraction: Any = None
    client_event_id: Any = None
    at: datetime | None = None


@dataclass
class IngestResult:
    created: int = 0
    duplicates: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def interactions_ingest_bulk(*, events: list[EventIn], chunk_size: int = 2000) -> IngestResult:
    """Record many events at once (the one write path: a single event is a batch of one), with
    one read and one write per user and chunk. Bad events are
    reported with their index and field; good events in the same batch are kept.
    Events repeating a client_event_id (in the batch or already stored) are dropped."""
    result = IngestResult()
    for start in range(0, len(events), chunk_size):
        _ingest_chunk(events[start : start + chunk_size], result)
    return result


def _ingest_chunk(events: list[EventIn], result: IngestResult) -> list[Interaction]:
    """Validate, de-duplicate and store these events, count them and fold them into taste, in one
    transaction; returns the interactions created."""
    video_ids = {e.video for e in events if isinstance(e.video, int) and not isinstance(e.video, bool)}
    videos = {
        v.pk: v for v in Video.objects.filter(pk__in=video_ids).only("id", "embedding", "made_for_id")
    }
    good, seen_keys = _events_checked(events, videos, result)
    if seen_keys:
        good = _events_not_stored(good, seen_keys, result)
    if not good:
        return []
    now = timezone.now()
    good.sort(key=lambda e: (e.at or now))
    with transaction.atomic():
        from feed.sequence import covisit_add

        covisit_add(events=[(e.user.pk, e.video, e.at or now) for e in good])  # before the rows: it reads what came before
        seen = _counted_before(good)
        created = Interaction.objects.bulk_create(
            [
                Interaction(
                    user=e.user, video_id=e.video, kind=e.kind, value=e.value, watch_fraction=e.watch_fraction,
                    client_event_id=e.client_event_id, created_at=e.at or now,
                )
                for e in good
            ],
            batch_size=1000,
        )
        _counters_add(good, seen)
        _taste_fold(good, videos, now)
    result.created += len(good)
    return created


def _events_checked(
    events: list[EventIn], videos: dict[int, Video], result: IngestResult
) -> tuple[list[EventIn], set[tuple[int, str]]]:
    """The events that pass validation and do not repeat a client_event_id earlier in the chunk,
    and the (user, client_event_id) keys they carry. Errors and in-chunk duplicates go to `result`."""
    good: list[EventIn] = []
    seen_keys: set[tuple[int, str]] = set()
    for event in events:
        errors = _event_errors(event.kind, event.value, event.watch_fraction, event.client_event_id)
        video = videos.get(event.video) if isinstance(event.video, int) and not isinstance(event.video, bool) else None
        if video is None or (video.made_for_id is not None and video.made_for_id != event.user.pk):
            errors["video"] = "no such video" if isinstance(event.video, int) else "must be a positive integer id"
        if errors:
            result.errors.append({"index": event.index, "errors": errors})
            continue
        if event.client_event_id is not None:
            key = (event.user.pk, event.client_event_id)
            if key in seen_keys:
                result.duplicates += 1
                continue
            seen_keys.add(key)
        good.append(event)
    return good, seen_keys


def _events_not_stored(good: list[EventIn], seen_keys: set[tuple[int, str]], result: IngestResult) -> list[EventIn]:
    """Drop the events whose client_event_id is already stored for their viewer, counting them as duplicates."""
    stored = set(
        Interaction.objects.filter(
            user_id__in={u for u, _ in seen_keys}, client_event_id__in={c for _, c in seen_keys}
        ).values_list("user_id", "client_event_id")
    )
    fresh = [e for e in good if e.client_event_id is None or (e.user.pk, e.client_event_id) not in stored]
    result.duplicates += len(good) - len(fresh)
    return fresh


def _counted_before(good: list[EventIn]) -> set[tuple[int, int, str]]:
    """Who had already seen, liked or turned down each video: read before the new rows."""
    seen: set[tuple[int, int, str]] = set()
    for user_id, video_id, kind in Interaction.objects.filter(
            user_id__in={e.user.pk for e in good}, video_id__in={e.video for e in good}).values_list(
            "user_id", "video_id", "kind"):
        seen.update(_counted_as(user_id, video_id, kind))
    return seen


def _counters_add(good: list[EventIn], seen: set[tuple[int, int, str]]) -> None:
    """Add the events to their videos' view, like and negative counters (each viewer once per
    counter); `seen` is what was counted before and grows with these events."""
    counters: dict[int, dict[str, int]] = {}
    for e in good:
        per_video = counters.setdefault(e.video, {})
        marks = _counted_as(e.user.pk, e.video, e.kind)
        changes = _counter_updates(e.kind, first_view=(e.user.pk, e.video, "view") not in seen,
                                   first_like=(e.user.pk, e.video, "like") not in seen,
                                   first_negative=(e.user.pk, e.video, "negative") not in seen)
        seen.update(marks)
        for name, n in changes.items():
            per_video[name] = per_video.get(name, 0) + n
    # One UPDATE per distinct increment, not per video: few distinct ones occur in a chunk.
    by_change: dict[tuple, list[int]] = {}
    for video_id, changes in counters.items():
        by_change.setdefault(tuple(sorted(changes.items())), []).append(video_id)
    for changes, ids in by_change.items():
        if changes:
            Video.objects.filter(pk__in=ids).update(**{k: F(k) + n for k, n in changes})


def _taste_fold(good: list[EventIn], videos: dict[int, Video], now: datetime) -> None:
    """Fold each viewer's events into their interests (locked for the update) and save them."""
    by_user: dict[int, list[EventIn]] = {}
    for e in good:
        by_user.setdefault(e.user.pk, []).append(e)
    interests_by_user: dict[int, list[Interest]] = {}
    for interest in Interest.objects.select_for_update().filter(user_id__in=list(by_user)):
        interests_by_user.setdefault(interest.user_id, []).append(interest)
    folds = []
    for user_id, user_events in by_user.items():
        interests = interests_by_user.get(user_id, [])
        fold_result = Fold()
        for e in user_events:
            blob = videos[e.video].embedding
            if blob is not None:
                fold(interests, from_bytes(blob), weights.event_weight(e.kind, e.watch_fraction), e.at or now,
                     user=e.user, result=fold_result)
        folds.append((interests, fold_result))
    fold_save_many(folds)


def _counted_as(user_id: int, video_id: int, kind: str) -> set[tuple[int, int, str]]:
    """The counters an event by this viewer on this video has used up: every event a view, a
    like or share a like, a skip, dislike or hide a negative."""
    marks = {(user_id, video_id, "view")}
    if kind in (Interaction.Kind.LIKE, Interaction.Kind.SHARE):
        marks.add((user_id, video_id, "like"))
    if kind in weights.NEGATIVE_KINDS:
        marks.add((user_id, video_id, "negative"))
    return marks


API_EVENT_FIELDS = {"video", "kind", "value", "watch_fraction", "client_event_id"}


def interactions_ingest(*, user, events: list[dict[str, Any]]) -> IngestResult:
    """A batch of events from one viewer (web feed, mobile API); bad ones are reported by
    index and field, good ones kept."""
    rows, result = [], IngestResult()
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            result.errors.append({"index": index, "errors": {"event": "must be an object"}})
            continue
        unknown = set(event) - API_EVENT_FIELDS
        if unknown:
            result.errors.append({"index": index, "errors": {f: "unknown field" for f in sorted(unknown)}})
            continue
        rows.append(EventIn(index=index, user=user, **{k: event.get(k) for k in API_EVENT_FIELDS}))
    bulk = interactions_ingest_bulk(events=rows)
    result.created, result.duplicates = bulk.created, bulk.duplicates
    result.errors = sorted(result.errors + bulk.errors, key=lambda e: e["index"])
    return result


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
    labels = [TOPICS[t][0] for t in topics] + ([free_text[:60]] if free_text else [])
    vectors = embed_texts([topic_text(t) for t in topics])  # (0, dim) when none were picked
    if free_text:
        vectors = np.vstack([vectors, embed_texts([free_text], cache=False)])
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


def refresh_tokens_revoke(*, user) -> int:
    """Blacklist every refresh token the user holds (each one simplejwt issued is outstanding), so
    none issued before a password change or an account deletion refreshes again: a 401. The
    access tokens issued before now stop working too (profiles/auth.py)."""
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    profile_ensure(user=user)  # every API token carries the generation (profiles/auth.py): advancing it ends them
    Profile.objects.filter(user=user).update(token_generation=F("token_generation") + 1)
    live = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).values_list("pk", flat=True)
    revoked = BlacklistedToken.objects.bulk_create([BlacklistedToken(token_id=pk) for pk in live], ignore_conflicts=True)
    return len(revoked)


def email_change(*, user, email: str) -> None:
    """Change the account's email and tell the old address: taking an account over starts by
    moving its email (then a password reset goes to the taker), so its owner hears at once."""
    old = user.email
    if email == old:
        return
    user.email = email
    user.save(update_fields=["email"])
    if old:
        transaction.on_commit(lambda: _email_changed_notify(username=user.get_username(), old=old))


def _email_changed_notify(*, username: str, old: str) -> None:
    from django.conf import settings
    from django.core.mail import send_mail

    try:
        send_mail(
            subject="The email address of your account was changed",
            message=f"The email address of the account {username} was changed and this address no longer "
                    "receives its mail. If you did not do this, reset your password and contact us.",
            from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[old],
        )
    except Exception:  # the change is committed; a mail server that is down must not turn it into a 500
        logger.exception("email change notice to the old address of %s not sent", username)


def account_delete(*, user) -> None:
    """Delete the account and everything personal: interactions, interests and their vectors,
    impressions, render jobs with their briefs, safety decisions about the viewer's texts, and
    private renders with their stored objects. Its refresh tokens are revoked first (the
    outstanding rows outlive the user, so a refresh is a 401, not a lookup of a missing user)."""
    from core.storage import media_delete
    from generation.models import Video
    from profiles import indexes

    # The captions too: they are the script's lines, which carry the brief.
    fields = ("video_key", "thumbnail_key", "captions_key")
    keys = [k for row in Video.objects.filter(made_for=user).values_list(*fields) for k in row if k]
    with transaction.atomic():
        refresh_tokens_revoke(user=user)
        user.delete()  # cascades to everything the user owns
    if keys:
        media_delete(keys)
    indexes.interests().ready(force=True)
    indexes.items().ready(force=True)


def taste_reset(*, user) -> int:
    deleted, _ = Interest.objects.filter(user=user).delete()
    Profile.objects.filter(user=user).update(onboarded=False)
    return deleted


DISPLAY_NAME_MAX = 40


def greeting_set(*, user, display_name: str, greet_by_name: bool) -> Profile:
    """The name a host may greet this viewer by, and whether they may. The name is spoken aloud
    in pieces, so it is checked like a brief; a refused or over-long name changes nothing."""
    from generation.safety import safety_check

    name = " ".join(str(display_name or "").split())
    if len(name) > DISPLAY_NAME_MAX:
        raise ValidationError({"display_name": f"at most {DISPLAY_NAME_MAX} characters (got {len(name)})"})
    if name:
        decision = safety_check(text=name, kind="name", user=user)
        if not decision.allowed:
            raise ValidationError({"display_name": "choose another name: this one breaks our content rules"})
    profile = profile_ensure(user=user)
    profile.display_name, profile.greet_by_name = name, bool(greet_by_name)
    profile.save(update_fields=["display_name", "greet_by_name"])
    return profile
