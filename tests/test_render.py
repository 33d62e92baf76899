"""Render jobs end to end: tiny random-weight diffusers pipelines, the configured broker and a
real worker, PyAV encoding, and the configured storage (local disk, or SeaweedFS S3 in CI)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from core import storage
from generation.encoding import mp4_probe
from generation.models import RenderJob, SafetyDecision, Video
from generation.rendering import RenderBlocked, render_job_cancel, render_job_create, render_job_run, renders_recover
from generation.tasks import CPU_QUEUE, GPU_QUEUE
from tests.services import wait_for as _wait

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db(transaction=True)
State = RenderJob.State
PROMPT = "A short film: a home cook bakes garlic bread in a sunlit kitchen, warm light, slow dolly shot"
SOUND = "Music: a mellow jazz piano trio. Ambience: butter sizzling, an oven door, birdsong outside."


def _drain(broker, worker, timeout_s: float = 120) -> None:
    # Failed messages are expected here: the job rows say what happened.
    options = {"fail_fast": False} if django_settings.BROKER_KIND == "stub" else {}
    for _ in range(2):  # a render queues an embed job on the CPU queue when it is ready
        broker.join(GPU_QUEUE, timeout=int(timeout_s * 1000), **options)
        broker.join(CPU_QUEUE, timeout=int(timeout_s * 1000), **options)
        worker.join()


@pytest.fixture(autouse=True)
def _no_renders_in_storage():
    """The S3 bucket outlives a test's database: start each test with no rendered objects."""
    storage.media_delete(storage.media_keys("renders/"))
    for key, _ in storage.multipart_open("renders/"):
        storage.multipart_abort(key)


def _objects(job: RenderJob) -> list[str]:
    return storage.media_keys(job.object_stem.rsplit("/", 1)[0] + "/")


def test_request_ends_as_ready_video_with_sound_in_storage_and_in_the_feed(broker, worker, make_user, catalog, client):
    from feed.services import feed_page_serve
    from profiles import indexes
    from profiles.services import onboarding_apply

    viewer, other = make_user(), make_user()
    onboarding_apply(user=viewer, topics=["cooking"])
    job, created = render_job_create(prompt=PROMPT, sound=SOUND, seed=7, user=viewer, title="Garlic bread, a short film")
    assert created and job.state == State.QUEUED
    _drain(broker, worker)

    job.refresh_from_db()
    assert job.state == State.READY, job.error
    assert job.progress == 100 and job.attempts == 1 and job.gpu_seconds > 0 and job.worker
    video = job.video
    assert video.made_for == viewer and video.source == Video.Source.GENERATED
    assert (video.width, video.height, video.fps) == (64, 64, 8.0) and video.duration_s == pytest.approx(9 / 8)

    # A real MP4: H.264 video and AAC audio, both as long as the clip.
    data = storage.media_read(video.video_key)
    info = mp4_probe(io.BytesIO(data))
    assert info["streams"]["video"]["codec"] == "h264" and info["streams"]["video"]["frames"] == 9
    assert info["streams"]["audio"]["codec"] == "aac"
    for stream in ("video", "audio"):
        assert info["streams"][stream]["duration_s"] == pytest.approx(9 / 8, abs=0.1), (stream, info)
    assert storage.media_read(video.thumbnail_key)[:3] == b"\xff\xd8\xff"  # a JPEG
    assert video.video_key == f"{job.object_stem}.mp4"  # deterministic per job

    # The URL serves it: presigned with an expiry on S3 (unsigned is refused), or local media.
    url = storage.media_url(video.video_key, private=True)  # a private render's link (tests/test_security.py: who else)
    if django_settings.USE_S3:
        assert "X-Amz-Expires=" in url and "X-Amz-Signature=" in url
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.read() == data
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url.split("?")[0], timeout=10)
        assert refused.value.code == 403
    else:
        response = client.get(url)
        assert response.status_code == 200 and b"".join(response.streaming_content) == data

    # Into the index and the feed of the viewer it was made for, and nobody else's.
    video.refresh_from_db()
    assert video.embedded_at is not None and video.pk in set(indexes.items().ready(force=True).ids())
    page = feed_page_serve(user=viewer, size=8)
    mine = [item for item in page.items if item.video.pk == video.pk]
    assert mine and mine[0].reason == "Made for you"
    assert video.pk not in [item.video.pk for item in feed_page_serve(user=other, size=40).items]


