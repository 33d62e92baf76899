"""The feed through its services: taste from onboarding and likes, seen filtering, stable pages."""

from collections import Counter

import pytest

from feed.selectors import ranked_for_user
from feed.services import feed_page_serve
from profiles.services import interaction_record, onboarding_apply


@pytest.fixture
def viewer(make_user, catalog):
    return make_user()


def genres(items, genre_lookup):
    return Counter(genre_lookup(i.video.pk) for i in items)


def test_onboarding_topic_drives_first_page(viewer, genre_lookup):
    onboarding_apply(user=viewer, topics=["cooking"])
    page = feed_page_serve(user=viewer, size=6)
    counts = genres(page.items, genre_lookup)
    assert counts.most_common(1)[0][0] == "cooking", counts
    assert all(i.reason for i in page.items)


def test_cooking_and_scifi_viewer_gets_both(viewer, catalog, genre_lookup):
    for video in catalog["cooking"][:3] + catalog["scifi"][:3]:
        interaction_record(user=viewer, video=video, kind="like")
    from profiles.models import Interest

    labels = set(Interest.objects.filter(user=viewer).values_list("label", flat=True))
    assert {"Cooking", "Science fiction"} <= labels
    items = ranked_for_user(user=viewer, k=6, explore_slots=0)
    counts = genres(items, genre_lookup)
    assert counts["cooking"] >= 2 and counts["scifi"] >= 2, counts


def test_a_like_changes_the_next_page(viewer, catalog, genre_lookup):
    onboarding_apply(user=viewer, topics=["gardening"])
    first = feed_page_serve(user=viewer, size=4)
    assert "scifi" not in genres(first.items[:3], genre_lookup)
    for video in catalog["scifi"][:2]:
        interaction_record(user=viewer, video=video, kind="like")
    second = feed_page_serve(user=viewer, cursor=first.next_cursor, size=4)
    assert genres(second.items, genre_lookup)["scifi"] >= 1


def test_seen_and_disliked_never_return_and_pages_never_repeat(viewer, catalog):
    onboarding_apply(user=viewer, topics=["cooking", "scifi"])
    disliked = catalog["cooking"][0]
    interaction_record(user=viewer, video=disliked, kind="dislike")
    watched = catalog["scifi"][0]
    interaction_record(user=viewer, video=watched, kind="view", watch_fraction=0.9)
    served, cursor = [], None
    for _ in range(10):
        page = feed_page_serve(user=viewer, cursor=cursor, size=5)
        served += [i.video.pk for i in page.items]
        cursor = page.next_cursor
        if not page.items:
            break
    assert len(served) == len(set(served)), "a page repeated an item"
    assert disliked.pk not in served and watched.pk not in served
    total = sum(len(v) for v in catalog.values())
    assert len(served) == total - 2, "pages skipped an item"


def test_dislike_pushes_similar_items_down(viewer, catalog, genre_lookup):
    onboarding_apply(user=viewer, topics=["cooking", "cars"])
    before = [genre_lookup(i.video.pk) for i in ranked_for_user(user=viewer, k=6, explore_slots=0)]
    for video in catalog["cars"][:2]:
        interaction_record(user=viewer, video=video, kind="dislike")
    after = [genre_lookup(i.video.pk) for i in ranked_for_user(user=viewer, k=6, explore_slots=0)]
    assert after.count("cars") < before.count("cars"), (before, after)


def test_other_viewers_private_renders_never_show(viewer, make_user, catalog):
    from generation.models import Video

    other = make_user()
    private = catalog["cooking"][1]
    Video.objects.filter(pk=private.pk).update(made_for=other)
    onboarding_apply(user=viewer, topics=["cooking"])
    shown = {i.video.pk for i in ranked_for_user(user=viewer, k=30)}
    assert private.pk not in shown
    assert private.pk in {i.video.pk for i in ranked_for_user(user=other, k=30)}


def test_forged_cursor_is_rejected(viewer, make_user):
    from django.core.exceptions import ValidationError

    onboarding_apply(user=viewer, topics=["cooking"])
    page = feed_page_serve(user=viewer, size=2)
    with pytest.raises(ValidationError, match="cursor"):
        feed_page_serve(user=make_user(), cursor=page.next_cursor)
    with pytest.raises(ValidationError, match="cursor"):
        feed_page_serve(user=viewer, cursor=page.next_cursor + "x")


def test_the_same_cursor_twice_gives_the_same_page(viewer):
    onboarding_apply(user=viewer, topics=["cooking", "scifi"])
    first = feed_page_serve(user=viewer, size=4)
    second = feed_page_serve(user=viewer, cursor=first.next_cursor, size=4)
    retried = feed_page_serve(user=viewer, cursor=first.next_cursor, size=4)  # the response was lost
    assert [i.video.pk for i in retried.items] == [i.video.pk for i in second.items]
    from feed.services import _cursor_decode

    assert _cursor_decode(user=viewer, cursor=retried.next_cursor) == _cursor_decode(user=viewer, cursor=second.next_cursor)
    third = feed_page_serve(user=viewer, cursor=second.next_cursor, size=4)
    shown = [i.video.pk for p in (first, second, third) for i in p.items]
    assert len(shown) == len(set(shown)) == 12


