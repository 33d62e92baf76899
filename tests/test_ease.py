"""The long-term model: the closed form, its stored neighbours, and a source of the feed."""

import numpy as np
import pytest

from feed import ease
from feed.sources import ease_candidates
from profiles.services import interaction_record


def test_the_fit_is_the_closed_form():
    rng = np.random.default_rng(3)
    x = (rng.random((40, 12)) < 0.3).astype(np.float32)
    users, videos = np.nonzero(x)
    gram = ease.Gram(users, videos + 100, max_items=100)
    assert list(gram.ids) == [v + 100 for v in range(12) if x[:, v].sum() >= ease.MIN_USERS]
    cols = gram.ids - 100
    g = x[:, cols].T @ x[:, cols] + 50.0 * np.eye(len(cols))
    p = np.linalg.inv(g)
    expected = np.eye(len(cols)) - p / np.diag(p)
    np.fill_diagonal(expected, 0)
    assert np.allclose(gram.fit(50.0), expected, atol=1e-4)
    # The table keeps each row's k largest entries in magnitude, the negative ones included.
    table = gram.table(50.0, k=3)
    ids, scores = table.of(int(gram.ids[0]))
    top = np.argsort(-np.abs(expected[0]))[:3]
    assert set(ids.tolist()) == {int(gram.ids[i]) for i in top}
    assert scores == pytest.approx(np.sort(expected[0][top])[::-1], abs=1e-4)


def test_a_table_that_holds_every_item_scores_as_the_dense_model():
    # What the feed's EASE feature is: the stored table's votes over a viewer's history. With
    # every entry kept they are the model's own scores, negative contributions included.
    rng = np.random.default_rng(3)
    x = (rng.random((60, 12)) < 0.25).astype(np.float32)
    # Items 0 and 1 are substitutes: each viewer who met item 2 met exactly one of them.
    x[:, :2] = 0
    fans = np.flatnonzero(x[:, 2])
    x[fans, 0], x[fans, 1] = fans % 2, 1 - fans % 2
    users, videos = np.nonzero(x)
    gram = ease.Gram(users, videos, max_items=100)
    assert list(gram.ids) == list(range(12))
    b = gram.fit(5.0)
    assert b[0, 1] < -0.2 and b[0, 2] > 0.2  # the substitute is pushed down, the companion up
    # At k=3 row 0 keeps its companion and its substitute, the two largest in magnitude.
    ids, scores = gram.table(5.0, k=3).of(0)
    assert dict(zip(ids.tolist(), scores.tolist())).get(1) == pytest.approx(b[0, 1], abs=1e-4)
    # A small catalogue keeps every entry by default (ease.TABLE_ENTRIES; a cut table of 333
    # items lost a simulator's test split a quarter of its hits at a small lambda).
    table = gram.table(5.0)
    assert len(table.neighbours) == 12 * 11 and len(gram.table(5.0, k=3).neighbours) == 12 * 3
    ids, scores = ease.ease_scores(history=[0, 3, 7], table=table)
    dense = b[[0, 3, 7]].sum(axis=0)
    got = dict(zip(ids.tolist(), scores.tolist()))
    assert (dense < 0).sum() >= 3
    assert [got.get(v, 0.0) for v in range(12)] == pytest.approx(dense.tolist(), abs=1e-4)


def test_refresh_saves_a_table_the_feed_reads(make_user, catalog):
    cooking, cars = catalog["cooking"], catalog["cars"]
    # Everyone who met two cooking videos also met a car video: EASE links them.
    for n in range(6):
        fan = make_user()
        for video in (cooking[0], cooking[1], cars[0]):
            interaction_record(user=fan, video=video, kind="view")
    for n in range(3):
        other = make_user()
        interaction_record(user=other, video=cars[1], kind="view")
        interaction_record(user=other, video=cooking[2], kind="view")
    table = ease.ease_refresh(lam=1.0)
    assert len(table.ids) >= 4 and ease.ease_table().built_at == table.built_at
    viewer = make_user()
    interaction_record(user=viewer, video=cooking[0], kind="view")
    found, scores = ease_candidates(history=[cooking[0].pk])
    assert max(scores, key=scores.get) in {cooking[1].pk, cars[0].pk}
    assert cars[0].pk in found and scores[cars[0].pk] > scores.get(cars[1].pk, 0.0)


def test_the_periodic_job_refits_only_a_fit_older_than_its_interval(make_user, catalog):
    for n in range(3):
        fan = make_user()
        for video in catalog["cooking"][:3]:
            interaction_record(user=fan, video=video, kind="view")
    table = ease.ease_refresh(lam=1.0)
    assert ease.ease_refresh_due() is None and ease.ease_table().built_at == table.built_at
    refit = ease.ease_refresh_due(every_s=0.0)
    assert refit is not None and refit.built_at >= table.built_at and len(refit.ids) == len(table.ids)