def test_the_same_request_twice_is_one_job_and_one_video(broker, worker, make_user):
    viewer = make_user()
    first, created = render_job_create(prompt=PROMPT, sound=SOUND, seed=11, user=viewer, model="null")
    again, created_again = render_job_create(prompt=PROMPT, sound=SOUND, seed=11, user=viewer, model="null")
    assert created and not created_again and again.pk == first.pk
    _drain(broker, worker)
    third, _ = render_job_create(prompt=PROMPT, sound=SOUND, seed=11, user=viewer, model="null")
    assert third.pk == first.pk and third.state == State.READY and third.video_id
    assert RenderJob.objects.count() == 1 and Video.objects.filter(source=Video.Source.GENERATED).count() == 1
    # A different seed is a different render.
    other, created_other = render_job_create(prompt=PROMPT, sound=SOUND, seed=12, user=viewer, model="null")
    assert created_other and other.pk != first.pk


def test_a_blocked_prompt_is_never_enqueued(broker, make_user):
    viewer = make_user()
    with pytest.raises(RenderBlocked) as blocked:
        render_job_create(prompt="A music video with n.u.d.e dancers on a beach", sound=SOUND, seed=1, user=viewer)
    assert "blocked (sexual)" in str(blocked.value)
    assert not RenderJob.objects.exists()
    decision = SafetyDecision.objects.get()
    assert not decision.allowed and decision.category == "sexual" and decision.user == viewer
    if django_settings.BROKER_KIND == "stub":
        assert all(q.qsize() == 0 for q in broker.queues.values())


def test_bad_parameters_are_refused_before_anything_is_queued(make_user):
    from django.core.exceptions import ValidationError

    for params, expect in [({"frames": -1}, "positive"), ({"width": 70}, "multiples of 16"), ({"cfg": 3}, "unknown render parameter")]:
        with pytest.raises(ValidationError, match=expect):
            render_job_create(prompt=PROMPT, seed=1, model="null", params=params)
    with pytest.raises(ValidationError, match="unknown render model"):
        render_job_create(prompt=PROMPT, seed=1, model="no-such-model")
    assert not RenderJob.objects.exists()


def test_a_cancelled_job_stops(broker, worker, make_user):
    job, _ = render_job_create(prompt=PROMPT, sound=SOUND, seed=3, user=make_user(), params={"steps": 2000})
    _wait(lambda: RenderJob.objects.filter(pk=job.pk, state=State.RENDERING, progress__gt=0).exists(), what="rendering")
    assert render_job_cancel(job=job)
    started = time.monotonic()
    _drain(broker, worker)
    assert time.monotonic() - started < 30  # it stopped, it did not render 2,000 steps
    job.refresh_from_db()
    assert job.state == State.CANCELLED and job.video is None and job.progress < 99
    assert _objects(job) == [] and not Video.objects.filter(source=Video.Source.GENERATED).exists()
    assert not render_job_cancel(job=job)  # cancelling again changes nothing


def test_a_job_that_always_fails_ends_failed_after_max_retries(broker, worker, settings, make_user):
    settings.RENDER_MODELS = {"broken": {"path": "", "pipeline": "tests.flows.failing.FailingPipeline", "frames": 9,
                                         "width": 64, "height": 64, "steps": 2, "fps": 8, "audio": "null-audio"}}
    settings.RENDER_MAX_RETRIES, settings.RENDER_MIN_BACKOFF_MS, settings.RENDER_MAX_BACKOFF_MS = 2, 20, 100
    job, _ = render_job_create(prompt=PROMPT, sound=SOUND, seed=5, user=make_user(), model="broken")
    _drain(broker, worker)
    job.refresh_from_db()
    assert job.state == State.FAILED and job.attempts == 3  # the first try and two retries
    assert "illegal memory access" in job.error and job.finished_at


def test_a_missing_model_fails_at_once_with_the_reason(broker, worker, settings, make_user, tmp_path):
    settings.RENDER_MODELS = {"wan-missing": {"path": str(tmp_path / "nowhere"), "pipeline": "WanPipeline", "frames": 9,
                                              "width": 64, "height": 64, "steps": 2, "fps": 8, "audio": "null-audio"}}
    job, _ = render_job_create(prompt=PROMPT, sound=SOUND, seed=5, user=make_user(), model="wan-missing")
    _drain(broker, worker)
    job.refresh_from_db()
    assert job.state == State.FAILED and job.attempts == 1  # retrying cannot help
    assert "cannot load render model 'wan-missing'" in job.error


