"""Beyond one machine, on loopback: two web replicas under gunicorn and two Dramatiq workers,
each process with its own data directory, sharing only PostgreSQL, the broker (Redis or
RabbitMQ), SeaweedFS S3 and the Redis cache. A video rendered through replica A appears in
replica B's feed within a stated bound; no request fails while B swaps in a new index
snapshot, nor under a short locust load on both replicas; killing the worker that renders a job
loses nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings as django_settings

from bench.locust_flow import locust_run
from tests.services import (
    POSTGRES_URL, RABBITMQ_URL, S3_ENDPOINT, S3_KEY, S3_SECRET, free_port, port_open, process_groups_stop, unavailable,
    wait_for,
)

ROOT = Path(__file__).resolve().parent.parent
READY_BOUND_S = 180  # request on A -> ready video, through the broker and a worker (2 shared cores)
FEED_BOUND_S = 30  # ready -> embedded by a CPU worker (its first embed loads the model) -> in B's feed (B checks every second)


def _call(base, method, path, body=None, token=None, timeout=30):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _wait(predicate, timeout, what):
    return wait_for(predicate, timeout, what, interval=0.2, ignore=(OSError,))  # OSError: not listening yet


@pytest.mark.integration
@pytest.mark.timeout(900)
@pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="runs on the real-services pass (PostgreSQL, Redis, S3)")
@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_two_replicas_two_workers(broker, tmp_path):
    if broker == "rabbitmq" and not port_open("127.0.0.1", 5672):
        unavailable("RabbitMQ on 127.0.0.1:5672 is not reachable")
    if not django_settings.USE_S3:
        unavailable("needs the SeaweedFS S3 server of the real-services pass")
    dbname = f"tailor_scale_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    import redis

    redis.Redis.from_url("redis://127.0.0.1:6379/13").flushdb()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DRAMATIQ", "AWS_", "TAILOR_"))}
    base_env.update(
        DATABASE_URL=POSTGRES_URL.rsplit("/", 1)[0] + f"/{dbname}",
        DRAMATIQ_BROKER_URL="redis://127.0.0.1:6379/13" if broker == "redis" else RABBITMQ_URL,
        USE_S3="true", AWS_S3_ENDPOINT_URL=S3_ENDPOINT, AWS_ACCESS_KEY_ID=S3_KEY, AWS_SECRET_ACCESS_KEY=S3_SECRET,
        AWS_STORAGE_BUCKET_NAME=f"tailor-scale-{uuid.uuid4().hex[:6]}", TAILOR_CACHE_URL="redis://127.0.0.1:6379/12",
        TAILOR_INDEX_SNAPSHOTS="true", TAILOR_INDEX_SNAPSHOT_CHECK_S="1", TAILOR_RENDER_LEASE_S="3",
        TAILOR_REDIS_HEARTBEAT_TIMEOUT_MS="3000", TAILOR_REDIS_MAINTENANCE_CHANCE="1000000",
        TAILOR_RENDER_MIN_BACKOFF_MS="200", TAILOR_THROTTLE_USER="100000/min", TAILOR_LOG_LEVEL="WARNING",
        DJANGO_SECRET_KEY=uuid.uuid4().hex * 2,  # one key for every replica: tokens and cursors are signed with it
        # Long enough renders to kill a worker in the middle of one.
        TAILOR_RENDER_MODELS=json.dumps({"tiny-wan": {"steps": 400}}), PYTHONUNBUFFERED="1",
    )

    def env_for(name):
        return {**base_env, "TAILOR_DATA_DIR": str(tmp_path / name)}  # nothing local is shared

    procs: dict[str, subprocess.Popen] = {}

    def start(name, args, **extra):
        procs[name] = subprocess.Popen(args, cwd=ROOT, env={**env_for(name), **extra}, start_new_session=True,
                                       stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"{name}.log", "wb"))

    def logs():
        return "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}" for p in tmp_path.glob("*.log"))

    try:
        subprocess.run([sys.executable, "tests/flows/scale_setup.py", "setup"], cwd=ROOT, env=env_for("setup"), check=True,
                       timeout=300, capture_output=True)
        ports = {"a": free_port(), "b": free_port()}
        for name, port in ports.items():
            start(f"web-{name}", [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "platform/gunicorn.conf.py"],
                  TAILOR_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1", WEB_THREADS="4")
        for name in ("worker-1", "worker-2"):
            start(name, [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "1",
                         "--queues", "cpu", "gpu"])
        a, b = (f"http://127.0.0.1:{p}" for p in ports.values())
        for base in (a, b):
            _wait(lambda base=base: _call(base, "GET", "/healthz", timeout=10)[0] == 200, 120, f"{base}/healthz\n{logs()}")

        status, tokens = _call(a, "POST", "/api/v1/auth/token", {"username": "scaler", "password": "a-Long-pass-9876"})
        assert status == 200, tokens
        token = tokens["access"]

        # Replica B serves feed and search requests all along; none may fail.
        failures, served, stop = [], [0], threading.Event()

        def hammer():
            while not stop.is_set():
                for path in ("/api/v1/feed?size=8", "/api/v1/search?q=garlic%20bread&size=5"):
                    try:
                        code, body = _call(b, "GET", path, token=token, timeout=30)
                    except Exception as exc:  # noqa: BLE001 - a dropped connection is a failure too
                        code, body = -1, str(exc)
                    served[0] += 1
                    if code != 200:
                        failures.append((path, code, body))
                    time.sleep(0.05)  # steady traffic that leaves the 2 cores room for the workers

        hammers = [threading.Thread(target=hammer) for _ in range(2)]
        for t in hammers:
            t.start()

        # 1. A render asked for on replica A is ready, then in replica B's feed, within the bounds.
        status, job = _call(a, "POST", "/api/v1/renders", {"brief": "an original musical about garlic bread"}, token)
        assert status == 202, job
        asked = time.monotonic()
        ready = _wait(lambda: (lambda r: r[1] if r[0] == 200 and r[1]["state"] == "ready" else None)(
            _call(b, "GET", f"/api/v1/renders/{job['id']}", token=token)), READY_BOUND_S, f"render ready\n{logs()}")
        ready_s = time.monotonic() - asked
        video_id = ready["video"]["id"]
        seen_at = time.monotonic()
        _wait(lambda: any(i["video"]["id"] == video_id for i in _call(b, "GET", "/api/v1/feed?size=50", token=token)[1].get("items", [])),
              FEED_BOUND_S, "the new video in replica B's feed")
        feed_s = time.monotonic() - seen_at

        # 2. A new index snapshot: replica B swaps it in while serving.
        before = served[0]
        subprocess.run([sys.executable, "tests/flows/scale_setup.py", "snapshot"], cwd=ROOT, env=env_for("snapshot"),
                       check=True, timeout=120, capture_output=True)
        _wait(lambda: served[0] > before + 20, 60, "requests during the snapshot swap")
        time.sleep(2)  # past B's snapshot check interval

        # 3. Locust against both replicas at once (bounded in time and count): no request fails.
        load = locust_run([a, b], [token], users=8, seconds=10, max_requests=3000, pacing_s=0.25, workdir=tmp_path,
                          react=False)  # one viewer for every locust user here: its 60 videos would run out
        assert load["all"]["requests"] > 50 and load["all"]["failures"] == 0, load

        # 4. Kill -9 the worker rendering a job: the other one finishes it, once.
        status, second = _call(a, "POST", "/api/v1/renders", {"brief": "a jazz documentary in a smoky club"}, token)
        assert status == 202, second
        dsn = base_env["DATABASE_URL"].replace("postgres://", "postgresql://")

        def holder():
            with psycopg.connect(dsn, autocommit=True) as conn:
                row = conn.execute("SELECT worker, progress FROM generation_renderjob WHERE id = %s AND state = 'rendering'",
                                   (second["id"],)).fetchone()
            return row[0] if row and row[1] > 0 else None

        worker_id = _wait(holder, 60, "the second job rendering")
        pid = int(worker_id.split(":")[1])
        victim = next(name for name, p in procs.items() if name.startswith("worker") and os.getpgid(pid) == p.pid)
        os.killpg(procs[victim].pid, signal.SIGKILL)
        procs[victim].wait()
        _wait(lambda: _call(b, "GET", f"/api/v1/renders/{second['id']}", token=token)[1].get("state") == "ready", READY_BOUND_S,
              f"the killed worker's job finished elsewhere\n{logs()}")
        stop.set()
        for t in hammers:
            t.join(60)
        with psycopg.connect(dsn, autocommit=True) as conn:
            videos = conn.execute("SELECT count(*) FROM generation_video WHERE source = 'generated'").fetchone()[0]
            attempts = conn.execute("SELECT attempts FROM generation_renderjob WHERE id = %s", (second["id"],)).fetchone()[0]
        assert videos == 2 and attempts == 2, (videos, attempts)
        assert not failures, failures[:5]
        assert served[0] > 50
        print(json.dumps({"broker": broker, "ready_s": round(ready_s, 1), "ready_to_replica_b_feed_s": round(feed_s, 2),
                          "requests_on_b": served[0], "failures": len(failures), "locust": load["all"]}))
    finally:
        process_groups_stop(list(procs.values()))
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
