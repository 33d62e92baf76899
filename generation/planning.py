"""What to render: content gaps, shared renders for taste clusters, and viewers' own requests.

A gap is an interest whose best catalogue match falls below GAP_THRESHOLD: nothing we have
serves it. Gaps are planned together: their interests are clustered (spherical k-means) and
each cluster gets one script (generation/writing/), shared by every viewer it serves well;
interests no cluster serves get a render of their own, within a per-user quota
(generation/sharing.py). Every render is a script: the safety check reads all of it before
anything is queued.
"""

from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.vec import from_bytes, normalize
from generation import bandit, renderer
from generation.composer import brief_clean
from generation.models import RenderJob, Video
from generation.rendering import RenderBlocked, render_job_create, script_job_texts
from generation.safety import safety_check, safety_check_texts
from generation.sharing import sharing_plan
from generation.writing import WrittenScript, script_prompt, script_write_llm, script_write_scored, series_next

logger = logging.getLogger("tailor.planning")


class QuotaExceeded(ValidationError):
    """A viewer asked for more renders today than their quota allows."""


@dataclass
class Gap:
    interest_id: int
    user_id: int
    vector: np.ndarray
    best: float  # cosine of the best catalogue match this viewer may see


def gaps_find(*, threshold: float | None = None, everyone: bool = False, user_ids: list[int] | None = None) -> list[Gap]:
    """Interests the catalogue serves badly (with everyone: every interest, for first renders)."""
    from profiles import indexes
    from profiles.models import Interest

    threshold = settings.GAP_THRESHOLD if threshold is None else threshold
    qs = Interest.objects.all() if user_ids is None else Interest.objects.filter(user_id__in=user_ids)
    rows = list(qs.values_list("id", "user_id", "vector"))
    if not rows:
        return []
    vectors = np.vstack([from_bytes(v) for _, _, v in rows])
    index = indexes.items().ready()
    if len(index):
        sims, ids = index.search(vectors, 8)
        private = dict(Video.objects.filter(pk__in=set(ids.ravel().tolist()), made_for__isnull=False).values_list("pk", "made_for_id"))
    else:
        sims, ids, private = np.zeros((len(rows), 0)), np.zeros((len(rows), 0), dtype=np.int64), {}
    gaps = []
    for (interest_id, user_id, _), vector, row_sims, row_ids in zip(rows, vectors, sims, ids):
        visible = [float(s) for s, v in zip(row_sims, row_ids) if v >= 0 and private.get(int(v), user_id) == user_id]
        best = max(visible, default=0.0)
        if everyone or best < threshold:
            gaps.append(Gap(interest_id, user_id, vector, best))
    return gaps


def script_for(*, taste: np.ndarray, seed: int, brief: str = "", aspect: str | None = None, user=None,
               series: dict | None = None, candidates: int = 4, choices: dict | None = None) -> WrittenScript:
    """The script of a render: from the language model where one is configured (falling back to
    the built-in writer on any failure), else the built-in writer. A draft the safety check
    refuses is passed over for the next best."""
    aspect = aspect or settings.RENDER_ASPECT
    addressee, enjoyed = _viewer_context(user)

    def safe(script: dict) -> bool:  # exactly what render_job_create will check
        texts = script_job_texts(prompt=script_prompt(script), sound=_sound_of(script), script=script)
        return safety_check_texts(texts=texts, kind="script", user=user).allowed

    def built_in() -> WrittenScript:
        return script_write_scored(taste=taste, seed=seed, brief=brief, aspect=aspect, series=series, addressee=addressee,
                                   enjoyed=enjoyed, candidates=candidates, check=safe, choices=choices)

    if not settings.WRITER_LLM_URL:
        return built_in()
    fallback: dict = {}

    def write_built_in() -> dict:
        fallback["written"] = built_in()
        return fallback["written"].script

    script = script_write_llm(url=settings.WRITER_LLM_URL, model=settings.WRITER_LLM_MODEL, brief=brief,
                              taste_summary=", ".join(enjoyed) or "varied", fallback=write_built_in,
                              timeout_s=settings.WRITER_LLM_TIMEOUT_S, aspect=aspect, seed=seed, addressee=addressee)
    return fallback.get("written") or WrittenScript(script=script)


