"""Multi-interest taste: online updates, bulk ingest, re-clustering, and the interest index."""

import numpy as np
import pytest

from core.vec import from_bytes, normalize
from profiles import indexes
from profiles.clustering import interests_recluster
from profiles.models import Interest
from profiles.services import EventIn, interaction_record, interactions_ingest_bulk, onboarding_apply


def taste_cosine(user, video) -> float:
    vectors = np.vstack([from_bytes(i.vector) for i in Interest.objects.filter(user=user)])
    return float((vectors @ from_bytes(video.embedding)).max())


def test_like_pulls_and_dislike_or_hide_push(make_user, catalog):
    from profiles.taste import JOIN_COSINE, PUSH_COSINE

    user = make_user()
    onboarding_apply(user=user, topics=["cooking"])
    (onboarded,) = Interest.objects.filter(user=user)
    cooking = catalog["cooking"]
    # The videos are picked by their distance from the decisions' thresholds, so the test means
    # the same on every CPU (the int8 embedder moves cosines by ~0.01 between instruction sets).
    by_fit = sorted(cooking, key=lambda v: -float(from_bytes(onboarded.vector) @ from_bytes(v.embedding)))
    liked, others = by_fit[0], by_fit[1:]
    assert taste_cosine(user, liked) > JOIN_COSINE + 0.1, "test data: the like must clearly join the interest"
    before = {v.pk: taste_cosine(user, v) for v in cooking}
    interaction_record(user=user, video=liked, kind="like")
    assert list(Interest.objects.filter(user=user).values_list("pk", flat=True)) == [onboarded.pk]  # pulled, not a new one
    assert taste_cosine(user, liked) > before[liked.pk] + 0.02
    # The pull generalises to the taste: other cooking videos come closer on average.
    assert np.mean([taste_cosine(user, v) - before[v.pk] for v in others]) > 0.005
    pushed = sorted(others, key=lambda v: -taste_cosine(user, v))[:2]  # the two now nearest the interest
    for kind, video in zip(("dislike", "hide"), pushed):
        pushed_before = taste_cosine(user, video)
        assert pushed_before > PUSH_COSINE + 0.08, "test data: the item must clearly be related to the interest"
        interaction_record(user=user, video=video, kind=kind)
        assert taste_cosine(user, video) < pushed_before - 0.01, kind


def test_two_tastes_stay_two_and_beat_the_average(make_user, catalog, genre_lookup):
    user = make_user()
    for video in catalog["cooking"][:3] + catalog["scifi"][:3]:
        interaction_record(user=user, video=video, kind="like")
    interests = list(Interest.objects.filter(user=user))
    ivecs = np.vstack([from_bytes(i.vector) for i in interests])
    # Never one blurred interest: each interest holds items of one taste only, and both tastes have one.
    liked = catalog["cooking"][:3] + catalog["scifi"][:3]
    owner = (np.vstack([from_bytes(v.embedding) for v in liked]) @ ivecs.T).argmax(axis=1)
    tastes_per_interest = {o: {genre_lookup(v.pk) for v, oo in zip(liked, owner) if oo == o} for o in set(owner)}
    assert all(len(t) == 1 for t in tastes_per_interest.values()), tastes_per_interest
    assert set().union(*tastes_per_interest.values()) == {"cooking", "scifi"}
    # Re-clustering the history consolidates them into exactly two.
    interests = interests_recluster(user=user)
    assert sorted(i.label for i in interests) == ["Cooking", "Science fiction"]
    # Items that half-fit both tastes: what an averaged vector lands on in a real catalogue.
    from generation.services import video_upsert, videos_embed

    bridges = [
        "Astronaut food: how crews cook meals on the space station",
        "A robot chef in a futuristic kitchen makes dinner on Mars",
        "Sci-fi movie snacks: recipes inspired by space films",
        "Cooking in zero gravity: a science experiment in orbit",
    ]
    bridge_ids = {video_upsert(external_id=f"bridge-{n}", title=t, tags=["bridge"])[0].pk for n, t in enumerate(bridges)}
    videos_embed(video_ids=bridge_ids)
    index = indexes.items().ready(force=True)
    ivecs = np.vstack([from_bytes(i.vector) for i in interests])

    def retrieved(queries, k):
        _, ids = index.search(queries, k)
        return [int(i) for row in ids for i in row if i >= 0]

    # Per interest: each taste retrieves its own world.
    per_interest = [genre_lookup(v) if v not in bridge_ids else "bridge" for v in retrieved(ivecs, 4)]
    assert per_interest.count("cooking") >= 3 and per_interest.count("scifi") >= 3, per_interest
    # The averaged vector sits between the two and matches each taste worse.
    average = normalize(ivecs.mean(axis=0))
    per_best = (ivecs @ ivecs.T).diagonal()
    assert (ivecs @ average).max() < per_best.min()
    avg_items = retrieved(average[None, :], 8)
    per_items = retrieved(ivecs, 4)
    # The average spends its slots on half-fitting items; per-interest retrieval does not.
    assert len(set(avg_items) & bridge_ids) >= 2, "the average should land on the half-fitting bridges"
    assert len(set(per_items) & bridge_ids) < len(set(avg_items) & bridge_ids)
    pure = lambda items: sum(1 for v in items if v not in bridge_ids and genre_lookup(v) in ("cooking", "scifi"))  # noqa: E731
    assert pure(per_items) > pure(avg_items)


