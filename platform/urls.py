from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from library import sharing
from library.api import TrackViewSet
from library.api_jobs import JobViewSet, StemViewSet
from library.remix_api import RemixViewSet, ShareLinkViewSet
from platform.health import healthz
from separation.dashboard import MonitoringStatsView, monitoring_view

router = DefaultRouter()
router.register("tracks", TrackViewSet, basename="track")
router.register("jobs", JobViewSet, basename="job")
router.register("stems", StemViewSet, basename="stem")
router.register("remixes", RemixViewSet, basename="remix")
router.register("shares", ShareLinkViewSet, basename="share")
# No format-suffix routes: every custom action's .json twin raised TypeError (issue 9, item 7).
router.include_format_suffixes = False

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
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include(router.urls)),
    path("accounts/", include("accounts.urls")),
    path("s/<str:token>/", include(share_urls)),
    path("", include("frontend.urls")),
]
