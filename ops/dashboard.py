"""Reads for the operator dashboard: the whole platform at a glance, as one JSON document.

Everything here is a selector over our tables (and the broker's queue lengths); nothing
writes. Heavy parts (the taste map, fidelity) work on bounded samples.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db.models import Avg, Count, Q, Sum
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from core.vec import from_bytes, normalize

SAMPLE = 2000


def _iso(value) -> str:
    return value.isoformat() if value else ""


def jobs_summary(*, hours: int = 48) -> dict:
    from generation.models import RenderJob

    since = timezone.now() - timedelta(hours=hours)
    by_hour: dict[str, dict[str, int]] = {}
    for row in (RenderJob.objects.filter(created_at__gte=since).annotate(hour=TruncHour("created_at"))
                .values("hour", "state").annotate(n=Count("id")).order_by("hour")):
        by_hour.setdefault(_iso(row["hour"]), {})[row["state"]] = row["n"]
    daily = []
    for row in (RenderJob.objects.filter(created_at__gte=timezone.now() - timedelta(days=14))
                .annotate(day=TruncDay("created_at")).values("day")
                .annotate(total=Count("id"), ready=Count("id", filter=Q(state="ready")),
                          failed=Count("id", filter=Q(state="failed")), gpu_seconds=Sum("gpu_seconds"))
                .order_by("day")):
        finished = row["ready"] + row["failed"]
        daily.append({"day": _iso(row["day"]), "total": row["total"], "gpu_seconds": round(row["gpu_seconds"] or 0, 2),
                      "failure_rate": round(row["failed"] / finished, 4) if finished else 0.0})
    done = RenderJob.objects.filter(state="ready", started_at__isnull=False, finished_at__isnull=False).order_by("-finished_at")[:500]
    seconds = [(j.finished_at - j.started_at).total_seconds() for j in done.only("started_at", "finished_at")]
    states = dict(RenderJob.objects.values_list("state").annotate(n=Count("id")))
    return {
        "states": states, "by_hour": by_hour, "daily": daily,
        "render_seconds": {"p50": round(float(np.percentile(seconds, 50)), 3) if seconds else None,
                           "p95": round(float(np.percentile(seconds, 95)), 3) if seconds else None, "n": len(seconds)},
        "queue_depth": {"queued_jobs": states.get("queued", 0), "broker": broker_depth()},
    }


def broker_depth() -> dict[str, int | None]:
    """Messages waiting per queue in the broker itself (not our job table)."""
    from core.jobs import queue_depths
    from generation.fleet import model_queue, warm_models
    from generation.tasks import CPU_QUEUE, GPU_QUEUE

    return queue_depths([CPU_QUEUE, GPU_QUEUE, *sorted(model_queue(m) for m in warm_models())])


def fleet() -> list[dict]:
    """Live GPU workers: the models each keeps warm, whether it is rendering, jobs done."""
    from generation.fleet import live_workers

    return [
        {"name": w.name, "warm": w.warm, "loaded": w.loaded, "busy": w.busy, "jobs_done": w.jobs_done,
         "seen_at": _iso(w.seen_at)}
        for w in live_workers().order_by("name")[:100]
    ]


def engagement(*, days: int = 14) -> list[dict]:
    from profiles.models import Interaction

    rows = (Interaction.objects.filter(created_at__gte=timezone.now() - timedelta(days=days))
            .annotate(day=TruncDay("created_at")).values("day")
            .annotate(views=Count("id", filter=Q(kind="view")), likes=Count("id", filter=Q(kind="like")),
                      skips=Count("id", filter=Q(kind="skip")), negatives=Count("id", filter=Q(kind__in=["dislike", "hide"])),
                      watch=Avg("watch_fraction", filter=Q(kind="view")))
            .order_by("day"))
    out = []
    for row in rows:
        seen = max(row["views"] + row["likes"] + row["skips"] + row["negatives"], 1)
        out.append({"day": _iso(row["day"]), "like_rate": round(row["likes"] / seen, 4), "skip_rate": round(row["skips"] / seen, 4),
                    "watch_fraction": round(row["watch"] or 0.0, 4), "events": seen})
    return out


def taste_map(*, k: int = 8, sample: int = SAMPLE) -> dict:
    """Interests on a plane (PCA of a sample), coloured by spherical k-means cluster."""
    from generation.sharing import taste_clusters
    from profiles.models import Interest

    rows = list(Interest.objects.order_by("?").values_list("vector", "label")[:sample])
    if len(rows) < 2:
        return {"points": [], "clusters": []}
    vectors = normalize(np.vstack([from_bytes(v) for v, _ in rows]))
    centroids = taste_clusters(vectors, min(k, len(vectors)))
    assign = (vectors @ centroids.T).argmax(axis=1)
    mean = vectors.mean(axis=0)
    _, _, vt = np.linalg.svd(vectors - mean, full_matrices=False)
    xy = (vectors - mean) @ vt[:2].T
    cxy = (centroids - mean) @ vt[:2].T
    labels = []
    for c in range(len(centroids)):
        members = [rows[i][1] for i in np.flatnonzero(assign == c)]
        labels.append(max(set(members), key=members.count) if members else "")
    return {
        "points": [{"x": round(float(x), 4), "y": round(float(y), 4), "c": int(c)} for (x, y), c in zip(xy, assign)],
        "clusters": [{"x": round(float(x), 4), "y": round(float(y), 4), "label": labels[c], "size": int((assign == c).sum())}
                     for c, (x, y) in enumerate(cxy)],
    }


def taste_fidelity(*, sample: int = SAMPLE) -> dict:
    """For viewers with renders made for them: the cosine between each interest and the best
    render serving it (the sharing benchmark's measure, on live data)."""
    from generation.models import Video
    from profiles.models import Interest

    renders = list(Video.objects.filter(source="generated", embedding__isnull=False)
                   .values_list("id", "embedding", "made_for_id"))
    if not renders:
        return {"mean": None, "interests": 0, "renders": 0}
    audience: dict[int, list[int]] = {}
    for video_id, user_id in Video.audience.through.objects.values_list("video_id", "user_id"):
        audience.setdefault(user_id, []).append(video_id)
    vec = {vid: from_bytes(blob) for vid, blob, _ in renders}
    for vid, _, owner in renders:
        if owner:
            audience.setdefault(owner, []).append(vid)
    scores = []
    for user_id, vector in Interest.objects.filter(user_id__in=list(audience)).values_list("user_id", "vector")[:sample]:
        served = [vec[v] for v in audience[user_id] if v in vec]
        if served:
            scores.append(float(np.max(np.vstack(served) @ from_bytes(vector))))
    return {"mean": round(float(np.mean(scores)), 4) if scores else None, "interests": len(scores), "renders": len(renders)}


def index_health() -> dict:
    from generation.models import Video
    from profiles import indexes
    from profiles.models import Interest

    items, interests = indexes.items().ready(), indexes.interests().ready()
    return {
        "items": {"in_index": len(items), "in_database": Video.objects.filter(embedding__isnull=False).count(), "kind": items.kind},
        "interests": {"in_index": len(interests), "in_database": Interest.objects.count(), "kind": interests.kind},
    }


def safety_blocks(*, limit: int = 20) -> list[dict]:
    from generation.models import SafetyDecision

    return [{"at": _iso(d.created_at), "kind": d.kind, "category": d.category, "reason": d.reason, "user": d.user_id}
            for d in SafetyDecision.objects.filter(allowed=False).order_by("-created_at")[:limit]]


def dashboard_data() -> dict:
    return {
        "generated_at": timezone.now().isoformat(),
        "jobs": jobs_summary(),
        "engagement": engagement(),
        "fidelity": taste_fidelity(),
        "taste_map": taste_map(),
        "index": index_health(),
        "safety": safety_blocks(),
        "fleet": fleet(),
        "bandit": _bandit(),
        "totals": {"viewers": _count("auth.User"), "videos": _count("generation.Video"),
                   "renders_ready": _count("generation.RenderJob", state="ready")},
    }


def _bandit() -> dict:
    from generation.bandit import bandit_report

    return bandit_report()


def _count(label: str, **filters) -> int:
    from django.apps import apps

    return apps.get_model(label).objects.filter(**filters).count()
