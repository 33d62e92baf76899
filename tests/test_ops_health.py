"""/healthz answers 200 only when database, broker, storage and index are all usable. Anyone gets
the status; staff and holders of TAILOR_HEALTHZ_TOKEN get which check failed and why. Reports are
cached per process, so probes cannot hammer the backends."""

import threading
import time

import pytest

from ops import health
from tests.services import s3_overrides

TOKEN = "healthz-token-0123456789abcdef"


@pytest.fixture(autouse=True)
def _fresh_reports(settings):
    settings.HEALTHZ_CACHE_S = 0.0  # every request checks, unless a test says otherwise
    settings.HEALTHZ_TOKEN = TOKEN
    health.health_cache_clear()
    yield
    health.health_cache_clear()


@pytest.fixture
def staff(client, make_user):
    client.force_login(make_user("operator", is_staff=True))
    return client


def test_anonymous_gets_the_status_only(client, catalog):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_anonymous_is_not_told_what_failed(client, db, settings):
    settings.BROKER_KIND = "redis"
    settings.BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
    assert b"redis" not in response.content and b"127.0.0.1" not in response.content


def test_a_viewer_and_a_wrong_token_get_the_status_only(client, catalog, make_user):
    assert client.get("/healthz", HTTP_AUTHORIZATION="Bearer not-the-token").json() == {"status": "ok"}
    assert client.get("/healthz", HTTP_AUTHORIZATION=TOKEN).json() == {"status": "ok"}  # no scheme
    client.force_login(make_user("viewer"))
    assert client.get("/healthz").json() == {"status": "ok"}


def test_the_internal_token_gets_the_report(client, catalog):
    body = client.get("/healthz", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").json()
    assert body["status"] == "ok" and set(body["checks"]) == {"database", "broker", "storage", "index"}


def test_healthy(staff, catalog):
    response = staff.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok" and body["failing"] == []
    assert set(body["checks"]) == {"database", "broker", "storage", "index"}
    assert body["checks"]["index"]["detail"] == f"{sum(len(v) for v in catalog.values())} items"


def test_broker_down_is_503_and_named(staff, settings):
    settings.BROKER_KIND = "redis"
    settings.BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = staff.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]
    assert "Connection" in response.json()["checks"]["broker"]["error"]


def test_rabbitmq_down_is_503(staff, settings):
    settings.BROKER_KIND = "rabbitmq"
    settings.BROKER_URL = "amqp://guest:guest@127.0.0.1:1/%2F"
    response = staff.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]


def test_s3_down_is_503_and_named(staff, settings):
    for key, value in s3_overrides().items():
        setattr(settings, key, value)
    settings.AWS_S3_ENDPOINT_URL = "http://127.0.0.1:1"
    response = staff.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["storage"]


def test_local_media_unwritable_is_503(staff, settings, tmp_path):
    settings.USE_S3 = False
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the media folder should be")
    settings.MEDIA_ROOT = blocker / "media"
    response = staff.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["storage"]


@pytest.mark.integration
def test_real_s3_is_healthy(staff, settings, seaweedfs):
    for key, value in s3_overrides().items():
        setattr(settings, key, value)
    response = staff.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["storage"]["detail"].startswith("s3 (http://127.0.0.1:8333")


def test_index_behind_database_catches_up(staff, catalog):
    from generation.services import video_upsert, videos_embed

    assert staff.get("/healthz").json()["checks"]["index"]["detail"].endswith("items")
    video, _ = video_upsert(external_id="late", title="A late arrival", description="jazz trio live")
    videos_embed(video_ids=[video.pk])
    body = staff.get("/healthz").json()
    assert body["checks"]["index"]["ok"]
    assert body["checks"]["index"]["detail"] == f"{sum(len(v) for v in catalog.values()) + 1} items"


def _counted_checks(monkeypatch, delay=0.0):
    calls = []

    def check():
        calls.append(1)
        time.sleep(delay)
        return "fine"

    monkeypatch.setattr(health, "CHECKS", {"probe": check})
    return calls


def test_a_burst_of_probes_checks_the_backends_once(client, db, settings, monkeypatch):
    settings.HEALTHZ_CACHE_S = 60.0
    calls = _counted_checks(monkeypatch)
    assert all(client.get("/healthz").status_code == 200 for _ in range(20))
    assert len(calls) == 1
    health.health_cache_clear()  # the period is over
    client.get("/healthz")
    assert len(calls) == 2


def test_concurrent_probes_wait_for_the_one_check_under_way(db, settings, monkeypatch):
    settings.HEALTHZ_CACHE_S = 60.0
    calls = _counted_checks(monkeypatch, delay=0.3)
    threads = [threading.Thread(target=health.health_report_cached) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1


def test_a_failure_is_cached_too(client, db, settings, monkeypatch):
    """A struggling backend is not probed harder because it is failing."""
    settings.HEALTHZ_CACHE_S = 60.0
    calls = []

    def broken():
        calls.append(1)
        raise ConnectionError("refused")

    monkeypatch.setattr(health, "CHECKS", {"probe": broken})
    assert [client.get("/healthz").status_code for _ in range(5)] == [503] * 5
    assert len(calls) == 1
