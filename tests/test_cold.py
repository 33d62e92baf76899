"""Cold items reach first pages through the viewer's content model, and leave after a fair audience."""

from django.utils import timezone

from feed import cold, ranking
from feed.models import Impression
from feed.ranking import weights_override
from feed.selectors import prepare_for_user, ranked_for_user
from feed.sources import global_lists_clear
from generation.models import Video
from generation.services import video_upsert, videos_embed
from profiles import indexes
from profiles.services import interaction_record


def new_video(external_id: str, title: str, description: str, tags: list[str]) -> Video:
    video, _ = video_upsert(external_id=external_id, title=title, description=description, tags=tags)
    videos_embed(video_ids=[video.pk])
    indexes.items().ready(force=True)
    return Video.objects.get(pk=video.pk)


def test_the_model_learns_what_the_viewer_turns_down(make_user, catalog):
    viewer = make_user()
    cooking = {v.title.split(" ")[0]: v for v in catalog["cooking"]}
    for name in ("The", "Weeknight", "Mushroom", "Fish", "Butter"):  # savoury dishes: liked
        interaction_record(user=viewer, video=cooking[name], kind="like")
    for name in ("Garlic", "Sourdough", "Croissants"):  # bread and pastry: turned down
        interaction_record(user=viewer, video=cooking[name], kind="dislike")
    curry = new_video("curry", "Thai green curry", "a spicy coconut curry recipe with chicken and rice", ["cooking"])
    bread = new_video("baguette", "Baguettes at home", "baking crusty french bread and pastry dough", ["cooking"])
    model = cold.viewer_model(user=viewer, dim=indexes.items().ready().dim)
    vectors = indexes.items().ready().vectors([curry.pk, bread.pk])
    curry_score, bread_score = vectors @ model
    assert curry_score > bread_score + 0.05, (curry_score, bread_score)


def test_a_cold_item_reaches_the_first_page_until_its_audience_has_passed(make_user, catalog, settings):
    settings.FEED_COLD_AUDIENCE = 3
    Video.objects.update(views=5)  # the catalogue has been met
    viewer = make_user()
    for video in catalog["scifi"][:4]:
        interaction_record(user=viewer, video=video, kind="like")
    for video in catalog["cooking"][:2]:
        interaction_record(user=viewer, video=video, kind="skip")
    new = new_video("nebula", "Nebula drift", "a science fiction short: a lone pilot and a starship lost in a nebula", ["scifi"])
    global_lists_clear()
    assert prepare_for_user(user=viewer, k=6).cold[0][0] == new.pk
    # Even where nothing else in the ranking would bring it up (no content relevance, no credit
    # for estimated evidence), it takes the page's cold slot: the last one.
    with weights_override({**ranking.WEIGHTS, "relevance": 0.0, "cold_prior": 0.0}):
        page = ranked_for_user(user=viewer, k=6)
    assert [i.video.pk for i in page if i.source == "cold"] == [new.pk] and page[-1].video.pk == new.pk
    assert page[-1].reason

    # Three viewers were shown it and none took it: its fair audience has passed.
    for n in range(3):
        Impression.objects.create(user=make_user(), video=new, session=f"s{n}", page=0, position=0, source="cold",
                                  score=0.0, created_at=timezone.now())
    global_lists_clear()
    assert new.pk not in [vid for vid, _ in prepare_for_user(user=viewer, k=6).cold]
    with weights_override({**ranking.WEIGHTS, "relevance": 0.0}):
        assert new.pk not in [i.video.pk for i in ranked_for_user(user=viewer, k=6)]


