from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("library/", views.library, name="library"),
    path("tracks/<uuid:pk>/", views.track, name="track"),
    path("tracks/<uuid:pk>/karaoke/", views.karaoke, name="karaoke"),
    path("tracks/<uuid:pk>/delete/", views.track_delete, name="track-delete"),
    path("remixes/", views.remix_list, name="remixes"),
    path("remixes/<uuid:pk>/", views.remix_page, name="remix"),
    path("remixes/<uuid:pk>/karaoke/", views.remix_karaoke, name="remix-karaoke"),
]
