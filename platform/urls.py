from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from library import sharing
from library.api import TrackViewSet
from library.api_jobs import JobViewSet, StemViewSet
from library.remix_api import RemixViewSet, ShareLinkViewSet
from platform.health import healthz
from platform.middleware import policy_with
from separation.dashboard import MonitoringStatsView, monitoring_view


class APIDocsView(SpectacularSwaggerSplitView):
    """Swagger UI; its page template has an inline <style>, so this page alone allows inline styles."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = policy_with(
            settings.CONTENT_SECURITY_POLICY, "style-src", "'unsafe-inline'"
        )
        return response


# No format-suffix routes (/api/tracks/<id>/audio.json/): the API speaks JSON only, and
# every suffix route of a custom action raised TypeError (the action takes no `format`)
# and answered 500. `?format=` still picks a renderer.
router = DefaultRouter()
router.include_format_suffixes = False
router.register("tracks", TrackViewSet, basename="track")
router.register("jobs", JobViewSet, basename="job")
router.register("stems", StemViewSet, basename="stem")
router.register("remixes", RemixViewSet, basename="remix")
router.register("shares", ShareLinkViewSet, basename="share")

# What a share link opens, for anyone holding it (library.sharing).
share_urls = [
    path("", sharing.share_page, name="share-page"),
    path("data.json", sharing.share_json, name="share-data"),
    path("stems/<str:name>/audio/", sharing.share_stem_audio, name="share-stem-audio"),
    path("stems/<str:name>/peaks/", sharing.share_stem_peaks, name="share-stem-peaks"),
    path("cover/", sharing.share_cover, name="share-cover"),
    path("mixdown/", sharing.share_mixdown, name="share-mixdown"),
]

urlpatterns = [
    # Job monitoring (separation.dashboard): staff only, before the admin's own catch-all.
    path("admin/monitoring/", admin.site.admin_view(monitoring_view), name="admin-monitoring"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/monitoring/", MonitoringStatsView.as_view(), name="api-monitoring"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as its own file, so the docs page
    # runs under the Content-Security-Policy (no inline script).
    path("api/docs/", APIDocsView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include(router.urls)),
    path("accounts/", include("accounts.urls")),
    path("s/<str:token>/", include(share_urls)),
    path("", include("frontend.urls")),
]

# JSON under /api/, branded pages elsewhere (platform.error_views).
handler400 = "platform.error_views.bad_request"
handler403 = "platform.error_views.permission_denied"
handler404 = "platform.error_views.page_not_found"
handler500 = "platform.error_views.server_error"
