"""Render jobs: request, claim, render, encode, upload, publish; cancel and recover.

The broker only carries job ids, and delivers them at least once. Exactly one Video per
job comes from three rules:
1. A job is claimed with a conditional update (queued, or active with an expired lease),
   so two workers never hold it at once; a worker that stops reporting loses its lease.
2. Each stage moves the job on with another conditional update that names the worker, so
   a worker that lost its job (cancelled, or re-claimed after a stall) stops at once.
3. Stage outputs are files and objects under deterministic keys: a retry rewrites the same
   objects, and the Video row is created in the same transaction that marks the job ready.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from core import storage
from generation import fleet, renderer
from generation.encoding import mp4_write, thumbnail_write
from generation.models import RenderJob, SafetyDecision, Video
from generation.safety import safety_check, safety_check_texts

logger = logging.getLogger("tailor.render")
State = RenderJob.State


class RenderBlocked(ValidationError):
    """The safety check refused a prompt: nothing was queued."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


def render_key(*, prompt: str, sound: str, negative: str, model: str, seed: int, params: dict, script: dict | None = None,
               owner: int | None = None) -> str:
    """The same render twice is one job: same text, script, model, seed and parameters, for the
    same owner (two viewers asking for the same thing get a private render each)."""
    payload = json.dumps([prompt, sound, negative, model, int(seed), params, script or {}, owner],
                         sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def script_job_texts(*, prompt: str, sound: str, script: dict) -> list[str]:
    """What the safety check reads of a scripted job: its prompt, its sound and every text of
    the script, in this order (the writer checks its drafts with the same list, so a draft it
    accepts is never refused when queued)."""
    from generation.writing import script_texts

    return [prompt, sound, *script_texts(script)]


def render_job_create(
    *, prompt: str, sound: str = "", negative: str = "", seed: int, model: str | None = None, params: dict | None = None,
    user=None, audience=(), purpose: str = RenderJob.Purpose.REQUEST, brief: str = "", family: str = "",
    title: str = "", fit: float | None = None, script: dict | None = None, arms: dict | None = None,
    arm_context: str = "", policy: str = "",
) -> tuple[RenderJob, bool]:
    """Queue a render, or return the job that already renders exactly this (same prompt, script,
    model, seed and parameters). The safety check runs first, on the prompt and on every text of
    the script: anything blocked raises RenderBlocked and is never queued."""
    try:
        spec = renderer.model_spec(model)
        params = renderer.params_for(spec, params)
    except (renderer.ConfigurationError, ValueError) as exc:
        raise ValidationError({"params": str(exc)}) from None
    if not prompt.strip():
        raise ValidationError({"prompt": "must not be empty"})
    if script:
        from generation.writing import script_validate

        script = script_validate(script)
        decision = safety_check_texts(texts=script_job_texts(prompt=prompt, sound=sound, script=script), kind="script", user=user)
    else:
        decision = safety_check(text=f"{prompt}\n{sound}", kind="prompt", user=user)
    if not decision.allowed:
        raise RenderBlocked({"prompt": decision.reason})
    owner = user.pk if getattr(user, "pk", None) else None
    key = render_key(prompt=prompt, sound=sound, negative=negative, model=spec.name, seed=seed, params=params,
                     script=script, owner=owner)
    queue = fleet.queue_for(spec.name)
    with transaction.atomic():
        job, created = RenderJob.objects.get_or_create(key=key, defaults=dict(
            purpose=purpose, user=user if getattr(user, "pk", None) else None, prompt=prompt, sound=sound,
            negative=negative, brief=brief, family=family, title=title[:300], fit=fit, model=spec.name,
            seed=int(seed), params=params, queue=queue, script=script or {},
            # The arms a piece is credited with are read from its script, whoever wrote it.
            arms=arms if arms is not None else (_arms_of(script) if script else {}), arm_context=arm_context, policy=policy,
        ))
        if audience:
            job.audience.add(*audience)
            if job.video_id:
                job.video.audience.add(*audience)
        if created:
            transaction.on_commit(lambda: _send(job.pk, spec.name, queue=queue))
            logger.info("render queued job=%s model=%s purpose=%s", job.pk, spec.name, purpose)
    return job, created


def _arms_of(script: dict) -> dict:
    from generation.bandit import arms_of

    return arms_of(script)


def _send(job_id: int, model: str, *, queue: str | None = None, delay_ms: int | None = None) -> str:
    """Send the job's message to a worker that keeps its model warm, if one is live, else to
    the shared GPU queue (generation/fleet.py); `queue` when the caller recorded it already;
    `delay_ms` to have it delivered no sooner."""
    from generation.tasks import render

    recorded, queue = queue, queue or fleet.queue_for(model)
    # Retry options travel with the message, so they follow the settings of the sender.
    message = render.message_with_options(
        args=(job_id,), max_retries=settings.RENDER_MAX_RETRIES,
        min_backoff=settings.RENDER_MIN_BACKOFF_MS, max_backoff=settings.RENDER_MAX_BACKOFF_MS,
    )
    if queue != message.queue_name:
        render.broker.declare_queue(queue)
        message = message.copy(queue_name=queue)
    render.broker.enqueue(message, delay=delay_ms)
    if recorded is None:
        RenderJob.objects.filter(pk=job_id).exclude(queue=queue).update(queue=queue)
    return queue


def render_job_cancel(*, job: RenderJob) -> bool:
    """Cancel a queued or running job; a running one stops at its next step."""
    done = RenderJob.objects.filter(pk=job.pk, state__in=[State.QUEUED, *RenderJob.ACTIVE]).update(
        state=State.CANCELLED, finished_at=timezone.now()
    )
    if done:
        logger.info("render cancelled job=%s", job.pk)
    return bool(done)


def render_job_retry(*, job: RenderJob) -> RenderJob:
    """Render again: a failed or cancelled job goes back in the queue; a finished one gets a new
    job with the next seed (the same seed would be the same video)."""
    if job.state in (State.FAILED, State.CANCELLED):
        # The rules may have changed since it was queued: the text is checked again.
        texts = [job.prompt, job.sound]
        if job.script:
            from generation.writing import script_texts

            texts += script_texts(job.script)
        decision = safety_check_texts(texts=texts, kind="script" if job.script else "prompt", user=job.user)
        if not decision.allowed:
            raise RenderBlocked({"prompt": decision.reason})
        with transaction.atomic():
            if RenderJob.objects.filter(pk=job.pk, state__in=[State.FAILED, State.CANCELLED]).update(
                state=State.QUEUED, attempts=0, progress=0, error="", finished_at=None, worker=""
            ):
                transaction.on_commit(lambda: _send(job.pk, job.model))
        job.refresh_from_db()
        return job
    if job.state == State.READY:
        new, _ = render_job_create(
            prompt=job.prompt, sound=job.sound, negative=job.negative, seed=job.seed + 1, model=job.model,
            params={k: v for k, v in job.params.items()}, user=job.user, audience=list(job.audience.all()),
            purpose=job.purpose, brief=job.brief, family=job.family, title=job.title, fit=job.fit,
            script={**job.script, "seed": job.script.get("seed", job.seed) + 1} if job.script else None,
        )
        return new
    return job  # queued or running: it is being rendered


def _claim(ids: list[int], worker: str, *, lease_expired: bool = True) -> list[RenderJob]:
    """Claim jobs and read them back in one statement (UPDATE ... RETURNING, on PostgreSQL and on
    SQLite alike): a job is claimed if it is queued or, with `lease_expired`, held by a worker that
    stopped reporting. The update is conditional, so two workers never hold a job at once.
    Returns the jobs this call claimed, oldest first."""
    if not ids:
        return []
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    stale = ops.adapt_datetimefield_value(timezone.now() - timedelta(seconds=settings.RENDER_LEASE_S))
    where, params = "state = %s", [State.QUEUED]
    if lease_expired:
        where = f"({where} OR (state IN ({', '.join(['%s'] * len(RenderJob.ACTIVE))}) AND heartbeat_at < %s))"
        params += [*RenderJob.ACTIVE, stale]
    sql = (f"UPDATE {ops.quote_name(RenderJob._meta.db_table)} SET state = %s, worker = %s, attempts = attempts + 1,"
           f" progress = 0, started_at = %s, heartbeat_at = %s WHERE id IN ({', '.join(['%s'] * len(ids))}) AND {where}"
           " RETURNING *")
    jobs = list(RenderJob.objects.raw(sql, [State.RENDERING, worker, now, now, *ids, *params]))
    return sorted(jobs, key=lambda job: (job.created_at, job.pk))


def _advance(job: RenderJob, worker: str, frm: str | tuple[str, ...], to: str, **fields) -> bool:
    """Move a job we hold (in state `frm`, or one of them) to its next stage; False if we no longer
    hold it (cancelled, or lost)."""
    states = (frm,) if isinstance(frm, str) else frm
    return bool(RenderJob.objects.filter(pk=job.pk, state__in=states, worker=worker).update(
        state=to, heartbeat_at=timezone.now(), **fields
    ))


def _work_paths(job: RenderJob) -> tuple[Path, Path, Path, Path]:
    """The encoded video, thumbnail and captions of a job between attempts, and the metadata
    file written last, whose presence means the others are complete."""
    base = Path(settings.RENDER_WORK_DIR) / job.key
    return base.with_suffix(".mp4"), base.with_suffix(".jpg"), base.with_suffix(".vtt"), base.with_suffix(".json")


def render_job_run(*, job_id: int, worker: str | None = None, final: bool = False) -> str:
    """Take a job (and compatible queued ones, as one batch) from queued to ready. Idempotent."""
    worker = worker or worker_name()

    # 1. Claim. A job another worker holds is left to it, and this message comes back when that
    # worker's lease would run out, to take the job over if the worker died meanwhile (a message
    # redelivered from a dead worker, or a batch-mate's own message while its batch renders).
    # Nothing waits here: a worker thread, a GPU's only one, is never held by a job it cannot run.
    claimed = _claim([job_id], worker)
    if not claimed:
        job = RenderJob.objects.filter(pk=job_id).only("state", "heartbeat_at", "model").first()
        if job is None or job.state not in RenderJob.ACTIVE:
            return "skipped"
        age = (timezone.now() - job.heartbeat_at).total_seconds() if job.heartbeat_at else 0.0
        _send(job_id, job.model, delay_ms=int(1000 * (max(0.0, settings.RENDER_LEASE_S - age) + 0.2)))
        return "deferred"

    # 2. Batch: claim queued jobs for the same model and parameters, to render in one call.
    primary = claimed[0]
    batch = [primary]
    try:
        batch_max = renderer.model_spec(primary.model).batch_max
    except renderer.ConfigurationError:
        batch_max = 1  # the render itself reports the missing model
    if batch_max > 1:
        queued = (RenderJob.objects.filter(state=State.QUEUED, model=primary.model).exclude(pk=job_id)
                  .order_by("created_at").values_list("pk", "params")[: batch_max * 4])
        wanted = [pk for pk, params in queued if params == primary.params][: batch_max - 1]
        # One conditional update claims them all; a job another worker took first stays theirs.
        batch += _claim(wanted, worker, lease_expired=False)

    try:
        # 3. Render what has no encoded file yet (an earlier attempt may have got that far).
        todo = [job for job in batch if not _work_paths(job)[-1].exists()]  # the metadata is written last
        if todo:
            _render(todo, worker)
        # 4. Upload and publish each job.
        for job in batch:
            _publish(job, worker)
    except BaseException as exc:
        _release(batch, worker, exc, final=final, primary=job_id)
        raise
    return "done"


def _render(jobs: list[RenderJob], worker: str) -> None:
    spec = renderer.model_spec(jobs[0].model)
    held = {job.pk for job in jobs}
    # The claim has just set progress and the lease: the first report is due half a second on.
    last = {"at": time.monotonic(), "wanted": set(range(len(jobs)))}

    def progress(fraction: float) -> set:
        """Report progress and look for cancellations, at most twice a second; return the positions
        of the jobs we still hold: a cancelled job drops out, and when none is left the pipeline
        stops. (A cancellation between reports is caught by the move to encoding.)"""
        now = time.monotonic()
        if now - last["at"] < 0.5:
            return last["wanted"]
        last["at"] = now
        mine = RenderJob.objects.filter(pk__in=held, state=State.RENDERING, worker=worker)
        if mine.update(progress=min(99, int(fraction * 100)), heartbeat_at=timezone.now()) == len(held):
            return last["wanted"]  # every job still ours: no need to ask again
        still = set(mine.values_list("pk", flat=True))
        last["wanted"] = {pos for pos, job in enumerate(jobs) if job.pk in still}
        return last["wanted"]

    items = [renderer.RenderInput(prompt=j.prompt, negative=j.negative, sound=j.sound, seed=j.seed, script=j.script or None)
             for j in jobs]
    started = time.perf_counter()
    try:
        outputs = renderer.render_batch(spec, jobs[0].params, items, progress)
    except renderer.Cancelled:
        logger.info("render interrupted: every job cancelled jobs=%s", sorted(held))
        return
    share = (time.perf_counter() - started) / len(jobs)
    for job, output in zip(jobs, outputs):
        if output is None:
            continue
        if not _frames_allowed(job, worker, output):
            continue
        if not _advance(job, worker, State.RENDERING, State.ENCODING, progress=100, gpu_seconds=F("gpu_seconds") + share):
            continue
        video_path, thumb_path, captions_path, meta_path = _work_paths(job)
        video_path.parent.mkdir(parents=True, exist_ok=True)
        info = mp4_write(video_path, frames=output.frames, fps=output.fps, audio=output.audio, sample_rate=output.sample_rate)
        thumbnail_write(thumb_path, output.frames)
        captions_path.unlink(missing_ok=True)
        if output.captions:
            tmp = captions_path.with_name(captions_path.name + ".part")
            tmp.write_text(output.captions, encoding="utf-8")
            os.replace(tmp, captions_path)
        tmp = meta_path.with_name(meta_path.name + ".part")
        tmp.write_text(json.dumps(info.__dict__))
        os.replace(tmp, meta_path)  # written last: its presence means both files are complete


def _frames_allowed(job: RenderJob, worker: str, output) -> bool:
    """The frame classifier's verdict (when one is configured): frames it refuses end the job as
    failed, with the reason, and are never encoded or uploaded."""
    from generation.frame_safety import frames_check

    verdict = frames_check(output.frames)
    if verdict.allowed:
        return True
    SafetyDecision.objects.create(user=job.user, kind="frames", text=job.title or job.prompt[:300], allowed=False,
                                  category=verdict.label, reason=f"frames judged {verdict.label} ({verdict.score:.2f})")
    RenderJob.objects.filter(pk=job.pk, state=State.RENDERING, worker=worker).update(
        state=State.FAILED, error="blocked: the rendered frames break our content rules", finished_at=timezone.now())
    logger.warning("render blocked by the frame classifier job=%s label=%s score=%.3f", job.pk, verdict.label, verdict.score)
    return False


def _publish(job: RenderJob, worker: str) -> None:
    video_path, thumb_path, captions_path, meta_path = _work_paths(job)
    if not meta_path.exists():
        return  # interrupted before encoding (cancelled)
    # Encoded now or by an earlier attempt (then the job is still "rendering"); cancelled or lost: stop.
    if not _advance(job, worker, (State.RENDERING, State.ENCODING), State.UPLOADING, progress=100):
        return
    info = json.loads(meta_path.read_text())
    # Only a retry can find parts of an earlier upload of these keys left open (`job` was read after the claim).
    retry = job.attempts > 1
    video_key = storage.media_upload(f"{job.object_stem}.mp4", video_path, content_type="video/mp4", retry=retry)
    thumb_key = storage.media_upload(f"{job.object_stem}.jpg", thumb_path, content_type="image/jpeg", retry=retry)
    captions_key = ""
    if captions_path.exists():  # beside the MP4 under the same stem, as players and the API expect
        captions_key = storage.media_upload(f"{job.object_stem}.vtt", captions_path, content_type="text/vtt", retry=retry)
    with transaction.atomic():
        if connection.vendor == "postgresql" and settings.WORKER_ASYNC_COMMIT:
            with connection.cursor() as cursor:  # this commit waits for the flush, whatever the session says
                cursor.execute("SET LOCAL synchronous_commit TO on")
        video = Video.objects.create(
            source=Video.Source.GENERATED, title=job.title or _title(job),
            description=job.script.get("logline", "") if job.script else job.prompt,
            tags=[t for t in [job.family, "made for you"] if t], prompt=job.prompt, script=job.script or {},
            video_key=video_key, thumbnail_key=thumb_key, captions_key=captions_key, duration_s=info["duration_s"], fps=info["fps"],
            width=info["width"], height=info["height"], made_for_id=job.user_id,
        )
        # The conditional update takes the row lock: a cancel that won it leaves us 0 rows, and
        # the Video goes with the rollback; a cancel that comes after finds the job ready.
        now = timezone.now()
        if not RenderJob.objects.filter(pk=job.pk, state=State.UPLOADING, worker=worker).update(
            state=State.READY, video=video, progress=100, finished_at=now, heartbeat_at=now, error=""
        ):
            transaction.set_rollback(True)
            return
        if job.purpose == RenderJob.Purpose.CLUSTER:
            video.audience.add(*job.audience.all())
        transaction.on_commit(lambda: _embed(video.pk))
    for path in (video_path, thumb_path, captions_path, meta_path):
        path.unlink(missing_ok=True)
    logger.info("render ready job=%s video=%s key=%s", job.pk, video.pk, video_key)


def _embed(video_id: int) -> None:
    from generation.tasks import embed_videos

    embed_videos.send([video_id])


def _title(job: RenderJob) -> str:
    first = job.prompt.split(". ")[0].strip().rstrip(".")
    return first[:117] + "..." if len(first) > 120 else first


def _release(batch: list[RenderJob], worker: str, exc: BaseException, *, final: bool, primary: int) -> None:
    """After an error: give held jobs back to the queue, or fail them when retrying cannot help."""
    reason = f"{type(exc).__name__}: {exc}"[:2000]
    permanent = isinstance(exc, renderer.ConfigurationError)
    requeue = []
    for job in batch:
        held = RenderJob.objects.filter(pk=job.pk, worker=worker, state__in=RenderJob.ACTIVE)
        attempts = held.values_list("attempts", flat=True).first()
        if attempts is None:
            continue
        if permanent or attempts > settings.RENDER_MAX_RETRIES or (final and job.pk == primary):
            held.update(state=State.FAILED, error=reason, finished_at=timezone.now())
            logger.warning("render failed job=%s attempts=%s error=%s", job.pk, attempts, reason)
        else:
            held.update(state=State.QUEUED, error=reason, progress=0)
            if job.pk != primary:
                requeue.append(job)  # its own message may be gone: send it again
    for job in requeue:
        _send(job.pk, job.model)


def renders_recover(*, everything_queued: bool = False) -> int:
    """Send again the jobs whose message may be lost: held by a worker that stopped reporting,
    queued and untouched for long (with the in-process broker, every queued job after a
    restart), or queued for a model whose last warm worker has gone. A duplicate message is
    harmless: the claim lets only one through."""
    now = timezone.now()
    stale = Q(state__in=RenderJob.ACTIVE, heartbeat_at__lt=now - timedelta(seconds=settings.RENDER_LEASE_S))
    queued = Q(state=State.QUEUED)
    if not everything_queued:
        warm = [fleet.model_queue(m) for m in fleet.warm_models(fresh=True)]
        orphaned = Q(queue__startswith=f"{fleet.GPU_QUEUE}.") & ~Q(queue__in=warm)
        queued &= Q(updated_at__lt=now - timedelta(seconds=max(600.0, 10 * settings.RENDER_LEASE_S))) | orphaned
    jobs = list(RenderJob.objects.filter(stale | queued).values_list("pk", "model"))
    for job_id, model in jobs:
        _send(job_id, model)
    if jobs:
        logger.info("renders recovered n=%d", len(jobs))
    return len(jobs)


def orphans_prune(*, dry_run: bool = False) -> dict[str, int]:
    """Delete rendered objects no Video points at, and multipart uploads left open.
    Objects of jobs still in flight are kept."""
    keys = storage.media_keys("renders/")
    live = set(Video.objects.exclude(video_key="").values_list("video_key", flat=True))
    live |= set(Video.objects.exclude(thumbnail_key="").values_list("thumbnail_key", flat=True))
    live |= set(Video.objects.exclude(captions_key="").values_list("captions_key", flat=True))
    # security (media_token): objects are named by the job's random media token, not its key.
    in_flight = {RenderJob(media_token=t).object_stem
                 for t in RenderJob.objects.exclude(state__in=RenderJob.TERMINAL).values_list("media_token", flat=True)}
    orphans = [k for k in keys if k not in live and k.rsplit(".", 1)[0] not in in_flight]
    uploads = storage.multipart_open("renders/")
    if not dry_run:
        storage.media_delete(orphans)
        for key, _ in uploads:
            if key.rsplit(".", 1)[0] not in in_flight:
                storage.multipart_abort(key)
    return {"objects": len(orphans), "multipart_uploads": len(uploads)}
