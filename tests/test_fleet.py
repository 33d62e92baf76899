"""The GPU worker fleet (generation/fleet.py): renders go to the queue of a worker that keeps
their model warm, else to the shared GPU queue; a model whose last worker is gone has its
queued renders sent again to the shared queue. On the real-services pass, two real
`rundramatiq` GPU workers with different warm models on Redis show the routing end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from ops.dashboard import broker_depth, fleet
from generation.fleet import GPU_QUEUE, model_queue, routes_clear
from generation.models import GpuWorker, RenderJob
from generation.renderer import PRESETS
from generation.rendering import render_job_create, renders_recover
from tests.services import process_groups_stop
from tests.services import wait_for as _wait

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db(transaction=True)
State = RenderJob.State
PROMPT = "A short film: a lighthouse keeper paints the sea at dawn, gulls, slow pan"
SOUND = "Waves on rocks, gulls, a distant foghorn."


def _advertise(name: str, warm: list[str], *, age_s: float = 0.0) -> GpuWorker:
    row = GpuWorker.objects.create(name=name, host="gpu-host", pid=1, warm=warm, loaded=warm,
                                   seen_at=timezone.now() - timedelta(seconds=age_s))
    routes_clear()
    return row


def test_renders_go_to_the_queue_of_a_live_worker_that_keeps_their_model_warm(broker, make_user):
    viewer = make_user()
    job, _ = render_job_create(prompt=PROMPT, sound=SOUND, seed=1, user=viewer)
    assert job.queue == GPU_QUEUE  # nobody advertises tiny-wan: any GPU worker may take it
    assert broker_depth()[GPU_QUEUE] == 1

    _advertise("gpu-host:1", ["tiny-wan"])
    warm, _ = render_job_create(prompt=PROMPT, sound=SOUND, seed=2, user=viewer)
    other, _ = render_job_create(prompt=PROMPT, sound=SOUND, seed=3, user=viewer, model="null")
    assert warm.queue == model_queue("tiny-wan") == "gpu.tiny-wan"
    assert other.queue == GPU_QUEUE  # a model nobody keeps warm
    depth = broker_depth()  # the messages themselves, in the broker
    assert depth["gpu.tiny-wan"] == 1 and depth[GPU_QUEUE] == 2
    assert [w["warm"] for w in fleet()] == [["tiny-wan"]]

    # A worker that stopped beating is gone: nothing routes to it and the dashboard drops it.
    GpuWorker.objects.update(seen_at=timezone.now() - timedelta(seconds=3 * django_settings.FLEET_HEARTBEAT_S + 1))
    routes_clear()
    late, _ = render_job_create(prompt=PROMPT, sound=SOUND, seed=4, user=viewer)
    assert late.queue == GPU_QUEUE and fleet() == []


def test_queued_renders_of_a_model_whose_last_worker_went_are_sent_to_the_shared_queue(broker, make_user):
    viewer = make_user()
    row = _advertise("gpu-host:2", ["tiny-wan"])
    stranded, _ = render_job_create(prompt=PROMPT, sound=SOUND, seed=5, user=viewer)
    assert stranded.queue == "gpu.tiny-wan"
    assert renders_recover() == 0  # its worker is alive: leave it be

    row.delete()  # the worker went away (scaled down, or died and its heartbeat expired)
    assert renders_recover() == 1
    stranded.refresh_from_db()
    assert stranded.queue == GPU_QUEUE and stranded.state == State.QUEUED
    assert broker_depth()[GPU_QUEUE] == 1
    assert renders_recover() == 0  # sent once: it is on the shared queue now


def test_a_worker_keeps_warm_the_models_it_can_load_with_the_audio_each_needs(settings):
    from generation import renderer
    from generation.fleet import models_warm

    settings.WORKER_MODELS = ["tiny-ltx2", "tiny-wan", "no-such-model"]
    # LTX-2 makes its own sound: it needs no audio model, and must not be left out for that.
    assert models_warm(settings.WORKER_MODELS) == ["tiny-ltx2", "tiny-wan"]
    assert {"tiny-ltx2", "tiny-wan", "tiny-audio"} <= set(renderer.loaded_models())


def test_a_worker_started_on_its_model_queue_alone_advertises_it_and_withdraws_on_stop(broker, settings):
    """`rundramatiq --queues gpu.null` (without the shared gpu queue) is a GPU worker too."""
    from types import SimpleNamespace

    from generation.fleet import FleetMiddleware

    settings.BROKER_KIND, settings.WORKER_ADVERTISE = "redis", True  # as a worker on a real broker
    settings.WORKER_MODELS, settings.FLEET_HEARTBEAT_S = ["null"], 0.2
    middleware, worker = FleetMiddleware(), SimpleNamespace(consumer_whitelist={model_queue("null")})
    middleware.after_worker_boot(broker, worker)
    try:
        _wait(lambda: [w.warm for w in GpuWorker.objects.all()] == [["null"]], what="the worker's advert")
        assert GpuWorker.objects.get().queues == [model_queue("null")]
    finally:
        middleware.before_worker_shutdown(broker, worker)
    assert not GpuWorker.objects.exists()
    # A CPU worker does not advertise.
    middleware.after_worker_boot(broker, SimpleNamespace(consumer_whitelist={"cpu"}))
    assert middleware._thread is None and not GpuWorker.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="synchronous_commit is PostgreSQL's")
def test_a_gpu_worker_commits_job_states_without_waiting_for_the_flush_but_not_a_ready_video(broker, settings, make_user):
    from types import SimpleNamespace

    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    from generation.fleet import FleetMiddleware
    from generation.rendering import render_job_run

    def session_setting() -> str:
        connections.close_all()  # the next query opens a new session
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    settings.BROKER_KIND, settings.WORKER_ADVERTISE, settings.WORKER_ASYNC_COMMIT = "redis", False, True
    middleware = FleetMiddleware()
    middleware.before_worker_boot(broker, SimpleNamespace(consumer_whitelist={"cpu"}))
    assert session_setting() == "on"  # a CPU worker's writes are not job states
    gpu = SimpleNamespace(consumer_whitelist={GPU_QUEUE})
    middleware.before_worker_boot(broker, gpu)
    try:
        assert session_setting() == "off"
        job, _ = render_job_create(prompt=PROMPT, sound=SOUND, seed=11, user=make_user(), model="null")
        with CaptureQueriesContext(connection) as queries:
            assert render_job_run(job_id=job.pk, worker="gpu:1") == "done"
        sql = [q["sql"] for q in queries.captured_queries]
        insert = next(n for n, q in enumerate(sql) if q.startswith('INSERT INTO "generation_video"'))
        assert "SET LOCAL synchronous_commit TO on" in sql[insert - 1]  # the ready video waits for the flush
    finally:
        middleware.before_worker_shutdown(broker, gpu)
    assert session_setting() == "on"


def test_a_worker_on_the_shared_queue_renders_a_routed_job_in_process(broker, worker, make_user):
    """The in-process worker consumes every queue, model queues declared later included."""
    _advertise("gpu-host:3", ["null"])
    job, _ = render_job_create(prompt=PROMPT, sound=SOUND, seed=6, user=make_user(), model="null")
    assert job.queue == "gpu.null"
    _wait(lambda: RenderJob.objects.filter(pk=job.pk, state=State.READY).exists(), 60, "the routed job")


@pytest.mark.integration
@pytest.mark.timeout(600)
@pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="real GPU workers need the real-services pass (a shared broker)")
def test_two_gpu_workers_with_different_warm_models_each_get_their_models_jobs(broker, settings, make_user, tmp_path):
    if django_settings.BROKER_KIND != "redis":
        pytest.skip("runs on the Redis broker of the real-services pass")
    models = {"tiny-wan-b": {**PRESETS["tiny-wan"]}}  # a second model: the same tiny weights under another name
    settings.RENDER_MODELS = models
    settings.FLEET_HEARTBEAT_S = 0.5
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL":
           f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
           "TAILOR_RENDER_WORK_DIR": str(django_settings.RENDER_WORK_DIR), "TAILOR_RENDER_MODELS": json.dumps(models),
           "TAILOR_WORKER_ADVERTISE": "1", "TAILOR_FLEET_HEARTBEAT_S": "0.5", "TAILOR_RENDER_BATCH_MAX": "1",
           "TAILOR_REDIS_HEARTBEAT_TIMEOUT_MS": "3000", "PYTHONUNBUFFERED": "1"}
    procs = {}
    for name, warm in (("w1", "tiny-wan"), ("w2", "tiny-wan-b")):
        procs[name] = subprocess.Popen(
            [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "1", "--queues", GPU_QUEUE],
            cwd=ROOT, env={**env, "TAILOR_WORKER_MODELS": warm}, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"{name}.log", "wb"))
    logs = lambda: "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in tmp_path.glob("*.log"))  # noqa: E731
    try:
        adverts = _wait(lambda: (lambda rows: rows if len(rows) == 2 else None)(
            {w.pid: w for w in GpuWorker.objects.all()}), 180, f"two advertising workers\n{logs()}")
        pid_of = {w.warm[0]: pid for pid, w in adverts.items()}
        assert set(pid_of) == {"tiny-wan", "tiny-wan-b"}
        assert {tuple(w.loaded) for w in adverts.values()} == {("tiny-audio", "tiny-wan"), ("tiny-audio", "tiny-wan-b")}

        routes_clear()
        viewer = make_user()
        jobs = [render_job_create(prompt=f"{PROMPT}, take {n}", sound=SOUND, seed=n, user=viewer, model=model)[0]
                for n, model in enumerate(["tiny-wan", "tiny-wan-b", "tiny-wan", "tiny-wan-b"])]
        assert [j.queue for j in jobs] == ["gpu.tiny-wan", "gpu.tiny-wan-b"] * 2
        _wait(lambda: RenderJob.objects.filter(pk__in=[j.pk for j in jobs], state=State.READY).count() == 4, 180,
              f"four ready renders\n{logs()}")
        for job in jobs:
            job.refresh_from_db()
            assert int(job.worker.split(":")[1]) == pid_of[job.model], (job.model, job.worker)
        # Neither worker loaded the other's model: no cold start anywhere.
        assert {tuple(w.loaded) for w in GpuWorker.objects.all()} == {("tiny-audio", "tiny-wan"), ("tiny-audio", "tiny-wan-b")}

        # Worker 2 freezes, then dies, with a job routed to it: the recovery sweep sends the job to
        # the shared queue once the worker's heartbeat is stale, and worker 1 renders it cold.
        w2 = next(n for n, p in procs.items() if os.getpgid(pid_of["tiny-wan-b"]) == p.pid)
        os.killpg(procs[w2].pid, signal.SIGSTOP)
        routes_clear()
        stranded, _ = render_job_create(prompt=PROMPT, sound=SOUND, seed=40, user=viewer, model="tiny-wan-b")
        assert stranded.queue == "gpu.tiny-wan-b"
        os.killpg(procs[w2].pid, signal.SIGKILL)
        procs.pop(w2).wait()
        time.sleep(3 * 0.5 + 0.5)
        assert renders_recover() == 1
        stranded.refresh_from_db()
        assert stranded.queue == GPU_QUEUE
        _wait(lambda: RenderJob.objects.filter(pk=stranded.pk, state=State.READY).exists(), 180,
              f"the stranded job on the shared queue\n{logs()}")
        stranded.refresh_from_db()
        assert int(stranded.worker.split(":")[1]) == pid_of["tiny-wan"] and stranded.attempts == 1

        # A worker that stops cleanly withdraws its advert.
        (survivor,) = procs.values()
        os.kill(survivor.pid, signal.SIGTERM)  # to the main process only: it stops its workers in turn
        survivor.wait(60)
        assert not GpuWorker.objects.filter(pid=pid_of["tiny-wan"]).exists()
    finally:
        process_groups_stop(list(procs.values()))
