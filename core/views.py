from django.http import JsonResponse
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
