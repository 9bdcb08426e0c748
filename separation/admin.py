"""Separation jobs and stems in the admin, with actions to retry, cancel and re-queue jobs.

The stem factory knows audio, not libraries: which tracks use a job's audio, and whose
they are, is added by ``library/admin.py``, which subclasses ``SeparationJobAdmin`` and
fills in the ``prepare_page``/``audio`` hooks. The monitoring dashboard is
``separation.dashboard``, linked from the admin index and the job list.
"""

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import Case, DurationField, ExpressionWrapper, F, Value, When
from django.db.models.functions import Now
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django_q.models import Task

from . import charts, operations
from .models import Analysis, SeparationJob, SeparationRequest, Stem, StemVersion
from .monitoring import format_bytes, format_factor, format_seconds

Status = SeparationJob.Status

BADGE_COLOURS = {
    Status.QUEUED: "#9a6b00",
    Status.RUNNING: "#205067",
    Status.SUCCEEDED: "#2e7d4a",
    Status.FAILED: "#b3261e",
    Status.CANCELLED: "#5f6368",
}

# The admin index and the job list link to the dashboard (separation.dashboard).
admin.site.index_template = "admin/stemroom_index.html"


def status_badge(status):
    return format_html(
        '<span style="background:{};color:#fff;padding:2px 8px;border-radius:10px;font-size:11px;'
        'font-weight:600;white-space:nowrap">{}</span>',
        BADGE_COLOURS.get(status, "#5f6368"),
        SeparationJob.Status(status).label if status in Status.values else status,
    )


def short_time(moment):
    if moment is None:
        return "—"
    local = timezone.localtime(moment)
    return format_html(
        '<span title="{}" style="white-space:nowrap">{}</span>', local.isoformat(), f"{local:%d %b %H:%M:%S}"
    )


def file_names(*files):
    """Stored file names: media has no public URL, so the admin shows names, not links."""
    return format_html_join(mark_safe("<br>"), "<code>{}</code>", ((f.name,) for f in files if f)) or "—"


class StemInline(admin.TabularInline):
    model = Stem
    extra = 0
    fields = ["name", "duration", "size", "files"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="files")
    def files(self, stem):
        return file_names(stem.lossless, stem.compressed, stem.peaks)