def test_compatible_jobs_render_as_one_batch(make_user, settings):
    settings.RENDER_BATCH_MAX = 4
    viewer = make_user()
    jobs = [render_job_create(prompt=f"{PROMPT}, take {n}", sound=SOUND, seed=n, user=viewer)[0] for n in range(3)]
    odd, _ = render_job_create(prompt=PROMPT, sound=SOUND, seed=9, user=viewer, params={"steps": 2})
    assert render_job_run(job_id=jobs[0].pk, worker="batcher") == "done"
    for job in jobs:
        job.refresh_from_db()
        assert job.state == State.READY and job.worker == "batcher" and job.attempts == 1
    frames = [mp4_probe(io.BytesIO(storage.media_read(j.video.video_key)))["streams"]["video"]["frames"] for j in jobs]
    assert frames == [9, 9, 9]
    assert len({storage.media_read(j.video.video_key) for j in jobs}) == 3  # three different clips
    odd.refresh_from_db()
    assert odd.state == State.QUEUED  # other parameters: not in this batch


def test_a_model_with_its_own_sound_renders_video_and_audio_in_one_pipeline(make_user):
    """LTX-2's path: no separate text-to-audio model; the soundtrack comes from the video pipeline
    itself (tiny random-weight LTX2Pipeline, saved and loaded with from_pretrained)."""
    from generation import renderer

    spec = renderer.model_spec("tiny-ltx2")
    assert spec.audio == "native" and spec.pipeline == "LTX2Pipeline"
    renderer._pipelines.pop("tiny-audio", None)  # an earlier test may have warmed it
    viewer = make_user()
    jobs = [render_job_create(prompt=f"{PROMPT}, take {n}", sound=SOUND, seed=n, user=viewer, model="tiny-ltx2")[0]
            for n in range(2)]
    assert render_job_run(job_id=jobs[0].pk, worker="ltx") == "done"  # both, in one pipeline call
    clips = []
    for job in jobs:
        job.refresh_from_db()
        assert job.state == State.READY and job.worker == "ltx", job.error
        data = storage.media_read(job.video.video_key)
        info = mp4_probe(io.BytesIO(data))
        assert info["streams"]["video"]["codec"] == "h264" and info["streams"]["video"]["frames"] == 9
        assert info["streams"]["audio"]["codec"] == "aac" and info["streams"]["audio"]["sample_rate"] == 16000
        assert info["streams"]["audio"]["duration_s"] == pytest.approx(9 / 8, abs=0.1)
        clips.append(data)
    assert clips[0] != clips[1]
    assert "tiny-audio" not in renderer.loaded_models()  # no separate audio model was needed


