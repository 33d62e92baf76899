from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views import defaults as _defaults

from config.api_urls import v1 as api_v1
from core.clientip import client_ip
from generation.media import media
from core.throttles import email_ident, throttle_wait, throttled_response
from ops.views import dashboard, dashboard_json, healthz, metrics


def password_reset(request, *args, **kwargs):
    """Django's password reset, with each POST counted per client address and per email asked
    for: neither a script nor a mail-bomb of one inbox gets far."""
    if request.method == "POST":
        wait = throttle_wait(request, "password_reset", client_ip(request), email_ident(request.POST.get("email", "")))
        if wait is not None:
            return throttled_response(request, wait)
    return auth_views.PasswordResetView.as_view()(request, *args, **kwargs)


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("ops/", dashboard, name="dashboard"),
    path("ops/data.json", dashboard_json, name="dashboard-data"),
    path("admin/", admin.site.urls),
    path("accounts/password_reset/", password_reset, name="password_reset"),  # before the include: it wins
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include((api_v1, "v1"))),
    path("api/", include(("config.api_urls", "api"))),
    # Local media through the authorising view only (it serves nothing when USE_S3 is on).
    re_path(r"^media/(?P<path>.+)$", media, name="media"),
    path("", include("feed.urls")),
]


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
