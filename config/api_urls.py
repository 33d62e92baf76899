"""/api/v1/: the mobile REST API; /api/schema/ and its docs, served from local static files."""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from feed import api as feed_api
from generation import api as generation_api
from profiles import api as profiles_api

class IdConverter:
    """A database id: digits that fit a 64-bit integer (a longer number is a 404, not an overflow)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(value)


register_converter(IdConverter, "id")

v1 = [
    path("auth/signup", profiles_api.SignupView.as_view(), name="signup"),
    path("auth/token", profiles_api.LoginView.as_view(), name="token"),
    path("auth/token/refresh", profiles_api.RefreshView.as_view(), name="token-refresh"),
    path("auth/logout", profiles_api.LogoutView.as_view(), name="logout"),
    path("me", profiles_api.MeView.as_view(), name="me"),
    path("me/greeting", profiles_api.GreetingView.as_view(), name="greeting"),
    path("me/taste", profiles_api.TasteView.as_view(), name="taste"),
    path("me/taste/interests/<id:interest_id>", profiles_api.InterestView.as_view(), name="interest"),
    path("me/taste/reset", profiles_api.TasteResetView.as_view(), name="taste-reset"),
    path("interactions", profiles_api.InteractionsView.as_view(), name="interactions"),
    path("feed", feed_api.FeedView.as_view(), name="feed"),
    path("videos/<id:video_id>", generation_api.VideoView.as_view(), name="video"),
    path("search", generation_api.SearchView.as_view(), name="search"),
    path("renders", generation_api.RenderListView.as_view(), name="renders"),
    path("renders/<id:job_id>", generation_api.RenderView.as_view(), name="render"),
    path("renders/<id:job_id>/cancel", generation_api.RenderCancelView.as_view(), name="render-cancel"),
]

# The docs pages under the site's CSP: Swagger UI's set-up script is fetched as a file (the split
# view) rather than inlined; both UIs inject <style> elements, so style-src allows inline styles
# on these two pages only, which show the schema and nothing a viewer wrote. ReDoc runs its search
# in a worker it builds from a blob. What they would fetch from elsewhere (ReDoc's web fonts and
# logo) stays blocked: they fall back to local fonts.
_docs = csp_update({"style-src": [UNSAFE_INLINE]})
_redoc = csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["'self'", "blob:"]})

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", _docs(SpectacularSwaggerSplitView.as_view(url_name="api:schema")), name="docs"),
    path("redoc/", _redoc(SpectacularRedocView.as_view(url_name="api:schema")), name="redoc"),
]