def test_worker_killed_mid_render_the_job_is_redelivered_exactly_once(broker, worker, settings, make_user, tmp_path):
    """kill -9 of the worker process while it renders: another worker takes the job over and it
    ends with one Video, one set of objects and no open multipart upload."""
    settings.RENDER_LEASE_S = 3.0
    viewer = make_user()
    env = dict(os.environ)
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        env["DATABASE_URL"] = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env.update(TAILOR_RENDER_LEASE_S="3", TAILOR_RENDER_WORK_DIR=str(django_settings.RENDER_WORK_DIR), PYTHONUNBUFFERED="1",
               TAILOR_REDIS_HEARTBEAT_TIMEOUT_MS="3000", TAILOR_REDIS_MAINTENANCE_CHANCE="1000000")

    worker.stop()  # the first render goes to the process we are about to kill
    if django_settings.BROKER_KIND == "stub":
        # The in-process queue lives and dies with its process: the killed process runs the job directly.
        job, _ = render_job_create(prompt=PROMPT, sound=SOUND, seed=21, user=viewer, params={"steps": 2000})
        broker.flush_all()
        command = [sys.executable, str(ROOT / "tests" / "flows" / "render_worker.py"), str(job.pk)]
    else:
        job, _ = render_job_create(prompt=PROMPT, sound=SOUND, seed=21, user=viewer, params={"steps": 2000})
        command = [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "1", "--queues", GPU_QUEUE]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "worker.log", "wb"))
    try:
        _wait(lambda: RenderJob.objects.filter(pk=job.pk, state=State.RENDERING, progress__gt=0).exists(), timeout=120,
              what=f"the worker to start rendering (log: {tmp_path / 'worker.log'})")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    job.refresh_from_db()
    assert job.state == State.RENDERING and job.attempts == 1  # the dead worker still holds it

    # A new worker: the broker redelivers the unacknowledged message (Redis after its heartbeat
    # timeout, RabbitMQ when the connection drops); with the in-process broker, whose queue died
    # with the process, the recovery sweep sends it again.
    RenderJob.objects.filter(pk=job.pk).update(params={**job.params, "steps": 4})  # finish quickly this time
    if django_settings.BROKER_KIND == "stub":
        time.sleep(settings.RENDER_LEASE_S)
        assert renders_recover() == 1
        new_worker = type(worker)(broker, worker_threads=1, worker_timeout=100)
        new_worker.start()
        try:
            _wait(lambda: RenderJob.objects.filter(pk=job.pk, state=State.READY).exists(), timeout=120, what="the recovered job")
            _drain(broker, new_worker)
        finally:
            new_worker.stop()
    else:
        second = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                                  stdout=subprocess.DEVNULL, stderr=open(tmp_path / "worker2.log", "wb"))
        try:
            _wait(lambda: RenderJob.objects.filter(pk=job.pk, state=State.READY).exists(), timeout=120,
                  what=f"redelivery to a second worker (log: {tmp_path / 'worker2.log'})")
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(30)
    job.refresh_from_db()
    assert job.state == State.READY and job.attempts == 2, job.error
    assert Video.objects.filter(source=Video.Source.GENERATED).count() == 1
    assert sorted(_objects(job)) == [f"{job.object_stem}.jpg", f"{job.object_stem}.mp4"]
    assert storage.multipart_open("renders/") == []


def test_a_message_for_a_job_another_worker_holds_does_not_hold_a_worker_thread(broker, worker, settings, make_user):
    """A batch-mate's own message (its job claimed into another worker's batch), or one redelivered
    while a dead holder's lease runs: it comes back when the lease would end, instead of a worker
    thread (a GPU's only one) sleeping that long; then it takes the job over if the holder is gone."""
    from django.db import transaction

    from generation.rendering import _claim

    settings.RENDER_LEASE_S = 8.0
    viewer = make_user()
    with transaction.atomic():  # held before their messages go out
        held = [render_job_create(prompt=PROMPT, sound=SOUND, seed=40 + n, user=viewer, model="null")[0].pk for n in range(2)]
        assert len(_claim(held, "other:1")) == 2
    started = time.monotonic()
    free, _ = render_job_create(prompt=PROMPT, sound=SOUND, seed=50, user=viewer, model="null")
    _wait(lambda: RenderJob.objects.filter(pk=free.pk, state=State.READY).exists(), timeout=30, what="the free job")
    # Both worker threads were free for it: sleeping out the two leases would have taken 8 s.
    assert time.monotonic() - started < 5.0
    assert sorted(RenderJob.objects.filter(pk__in=held).values_list("state", "worker")) == [(State.RENDERING, "other:1")] * 2
    # The holder never reports again: when its lease ends, the messages come back and take the jobs over.
    _wait(lambda: RenderJob.objects.filter(pk__in=held, state=State.READY).count() == 2, timeout=60, what="the takeover")
    assert all(j.attempts == 2 and j.worker != "other:1" for j in RenderJob.objects.filter(pk__in=held))
    assert Video.objects.filter(render_job__in=held).count() == 2
    _drain(broker, worker)


def test_storage_outage_during_upload_retries_until_it_is_back(broker, worker, settings, make_user, tmp_path):
    settings.RENDER_MAX_RETRIES, settings.RENDER_MIN_BACKOFF_MS, settings.RENDER_MAX_BACKOFF_MS = 10, 200, 2000
    if django_settings.USE_S3:
        from tests.services import SEAWEED

        if SEAWEED.proc is None:
            pytest.skip("SeaweedFS was started outside the tests; cannot stop it")
        outage, recovery = SEAWEED.stop_keeping_data, SEAWEED.start_again
    else:
        blocker = tmp_path / "blocked"
        blocker.write_text("a file where the media folder should be")
        settings.MEDIA_ROOT = blocker / "media"
        outage, recovery = (lambda: None), (lambda: blocker.unlink())
    outage()
    try:
        job, _ = render_job_create(prompt=PROMPT, sound=SOUND, seed=31, user=make_user(), model="null")
        _wait(lambda: RenderJob.objects.filter(pk=job.pk, attempts__gte=2).exclude(error="").exists(), timeout=60,
              what="failed upload attempts")
        job.refresh_from_db()
        assert job.state in (State.QUEUED, State.RENDERING, State.UPLOADING) and job.video is None
    finally:
        recovery()
    if django_settings.USE_S3:
        SEAWEED.wait_ready()
    _drain(broker, worker)
    job.refresh_from_db()
    assert job.state == State.READY and job.attempts >= 2, job.error
    assert Video.objects.filter(source=Video.Source.GENERATED).count() == 1
    assert len(_objects(job)) == 2 and storage.multipart_open("renders/") == []


