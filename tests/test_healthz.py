"""/healthz answers 200 only when database, broker, storage and index are all usable."""

import pytest

from tests.services import s3_overrides


def test_healthy(client, catalog):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok" and body["failing"] == []
    assert set(body["checks"]) == {"database", "broker", "storage", "index"}
    assert body["checks"]["index"]["detail"] == f"{sum(len(v) for v in catalog.values())} items"


def test_broker_down_is_503_and_named(client, db, settings):
    settings.BROKER_KIND = "redis"
    settings.BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]
    assert "Connection" in response.json()["checks"]["broker"]["error"]


def test_rabbitmq_down_is_503(client, db, settings):
    settings.BROKER_KIND = "rabbitmq"
    settings.BROKER_URL = "amqp://guest:guest@127.0.0.1:1/%2F"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]


def test_s3_down_is_503_and_named(client, db, settings):
    for key, value in s3_overrides().items():
        setattr(settings, key, value)
    settings.AWS_S3_ENDPOINT_URL = "http://127.0.0.1:1"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["storage"]


def test_local_media_unwritable_is_503(client, db, settings, tmp_path):
    settings.USE_S3 = False
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the media folder should be")
    settings.MEDIA_ROOT = blocker / "media"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["storage"]


@pytest.mark.integration
def test_real_s3_is_healthy(client, db, settings, seaweedfs):
    for key, value in s3_overrides().items():
        setattr(settings, key, value)
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["storage"]["detail"].startswith("s3 (http://127.0.0.1:8333")


def test_index_behind_database_catches_up(client, catalog):
    from generation.services import video_upsert, videos_embed

    assert client.get("/healthz").json()["checks"]["index"]["detail"].endswith("items")
    video, _ = video_upsert(external_id="late", title="A late arrival", description="jazz trio live")
    videos_embed(video_ids=[video.pk])
    body = client.get("/healthz").json()
    assert body["checks"]["index"]["ok"]
    assert body["checks"]["index"]["detail"] == f"{sum(len(v) for v in catalog.values()) + 1} items"
