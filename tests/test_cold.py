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
    # Even where nothing else in the ranking would bring it up (no content relevance at all),
    # it takes the page's cold slot: the last one.
    with weights_override({**ranking.WEIGHTS, "relevance": 0.0}):
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