@dataclass
class Planned:
    """A planned script with what the bandit chose it from."""

    written: WrittenScript
    cluster: str = ""
    policy: str = ""


def _script_or_none(*, taste: np.ndarray, seed: int, stats=None, budget=None) -> Planned | None:
    """A safe script for a planned render, its arms chosen by the bandit (generation/bandit.py)
    within its floor on taste fit, trying a few seeds; None if none passes. Where a piece of the
    cluster has earned it, the bandit may choose its next episode (same cast, world, format, tone)."""
    cluster = bandit.cluster_of(taste)
    previous = bandit.episode_candidate(cluster, stats) if settings.BANDIT_ENABLED else None
    choices, policy, _ = bandit.plan_choice(taste=taste, seed=seed, cluster=cluster, stats=stats, budget=budget,
                                            episode_ok=previous is not None)
    series = series_next(previous.script) if previous is not None and choices.get("series") == "episode" else None
    for attempt in range(3):
        try:
            if series:
                written = script_for(taste=from_bytes(previous.embedding) if previous.embedding else taste,
                                     seed=seed + 7919 * attempt, candidates=3, series=series)
            else:
                written, policy = bandit.written_on_taste(
                    lambda c: script_for(taste=taste, seed=seed + 7919 * attempt, candidates=3, choices=c), choices, policy)
            return Planned(written, cluster=cluster, policy=policy)
        except ValidationError as exc:
            logger.info("planned script not written (seed %s): %s", seed + 7919 * attempt, exc.messages)
    return None


def _viewer_context(user) -> tuple[str, list[str]]:
    """What a host may say to this viewer: the display name they chose to be greeted by, and the
    public titles of what they have liked lately. Nothing private beyond that."""
    if user is None or not getattr(user, "pk", None):
        return "", []
    from profiles.models import Interaction

    profile = getattr(user, "profile", None)
    addressee = ""
    if profile is not None and getattr(profile, "greet_by_name", False):
        addressee = getattr(profile, "display_name", "") or ""
    liked = (Interaction.objects.filter(user=user, kind="like", video__made_for__isnull=True)
             .order_by("-created_at").values_list("video__title", flat=True)[:3])
    return addressee, list(liked)


def _job_fields(written: WrittenScript | Planned) -> dict:
    planned = written if isinstance(written, Planned) else None
    written = planned.written if planned else written
    script = written.script
    arms = dict(arms=bandit.arms_of(script), arm_context=planned.cluster, policy=planned.policy) if planned else {}
    return dict(prompt=script_prompt(script), sound=_sound_of(script), negative=script.get("negative", ""), seed=int(script["seed"]),
                family=script["format"], title=script["title"], fit=written.fit or None, script=script, **arms)


def _sound_of(script: dict) -> str:
    """The job's sound description: the music cue and the ambience."""
    return ", ".join(x for x in [f"{script['music']['mood']} {script['music']['genre']} music",
                                 script.get("sound", {}).get("ambience", "")] if x)


def _params(aspect: str | None) -> dict:
    return renderer.aspect_size(renderer.model_spec(), aspect or settings.RENDER_ASPECT)