def test_bulk_ingest_learns_exactly_like_single_events(make_user, catalog):
    a, b = make_user(), make_user()
    plan = [(catalog["cooking"][0], "like"), (catalog["scifi"][1], "share"), (catalog["cooking"][2], "view"),
            (catalog["cars"][0], "dislike"), (catalog["scifi"][2], "like"), (catalog["gardening"][0], "skip")]
    for video, kind in plan:
        interaction_record(user=a, video=video, kind=kind, watch_fraction=0.7 if kind == "view" else None)
    rows = [EventIn(index=n, user=b, video=v.pk, kind=k, watch_fraction=0.7 if k == "view" else None) for n, (v, k) in enumerate(plan)]
    assert interactions_ingest_bulk(events=rows).created == len(plan)
    ia = sorted(Interest.objects.filter(user=a), key=lambda i: i.label)
    ib = sorted(Interest.objects.filter(user=b), key=lambda i: i.label)
    assert [i.label for i in ia] == [i.label for i in ib]
    for x, y in zip(ia, ib):
        assert np.allclose(from_bytes(x.vector), from_bytes(y.vector), atol=1e-5)
        assert x.weight == pytest.approx(y.weight, rel=1e-3) and x.count == y.count


def test_bulk_drops_duplicate_client_events(make_user, catalog):
    user = make_user()
    video = catalog["cooking"][0]
    rows = [EventIn(index=n, user=user, video=video.pk, kind="view", client_event_id=cid) for n, cid in enumerate(["a", "b", "a"])]
    first = interactions_ingest_bulk(events=rows)
    again = interactions_ingest_bulk(events=rows)
    assert (first.created, first.duplicates) == (2, 1)
    assert (again.created, again.duplicates) == (0, 3)


def test_recluster_rebuilds_medoids_from_history(make_user, catalog):
    user = make_user()
    onboarding_apply(user=user, topics=["gardening"])
    liked = catalog["cooking"][:4] + catalog["scifi"][:4]
    for video in liked:
        interaction_record(user=user, video=video, kind="like")
    interaction_record(user=user, video=catalog["cars"][0], kind="dislike")
    rebuilt = interests_recluster(user=user)
    assert sorted(i.label for i in rebuilt) == ["Cooking", "Science fiction"]
    liked_vectors = [from_bytes(v.embedding) for v in liked]
    for interest in rebuilt:
        # A medoid is a real item the viewer engaged with, not an average.
        assert any(np.allclose(from_bytes(interest.vector), v) for v in liked_vectors)
        assert interest.count == 4
    # Onboarding interests survive re-clustering; learned ones are replaced, not duplicated.
    origins = sorted(Interest.objects.filter(user=user).values_list("origin", flat=True))
    assert origins == ["clustered", "clustered", "onboarding"]
    interests_recluster(user=user)
    assert Interest.objects.filter(user=user).count() == 3


