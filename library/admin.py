"""The song library in the admin: tracks, lyrics, users with their tracks and storage,
and the library's view of separation jobs.

``separation`` knows audio, not tracks, so its job admin shows a job's audio by hash.
``LibraryJobAdmin`` below subclasses it and takes its place on the admin site, adding
which tracks hold that audio and whose they are: dependencies keep pointing one way
(library -> separation). The library also tells the monitoring dashboard how much its
original uploads take (``monitoring.register_storage``).
"""

from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from accounts.quotas import quota_for
from separation import monitoring
from separation.admin import SeparationJobAdmin, status_badge
from separation.models import SeparationJob
from separation.monitoring import format_bytes, format_seconds

from .models import Lyrics, Mixdown, Remix, RemovedShareLink, Score, ShareLink, Track

User = get_user_model()

# Tracks named per job in the job list; the rest are one link away.
TRACKS_SHOWN = 3

monitoring.register_storage("Original uploads", lambda: Track.objects.aggregate(total=Sum("size"))["total"])


def tracks_by_audio(sha256s):
    """{sha256: [Track, ...]} with owners, oldest first: one query."""
    found = {}
    for track in Track.objects.filter(sha256__in=set(sha256s)).select_related("owner").order_by("created"):
        found.setdefault(track.sha256, []).append(track)
    return found


def track_link(track):
    return format_html(
        '<a href="{}">{}</a> (<a href="{}">{}</a>)',
        reverse("admin:library_track_change", args=[track.pk]),
        track,
        reverse("admin:auth_user_change", args=[track.owner_id]),
        track.owner.get_username(),
    )


class TrackOwnerFilter(admin.SimpleListFilter):
    """Jobs for the audio of someone's tracks (a job is shared by everyone who has that song)."""

    title = "track owner"
    parameter_name = "track_owner"

    def lookups(self, request, model_admin):
        owners = User.objects.filter(tracks__isnull=False).distinct().order_by("username")[:200]
        return [(str(user.pk), user.get_username()) for user in owners]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        if not self.value().isdigit():
            return queryset.none()
        return queryset.filter(sha256__in=Track.objects.filter(owner_id=int(self.value())).values("sha256"))


class LibraryJobAdmin(SeparationJobAdmin):
    list_filter = [
        "status",
        "model",
        ("requested_by", admin.RelatedOnlyFieldListFilter),
        TrackOwnerFilter,
        "queued_at",
    ]
    audio_fields = ["tracks", *SeparationJobAdmin.audio_fields]

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term:
            # Also find jobs by the title, artist or owner of a track holding their audio.
            tracks = Track.objects.filter(
                Q(title__icontains=search_term)
                | Q(artist__icontains=search_term)
                | Q(owner__username__icontains=search_term)
            )
            found = found | queryset.filter(sha256__in=tracks.values("sha256"))
        return found, may_have_duplicates

    def prepare_page(self, jobs):
        tracks = tracks_by_audio(job.sha256 for job in jobs)
        for job in jobs:
            job.library_tracks = tracks.get(job.sha256, [])

    @admin.display(description="source", ordering="sha256")
    def audio(self, job):
        tracks = getattr(job, "library_tracks", None)
        if tracks is None:
            tracks = tracks_by_audio([job.sha256]).get(job.sha256, [])
        if not tracks:
            return format_html("{} <i>(no track)</i>", super().audio(job))
        links = format_html_join(mark_safe("<br>"), "{}", ((track_link(t),) for t in tracks[:TRACKS_SHOWN]))
        if len(tracks) > TRACKS_SHOWN:
            more = f"{reverse('admin:library_track_changelist')}?{urlencode({'sha256': job.sha256})}"
            links = format_html('{}<br><a href="{}">+{} more</a>', links, more, len(tracks) - TRACKS_SHOWN)
        return links

    @admin.display(description="tracks with this audio")
    def tracks(self, job):
        tracks = tracks_by_audio([job.sha256]).get(job.sha256, [])
        if not tracks:
            return "— (no library track holds this audio)"
        return format_html_join(mark_safe("<br>"), "{}", ((track_link(t),) for t in tracks))


admin.site.unregister(SeparationJob)
admin.site.register(SeparationJob, LibraryJobAdmin)


class LyricsInline(admin.StackedInline):
    model = Lyrics
    extra = 0
    max_num = 1


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ["title", "artist", "owner", "length", "stored", "codec", "stems", "created"]
    list_filter = [("owner", admin.RelatedOnlyFieldListFilter), "codec", "created"]
    search_fields = ["title", "artist", "owner__username", "=sha256"]
    list_select_related = ["owner"]
    date_hierarchy = "created"
    # The file and what was measured from it belong together: only the names are editable.
    fields = [
        "title",
        "artist",
        "owner",
        "original_name",
        "stored_as",
        "cover_file",
        "sha256",
        "codec",
        "duration",
        "sample_rate",
        "channels",
        "size",
        "separation_jobs",
        "created",
        "updated",
    ]
    readonly_fields = [f for f in fields if f not in ("title", "artist")]
    inlines = [LyricsInline]

    def has_add_permission(self, request):
        # Tracks come in through the upload, which probes, hashes and stores the file.
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).with_latest_job(as_owner_sees_it=False)

    @admin.display(description="length", ordering="duration")
    def length(self, track):
        return format_seconds(track.duration)

    @admin.display(description="size", ordering="size")
    def stored(self, track):
        return format_bytes(track.size)

    # Media has no public URL (every file goes through an authorizing view): names, not links.
    @admin.display(description="stored as")
    def stored_as(self, track):
        return track.original.name

    @admin.display(description="cover")
    def cover_file(self, track):
        return track.cover.name or "—"

    @admin.display(description="2stems", ordering="latest_job_status")
    def stems(self, track):
        if not track.latest_job_id:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:separation_separationjob_change", args=[track.latest_job_id]),
            status_badge(track.latest_job_status),
        )

    @admin.display(description="separation jobs")
    def separation_jobs(self, track):
        jobs = SeparationJob.objects.filter(sha256=track.sha256).order_by("-queued_at")
        if not jobs:
            return "—"
        return format_html_join(
            mark_safe("<br>"),
            '<a href="{}">{} {}</a> {}',
            (
                (
                    reverse("admin:separation_separationjob_change", args=[j.pk]),
                    j.model,
                    j.pk.hex[:8],
                    status_badge(j.status),
                )
                for j in jobs
            ),
        )