class RequestInline(admin.TabularInline):
    """Who asked for the job; a withdrawn request has ``cancelled_at``."""

    model = SeparationRequest
    extra = 0
    fields = ["user", "created", "cancelled_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SeparationRequest)
class SeparationRequestAdmin(admin.ModelAdmin):
    list_display = ["user", "job", "created", "cancelled_at"]
    list_select_related = ["user", "job"]
    list_filter = ["cancelled_at", "created"]
    search_fields = ["user__username", "job__sha256"]
    readonly_fields = ["user", "job", "created", "cancelled_at"]

    def has_add_permission(self, request):
        return False


class JobChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        # One query for the whole page, not one per row (library/admin.py adds the tracks).
        self.model_admin.prepare_page(self.result_list)


@admin.register(SeparationJob)
class SeparationJobAdmin(admin.ModelAdmin):
    list_display = [
        "short_id",
        "audio",
        "requested_by",
        "model",
        "status_badge",
        "progress_bar",
        "queued",
        "started",
        "finished",
        "wait_time",
        "run_time",
        "rtf",
        "attempts",
        "worker",
        "error_excerpt",
    ]
    list_display_links = ["short_id"]
    list_filter = ["status", "model", ("requested_by", admin.RelatedOnlyFieldListFilter), "queued_at"]
    search_fields = ["=id", "sha256", "source", "requested_by__username", "worker", "task_id", "error"]
    date_hierarchy = "queued_at"
    list_select_related = ["requested_by"]
    list_per_page = 50
    inlines = [StemInline, RequestInline]
    actions = ["retry_jobs", "cancel_jobs", "requeue_jobs"]
    # Fields of the audio section; library/admin.py adds the tracks that hold this audio.
    audio_fields = ["sha256", "source", "duration"]

    def get_fieldsets(self, request, obj=None):
        return [
            (
                None,
                {
                    "fields": [
                        "id",
                        "status_badge",
                        "progress_bar",
                        "model",
                        "engine_version",
                        "requested_by",
                        "attempts",
                        "worker",
                        "django_q_task",
                    ]
                },
            ),
            ("Audio", {"fields": self.audio_fields}),
            (
                "Timing",
                {
                    "fields": [
                        "queued_at",
                        "started_at",
                        "heartbeat_at",
                        "finished_at",
                        "wait_time",
                        "run_time",
                        "rtf",
                    ]
                },
            ),
            ("Error", {"fields": ["full_error"]}),
            ("Stems", {"fields": ["stem_links", "mixture_peaks_file"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        return [field for _, options in self.get_fieldsets(request, obj) for field in options["fields"]]

    def get_queryset(self, request):
        as_duration = {"output_field": DurationField()}
        return (
            super()
            .get_queryset(request)
            .annotate(
                wait=Case(
                    When(
                        started_at__isnull=False,
                        then=ExpressionWrapper(F("started_at") - F("queued_at"), **as_duration),
                    ),
                    When(status=Status.QUEUED, then=ExpressionWrapper(Now() - F("queued_at"), **as_duration)),
                    default=Value(None),
                    **as_duration,
                ),
                run=Case(
                    When(
                        started_at__isnull=False,
                        finished_at__isnull=False,
                        then=ExpressionWrapper(F("finished_at") - F("started_at"), **as_duration),
                    ),
                    When(status=Status.RUNNING, then=ExpressionWrapper(Now() - F("started_at"), **as_duration)),
                    default=Value(None),
                    **as_duration,
                ),
            )
        )

    def get_changelist(self, request, **kwargs):
        return JobChangeList

    # Jobs come from the API and change only through their own state methods: the change
    # page is read-only (a form save would write back every field a worker may be updating)
    # and the actions below are what an operator can do.

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_operate_permission(self, request):
        return request.user.has_perm("separation.change_separationjob")

    # Hooks for library/admin.py.

    def prepare_page(self, jobs):
        """Called with the jobs of one changelist page, before they are shown."""

    @admin.display(description="audio", ordering="sha256")
    def audio(self, job):
        return format_html('<code title="{}">{}</code>', job.source, job.sha256[:12])

    # Columns.

    @admin.display(description="job", ordering="queued_at")
    def short_id(self, job):
        return job.pk.hex[:8]

    @admin.display(description="status", ordering="status")
    def status_badge(self, job):
        return status_badge(job.status)

    @admin.display(description="progress", ordering="progress")
    def progress_bar(self, job):
        if job.status != Status.RUNNING:
            return f"{job.progress}%"
        # Amber when the worker stopped beating.
        return charts.progress(job.progress, stale=job.is_stale(), width=90)

    # Short times keep the list on one screen; the full date is in the tooltip and on the job's page.

    @admin.display(description="queued", ordering="queued_at")
    def queued(self, job):
        return short_time(job.queued_at)

    @admin.display(description="started", ordering="started_at")
    def started(self, job):
        return short_time(job.started_at)

    @admin.display(description="finished", ordering="finished_at")
    def finished(self, job):
        return short_time(job.finished_at)

    @admin.display(description="wait", ordering="wait")
    def wait_time(self, job):
        wait = getattr(job, "wait", None)
        return format_seconds(wait.total_seconds()) if wait is not None else "—"

    @admin.display(description="run time", ordering="run")
    def run_time(self, job):
        run = getattr(job, "run", None)
        return format_seconds(run.total_seconds()) if run is not None else "—"

    @admin.display(description="real-time factor", ordering="realtime_factor")
    def rtf(self, job):
        return format_factor(job.realtime_factor)

    @admin.display(description="error")
    def error_excerpt(self, job):
        if not job.error:
            return ""
        first_line = job.error.strip().splitlines()[0] if job.error.strip() else job.error
        return format_html('<span title="{}">{}</span>', job.error[:1000], Truncator(first_line).chars(50))

    # Change page.

    @admin.display(description="error")
    def full_error(self, job):
        if not job.error:
            return "—"
        return format_html('<pre style="white-space:pre-wrap;margin:0">{}</pre>', job.error)

    @admin.display(description="django-q2 task")
    def django_q_task(self, job):
        if not job.task_id:
            return "— (not sent to the workers yet)"
        task = Task.objects.filter(id=job.task_id).only("id", "success").first()
        if task is not None:
            kind = "success" if task.success else "failure"
            return format_html(
                '<a href="{}">{} task {}</a>',
                reverse(f"admin:django_q_{kind}_change", args=[task.pk]),
                "Successful" if task.success else "Failed",
                task.pk,
            )
        waiting = operations.broker_tasks([job.task_id]).get(job.task_id)
        if waiting:
            return format_html(
                '<a href="{}">In the broker queue</a> (task {})',
                reverse("admin:django_q_ormq_change", args=[waiting[0].pk]),
                job.task_id,
            )
        return format_html("{} (no record: still running, or its result was pruned)", job.task_id)

    @admin.display(description="stems")
    def stem_links(self, job):
        stems = list(job.stems.all())
        if not stems:
            return "—"
        return format_html_join(
            ", ",
            '<a href="{}">{}</a> ({})',
            ((reverse("admin:separation_stem_change", args=[s.pk]), s.name, format_bytes(s.size)) for s in stems),
        )

    @admin.display(description="mixture peaks")
    def mixture_peaks_file(self, job):
        return file_names(job.mixture_peaks)

    def render_change_form(self, request, context, *args, **kwargs):
        context["operate"] = self.has_operate_permission(request)
        context["job_buttons"] = [
            ("retry_jobs", "Retry", SeparationJob.RETRYABLE),
            ("cancel_jobs", "Cancel", SeparationJob.UNFINISHED),
            ("requeue_jobs", "Re-queue if stuck", SeparationJob.UNFINISHED),
        ]
        return super().render_change_form(request, context, *args, **kwargs)

    # Actions.

    @admin.action(description="Retry selected failed or cancelled jobs", permissions=["operate"])
    def retry_jobs(self, request, queryset):
        return self._operate(request, queryset, operations.retry, "queued again")

    @admin.action(description="Cancel selected queued or running jobs", permissions=["operate"])
    def cancel_jobs(self, request, queryset):
        return self._operate(request, queryset, operations.cancel, "cancelled")

    @admin.action(
        description="Re-queue selected stuck jobs (running without a heartbeat, or queued with no task)",
        permissions=["operate"],
    )
    def requeue_jobs(self, request, queryset):
        now = timezone.now()
        return self._operate(request, queryset, lambda job: operations.requeue(job, now), "re-queued")

    def _operate(self, request, queryset, operation, verb):
        jobs = list(queryset.order_by("queued_at"))
        outcomes = [operation(job) for job in jobs]
        done = sum(1 for o in outcomes if o.done)
        skipped = [o.message for o in outcomes if not o.done]
        if done:
            self.message_user(request, f"{done} job{'s' if done != 1 else ''} {verb}.", messages.SUCCESS)
        for message in skipped[:5]:
            self.message_user(request, f"Left alone: {message}", messages.WARNING)
        if len(skipped) > 5:
            self.message_user(request, f"…and {len(skipped) - 5} more left alone.", messages.WARNING)
        # The buttons on a job's own page come back to it.
        if request.POST.get("_back_to_job") and len(jobs) == 1:
            return redirect("admin:separation_separationjob_change", jobs[0].pk)
        return None


@admin.register(Stem)
class StemAdmin(admin.ModelAdmin):
    list_display = ["name", "job_link", "duration", "stored"]
    list_select_related = ["job"]
    list_filter = ["name", "job__model"]
    search_fields = ["job__sha256", "name", "=job__id"]
    fields = ["job_link", "name", "duration", "stored", "files"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="job", ordering="job__queued_at")
    def job_link(self, stem):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:separation_separationjob_change", args=[stem.job_id]), stem.job
        )

    @admin.display(description="size", ordering="size")
    def stored(self, stem):
        return format_bytes(stem.size)

    @admin.display(description="files")
    def files(self, stem):
        return file_names(stem.lossless, stem.compressed, stem.peaks)


class ReadOnlyJobOutputAdmin(admin.ModelAdmin):
    """What workers make from a separation (analyses, key/tempo versions): shown, never edited here."""

    list_select_related = ["job"]
    list_filter = ["status"]
    search_fields = ["job__sha256", "=job__id", "=id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="job", ordering="job__queued_at")
    def job_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:separation_separationjob_change", args=[obj.job_id]), obj.job
        )


@admin.register(Analysis)
class AnalysisAdmin(ReadOnlyJobOutputAdmin):
    list_display = ["job_link", "status", "key", "mode", "tempo", "note_count", "seconds", "finished_at"]
    list_filter = ["status", "mode"]
    fields = ["job_link", "status", "progress", "key", "mode", "tempo", "note_count", "seconds"]
    fields += ["queued_at", "started_at", "finished_at", "worker", "attempts", "error"]
    readonly_fields = fields

    @admin.display(description="sung notes")
    def note_count(self, analysis):
        return len(analysis.notes or [])


@admin.register(StemVersion)
class StemVersionAdmin(ReadOnlyJobOutputAdmin):
    list_display = ["job_link", "semitones", "tempo", "status", "progress", "requested_by", "created"]
    list_select_related = ["job", "requested_by"]
    fields = ["job_link", "semitones", "tempo", "status", "progress", "requested_by", "files", "duration"]
    fields += ["queued_at", "started_at", "finished_at", "worker", "attempts", "error"]
    readonly_fields = fields

    @admin.display(description="files")
    def files(self, version):
        return file_names(version.accompaniment, version.vocals)
