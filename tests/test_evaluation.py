"""Offline evaluation, the simulator and the collaborative source."""

import json

import numpy as np
import pytest
from django.core.management import call_command

from feed.collaborative import neighbours, neighbours_build, neighbours_refresh
from feed.evaluation import FIT_FEATURES, FIT_STARTS, _fit, _objective, _starts
from feed.selectors import ranked_for_user
from profiles.models import Interaction, Interest
from profiles.services import interaction_record


def test_item_knn_table_is_cosine_with_shrinkage():
    users = np.array([1, 1, 2, 2, 3, 3, 3])
    videos = np.array([10, 11, 10, 11, 10, 12, 11])
    table = neighbours_build(users, videos)
    ids, scores = table.of(10)
    assert list(ids) == [11, 12]  # 11 co-engaged three times, 12 once
    assert scores[0] == pytest.approx(3 / np.sqrt(3 * 3) * 3 / (3 + 5))
    assert table.of(99)[0].size == 0


def test_collaborative_source_follows_the_latest_like(make_user, catalog, genre_lookup):
    # Many viewers like garden video 0 together with car video 0: a pure co-engagement link.
    garden, car = catalog["gardening"][0], catalog["cars"][0]
    for n in range(5):
        fan = make_user()
        interaction_record(user=fan, video=garden, kind="like")
        interaction_record(user=fan, video=car, kind="like")
    neighbours_refresh()
    assert car.pk in neighbours().of(garden.pk)[0]
    viewer = make_user()
    interaction_record(user=viewer, video=garden, kind="like")
    items = ranked_for_user(user=viewer, k=4, explore_slots=0)
    by_id = {i.video.pk: i for i in items}
    assert car.pk in by_id, [genre_lookup(i.video.pk) for i in items]
    # Both co-engagement sources (item-kNN over likes, the sequence table) say why, naming the like.
    reason = by_id[car.pk].reason
    assert ("also liked" in reason or "watched next to" in reason) and garden.title in reason, reason


def test_evaluate_changes_nothing_and_beats_baselines_on_simulated_viewers(db, capsys, tmp_path):
    from feed.demo import demo_seed

    demo_seed(progress=lambda _: None)
    call_command("simulate", "--users", "30", "--sessions", "6", "--page-size", "8")
    sim = json.loads(capsys.readouterr().out)
    # Once it has seen a session of each viewer, Tailor's pages are likelier to be liked. The
    # expected rate (mean like probability of what was shown) leaves out the coin flips, whose
    # noise at 240 impressions a session is larger than the gap between feeds.
    mean = {policy: np.mean(rates[1:]) for policy, rates in sim["expected_like_rate"].items()}
    assert mean["tailor"] > mean["popular"] + 0.01 and mean["tailor"] > mean["random"] + 0.01, mean
    # Offline evaluation wants logs from a policy that is not the one evaluated: more viewers,
    # browsing random and popular feeds only.
    call_command("simulate", "--users", "60", "--sessions", "5", "--page-size", "8", "--seed", "1",
                 "--policies", "random,popular")
    before = (Interaction.objects.count(), sorted(Interest.objects.values_list("id", "weight")))
    # Tailor's weights are fitted on the validation split, as EASE's lambda is: each system gets
    # its settings chosen where the test is not.
    call_command("evaluate", "--fit", "--output", str(tmp_path / "report.json"))
    report = json.loads((tmp_path / "report.json").read_text())
    print(json.dumps(report))
    assert (Interaction.objects.count(), sorted(Interest.objects.values_list("id", "weight"))) == before
    assert report["viewers"] > 50 and report["validation"]["viewers"] > 50
    baselines = ("popularity", "item_knn", "ease", "sequence")
    for split in ("validation", "test"):
        for system in ("tailor", *baselines):
            assert set(report[split][system]) == {"hr_at_10", "ndcg_at_10", "coverage", "novelty_bits"}
    assert str(report["test"]["ease_lambda"]) in report["validation"]["ease_lambda_sweep_ndcg"]  # chosen on validation
    objective = round(_objective(report["validation"]["tailor"], 10), 4)
    assert abs(report["fit"]["objective"] - objective) <= 1e-4 and objective >= report["fit"]["start_objective"]
    test = report["test"]
    # On these logs (random and popular feeds, ~250 viewers) the baselines are strong and a
    # viewer's hit is a coin of p~0.4: differences under ~0.03 are noise, and another CPU's
    # embedder moves them by that much. Tailor must be on par in HR@10 and NDCG@10 with every
    # baseline, and serve more of the catalogue than item-kNN and far more than popularity.
    # The simulation is deterministic (shared lists are recomputed per session, not on a timer),
    # but any change to the feed changes the logs its first run writes. Measured: HR@10 / NDCG@10
    # 0.476 / 0.378 against EASE 0.388 / 0.332 and the sequence source 0.392 / 0.290 on
    # SQLite (0.496-0.516 / 0.396-0.421 against at most 0.456 / 0.378 on three other seeds); before EASE's stored table kept its negative entries Tailor trailed EASE's
    # NDCG@10 by 0.036 on PostgreSQL (CI). (EASE led by 0.062 before two fixes to
    # evaluate: histories with equal timestamps are cut in order, and shared lists no longer
    # refresh in the background, where they read the held-out events.)
    # `evaluate` on real data is where the ranking is judged.
    for baseline in baselines:
        assert test["tailor"]["hr_at_10"] > test[baseline]["hr_at_10"] - 0.03, json.dumps(report)
        assert test["tailor"]["ndcg_at_10"] > test[baseline]["ndcg_at_10"] - 0.03, json.dumps(report)
    assert test["tailor"]["coverage"] > 1.5 * test["popularity"]["coverage"], json.dumps(report)
    assert test["tailor"]["coverage"] > test["item_knn"]["coverage"] + 0.05, json.dumps(report)  # 0.775 against 0.488
    cold = report["cold_items"]
    assert cold["held_out_items"] > 30 and cold["viewers"] > 50 and cold["cold_slots_per_page"] == 1
    # Without the cold slot no held-out item could reach a first page (Tailor's share was 0.000).
    # Content-only ranks the whole catalogue by closeness to the mean of the likes, which on this
    # simulator (whose viewers like by cosine in the same embedding space) is near an oracle and
    # spends ~2 of its 10 slots on cold items. The slot alone stayed below it (0.234 against
    # 0.351); with cold items competing for the rest of the page on estimated evidence, Tailor
    # is above it (measured 0.635 against 0.284, and 0.622-0.662 against 0.258-0.280 on three
    # other simulation seeds), as on MovieLens 100K (0.431 against 0.239, and its test split 0.223 /
    # 0.117 against the sequence source's 0.214 / 0.111).
    assert cold["tailor"] > cold["content_only"] + 0.03 and cold["tailor"] > cold["random"] + 0.1, cold
    # What the slot costs the warm hit rate, measured on the same split.
    assert cold["warm_viewers"] > 50, cold
    cost = cold["tailor_warm_hr_at_10_without_cold_slots"] - cold["tailor_warm_hr_at_10"]
    assert -0.02 < cost < 0.03, cold  # below 0 only where a warm target went cold itself


