from django.contrib import admin

from .models import Lyrics, Track


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ["title", "artist", "owner", "duration", "size", "codec", "created"]
    list_filter = ["codec", "created"]
    search_fields = ["title", "artist", "owner__username", "sha256"]
    list_select_related = ["owner"]
    readonly_fields = ["sha256", "codec", "duration", "sample_rate", "channels", "size", "created", "updated"]
    date_hierarchy = "created"


@admin.register(Lyrics)
class LyricsAdmin(admin.ModelAdmin):
    list_display = ["track", "offset_ms", "updated"]
    list_select_related = ["track"]
    search_fields = ["track__title", "track__artist", "lrc"]
