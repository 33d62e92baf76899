"""The mobile REST API: auth and tokens, object-level access (BOLA matrix), mass assignment,
throttling, limits, account deletion, and the OpenAPI schema."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from core import storage
from generation.models import RenderJob, Video
from generation.rendering import render_job_create, render_job_run
from generation.services import videos_embed
from profiles.auth import RefreshToken
from profiles.models import Interaction, Interest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()
    yield
    cache.clear()


def api_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def _error(response, status):
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()["error"]
    assert body["status"] == status and body["code"] and body["detail"] and isinstance(body["fields"], dict)
    return body


@pytest.fixture
def two_viewers(make_user, catalog):
    """A and B, each with an interest, an interaction, a private render (ready) and a render job."""
    from profiles.services import interaction_record, onboarding_apply

    a, b = make_user("alice"), make_user("bob")
    objects = {}
    for user, topic in ((a, "cooking"), (b, "scifi")):
        onboarding_apply(user=user, topics=[topic])
        interaction_record(user=user, video=catalog["cooking"][0], kind="like")
        job, _ = render_job_create(prompt=f"A private film for {user.username}", seed=user.pk, user=user, model="null")
        render_job_run(job_id=job.pk)
        job.refresh_from_db()
        videos_embed(video_ids=[job.video_id])  # what the embed job queued on ready does
        pending, _ = render_job_create(prompt=f"Another film for {user.username}", seed=user.pk, user=user, model="null")
        objects[user.username] = {
            "interest": Interest.objects.filter(user=user).first().pk, "video": job.video_id,
            "job": job.pk, "pending": pending.pk, "refresh": str(RefreshToken.for_user(user)),
        }
    return a, b, objects


def test_signup_login_refresh_rotation_and_logout(client):
    api = APIClient()
    weak = api.post("/api/v1/auth/signup", {"username": "newbie", "password": "123"}, format="json")
    assert "password" in _error(weak, 400)["fields"]
    created = api.post("/api/v1/auth/signup", {"username": "newbie", "password": "a-Long-pass-9876"}, format="json")
    assert created.status_code == 201 and {"access", "refresh"} <= set(created.json())
    taken = api.post("/api/v1/auth/signup", {"username": "NewBie", "password": "a-Long-pass-9876"}, format="json")
    assert "username" in _error(taken, 409)["fields"]  # in any letter case

    bad = api.post("/api/v1/auth/token", {"username": "newbie", "password": "wrong-pass-123"}, format="json")
    _error(bad, 401)
    tokens = api.post("/api/v1/auth/token", {"username": "newbie", "password": "a-Long-pass-9876"}, format="json").json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api.get("/api/v1/me").json()["username"] == "newbie"

    # Refresh tokens rotate: the new pair works, the spent refresh token never again.
    fresh = api.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json").json()
    assert fresh["refresh"] != tokens["refresh"]
    _error(api.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json"), 401)

    # Logout spends the refresh token.
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {fresh['access']}")
    assert api.post("/api/v1/auth/logout", {"refresh": fresh["refresh"]}, format="json").status_code == 204
    _error(api.post("/api/v1/auth/token/refresh", {"refresh": fresh["refresh"]}, format="json"), 401)


def test_an_expired_access_token_gets_401(make_user):
    user = make_user()
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    _error(api.get("/api/v1/me"), 401)
    _error(APIClient().get("/api/v1/me"), 401)  # and no token at all


def test_bola_matrix_a_never_reaches_b(two_viewers):
    a, b, objects = two_viewers
    api, theirs, mine = api_for(a), objects["bob"], objects["alice"]

    # Every object endpoint, with B's ids: 404 (not 403: existence is not confirmed) and no change.
    assert api.get(f"/api/v1/videos/{theirs['video']}").status_code == 404
    assert api.get(f"/api/v1/renders/{theirs['job']}").status_code == 404
    assert api.post(f"/api/v1/renders/{theirs['pending']}/cancel").status_code == 404
    assert api.delete(f"/api/v1/me/taste/interests/{theirs['interest']}").status_code == 404
    assert RenderJob.objects.get(pk=theirs["pending"]).state == "queued"
    assert Interest.objects.filter(pk=theirs["interest"]).exists()
    _error(api.post("/api/v1/auth/logout", {"refresh": theirs["refresh"]}, format="json"), 403)
    assert APIClient().post("/api/v1/auth/token/refresh", {"refresh": theirs["refresh"]}, format="json").status_code == 200

    # B's private render's files are not served to A (local media view; S3 objects are private).
    from django.test import Client

    web = Client()
    web.force_login(a)
    theirs_video = Video.objects.get(pk=theirs["video"])
    mine_video = Video.objects.get(pk=mine["video"])
    if not storage.settings.USE_S3:
        assert web.get(f"/media/{theirs_video.video_key}").status_code == 404
        assert web.get(f"/media/{theirs_video.thumbnail_key}").status_code == 404
        assert web.get(f"/media/{mine_video.video_key}").status_code == 200
    assert "X-Amz-Signature=" in api.get(f"/api/v1/videos/{mine['video']}").json()["video_url"] or not storage.settings.USE_S3

    # Interactions on B's private render are refused, as about a video that does not exist.
    posted = api.post("/api/v1/interactions", {"events": [{"video": theirs["video"], "kind": "like"}]}, format="json")
    assert posted.status_code == 404
    assert not Interaction.objects.filter(user=a, video_id=theirs["video"]).exists()

    # B's objects never appear in A's lists.
    renders = [j["id"] for j in api.get("/api/v1/renders").json()["results"]]
    assert set(renders) == {mine["job"], mine["pending"]}
    taste = [i["id"] for i in api.get("/api/v1/me/taste").json()["interests"]]
    assert theirs["interest"] not in taste and mine["interest"] in taste
    feed_ids = [i["video"]["id"] for i in api.get("/api/v1/feed?size=50").json()["items"]]
    assert theirs["video"] not in feed_ids
    found = [h["video"]["id"] for h in api.get("/api/v1/search", {"q": "A private film for bob", "size": 50}).json()["results"]]
    assert theirs["video"] not in found and mine["video"] in found

    # A's own objects are reachable.
    assert api.get(f"/api/v1/videos/{mine['video']}").json()["made_for_you"] is True
    assert api.get(f"/api/v1/renders/{mine['job']}").json()["state"] == "ready"


def test_patch_cannot_change_owner_staff_or_status_fields(make_user):
    user = make_user("plain")
    api = api_for(user)
    response = api.patch("/api/v1/me", {"email": "new@example.com", "is_staff": True, "is_superuser": True,
                                        "username": "root", "id": 999, "date_joined": "2000-01-01T00:00:00Z",
                                        "onboarded": True, "current_password": "x-Pass-123!"}, format="json")
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.email == "new@example.com"
    assert (user.is_staff, user.is_superuser, user.username, user.pk != 999) == (False, False, "plain", True)


def test_throttled_clients_get_429(settings, make_user):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login": "3/min", "user": "5/min"}
    api = APIClient()
    codes = [api.post("/api/v1/auth/token", {"username": "x", "password": "y"}, format="json").status_code for _ in range(4)]
    assert codes[:3] == [401, 401, 401]
    body = _error(api.post("/api/v1/auth/token", {"username": "x", "password": "y"}, format="json"), 429)
    assert "throttled" in body["code"]
    signed_in = api_for(make_user())
    codes = [signed_in.get("/api/v1/me").status_code for _ in range(6)]
    assert codes[:5] == [200] * 5 and codes[5] == 429


def test_page_sizes_are_capped_and_bad_input_is_a_clear_400(settings, make_user, catalog):
    from profiles.services import onboarding_apply

    settings.API_PAGE_MAX = 5
    user = make_user()
    onboarding_apply(user=user, topics=["cooking"])
    api = api_for(user)
    assert len(api.get("/api/v1/feed?size=1000").json()["items"]) == 5
    assert "size" in _error(api.get("/api/v1/feed?size=abc"), 400)["fields"]
    _error(api.get("/api/v1/feed?cursor=forged"), 400)  # not the shape of a cursor
    page = api.get("/api/v1/feed").json()
    stem, _, signature = page["next_cursor"].rpartition(":")
    assert "cursor" in _error(api.get("/api/v1/feed", {"cursor": f"{stem}:{signature[::-1]}"}), 404)["fields"]
    _error(api.get("/api/v1/search", {"q": ""}), 400)
    settings.API_BATCH_MAX = 2
    events = [{"video": catalog["cooking"][0].pk, "kind": "view"}] * 3
    assert "events" in _error(api.post("/api/v1/interactions", {"events": events}, format="json"), 400)["fields"]


def test_oversized_bodies_are_rejected_with_413(settings, make_user):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    api = api_for(make_user())
    response = api.post("/api/v1/interactions", {"events": [{"video": 1, "kind": "view", "client_event_id": "x" * 90}] * 40},
                        format="json")
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"


def test_batch_interactions_keep_good_events_and_report_bad_ones(make_user, catalog):
    api = api_for(make_user())
    good = catalog["cooking"][1].pk
    body = api.post("/api/v1/interactions", {"events": [
        {"video": good, "kind": "like", "client_event_id": "e1"},
        {"video": 999999, "kind": "like"},
        {"video": good, "kind": "like", "client_event_id": "e1"},
    ]}, format="json").json()
    assert body["created"] == 1 and body["duplicates"] == 1
    assert [e["index"] for e in body["errors"]] == [1] and "video" in body["errors"][0]["errors"]
    # Only a video's existence is left to the service: what the schema states (the kinds) is a 400.
    bad_kind = api.post("/api/v1/interactions", {"events": [{"video": good, "kind": "teleport"}]}, format="json")
    assert "events.0.kind" in _error(bad_kind, 400)["fields"]
    gone = api.post("/api/v1/interactions", {"events": [{"video": 999999, "kind": "like"}]}, format="json")
    assert "events.0.video" in _error(gone, 404)["fields"]


def test_account_deletion_leaves_no_rows_vectors_or_objects(make_user, catalog):
    from profiles import indexes
    from profiles.models import EmbeddingCache
    from profiles.services import interaction_record, onboarding_apply

    user = make_user("leaving")
    onboarding_apply(user=user, topics=["cooking"], free_text="my very personal taste in midnight baking")
    interaction_record(user=user, video=catalog["cooking"][0], kind="like")
    job, _ = render_job_create(prompt="A private film for leaving", seed=1, user=user, model="null")
    render_job_run(job_id=job.pk)
    job.refresh_from_db()
    videos_embed(video_ids=[job.video_id])
    video = job.video
    assert video.pk in set(indexes.items().ready(force=True).ids().tolist())
    interest_ids = list(Interest.objects.filter(user=user).values_list("pk", flat=True))
    assert set(interest_ids) <= set(indexes.interests().ready(force=True).ids().tolist())
    keys = [video.video_key, video.thumbnail_key]
    assert all(k in storage.media_keys("renders/") for k in keys)

    assert api_for(user).delete("/api/v1/me", {"password": "x-Pass-123!"}, format="json").status_code == 204
    for model, lookup in ((Interaction, "user_id"), (Interest, "user_id"), (RenderJob, "user_id"), (Video, "made_for_id")):
        assert not model.objects.filter(**{lookup: user.pk}).exists(), model
    assert not Video.objects.filter(pk=video.pk).exists()
    assert not set(interest_ids) & set(indexes.interests().ready().ids().tolist())
    assert video.pk not in set(indexes.items().ready().ids().tolist())
    assert not any(k in storage.media_keys("renders/") for k in keys)
    from profiles.embedding import text_hash

    assert not EmbeddingCache.objects.filter(key=text_hash("my very personal taste in midnight baking")).exists()
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(pk=user.pk).exists()


def test_make_me_something_through_the_api(settings, make_user):
    from generation.services import generation_data_load
    from profiles.services import onboarding_apply

    generation_data_load()
    settings.RENDER_DAILY_QUOTA = 1
    user = make_user()
    onboarding_apply(user=user, topics=["jazz"])
    api = api_for(user)
    assert "brief" in _error(api.post("/api/v1/renders", {"brief": "y" * 201}, format="json"), 400)["fields"]
    created = api.post("/api/v1/renders", {"brief": "a jazz tutorial for beginners"}, format="json")
    assert created.status_code == 202 and created.json()["state"] == "queued"
    assert api.get(f"/api/v1/renders/{created.json()['id']}").json()["brief"] == "a jazz tutorial for beginners"
    _error(api.post("/api/v1/renders", {"brief": "another one"}, format="json"), 429)


def test_schema_is_valid_and_docs_use_local_static_files(client):
    from drf_spectacular.validation import validate_schema

    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    assert "/api/v1/feed" in schema["paths"] and "/api/v1/renders/{job_id}/cancel" in schema["paths"]
    for page in ("/api/docs/", "/api/redoc/"):
        html = client.get(page).content.decode()
        assert "/static/drf_spectacular_sidecar/" in html and "cdn" not in html.lower()


def test_the_greeting_a_host_may_use_is_set_through_the_api(make_user):
    from rest_framework.test import APIClient

    from generation.planning import _viewer_context

    user = make_user()
    api = APIClient()
    api.force_authenticate(user)
    assert api.get("/api/v1/me/greeting").json() == {"display_name": "", "greet_by_name": False}
    response = api.put("/api/v1/me/greeting", {"display_name": " Ada  ", "greet_by_name": True}, format="json")
    assert response.status_code == 200 and response.json() == {"display_name": "Ada", "greet_by_name": True}
    assert _viewer_context(type(user).objects.get(pk=user.pk))[0] == "Ada"
    # Refused: a name the content rules block, a name too long, a boolean that is not one. Nothing changes.
    for body in [{"display_name": "n u d e", "greet_by_name": True}, {"display_name": "x" * 41, "greet_by_name": True},
                 {"display_name": "Bob", "greet_by_name": "yes"}]:
        refused = api.put("/api/v1/me/greeting", body, format="json")
        assert refused.status_code == 400, refused.json()
        assert set(refused.json()["error"]["fields"]) & {"display_name", "greet_by_name"}, refused.json()
    assert api.get("/api/v1/me/greeting").json() == {"display_name": "Ada", "greet_by_name": True}
