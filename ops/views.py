import ipaddress

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.clientip import client_ip
from ops.health import health_report_cached

_PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_FORWARDED")


def _bearer_is(request, token: str | None) -> bool:
    """The request carries `Authorization: Bearer <token>` for this (configured) token."""
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and constant_time_compare(given.strip(), token)


@never_cache
@require_GET
def healthz(request):
    """Status only for anyone (a load balancer, a probe); which backend failed and why, for staff
    and for internal checks with TAILOR_HEALTHZ_TOKEN. Kinds, endpoints, counts and error text
    would map the infrastructure for an outsider."""
    healthy, report, age = health_report_cached()
    body = {"status": "ok" if healthy else "unavailable"}
    user = getattr(request, "user", None)
    if (user is not None and user.is_staff) or _bearer_is(request, settings.HEALTHZ_TOKEN):
        body.update(failing=[name for name, r in report.items() if not r["ok"]], checks=report, age_s=round(age, 1))
    return JsonResponse(body, status=200 if healthy else 503)


def _metrics_allowed(request) -> bool:
    if _bearer_is(request, settings.METRICS_TOKEN):
        return True
    if not settings.TRUSTED_PROXIES and any(h in request.META for h in _PROXY_HEADERS):
        # A proxy nobody told us about: REMOTE_ADDR is its address (often 127.0.0.1) for every
        # client behind it, so the network rule would let the whole internet in.
        return False
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:  # ::ffff:10.0.0.5 from a dual-stack socket
        address = address.ipv4_mapped
    return any(address in network for network in settings.METRICS_ALLOWED_NETS)


@never_cache
@require_GET
def metrics(request):
    """Prometheus text for scrapers on TAILOR_METRICS_ALLOWED_NETS, or with TAILOR_METRICS_TOKEN."""
    if not _metrics_allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    from ops.metrics import metrics_exposition

    body, content_type = metrics_exposition()
    return HttpResponse(body, content_type=content_type)


@staff_member_required
@never_cache
@require_GET
def dashboard(request):
    """The operator dashboard: charts drawn in the browser from dashboard_json, refreshed in place."""
    try:
        refresh_ms = min(max(int(request.GET.get("refresh", 10_000)), 1_000), 300_000)
    except ValueError:
        refresh_ms = 10_000
    return render(request, "ops/dashboard.html", {"refresh_ms": refresh_ms})


@staff_member_required
@never_cache
@require_GET
def dashboard_json(request):
    from ops.dashboard import dashboard_data

    return JsonResponse(dashboard_data())
