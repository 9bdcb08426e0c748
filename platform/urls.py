from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from library.api import TrackViewSet
from library.api_jobs import JobViewSet, StemViewSet

router = DefaultRouter()
router.register("tracks", TrackViewSet, basename="track")
router.register("jobs", JobViewSet, basename="job")
router.register("stems", StemViewSet, basename="stem")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include(router.urls)),
    path("accounts/", include("accounts.urls")),
    path("", include("frontend.urls")),
]
