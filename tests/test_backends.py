"""The same code path on every backend: SQLite or PostgreSQL, in-process broker, Redis or RabbitMQ, disk or S3."""

import json
import os
import signal
import subprocess
import sys
import uuid
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.services import POSTGRES_URL, RABBITMQ_URL, REDIS_URL, port_open, s3_overrides, unavailable

ROOT = Path(__file__).resolve().parent.parent


def _clean_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DRAMATIQ", "USE_S3", "AWS_"))}
    env.update(TAILOR_DATA_DIR=str(tmp_path), PYTHONUNBUFFERED="1", **extra)
    return env


def _postgres_database():
    import psycopg

    if not port_open("127.0.0.1", 5432):
        unavailable("PostgreSQL on 127.0.0.1:5432 is not reachable")
    name = f"tailor_flow_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop_postgres(name):
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.integration
@pytest.mark.parametrize("database, broker", [("sqlite", "stub"), ("postgres", "redis"), ("postgres", "rabbitmq")])
def test_feed_flow_is_the_same_on_every_backend(database, broker, tmp_path):
    extra, dbname, worker = {}, None, None
    if database == "postgres":
        dbname = _postgres_database()
        extra["DATABASE_URL"] = POSTGRES_URL.rsplit("/", 1)[0] + f"/{dbname}"
    if broker == "redis":
        if not port_open("127.0.0.1", 6379):
            unavailable("Redis on 127.0.0.1:6379 is not reachable")
        extra["DRAMATIQ_BROKER_URL"] = REDIS_URL
    elif broker == "rabbitmq":
        if not port_open("127.0.0.1", 5672):
            unavailable("RabbitMQ on 127.0.0.1:5672 is not reachable")
        extra["DRAMATIQ_BROKER_URL"] = RABBITMQ_URL
    env = _clean_env(tmp_path, **extra)
    try:
        if dbname:
            subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
        if broker != "stub":
            # The real worker process, exactly as `make worker` starts it.
            worker = subprocess.Popen(
                [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "2", "--queues", "cpu"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            )
        proc = subprocess.run(
            [sys.executable, "tests/flows/feed_flow.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=400
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(60)
        if dbname:
            _drop_postgres(dbname)
    assert result["database"] == ("postgresql" if database == "postgres" else "sqlite")
    assert result["broker"] == broker
    assert result["first"].count("gardening") >= 2, result
    assert "scifi" in result["second"], result
    print(f"backend flow {database}/{broker}: {result}")


@pytest.mark.integration
def test_s3_media_roundtrip_private_and_presigned(db, settings, seaweedfs):
    from core import storage

    for key, value in s3_overrides().items():
        setattr(settings, key, value)
    storage.bucket_ensure()
    key = f"tests/{uuid.uuid4().hex}.bin"
    data = os.urandom(70_000)
    assert storage.media_save(key, data) == key
    assert storage.media_save(key, data) == key  # deterministic keys: a retry rewrites, never renames
    assert storage.media_read(key) == data
    url = storage.media_url(key)
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=3600" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == data
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url.split("?", 1)[0], timeout=10)
    assert refused.value.code == 403  # the bucket is private