def test_a_cold_candidate_is_credited_what_warm_ones_like_it_have():
    import numpy as np

    # Warm candidates whose EASE score rises with the viewer's content score; the sequence
    # source knows none of them.
    content = np.array([0.0, 1.0, 2.0, 3.0, 2.5, -1.0], np.float32)
    cold_mask = np.array([False, False, False, False, True, True])
    feats = {"ease": np.array([0.0, 0.3, 0.6, 0.9, 0, 0], np.float32), "sequence": np.zeros(6, np.float32),
             "collab": np.array([0.5, 0.5, 0.5, 0.5, 0, 0], np.float32),
             # Evidence a cold item cannot have either: how popular, how many sources agreed.
             "popularity": np.array([0.2, 0.4, 0.6, 0.8, 0, 0], np.float32),
             "agreement": np.array([3.0, 1.0, 1.0, 0.0, 0, 0], np.float32)}
    out = cold.imputed(feats, cold=cold_mask, content=content)
    assert set(out) == {f"{name}@cold" for name in ("ease", "sequence", "collab", "popularity", "agreement")}
    assert np.allclose(out["ease@cold"], [0, 0, 0, 0, 0.75, 0.0])  # on the line (all are), and never below 0
    assert np.allclose(out["collab@cold"], [0, 0, 0, 0, 0.5, 0.5]) and not out["sequence@cold"].any()
    assert np.allclose(out["popularity@cold"], [0, 0, 0, 0, 0.7, 0.0])
    # Warm candidates off their line are an uncertainty: one standard deviation (0.418) above
    # it (0.35 at 2.5; 3.5 at -1, capped at the warm candidates' most, 3).
    assert np.allclose(out["agreement@cold"], [0, 0, 0, 0, 0.35 + np.sqrt(0.175), 3.0])
    # The score counts the estimates at the weight of the feature times cold_prior.
    base = {**ranking.WEIGHTS, "cold_prior": 0.0}
    both = {**feats, **out}
    assert np.allclose(ranking.score(both, base), ranking.score(feats, base))
    lifted = ranking.score(both, {**base, "cold_prior": 1.0}) - ranking.score(feats, base)
    assert np.allclose(lifted, sum(ranking.WEIGHTS[name] * out[f"{name}@cold"] for name in cold.IMPUTED))
    # Without a content model, or without warm candidates to learn from, nothing is credited.
    assert not any(v.any() for v in cold.imputed(feats, cold=cold_mask, content=None).values())
    assert not any(v.any() for v in cold.imputed(feats, cold=np.ones(6, bool), content=content).values())


def test_a_cold_item_that_fits_wins_a_place_on_merit_beside_the_cold_slot(make_user, catalog, settings):
    from feed.ease import ease_refresh

    settings.FEED_COLD_SLOTS = 1
    scifi = catalog["scifi"]
    # Other viewers watch the sci-fi films one after another: EASE and the sequence table
    # score them for anyone who starts on them; nothing links the other genres.
    for _ in range(4):
        fan = make_user()
        for video in scifi[:5]:
            interaction_record(user=fan, video=video, kind="like")
    ease_refresh()
    Video.objects.update(views=5)  # the catalogue has been met; only the new films are cold
    viewer = make_user()
    for video in scifi[:2]:
        interaction_record(user=viewer, video=video, kind="like")
    new = [new_video("nebula", "Nebula drift", "a science fiction short: a lone pilot and a starship lost in a nebula", ["scifi"]),
           new_video("ringworld", "Ringworld", "science fiction: astronauts explore an alien megastructure in deep space", ["scifi"])]
    global_lists_clear()
    ids = {v.pk for v in new}

    def cold_on(page):
        return [n for n, item in enumerate(page) if item.video.pk in ids]

    # Counted as having no collaborative evidence, a new film only gets the slot at the end.
    with weights_override({**ranking.WEIGHTS, "cold_prior": 0.0}):
        page = ranked_for_user(user=viewer, k=6)
    assert cold_on(page) == [5], [(i.video.title, i.source) for i in page]
    # Credited what warm sci-fi films have, both win places above the slot on merit (measured:
    # at 3 and 4); with no other cold item left, the last place goes back to the ranking.
    page = ranked_for_user(user=viewer, k=6)
    on = cold_on(page)
    assert len(on) == 2 and on[-1] < 5, [(i.video.title, i.source) for i in page]
    assert len(page) == 6 and all(page[n].reason for n in on)
