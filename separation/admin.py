from django.contrib import admin

from .models import SeparationJob, Stem


class StemInline(admin.TabularInline):
    model = Stem
    extra = 0
    readonly_fields = ["name", "duration", "size", "lossless", "compressed", "peaks"]
    can_delete = False


@admin.register(SeparationJob)
class SeparationJobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "model",
        "status",
        "progress",
        "requested_by",
        "queued_at",
        "realtime_factor",
        "attempts",
        "worker",
    ]
    list_filter = ["status", "model", "queued_at"]
    search_fields = ["sha256", "id", "requested_by__username", "worker", "error"]
    date_hierarchy = "queued_at"
    list_select_related = ["requested_by"]
    readonly_fields = [f.name for f in SeparationJob._meta.fields]
    inlines = [StemInline]


@admin.register(Stem)
class StemAdmin(admin.ModelAdmin):
    list_display = ["name", "job", "duration", "size"]
    list_select_related = ["job"]
    search_fields = ["job__sha256", "name"]