def test_interest_index_tracks_changes_and_account_deletion(make_user, catalog, settings, tmp_path):
    a, b = make_user(), make_user()
    onboarding_apply(user=a, topics=["cooking", "jazz"])
    onboarding_apply(user=b, topics=["scifi"])
    synced = indexes.interests()
    index = synced.ready()
    assert len(index) == 3
    interaction_record(user=b, video=catalog["gardening"][0], kind="like")  # a new interest for b
    a_ids = set(Interest.objects.filter(user=a).values_list("id", flat=True))
    a.delete()
    synced.ready(force=True)
    ids = set(index.ids())
    assert not ids & a_ids, "a deleted account's vectors stayed in the index"
    assert ids == set(Interest.objects.values_list("id", flat=True))
    # Incremental equals rebuilt.
    settings.INDEX_DIR = tmp_path / "rebuilt"
    indexes.reset()
    rebuilt = indexes.interests()
    rebuilt.rebuild()
    query = from_bytes(catalog["scifi"][0].embedding)[None, :]
    assert (index.search(query, 3)[1] == rebuilt.index.search(query, 3)[1]).all()


def test_taste_page_remove_reset_and_delete_account(client, make_user, catalog, django_user_model):
    user = make_user(username="page-viewer")
    onboarding_apply(user=user, topics=["cooking", "jazz"])
    client.force_login(user)
    page = client.get("/taste").content.decode()
    assert "Cooking" in page and "Jazz" in page
    jazz = Interest.objects.get(user=user, label="Jazz")
    client.post("/taste", {"remove": jazz.pk})
    assert list(Interest.objects.filter(user=user).values_list("label", flat=True)) == ["Cooking"]
    # Another viewer's interest id does nothing.
    other = make_user()
    onboarding_apply(user=other, topics=["scifi"])
    client.post("/taste", {"remove": Interest.objects.get(user=other).pk})
    assert Interest.objects.filter(user=other).count() == 1
    # Deleting needs the password: a session left open is not enough.
    client.post("/taste", {"action": "delete_account", "password": "page-viewer"})
    assert django_user_model.objects.filter(pk=user.pk).exists()
    indexes.interests().ready()
    response = client.post("/taste", {"action": "delete_account", "password": "x-Pass-123!"})
    assert response.status_code == 302
    assert not django_user_model.objects.filter(pk=user.pk).exists()
    assert not Interest.objects.filter(user_id=user.pk).exists()
    assert set(indexes.interests().index.ids()) == set(Interest.objects.values_list("id", flat=True))


def test_a_viewer_chooses_the_name_hosts_greet_them_by(client, make_user):
    from generation.planning import _viewer_context
    from profiles.models import Profile

    user = make_user()
    client.force_login(user)
    assert _viewer_context(user)[0] == ""
    client.post("/taste", {"action": "greeting", "display_name": "  Sam   Lee ", "greet_by_name": "on"})
    user.refresh_from_db()
    assert (user.profile.display_name, user.profile.greet_by_name) == ("Sam Lee", True)
    assert _viewer_context(user)[0] == "Sam Lee"
    # Not allowed: the name is kept but never spoken.
    client.post("/taste", {"action": "greeting", "display_name": "Sam Lee"})
    assert _viewer_context(Profile.objects.get(user=user).user)[0] == ""
    # An over-long or offensive name changes nothing, with a clear message.
    for bad, message in [("x" * 41, "at most 40 characters"), ("p0rn star", "breaks our content rules")]:
        page = client.post("/taste", {"action": "greeting", "display_name": bad, "greet_by_name": "on"}, follow=True)
        assert message in page.content.decode()
        assert Profile.objects.get(user=user).display_name == "Sam Lee"
