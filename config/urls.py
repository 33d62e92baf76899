from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views import defaults as _defaults
from django.views.static import serve

from config.api_urls import v1 as api_v1
from core.views import dashboard, dashboard_json, healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("ops/", dashboard, name="dashboard"),
    path("ops/data.json", dashboard_json, name="dashboard-data"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include((api_v1, "v1"))),
    path("api/", include(("config.api_urls", "api"))),
    path("", include("feed.urls")),
]



def media(request, path):
    # MEDIA_ROOT is read per request, not frozen when the URLconf loads.
    return serve(request, path, document_root=settings.MEDIA_ROOT)


if not settings.USE_S3:
    # Embedded mode serves its local media itself; with S3 the browser fetches presigned URLs.
    # Render keys are sha256 digests, so a URL is as hard to guess as a presigned one.
    urlpatterns.append(re_path(r"^media/(?P<path>.*)$", media))


def _json_or_html(status: int, detail: str, fallback):
    def handler(request, exception=None):
        if request.path.startswith("/api/"):
            from django.http import JsonResponse

            return JsonResponse({"error": {"status": status, "code": "not_found" if status == 404 else "server_error",
                                           "detail": detail, "fields": {}}}, status=status)
        return fallback(request, exception) if exception is not None else fallback(request)

    return handler

# The API answers in JSON even for URLs that match no view (a non-numeric id) and server errors.
handler404 = _json_or_html(404, "Not found.", _defaults.page_not_found)
handler500 = _json_or_html(500, "Server error.", _defaults.server_error)