def test_recovery_sends_again_only_jobs_whose_worker_stopped(make_user, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.RENDER_LEASE_S = 5.0
    viewer = make_user()
    fresh, _ = render_job_create(prompt=PROMPT, seed=1, user=viewer, model="null")
    stalled, _ = render_job_create(prompt=PROMPT, seed=2, user=viewer, model="null")
    alive, _ = render_job_create(prompt=PROMPT, seed=3, user=viewer, model="null")
    old = timezone.now() - timedelta(seconds=60)
    RenderJob.objects.filter(pk=stalled.pk).update(state=State.RENDERING, heartbeat_at=old, worker="dead:1")
    RenderJob.objects.filter(pk=alive.pk).update(state=State.RENDERING, heartbeat_at=timezone.now(), worker="alive:1")
    assert renders_recover() == 1
    assert renders_recover(everything_queued=True) == 2  # after a restart of the in-process broker


def test_a_claim_takes_a_queued_job_or_an_expired_lease_never_a_held_one(make_user, settings):
    """The claim is one conditional UPDATE ... RETURNING (PostgreSQL and SQLite): what it returns is
    the job as claimed, and a job another worker holds on a live lease is not claimable."""
    from datetime import timedelta

    from django.utils import timezone

    from generation.rendering import _claim

    settings.RENDER_LEASE_S = 5.0
    viewer = make_user()
    jobs = [render_job_create(prompt=PROMPT, seed=n, user=viewer, model="null")[0] for n in range(3)]
    [first] = _claim([jobs[0].pk], "a:1")
    assert (first.pk, first.state, first.worker, first.attempts, first.progress) == (jobs[0].pk, State.RENDERING, "a:1", 1, 0)
    assert first.prompt == PROMPT and first.params == jobs[0].params and first.started_at and first.heartbeat_at
    assert _claim([jobs[0].pk], "b:1") == []  # held, lease fresh
    RenderJob.objects.filter(pk=jobs[0].pk).update(heartbeat_at=timezone.now() - timedelta(seconds=60))
    assert _claim([jobs[0].pk], "b:1", lease_expired=False) == []  # a batch claim takes queued jobs only
    [again] = _claim([jobs[0].pk], "b:1")  # the lease ran out: b takes over
    assert (again.worker, again.attempts) == ("b:1", 2)
    # A batch claim: oldest first, and a job someone else took first stays theirs.
    RenderJob.objects.filter(pk=jobs[2].pk).update(state=State.RENDERING, worker="c:1", heartbeat_at=timezone.now())
    assert [j.pk for j in _claim([jobs[2].pk, jobs[1].pk], "b:1", lease_expired=False)] == [jobs[1].pk]
    assert RenderJob.objects.get(pk=jobs[2].pk).worker == "c:1"


def test_a_job_cancelled_while_it_uploads_gets_no_video(make_user, monkeypatch):
    """The ready update is conditional and takes the row lock: a cancel that wins leaves no Video."""
    real_upload = storage.media_upload

    def upload_then_cancel(key, path, **kwargs):
        stored = real_upload(key, path, **kwargs)
        if key.endswith(".jpg"):  # the last upload: the viewer cancels before the job is ready
            assert render_job_cancel(job=RenderJob.objects.get(media_token=key.rsplit("/", 1)[1].rsplit(".", 1)[0]))
        return stored

    monkeypatch.setattr(storage, "media_upload", upload_then_cancel)
    job, _ = render_job_create(prompt=PROMPT, sound=SOUND, seed=4, user=make_user(), model="null")
    assert render_job_run(job_id=job.pk, worker="w:1") == "done"
    job.refresh_from_db()
    assert job.state == State.CANCELLED and job.video is None
    assert not Video.objects.filter(source=Video.Source.GENERATED).exists()
    assert not render_job_cancel(job=job)


@pytest.mark.skipif(not django_settings.USE_S3, reason="multipart uploads exist only on S3")
def test_large_files_go_up_in_parts_and_leftover_parts_are_aborted(settings, tmp_path):
    from tests.services import s3_client

    settings.MEDIA_MULTIPART_THRESHOLD = 5 * 1024 * 1024
    big = tmp_path / "big.mp4"
    payload = os.urandom(12 * 1024 * 1024)
    big.write_bytes(payload)
    key = "renders/zz/multipart-test.mp4"
    client = s3_client()
    client.create_multipart_upload(Bucket=django_settings.AWS_STORAGE_BUCKET_NAME, Key=key)  # a dead attempt's leftovers
    assert [k for k, _ in storage.multipart_open("renders/zz/")] == [key]
    storage.media_upload(key, big, content_type="video/mp4")
    head = client.head_object(Bucket=django_settings.AWS_STORAGE_BUCKET_NAME, Key=key)
    assert head["ContentLength"] == len(payload) and head["ETag"].strip('"').endswith("-3")  # three parts
    assert storage.multipart_open("renders/zz/") == []
    assert storage.media_read(key) == payload


def test_prune_orphans_removes_objects_without_a_video(make_user, tmp_path):
    from django.core.management import call_command

    job, _ = render_job_create(prompt=PROMPT, seed=41, user=make_user(), model="null")
    render_job_run(job_id=job.pk)
    job.refresh_from_db()
    orphan = tmp_path / "orphan.mp4"
    orphan.write_bytes(b"not referenced by any video")
    storage.media_upload("renders/00/orphan.mp4", orphan, content_type="video/mp4")
    out = io.StringIO()
    call_command("prune_orphans", "--dry-run", stdout=out)
    assert "1 orphaned objects" in out.getvalue() and "renders/00/orphan.mp4" in storage.media_keys("renders/")
    call_command("prune_orphans", stdout=out)
    keys = storage.media_keys("renders/")
    assert "renders/00/orphan.mp4" not in keys
    assert job.video.video_key in keys and job.video.thumbnail_key in keys


def test_a_pipeline_argument_the_pipeline_lacks_is_an_error_that_names_it():
    from generation.renderer import ConfigurationError, _call

    class Pipeline:  # the shape of a diffusers pipeline's __call__: named keyword arguments
        def __call__(self, prompt, num_frames=1, generator=None):
            return (prompt, num_frames)

    # Arguments only some pipelines take are dropped where they are not taken ...
    assert _call(Pipeline(), {"prompt": "p", "num_frames": 3, "frame_rate": 24.0, "audio_end_in_s": 2.0}) == ("p", 3)
    # ... any other is refused by name (a renamed argument, a mistyped extra setting).
    with pytest.raises(ConfigurationError, match="'num_frame'"):
        _call(Pipeline(), {"prompt": "p", "num_frame": 3})


def test_a_configured_frame_classifier_blocks_frames_it_judges_unsafe(settings, make_user, tmp_path):
    """The plumbing of the GPU-deployment hook, on a tiny random-weight ViT built from config and
    loaded back with from_pretrained, as a real detector would be."""
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    from generation.frame_safety import _classifier

    path = tmp_path / "frame-classifier"
    config = ViTConfig(image_size=32, patch_size=8, num_channels=3, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=37, num_labels=2, id2label={0: "normal", 1: "nsfw"}, label2id={"normal": 0, "nsfw": 1})
    ViTForImageClassification(config).save_pretrained(path)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(path)
    _classifier.cache_clear()
    settings.FRAME_CLASSIFIER = str(path)
    user = make_user()

    settings.FRAME_CLASSIFIER_THRESHOLD = 0.0  # every score reaches it: blocked
    job, _ = render_job_create(prompt="A quiet harbour at dawn", seed=1, user=user, model="null")
    render_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "failed" and job.video_id is None and "content rules" in job.error
    decision = SafetyDecision.objects.get(kind="frames")
    assert not decision.allowed and decision.category == "nsfw"

    settings.FRAME_CLASSIFIER_THRESHOLD = 1.0  # no softmax score reaches it: published
    job, _ = render_job_create(prompt="A quiet harbour at noon", seed=2, user=user, model="null")
    render_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "ready" and job.video_id is not None
    _classifier.cache_clear()
