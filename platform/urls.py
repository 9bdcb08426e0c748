from django.contrib import admin
from django.urls import include, path
from rest_framework.routers import DefaultRouter

from library.api import TrackViewSet

router = DefaultRouter()
router.register("tracks", TrackViewSet, basename="track")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(router.urls)),
    path("accounts/", include("accounts.urls")),
    path("", include("frontend.urls")),
]
