"""Jobs go through the configured broker (in-process stub, or Redis in CI) and a real worker."""

import logging

import pytest

from generation import tasks
from generation.models import Video
from generation.services import video_upsert


@pytest.mark.django_db(transaction=True)
def test_embed_job_puts_video_in_index(broker, worker, caplog):
    from profiles import indexes

    video, _ = video_upsert(external_id="job-1", title="Sourdough at home", description="baking bread")
    with caplog.at_level(logging.INFO, logger="tailor.job"):
        message = tasks.embed_videos.send([video.pk])
        broker.join(tasks.CPU_QUEUE, timeout=60_000)
        worker.join()
    video.refresh_from_db()
    assert video.embedded_at is not None
    assert video.pk in set(indexes.items().ready(force=True).ids())
    lines = [r.getMessage() for r in caplog.records if r.name == "tailor.job"]
    assert any(f"id={message.message_id}" in line and "actor=embed_videos" in line and "status=ok" in line for line in lines), lines


@pytest.mark.django_db(transaction=True)
def test_embed_job_is_idempotent(broker, worker):
    video, _ = video_upsert(external_id="job-2", title="Jazz trio", description="live at midnight")
    tasks.embed_videos.send([video.pk])
    broker.join(tasks.CPU_QUEUE, timeout=60_000)
    worker.join()
    first = Video.objects.get(pk=video.pk).embedded_at
    tasks.embed_videos.send([video.pk])
    broker.join(tasks.CPU_QUEUE, timeout=60_000)
    worker.join()
    assert Video.objects.get(pk=video.pk).embedded_at == first  # nothing to redo


def test_request_log_line_has_id(client, db, caplog):
    with caplog.at_level(logging.INFO, logger="tailor.request"):
        response = client.get("/healthz", HTTP_X_REQUEST_ID="req-123")
    assert response["X-Request-ID"] == "req-123"
    lines = [r.getMessage() for r in caplog.records if r.name == "tailor.request"]
    assert len(lines) == 1 and "id=req-123" in lines[0] and "path=/healthz" in lines[0] and "status=" in lines[0]


@pytest.mark.django_db(transaction=True)
def test_jobs_leave_no_warning_in_the_worker_log(broker, worker, caplog):
    """Actors return None: Dramatiq warns on every message whose actor returns a value and no
    results backend keeps it, which would be one warning per render in production logs."""
    from generation.rendering import render_job_create

    with caplog.at_level(logging.INFO):
        job, _ = render_job_create(prompt="A harbour at dawn, gulls, slow pan", sound="gulls", seed=1, model="null")
        tasks.ping.send("hello")
        tasks.renders_recover.send()
        for queue in (tasks.GPU_QUEUE, tasks.CPU_QUEUE, tasks.CPU_QUEUE):  # the ready render queues its embed job
            broker.join(queue, timeout=60_000)
            worker.join()
    job.refresh_from_db()
    assert job.state == job.State.READY
    jobs = [r.getMessage() for r in caplog.records if r.name == "tailor.job" and "status=ok" in r.getMessage()]
    assert {a for a in ("render", "ping", "renders_recover", "embed_videos") if any(f"actor={a} " in j for j in jobs)} == {
        "render", "ping", "renders_recover", "embed_videos"}, jobs
    warnings = [r.getMessage() for r in caplog.records
                if r.levelno >= logging.WARNING and r.name.split(".")[0] in ("dramatiq", "tailor")]
    assert not warnings, warnings