def renders_plan(*, budget: int | None = None, per_user_quota: int = 1, min_fidelity: float = 0.45, margin: float = 0.05,
                 everyone: bool = False, user_ids: list[int] | None = None, seed: int | None = None) -> dict[str, int]:
    """Queue renders for content gaps: one per taste cluster where a cluster serves its viewers,
    one per viewer where none does. Idempotent within a day: the same gaps give the same prompts
    and seeds, so the same jobs."""
    from profiles.embedding import embed_texts

    budget = settings.RENDER_PLAN_BUDGET if budget is None else budget
    busy = set(RenderJob.objects.exclude(state__in=RenderJob.TERMINAL).exclude(user=None).values_list("user_id", flat=True))
    gaps = [g for g in gaps_find(everyone=everyone, user_ids=user_ids) if g.user_id not in busy]
    if not gaps or budget <= 0:
        return {"gaps": len(gaps), "cluster_jobs": 0, "personal_jobs": 0}
    seed = timezone.now().date().toordinal() if seed is None else seed
    interests = normalize(np.vstack([g.vector for g in gaps]))
    owners = np.array([g.user_id for g in gaps])
    composed: dict[int, list[Planned | None]] = {}
    stats, exploration = bandit.Stats.load(), bandit.Budget.load()

    def embed_prompts(tastes: np.ndarray, call_seed: int) -> np.ndarray:
        drafts = [_script_or_none(taste=t, seed=call_seed * 1000 + n, stats=stats, budget=exploration)
                  for n, t in enumerate(tastes)]
        composed[call_seed] = drafts
        # A taste no safe script was found for keeps its own vector: it serves nobody else, and
        # nothing is queued for it.
        vectors = embed_texts([script_prompt(d.written.script) for d in drafts if d is not None])
        it = iter(vectors)
        return np.vstack([next(it) if d is not None else -t for d, t in zip(drafts, tastes)]).astype(np.float32)

    clusters = max(1, min(budget, len(gaps) // 4 or 1))
    plan = sharing_plan(interests=interests, owners=owners, clusters=clusters, embed_prompts=embed_prompts,
                        min_fidelity=min_fidelity, per_user_quota=per_user_quota, seed=seed, margin=margin)
    logger.info("render plan fidelity mean=%.3f min=%.3f", float(plan.fidelity.mean()), float(plan.fidelity.min()))
    created = {"cluster": 0, "personal": 0}
    left = budget
    # 1. Shared renders, biggest audience first; a cluster nobody is assigned to is skipped.
    audiences = {c: sorted(set(owners[plan.assignment == c].tolist())) for c in range(plan.clusters)}
    for c in sorted(audiences, key=lambda c: -len(audiences[c])):
        if not audiences[c] or left <= 0:
            continue
        left -= _queue(composed[seed][c], purpose=RenderJob.Purpose.CLUSTER, audience=audiences[c], counter=created, kind="cluster")
    # 2. Renders of their own for interests no cluster serves.
    for n, pos in enumerate(plan.personal):
        if left <= 0:
            break
        if plan.assignment[pos] != -1:
            continue  # the cluster render served it better after all
        left -= _queue(composed[seed + 1][n], purpose=RenderJob.Purpose.GAP, user_id=int(owners[pos]), counter=created, kind="personal")
    result = {"gaps": len(gaps), "cluster_jobs": created["cluster"], "personal_jobs": created["personal"]}
    logger.info("renders planned %s", result)
    return result


def _queue(draft: Planned | None, *, purpose: str, counter: dict, kind: str, audience=(), user_id: int | None = None) -> int:
    from django.contrib.auth import get_user_model

    if draft is None:
        return 0
    user = get_user_model().objects.get(pk=user_id) if user_id else None
    try:
        _, created = render_job_create(**_job_fields(draft), user=user, audience=audience, purpose=purpose,
                                       params=_params(draft.written.script.get("aspect")))
    except RenderBlocked as exc:
        logger.warning("planned script blocked: %s", exc.messages)
        return 0
    counter[kind] += int(created)
    return int(created)


def render_request_for_user(*, user, brief: str | None = None, aspect: str | None = None,
                            after: Video | None = None) -> tuple[RenderJob, bool]:
    """"Make me something": a render of the viewer's own, from their taste and an optional
    one-line brief (or the next episode of a series). The brief is checked (length, safety)
    before anything is written."""
    from profiles.embedding import embed_texts
    from profiles.models import Interest

    brief = brief_clean(brief)
    # The next episode of a piece (or its character's reply to the viewer's answer): same cast and world.
    series = series_next(after.script) if after is not None and after.script else None
    aspect = aspect or (after.script.get("aspect") if series else None)
    if aspect is not None and aspect not in renderer.ASPECTS:
        raise ValidationError({"aspect": f"must be one of {', '.join(renderer.ASPECTS)} (got {aspect!r})"})
    if brief:
        decision = safety_check(text=brief, kind="brief", user=user)
        if not decision.allowed:
            raise RenderBlocked({"brief": decision.reason})
    since = timezone.now() - timedelta(days=1)
    used = RenderJob.objects.filter(user=user, purpose=RenderJob.Purpose.REQUEST, created_at__gte=since).count()
    if used >= settings.RENDER_DAILY_QUOTA:
        raise QuotaExceeded({"quota": f"you can ask for {settings.RENDER_DAILY_QUOTA} videos a day; try again tomorrow"})
    # A stable seed per (viewer, brief, finished requests): asking again while it renders (a double
    # submit, a retry) is the same job; once it is done, the same brief makes a new video.
    done = RenderJob.objects.filter(user=user, purpose=RenderJob.Purpose.REQUEST, state__in=RenderJob.TERMINAL).count()
    digest = hashlib.sha256(f"{user.pk}:{brief}:{aspect}:{(series or {}).get('id')}:{(series or {}).get('episode')}:{done}".encode()).digest()
    seed = int.from_bytes(digest[:4], "big")
    interests = list(Interest.objects.filter(user=user).order_by("-weight").values_list("vector", "weight")[:8])
    vectors = [from_bytes(v) for v, _ in interests]
    if series and after.embedding:
        vectors = [from_bytes(after.embedding)]  # an episode stays in its piece's world
    brief_vector = embed_texts([brief], cache=False)[0] if brief else None
    if vectors and brief_vector is not None:
        # The brief picks which of the viewer's worlds it belongs to, and steers within it.
        nearest = max(vectors, key=lambda v: float(v @ brief_vector))
        taste = normalize(nearest + brief_vector)
    elif vectors:
        taste = random.Random(seed).choices(vectors, weights=[max(w, 1e-3) for _, w in interests])[0]
    elif brief_vector is not None:
        taste = brief_vector
    else:
        raise ValidationError({"brief": "tell us in a line what you would like to see, or like a few videos first"})
    # The arms the brief leaves open are the bandit's, in this viewer's context (an episode keeps its series').
    cluster = bandit.cluster_of(taste)
    choices, policy, _ = bandit.plan_choice(taste=taste, seed=seed, cluster=cluster, user_id=user.pk) if not series else ({}, "", [])
    for attempt in range(3):  # the safety check may refuse every draft of one seed
        try:
            written, policy = bandit.written_on_taste(
                lambda c: script_for(taste=taste, seed=seed + 7919 * attempt, brief=brief, aspect=aspect, user=user,
                                     series=series, choices=c), choices, policy)
            break
        except ValidationError:
            continue
    else:
        raise RenderBlocked({"brief": "we could not write a script for that which passes our content rules; try another line"})
    planned = Planned(written, cluster=cluster, policy=policy)
    return render_job_create(**_job_fields(planned), user=user, purpose=RenderJob.Purpose.REQUEST, brief=brief,
                             params=_params(written.script.get("aspect")))


def first_renders_request(*, user) -> None:
    """After onboarding: plan a first render for the newcomer's taste, once the interests are saved."""
    from django.db import transaction

    from generation.tasks import renders_plan as plan

    transaction.on_commit(lambda: plan.send(user_ids=[user.pk], everyone=True, budget=1))
