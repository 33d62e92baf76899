"""The sequence table: kept by the ingest path, equal to a rebuild from the log, and a source."""

from datetime import timedelta

import pytest
from django.utils import timezone

from feed import sequence
from feed.models import CoVisit
from feed.selectors import ranked_for_user
from feed.sources import sequence_candidates
from profiles.services import interaction_record, interactions_ingest


def table() -> dict[tuple[int, int], float]:
    return {(a, b): w for a, b, w in CoVisit.objects.values_list("item_a_id", "item_b_id", "weight")}


def test_pairs_within_the_window_both_ways_nearer_counting_more(make_user, catalog):
    a, b, c = catalog["cooking"][:3]
    viewer = make_user()
    start = timezone.now() - timedelta(hours=1)
    for n, video in enumerate((a, b, c)):
        interaction_record(user=viewer, video=video, kind="view", at=start + timedelta(minutes=n))
    interaction_record(user=viewer, video=b, kind="like", at=start + timedelta(minutes=5))  # met before: no new pairs
    rows = table()
    assert rows[(b.pk, a.pk)] == rows[(a.pk, b.pk)] == pytest.approx(1.0)
    assert rows[(c.pk, b.pk)] == pytest.approx(1.0)
    assert rows[(c.pk, a.pk)] == rows[(a.pk, c.pk)] == pytest.approx(sequence.DISTANCE_DECAY)
    assert len(rows) == 6


def test_the_ingest_path_and_a_rebuild_from_the_log_agree(make_user, catalog):
    videos = [v for genre in ("cooking", "scifi", "cars") for v in catalog[genre]]
    start = timezone.now() - timedelta(days=1)
    for n in range(4):
        viewer = make_user()
        order = videos[n:] + videos[:n]
        # One by one for some events, in batches for the rest, with a re-watch in between.
        for m, video in enumerate(order[:6]):
            interaction_record(user=viewer, video=video, kind="view", at=start + timedelta(minutes=m))
        interaction_record(user=viewer, video=order[1], kind="like", at=start + timedelta(minutes=7))
        batch = [{"video": v.pk, "kind": "view", "client_event_id": f"{n}-{m}"} for m, v in enumerate(order[6:14])]
        assert interactions_ingest(user=viewer, events=batch).created == len(batch)
    live = table()
    assert len(live) > 100
    sequence.covisit_rebuild()
    rebuilt = table()
    assert set(live) == set(rebuilt)
    assert all(live[key] == pytest.approx(rebuilt[key], rel=1e-5) for key in live)


def test_the_trim_keeps_each_items_strongest_pairs(make_user, catalog, monkeypatch):
    videos = [v for genre in catalog for v in catalog[genre]]
    viewer = make_user()
    start = timezone.now() - timedelta(days=1)
    for m, video in enumerate(videos):
        interaction_record(user=viewer, video=video, kind="view", at=start + timedelta(minutes=m))
    before = table()
    removed = sequence.covisit_trim(keep=3)
    after = table()
    assert removed == len(before) - len(after) > 0
    for a in {a for a, _ in before}:
        mine = sorted((w for (x, _), w in before.items() if x == a), reverse=True)
        kept = sorted((w for (x, _), w in after.items() if x == a), reverse=True)
        assert kept == (mine[:3] if len(mine) > 6 else mine)


def test_what_viewers_meet_next_follows_the_latest_item(make_user, catalog):
    # Viewers who watch a car video go on to a science fiction one: a pure sequence link.
    car, scifi = catalog["cars"][1], catalog["scifi"][2]
    start = timezone.now() - timedelta(days=1)
    for n in range(5):
        fan = make_user()
        interaction_record(user=fan, video=car, kind="view", at=start + timedelta(minutes=2 * n))
        interaction_record(user=fan, video=scifi, kind="view", at=start + timedelta(minutes=2 * n + 1))
    viewer = make_user()
    interaction_record(user=viewer, video=car, kind="view")
    found, scores = sequence_candidates(user=viewer)
    assert scifi.pk in found and "watched next to" in found[scifi.pk].reasons["sequence"]
    assert max(scores, key=scores.get) == scifi.pk
    assert scifi.pk in [i.video.pk for i in ranked_for_user(user=viewer, k=4)]