@admin.register(Lyrics)
class LyricsAdmin(admin.ModelAdmin):
    list_display = ["track", "offset_ms", "updated"]
    list_select_related = ["track"]
    search_fields = ["track__title", "track__artist", "lrc"]


# --- Users, with their tracks and the storage they use ---
# Here rather than in accounts/admin.py: accounts sits beneath the library and must not import it.


class TrackInline(admin.TabularInline):
    model = Track
    fields = ["title", "artist", "length", "stored", "codec", "created"]
    readonly_fields = fields
    ordering = ["-created"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="length")
    def length(self, track):
        return format_seconds(track.duration)

    @admin.display(description="size")
    def stored(self, track):
        return format_bytes(track.size)


admin.site.unregister(User)


@admin.register(User)
class LibraryUserAdmin(UserAdmin):
    list_display = [*UserAdmin.list_display, "track_count", "storage_used"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(track_count=Count("tracks"), storage_bytes=Sum("tracks__size"))

    def get_inlines(self, request, obj):
        return [TrackInline] if obj else []

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        return [*fieldsets, ("Library", {"fields": ["storage_summary"]})] if obj else fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "storage_summary"]

    @admin.display(description="tracks", ordering="track_count")
    def track_count(self, user):
        return user.track_count

    @admin.display(description="storage used", ordering="storage_bytes")
    def storage_used(self, user):
        return format_bytes(user.storage_bytes or 0)

    @admin.display(description="storage used")
    def storage_summary(self, user):
        used = getattr(user, "storage_bytes", None) or 0
        quota = quota_for(user).storage_bytes
        share = f"{100 * used / quota:.0f}%" if quota else "—"
        return f"{format_bytes(used)} of {format_bytes(quota)} ({share}) in {user.track_count} tracks (originals only)"


# --- Remixes ---
# Remix, ShareLink and Mixdown admins belong here, with the remix work (library/models.py):
# register them below this line, e.g. a RemixAdmin listing owner, track, job (link to the
# separation job admin), share links inline and mixdowns with their status.


class ShareLinkInline(admin.TabularInline):
    model = ShareLink
    extra = 0
    fields = ["token", "created", "revoked_at"]
    readonly_fields = ["token", "created"]


class MixdownInline(admin.TabularInline):
    model = Mixdown
    extra = 0
    fields = ["status", "created", "finished_at", "error"]
    readonly_fields = fields
    can_delete = False


@admin.register(Remix)
class RemixAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "owner", "track", "job", "forked_from", "updated"]
    list_select_related = ["owner", "track", "job", "forked_from"]
    list_filter = ["updated"]
    search_fields = ["name", "title", "artist", "owner__username"]
    readonly_fields = ["job", "track", "forked_from", "created", "updated"]
    inlines = [ShareLinkInline, MixdownInline]


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = ["token", "remix", "created", "revoked_at"]
    list_select_related = ["remix"]
    list_filter = ["revoked_at", "created"]
    search_fields = ["token", "remix__name", "remix__owner__username"]
    readonly_fields = ["token", "remix", "created"]

    def has_add_permission(self, request):
        # A link belongs to a remix its owner shares; with every field read-only, "add" saved a link to nothing (500).
        return False


@admin.register(RemovedShareLink)
class RemovedShareLinkAdmin(admin.ModelAdmin):
    """Read-only: each row only makes a deleted remix's link answer "removed" (410) instead of 404."""

    list_display = ["token_digest", "removed_at"]
    list_filter = ["removed_at"]
    readonly_fields = ["token_digest", "removed_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Mixdown)
class MixdownAdmin(admin.ModelAdmin):
    list_display = ["remix", "status", "worker", "attempts", "created", "finished_at"]
    list_select_related = ["remix"]
    list_filter = ["status"]
    readonly_fields = [
        "remix",
        "stems",
        "status",
        "mp3",
        "flac",
        "error",
        "created",
        "queued_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
        "attempts",
        "worker",
        "task_id",
    ]

    def has_add_permission(self, request):
        # Renders come from the remix API; an admin "add" had no remix to render (500).
        return False


@admin.register(Score)
class ScoreAdmin(admin.ModelAdmin):
    """The karaoke coach's scores: what people sang, read-only (a score is the coach's, not an admin's)."""

    list_display = ["track", "owner", "score", "difficulty", "sung_at"]
    list_select_related = ["track__owner"]
    list_filter = ["difficulty", "sung_at"]
    search_fields = ["track__title", "track__owner__username"]
    fields = ["track", "score", "difficulty", "sung_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="owner", ordering="track__owner__username")
    def owner(self, score):
        return score.track.owner
