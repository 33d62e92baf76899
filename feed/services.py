"""Serving feed pages: a stable cursor over a logged feed session."""

from __future__ import annotations

import secrets
import zlib
from dataclasses import dataclass

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction

from feed.models import Impression
from feed.selectors import RankedItem, ranked_for_user

_SALT = "tailor.feed.cursor"
EXPLORE_SLOTS = 1


@dataclass
class FeedPage:
    items: list[RankedItem]
    next_cursor: str
    session: str
    page: int


def feed_seed(*, user, page: int) -> int:
    """Exploration is random but repeatable per viewer and page, so `recommend` matches page one."""
    return zlib.crc32(f"{user.pk}:{page}".encode())


class CursorInvalid(ValidationError):
    """A cursor this server did not sign for this viewer, or signed over a day ago."""


def _cursor_decode(*, user, cursor: str) -> tuple[str, int]:
    try:
        data = signing.loads(cursor, salt=_SALT, max_age=24 * 3600)
    except signing.BadSignature:
        raise CursorInvalid({"cursor": "invalid or expired cursor; start again without one"}) from None
    if data.get("u") != user.pk:
        raise CursorInvalid({"cursor": "invalid or expired cursor; start again without one"})
    return data["s"], int(data["p"])


def feed_page_serve(*, user, cursor: str | None = None, size: int = 8, include_generated: bool = True) -> FeedPage:
    """The next page of the viewer's feed. Everything served in this feed session is logged,
    and the next page excludes it, so pages never repeat an item."""
    if cursor:
        session, page = _cursor_decode(user=user, cursor=cursor)
    else:
        session, page = secrets.token_hex(8), 0
    next_cursor = signing.dumps({"u": user.pk, "s": session, "p": page + 1}, salt=_SALT)
    logged = list(Impression.objects.filter(session=session, user=user).values_list("video_id", "page"))
    if any(p == page for _, p in logged):
        # The same cursor again (a retry, a reload): the same page, so nothing is skipped.
        replay = Impression.objects.filter(session=session, user=user, page=page).select_related("video").order_by("position")
        items = [RankedItem(video=i.video, score=i.score, source=i.source, reason=i.reason) for i in replay]
        return FeedPage(items=items, next_cursor=next_cursor, session=session, page=page)
    served = {vid for vid, p in logged if p < page}
    seed = feed_seed(user=user, page=page)
    # The first page is pure exploitation (it is also what `recommend` returns); exploration
    # starts from the second page, one slot a page.
    items = ranked_for_user(
        user=user, k=size, exclude=served, seed=seed, include_generated=include_generated,
        explore_slots=EXPLORE_SLOTS if page > 0 else 0, pool_key=f"feed:pool:{user.pk}:{session}",
    )
    with transaction.atomic():
        Impression.objects.bulk_create(
            [
                Impression(
                    user=user, video=item.video, session=session, page=page, position=n,
                    source=item.source, reason=item.reason, score=item.score,
                )
                for n, item in enumerate(items)
            ],
            ignore_conflicts=True,
        )
    return FeedPage(items=items, next_cursor=next_cursor, session=session, page=page)