def test_a_feed_session_reuses_its_retrieval_until_the_taste_changes(viewer, catalog):
    from django.core.cache import cache

    from feed.services import EXPLORE_SLOTS, feed_seed
    from generation.models import Video

    onboarding_apply(user=viewer, topics=["cooking", "scifi"])
    first = feed_page_serve(user=viewer, size=3)
    key = f"feed:pool:{viewer.pk}:{first.session}"
    pool = cache.get(key)
    assert pool is not None and {i.video.pk for i in first.items} <= set(pool.ids.tolist())

    # The best item of the next page is deleted first: the pool still holds it, the page must not.
    served = {i.video.pk for i in first.items}
    upcoming = ranked_for_user(user=viewer, k=3, exclude=served, seed=feed_seed(user=viewer, page=1), explore_slots=EXPLORE_SLOTS)
    gone = next(i.video.pk for i in upcoming if i.source != "explore")
    assert gone in pool.ids
    Video.objects.filter(pk=gone).delete()
    second = feed_page_serve(user=viewer, cursor=first.next_cursor, size=3)
    assert gone not in [i.video.pk for i in second.items] and len(second.items) == 3
    assert cache.get(key).stamp == pool.stamp  # the same retrieval: nothing about the taste changed

    interaction_record(user=viewer, video=second.items[0].video, kind="like")
    feed_page_serve(user=viewer, cursor=second.next_cursor, size=3)
    assert cache.get(key).stamp != pool.stamp  # the like made the next page retrieve again


def test_with_a_pool_ttl_of_zero_every_page_retrieves_again(viewer, catalog, settings):
    from django.core.cache import cache

    settings.FEED_POOL_TTL_S = 0
    onboarding_apply(user=viewer, topics=["cooking", "scifi"])
    first = feed_page_serve(user=viewer, size=3)
    assert cache.get(f"feed:pool:{viewer.pk}:{first.session}") is None
    second = feed_page_serve(user=viewer, cursor=first.next_cursor, size=3)
    assert len(second.items) == 3 and not {i.video.pk for i in first.items} & {i.video.pk for i in second.items}


def test_the_feed_serves_its_pages_when_the_cache_is_down(viewer, settings):
    import socket

    onboarding_apply(user=viewer, topics=["cooking", "scifi"])
    with socket.socket() as s:  # a port nothing listens on: a Redis that is down
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{port}/0"}}
    first = feed_page_serve(user=viewer, size=4)
    second = feed_page_serve(user=viewer, cursor=first.next_cursor, size=4)
    shown = [i.video.pk for p in (first, second) for i in p.items]
    assert len(shown) == len(set(shown)) == 8


def test_shared_lists_refresh_in_the_background_not_in_a_request(monkeypatch, db):
    import threading
    import time

    from feed import sources

    monkeypatch.setattr(sources, "GLOBAL_TTL_S", 0.05)
    release, calls = threading.Event(), []

    def compute():
        calls.append(1)
        if len(calls) > 1:
            release.wait(5)  # a slow scan of the catalogue
        return [len(calls)]

    assert sources._global_list("test-list", compute) == [1]  # the first read computes
    time.sleep(0.1)
    started = time.perf_counter()
    assert sources._global_list("test-list", compute) == [1]  # stale: served at once
    assert time.perf_counter() - started < 0.5
    monkeypatch.setattr(sources, "GLOBAL_TTL_S", 60.0)  # no further refreshes from here on
    release.set()
    deadline = time.monotonic() + 5
    while sources._global_list("test-list", compute) != [2]:
        assert time.monotonic() < deadline, "the background refresh never landed"
        time.sleep(0.02)
    assert len(calls) == 2  # one refresh, however many stale reads


def test_a_video_in_the_database_but_not_yet_in_this_index_is_left_out(make_user, catalog, settings):
    """The database can be a moment ahead of a replica's index (a new video, a snapshot swap):
    the feed skips what the index does not hold instead of failing."""
    from feed.services import feed_page_serve
    from generation.services import video_upsert, videos_embed
    from profiles import indexes
    from profiles.services import onboarding_apply

    viewer = make_user()
    onboarding_apply(user=viewer, topics=["cooking"])
    indexes.items().ready(force=True)
    settings.INDEX_SYNC_SECONDS = 3600  # this process will not look at the database again
    indexes.items().min_interval = 3600
    late, _ = video_upsert(external_id="late-one", title="Garlic bread deluxe", description="a cooking recipe")
    videos_embed(video_ids=[late.pk])
    late.__class__.objects.filter(pk=late.pk).update(made_for=viewer)  # a made-for-you render the index lacks
    page = feed_page_serve(user=viewer, size=8)
    assert page.items and late.pk not in [i.video.pk for i in page.items]
