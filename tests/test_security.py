"""Attacks from an outside probe, each driven through HTTP: a rotated X-Forwarded-For against the
login limits, login loops on the web and admin pages, signup and password-reset floods, the
onboarding loop, a like flood, private renders fetched by others (local disk and S3), and forged
index-snapshot pointers."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import dramatiq
import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from rest_framework.test import APIClient
from profiles.auth import RefreshToken

from core import storage
from generation.models import RenderJob, Video
from generation.rendering import render_job_create, render_job_run

pytestmark = pytest.mark.django_db(transaction=True)
WRONG = {"username": "victim", "password": "not-the-password-1"}


@pytest.fixture(autouse=True)
def _fresh_counters(settings):
    settings.AXES_FAILURE_LIMIT = 10
    cache.clear()
    yield
    cache.clear()


def api_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def _login_codes(api, n, xff=lambda i: None, remote="203.0.113.7", body=WRONG):
    codes = []
    for i in range(n):
        extra = {"REMOTE_ADDR": remote}
        if xff(i):
            extra["HTTP_X_FORWARDED_FOR"] = xff(i)
        codes.append(api.post("/api/v1/auth/token", body, format="json", **extra).status_code)
    return codes


# --- Login limits ------------------------------------------------------------------------------

def test_a_rotated_x_forwarded_for_does_not_escape_the_api_login_limits(make_user):
    make_user("victim")
    codes = _login_codes(APIClient(), 14, xff=lambda i: f"198.51.100.{i + 1}")
    assert 429 in codes[:13], codes
    first = codes.index(429)
    assert set(codes[first:]) == {429} and set(codes[:first]) == {401}, codes


def test_axes_locks_the_api_login_out_even_with_a_generous_throttle(settings, make_user):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login": "1000/min"}
    make_user("victim", )
    api = APIClient()
    codes = _login_codes(api, 12, xff=lambda i: f"198.51.100.{i + 1}")
    assert codes[:9] == [401] * 9 and codes[9:] == [429] * 3, codes
    locked = api.post("/api/v1/auth/token", {"username": "victim", "password": "x-Pass-123!"}, format="json",
                      REMOTE_ADDR="203.0.113.7")
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "locked_out"  # even the right password
    assert int(locked["Retry-After"]) > 0
    # Another address is not locked out.
    assert api.post("/api/v1/auth/token", {"username": "victim", "password": "x-Pass-123!"}, format="json",
                    REMOTE_ADDR="203.0.113.8").status_code == 200


def test_behind_a_trusted_proxy_each_client_address_has_its_own_bucket(settings, make_user):
    settings.TRUSTED_PROXIES = 1
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login": "1000/min"}
    make_user("victim")
    api = APIClient()
    proxy = "10.0.0.5"  # every request comes from the proxy; it appends the address it saw
    # Client A writes its own X-Forwarded-For entries first; only the proxy's (right-most) one counts.
    a = _login_codes(api, 11, xff=lambda i: f"192.0.2.{i}, 198.51.100.1", remote=proxy)
    assert a[:9] == [401] * 9 and a[9:] == [429, 429], a
    b = _login_codes(api, 3, xff=lambda i: "198.51.100.2", remote=proxy)
    assert b == [401] * 3, b


def test_the_web_login_loop_is_locked_out(client, make_user):
    make_user("victim")
    codes = [client.post("/accounts/login/", WRONG).status_code for _ in range(12)]
    assert codes[:9] == [200] * 9 and set(codes[9:]) == {429}, codes
    page = client.post("/accounts/login/", {"username": "victim", "password": "x-Pass-123!"})
    assert page.status_code == 429 and b"Too many failed logins" in page.content


def test_the_admin_login_loop_is_locked_out(client, make_user):
    make_user("boss", is_staff=True)
    body = {"username": "boss", "password": "wrong-wrong-1", "next": "/admin/"}
    codes = [client.post("/admin/login/?next=/admin/", body).status_code for _ in range(11)]
    assert 429 in codes and codes.index(429) <= 10, codes
    right = client.post("/admin/login/?next=/admin/", {**body, "password": "x-Pass-123!"})
    assert right.status_code == 429


# --- Signup, password reset, onboarding --------------------------------------------------------

def test_api_signup_is_throttled_per_address_whatever_the_header(settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "signup": "3/hour"}
    api = APIClient()
    codes = [api.post("/api/v1/auth/signup", {"username": f"bot{i}", "password": "a-Long-pass-9876"}, format="json",
                      HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(5)]
    assert codes == [201, 201, 201, 429, 429], codes


def test_web_signup_is_throttled(settings, client):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "signup": "2/hour"}
    codes = [client.post("/signup", {"username": "bot", "password1": "short", "password2": "other"}).status_code
             for _ in range(3)]
    assert codes == [400, 400, 429], codes
    assert client.get("/signup").status_code == 200  # showing the form is not counted


def test_password_reset_is_throttled_per_address_and_per_email(settings, client, make_user, mailoutbox):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "password_reset": "2/hour"}
    make_user("victim", email="victim@example.com")
    codes = [client.post("/accounts/password_reset/", {"email": f"x{i}@example.com"}, REMOTE_ADDR="203.0.113.1").status_code
             for i in range(3)]
    assert codes == [302, 302, 429], codes
    # One inbox from many addresses: the email's own bucket runs out too.
    codes = [client.post("/accounts/password_reset/", {"email": "victim@example.com"}, REMOTE_ADDR=f"203.0.113.{10 + i}").status_code
             for i in range(3)]
    assert codes == [302, 302, 429], codes
    assert len(mailoutbox) == 2


class _Enqueued(dramatiq.Middleware):
    """Counts the messages each actor had enqueued, on whichever broker is configured."""

    def __init__(self):
        self.actors: list[str] = []

    def after_enqueue(self, broker, message, delay):
        self.actors.append(message.actor_name)


@pytest.fixture
def enqueued(broker):
    counter = _Enqueued()
    broker.add_middleware(counter)
    yield counter
    broker.middleware.remove(counter)


def test_the_onboarding_loop_queues_one_render_plan(settings, client, make_user, enqueued):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "onboarding": "4/hour"}
    viewer = make_user()
    client.force_login(viewer)
    codes = [client.post("/onboarding", {"topics": ["cooking" if i % 2 else "scifi"]}).status_code for i in range(4)]
    assert codes == [302] * 4, codes
    assert enqueued.actors.count("renders_plan") == 1, enqueued.actors
    assert client.post("/onboarding", {"topics": ["cooking"]}).status_code == 429  # and the loop is throttled
    # A reset and onboarding again does not plan another one either (within the day).
    client.post("/taste", {"action": "reset"})
    assert enqueued.actors.count("renders_plan") == 1, enqueued.actors


# --- Like floods -----------------------------------------------------------------------------

def test_a_like_flood_is_refused_on_its_count_before_any_event_is_validated(make_user, client):
    viewer = make_user()
    events = [{"video": "not-an-id", "kind": 12}] * 501  # every event is bad: validating them would say so
    started = time.monotonic()
    response = api_for(viewer).post("/api/v1/interactions", {"events": events}, format="json")
    assert time.monotonic() - started < 2.0
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["fields"] == {"events": ["at most 500 events per request"]}, error

    client.force_login(viewer)
    web = client.post("/interactions", data=json.dumps(events), content_type="application/json")
    assert web.status_code == 400 and web.json() == {"errors": {"events": "at most 500 events per request"}}


def test_one_account_repeating_likes_counts_once(make_user, catalog):
    from generation.models import Video
    from profiles.services import interaction_record, interactions_ingest

    video = catalog["cooking"][0]
    flooder = make_user()
    for _ in range(3):  # three requests of 200 likes (and views) each, through the API's path
        result = interactions_ingest(user=flooder, events=[{"video": video.pk, "kind": kind} for kind in ("like", "view") * 100])
        assert result.created == 200
    interaction_record(user=flooder, video=video, kind="like")  # and one at a time: the same path
    video.refresh_from_db()
    assert (video.likes, video.views, video.negatives) == (1, 1, 0)
    # Each other viewer still counts: five likes from five accounts, and a hide from one of them.
    others = [make_user() for _ in range(5)]
    for viewer in others:
        interaction_record(user=viewer, video=video, kind="like")
    interaction_record(user=others[0], video=video, kind="hide")
    interaction_record(user=others[0], video=video, kind="hide")
    video = Video.objects.get(pk=video.pk)
    assert (video.likes, video.views, video.negatives) == (6, 6, 1)


# --- Private renders ---------------------------------------------------------------------------

def _private_render(user, prompt="A private film for the owner"):
    job, _ = render_job_create(prompt=prompt, seed=user.pk, user=user, model="null")
    render_job_run(job_id=job.pk)
    job.refresh_from_db()
    return job, job.video


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_private_render_is_served_to_its_viewer_only_on_local_disk(local_media, settings, client, make_user):
    owner, other, staff = make_user("owner"), make_user("other"), make_user("staff", is_staff=True)
    job, video = _private_render(owner)
    # Object names are random per job, not its (derivable) key, and stable: a retry rewrites them.
    assert job.key not in video.video_key and job.media_token in video.video_key
    assert RenderJob.objects.get(pk=job.pk).object_stem == job.object_stem
    data = storage.media_read(video.video_key)

    for key in (video.video_key, video.thumbnail_key):
        plain = f"/media/{key}"
        assert client.get(plain).status_code == 404  # anonymous
        client.force_login(other)
        assert client.get(plain).status_code == 404
        client.force_login(staff)
        assert client.get(plain).status_code == 200
        client.force_login(owner)
        response = client.get(plain)
        assert response.status_code == 200 and "private" in response["Cache-Control"]
        client.logout()

    # The owner's API hands out a signed link that works without a session, for that file only.
    url = api_for(owner).get(f"/api/v1/videos/{video.pk}").json()["video_url"]
    assert url.startswith("/media/") and "s=" in url
    assert _body(client.get(url)) == data
    assert client.get(url.replace(video.video_key, video.thumbnail_key)).status_code == 404
    assert client.get(url[:-4] + "0000").status_code == 404  # a tampered signature
    expired = f"/media/{video.video_key}?e={int(time.time()) - 1}&s=" + url.rsplit("s=", 1)[1]
    assert client.get(expired).status_code == 404
    # Nothing else under MEDIA_ROOT is served: stray files, traversal.
    (settings.MEDIA_ROOT / "index-snapshots").mkdir(parents=True, exist_ok=True)
    (settings.MEDIA_ROOT / "index-snapshots" / "LATEST").write_text("{}")
    for path in ("/media/index-snapshots/LATEST", "/media/../secret_key", "/media/renders/", f"/media/{video.video_key}x"):
        assert client.get(path).status_code == 404, path


def test_a_public_render_is_served_to_anyone_and_can_go_through_a_front_proxy(local_media, settings, client, make_user):
    job, _ = render_job_create(prompt="A public film for a taste cluster", seed=5, model="null", purpose="cluster")
    render_job_run(job_id=job.pk)
    video = Video.objects.get(render_job__pk=job.pk)
    assert video.made_for_id is None
    assert client.get(f"/media/{video.video_key}").status_code == 200
    settings.MEDIA_ACCEL = "nginx"
    response = client.get(f"/media/{video.video_key}")
    assert response.status_code == 200 and response["X-Accel-Redirect"] == f"/protected-media/{video.video_key}"
    settings.MEDIA_ACCEL = "sendfile"
    assert client.get(f"/media/{video.video_key}")["X-Sendfile"].endswith(video.video_key)


@pytest.mark.integration
def test_a_private_render_on_s3_is_readable_only_through_its_presigned_url(settings, make_user, seaweedfs):
    from config.settings import s3_media_backend
    from tests.services import S3_BUCKET, S3_ENDPOINT, S3_KEY, S3_SECRET, s3_overrides

    for key, value in s3_overrides().items():
        setattr(settings, key, value)
    storage.bucket_ensure()
    owner = make_user("owner")
    _, video = _private_render(owner, prompt="A private film on S3")
    data = storage.media_read(video.video_key)
    url = api_for(owner).get(f"/api/v1/videos/{video.pk}").json()["video_url"]
    assert "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == data
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{S3_ENDPOINT}/{S3_BUCKET}/{video.video_key}", timeout=10)
    assert refused.value.code == 403

    # A public custom domain is for public videos: a private one is still presigned.
    settings.AWS_S3_CUSTOM_DOMAIN = "cdn.tailor.test"
    settings.STORAGES = {**settings.STORAGES, "default": s3_media_backend(
        bucket=S3_BUCKET, endpoint=S3_ENDPOINT, access_key=S3_KEY, secret_key=S3_SECRET, region="us-east-1",
        custom_domain="cdn.tailor.test")}
    body = api_for(owner).get(f"/api/v1/videos/{video.pk}").json()
    assert "X-Amz-Signature=" in body["video_url"] and "cdn.tailor.test" not in body["video_url"]
    assert "X-Amz-Signature=" in body["thumbnail_url"]
    assert storage.media_url("renders/ab/public.mp4") == "https://cdn.tailor.test/renders/ab/public.mp4"
    storage.media_delete([video.video_key, video.thumbnail_key])


# --- Index snapshot pointers -------------------------------------------------------------------

def _forge(name: str, change) -> None:
    from profiles.snapshots import PREFIX

    key = f"{PREFIX}/{name}/LATEST"
    pointer = json.loads(storage.media_read(key, area="private"))
    change(pointer)
    storage.media_save(key, json.dumps(pointer).encode(), area="private")


@pytest.mark.parametrize("forgery", ["traversal", "bad-signature", "wrong-sha256", "unsigned"])
def test_a_forged_snapshot_pointer_is_refused_and_the_replica_keeps_serving(settings, catalog, tmp_path, caplog, forgery):
    from profiles import indexes
    from profiles.snapshots import _signature, snapshot_load, snapshot_pointer, snapshot_publish

    settings.INDEX_SNAPSHOTS, settings.INDEX_SNAPSHOT_DIR = True, tmp_path / "index-snapshots"
    published = snapshot_publish(name="items")
    assert not (settings.MEDIA_ROOT / "index-snapshots").exists()  # never under the served media root
    settings.INDEX_DIR = tmp_path / "replica"
    indexes.reset()
    index = indexes.items().ready()
    served = len(index)

    def change(pointer):
        pointer["version"] = str(int(pointer["version"]) + 1)
        pointer["key"] = f"index-snapshots/items/{pointer['version']}/{pointer['file']}"
        if forgery == "traversal":  # signed even (a leaked key): the name must still be a plain one
            pointer["file"] = "../../x"
            pointer["key"] = f"index-snapshots/items/{pointer['version']}/../../x"
            pointer["sig"] = _signature(pointer)
        elif forgery == "bad-signature":
            pointer["count"] += 1000
        elif forgery == "wrong-sha256":  # signed too: the file must match the sha256 it names
            storage.media_save(pointer["key"], b"not an index", area="private")
            pointer["sig"] = _signature(pointer)
        else:
            pointer.pop("sig")

    _forge("items", change)
    caplog.clear()
    with caplog.at_level("ERROR", logger="tailor.index"):
        if forgery == "wrong-sha256":
            pointer = json.loads(storage.media_read("index-snapshots/items/LATEST", area="private"))
            assert snapshot_pointer("items") is not None  # its signature holds
            assert not snapshot_load(index, name="items", pointer=pointer, only_if_newer=False)
        else:
            assert snapshot_pointer("items") is None
            assert not snapshot_load(index, name="items", only_if_newer=False)
        searched = index.search(index.vectors([catalog["cooking"][0].pk]), 3)
    assert any("refused" in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]
    assert len(index) == served and searched[1][0][0] == catalog["cooking"][0].pk
    assert not (tmp_path / "x").exists() and published["file"] != "x"
