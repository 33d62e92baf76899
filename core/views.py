from django.contrib.admin.views.decorators import staff_member_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.health import health_report


@never_cache
@require_GET
def healthz(request):
    healthy, report = health_report()
    failing = [name for name, r in report.items() if not r["ok"]]
    body = {"status": "ok" if healthy else "unavailable", "failing": failing, "checks": report}
    return JsonResponse(body, status=200 if healthy else 503)


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
    from core.dashboard import dashboard_data

    return JsonResponse(dashboard_data())
