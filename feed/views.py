"""Web feed pages: thin adapters over feed, profile and taste services."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.throttles import web_throttle
from feed.services import feed_page_serve
from generation.models import RenderJob
from generation.planning import QuotaExceeded, first_renders_request, render_request_for_user
from generation.selectors import render_jobs_visible, video_captions_url, video_media_urls, videos_visible
from profiles import services as profile_services
from profiles.models import Interest, Profile
from profiles.topics import TOPICS


def _needs_onboarding(user) -> bool:
    onboarded = Profile.objects.filter(user=user, onboarded=True).exists()
    return not onboarded and not Interest.objects.filter(user=user).exists()


def _cards(page):
    cards = []
    for item in page.items:
        src, poster = video_media_urls(video=item.video)
        cards.append({"item": item, "video": item.video, "src": src, "poster": poster, "hue": (item.video.pk * 7) % 12,
                      "captions": video_captions_url(video=item.video)})
    return cards


@login_required
def home(request):
    if _needs_onboarding(request.user):
        return redirect("feed:onboarding")
    page = feed_page_serve(user=request.user, size=settings.FEED_PAGE_SIZE)
    return render(request, "feed/home.html", {"cards": _cards(page), "next_cursor": page.next_cursor})


@login_required
def feed_page(request):
    try:
        page = feed_page_serve(user=request.user, cursor=request.GET.get("cursor"), size=settings.FEED_PAGE_SIZE)
    except ValidationError as exc:
        return HttpResponseBadRequest("; ".join(exc.messages))
    return render(request, "feed/_cards.html", {"cards": _cards(page), "next_cursor": page.next_cursor})


@login_required
@require_POST
@web_throttle("user", per="user")
def interaction_create(request):
    try:
        payload = json.loads(request.body or b"{}")
    except json.JSONDecodeError:
        return JsonResponse({"errors": {"body": "must be JSON"}}, status=400)
    events = [payload] if isinstance(payload, dict) else payload
    if not isinstance(events, list):
        return JsonResponse({"errors": {"body": "must be an event or a list of events"}}, status=400)
    # The API's cap, on the count alone, before any event is looked at.
    if len(events) > settings.API_BATCH_MAX:
        return JsonResponse({"errors": {"events": f"at most {settings.API_BATCH_MAX} events per request"}}, status=400)
    result = profile_services.interactions_ingest(user=request.user, events=events)
    status = 400 if result.errors and not (result.created or result.duplicates) else 200
    return JsonResponse(
        {"created": result.created, "duplicates": result.duplicates, "errors": result.errors}, status=status
    )


def _errors(exc: ValidationError) -> dict:
    return exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}


def _job_json(job: RenderJob) -> dict:
    data = {"id": job.pk, "state": job.state, "progress": job.progress, "title": job.title,
            "logline": (job.script or {}).get("logline", ""), "error": "rendering failed" if job.state == "failed" else ""}
    if job.video_id:
        video = job.video
        src, poster = video_media_urls(video=video)
        data["video"] = {"id": video.pk, "title": video.title, "src": src, "poster": poster,
                         "captions": video_captions_url(video=video)}
    return data


@login_required
@require_POST
def render_request(request):
    """"Make me something", with an optional one-line brief."""
    fields = request.POST
    if request.content_type == "application/json":
        try:
            fields = json.loads(request.body or b"{}") or {}
            fields.get("brief")
        except (json.JSONDecodeError, AttributeError):
            return JsonResponse({"errors": {"body": ["must be a JSON object"]}}, status=400)
    brief, aspect, after_id = fields.get("brief", ""), fields.get("aspect") or None, fields.get("after") or None
    if not isinstance(brief, str):
        return JsonResponse({"errors": {"brief": ["must be text"]}}, status=400)
    if aspect is not None and not isinstance(aspect, str):
        return JsonResponse({"errors": {"aspect": ["must be 9:16, 16:9 or 1:1"]}}, status=400)
    after = None
    if after_id is not None:  # "Answer" on a card, or its next episode
        after = (videos_visible(user=request.user).filter(pk=after_id).exclude(script={}).first()
                 if str(after_id).isdigit() else None)
        if after is None:
            return JsonResponse({"errors": {"after": ["no generated video with that id"]}}, status=400)
    try:
        job, created = render_request_for_user(user=request.user, brief=brief, aspect=aspect, after=after)
    except QuotaExceeded as exc:
        return JsonResponse({"errors": _errors(exc)}, status=429)
    except ValidationError as exc:
        return JsonResponse({"errors": _errors(exc)}, status=400)
    return JsonResponse({**_job_json(job), "created": created}, status=202 if created else 200)


@login_required
def render_status(request, job_id: int):
    job = render_jobs_visible(user=request.user).filter(pk=job_id).first()
    if job is None:
        return JsonResponse({"errors": {"detail": ["not found"]}}, status=404)
    return JsonResponse(_job_json(job))


def _first_renders_claim(user) -> bool:
    """True once per viewer and FIRST_RENDERS_EVERY_S: onboarding again (or a reset and onboarding
    again, or a replayed POST) does not plan another render. cache.add is atomic in Redis and in
    the per-process cache, so two POSTs at once claim it once."""
    return cache.add(f"first-renders:{user.pk}:{user.date_joined.timestamp():.0f}", 1, timeout=FIRST_RENDERS_EVERY_S)


FIRST_RENDERS_EVERY_S = 24 * 3600


@login_required
@web_throttle("onboarding", per="user")
def onboarding(request):
    error = ""
    if request.method == "POST":
        try:
            profile_services.onboarding_apply(
                user=request.user, topics=request.POST.getlist("topics"), free_text=request.POST.get("free_text", "")
            )
        except ValidationError as exc:
            error = "; ".join(exc.messages)
        else:
            if _first_renders_claim(request.user):
                first_renders_request(user=request.user)
            return redirect("feed:home")
    topics = [{"slug": slug, "name": name} for slug, (name, _) in TOPICS.items()]
    return render(request, "feed/onboarding.html", {"topics": topics, "error": error}, status=400 if error else 200)


@login_required
def taste(request):
    if request.method == "POST":
        if request.POST.get("action") == "greeting":
            try:
                profile_services.greeting_set(user=request.user, display_name=request.POST.get("display_name", ""),
                                              greet_by_name=request.POST.get("greet_by_name") == "on")
                messages.info(request, "Saved: hosts will greet you by that name." if request.POST.get("greet_by_name") == "on"
                              else "Saved: hosts will not use your name.")
            except ValidationError as exc:
                messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
            return redirect("feed:taste")
        if request.POST.get("action") == "delete_account":
            # Through authenticate(), so django-axes counts a wrong password like a failed login.
            if authenticate(request, username=request.user.get_username(), password=request.POST.get("password", "")) is None:
                messages.error(request, "Enter your password to confirm deleting your account.")
                return redirect("feed:taste")
            user = request.user
            logout(request)
            profile_services.account_delete(user=user)
            return redirect("feed:signup")
        if request.POST.get("action") == "reset":
            profile_services.taste_reset(user=request.user)
            messages.info(request, "Your taste was reset. Pick a few interests to start again.")
            return redirect("feed:onboarding")
        if request.POST.get("remove", "").isdigit():
            profile_services.interest_remove(user=request.user, interest_id=int(request.POST["remove"]))
            messages.info(request, "Interest removed.")
        return redirect("feed:taste")
    interests = list(Interest.objects.filter(user=request.user))
    total = sum(i.weight for i in interests) or 1.0
    rows = [{"interest": i, "share": round(100 * i.weight / total)} for i in interests]
    profile = profile_services.profile_ensure(user=request.user)
    return render(request, "feed/taste.html", {"rows": rows, "profile": profile})


@web_throttle("signup")
def signup(request):
    if request.user.is_authenticated:
        return redirect("feed:home")
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        profile_services.profile_ensure(user=user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("feed:onboarding")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)