def test_fit_ranker_saves_weights_the_feed_then_uses(db, capsys, settings):
    from feed import ranking
    from feed.demo import demo_seed

    demo_seed(progress=lambda _: None)
    assert ranking.current_weights() == ranking.WEIGHTS
    call_command("fit_ranker", "--max-users", "25")
    out = capsys.readouterr().out
    printed = json.loads(out[: out.rindex("}") + 1])
    # Fitted on validation, reported on test: two separate sets of figures.
    assert abs(printed["fit"]["objective"] - _objective(printed["validation"]["tailor"], 10)) <= 1e-4
    assert {"tailor", "popularity", "item_knn", "ease", "sequence"} <= set(printed["test"])
    fit = json.loads((settings.DATA_DIR / "ranker_weights.json").read_text())
    assert fit["objective"] >= fit["start_objective"]
    assert set(fit["weights"]) == set(FIT_FEATURES)  # the policies (made_for_you, cold_prior) stay the code's
    assert ranking.current_weights() == {**ranking.WEIGHTS, **fit["weights"]}
    assert ranking.fitted_extra()["ease_lambda"] == fit["ease_lambda"] == printed["test"]["ease_lambda"]


def test_fit_starts_from_each_signal_alone_and_keeps_what_it_does_not_fit():
    from feed import ranking

    starts = dict(_starts())
    for lead in FIT_STARTS:
        alone = starts[f"{lead} alone"]
        assert [f for f in FIT_STARTS if alone[f]] == [lead] and alone["diversity"] == 0
    blend = starts["ease and sequence alone"]
    assert (blend["ease"], blend["sequence"], blend["relevance"], blend["collab"]) == (1.0, 1.0, 0.0, 0.0)
    assert all(s[w] == ranking.WEIGHTS[w] for s in starts.values() for w in ("made_for_you", "cold_prior"))
    # A peak that coordinate ascent from the defaults cannot see: only the starts reach it.
    fit = _fit(lambda w: 1.0 if w == blend else 0.0, progress=lambda _: None)
    assert fit["weights"] == blend and fit["objective"] == 1.0 and fit["start_objective"] == 0.0
    # The best start is not always where the best ascent begins: each start is climbed from.
    sequence, ease = starts["sequence alone"], starts["ease alone"]
    peak = {**ease, "ease": 2.0}
    landscape = lambda w: 1.0 if w == peak else 0.5 if w == sequence else 0.2 if w == ease else 0.0  # noqa: E731
    fit = _fit(landscape, progress=lambda _: None)
    assert fit["weights"] == peak and fit["objective"] == 1.0
