"""The stem factory's records: one job per (audio, model), and the stems it made.

A job is keyed by the audio's sha256 and the model, never by a library track: the
same song uploaded by two people is separated once, and the library decides who
may see which job.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

MODELS = {
    "2stems": ("vocals", "accompaniment"),
    "4stems": ("vocals", "drums", "bass", "other"),
    "5stems": ("vocals", "piano", "drums", "bass", "other"),
}
# Bumped when the engine's output changes, so old stems are not mistaken for new ones.
ENGINE_VERSION = "spleeter-2.4.2-seg512-1"
MAX_ATTEMPTS = 2


class JobQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=SeparationJob.ACTIVE)

    def for_audio(self, sha256, model):
        return self.filter(sha256=sha256, model=model, engine_version=ENGINE_VERSION)

    def stale(self, now=None):
        """Running jobs whose worker stopped writing heartbeats (killed, crashed, machine lost)."""
        cutoff = (now or timezone.now()) - timezone.timedelta(seconds=settings.SEPARATION_STALE_SECONDS)
        return self.filter(status=SeparationJob.Status.RUNNING).filter(
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
        )


class SeparationJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING, Status.SUCCEEDED)
    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sha256 = models.CharField(max_length=64, help_text="sha256 of the source audio file.")
    source = models.CharField(max_length=300, help_text="Storage name of the source audio file.")
    model = models.CharField(max_length=16, choices=[(m, m) for m in MODELS])
    engine_version = models.CharField(max_length=40, default=ENGINE_VERSION)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="separation_jobs"
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0-100")
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds of audio separated.")
    realtime_factor = models.FloatField(
        null=True, blank=True, help_text="Seconds of audio per second of work (higher is faster)."
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=100, blank=True)
    task_id = models.CharField(max_length=64, blank=True, help_text="The django-q2 task that runs this job.")
    error = models.TextField(blank=True)
    mixture_peaks = models.FileField(max_length=300, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-queued_at"]
        constraints = [
            # One live job per audio and model: everyone asking shares it.
            models.UniqueConstraint(
                fields=["sha256", "model", "engine_version"],
                condition=Q(status__in=["queued", "running", "succeeded"]),
                name="job_one_live_per_audio_and_model",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="job_progress_at_most_100"),
        ]
        indexes = [models.Index(fields=["sha256", "model"], name="job_audio_model")]

    def __str__(self):
        return f"{self.model} of {self.sha256[:12]} ({self.status})"

    @property
    def stem_names(self):
        return MODELS[self.model]

    @property
    def storage_prefix(self):
        return f"stems/{self.sha256[:2]}/{self.sha256}/{self.model}-{self.id.hex[:8]}"

    # State changes are conditional updates, so two processes can never both win one.

    def claim(self, worker):
        """queued -> running for this worker; False if someone else got it or it was cancelled."""
        now = timezone.now()
        won = SeparationJob.objects.filter(pk=self.pk, status=self.Status.QUEUED).update(
            status=self.Status.RUNNING,
            started_at=now,
            heartbeat_at=now,
            worker=worker,
            attempts=F("attempts") + 1,
            progress=0,
            error="",
        )
        if won:
            self.refresh_from_db()
        return bool(won)

    def report_progress(self, percent):
        """Store progress and heartbeat; False when the job is no longer ours to run (cancelled)."""
        return bool(
            SeparationJob.objects.filter(pk=self.pk, status=self.Status.RUNNING, worker=self.worker).update(
                progress=min(100, max(0, int(percent))), heartbeat_at=timezone.now()
            )
        )

    def beat(self):
        return bool(
            SeparationJob.objects.filter(pk=self.pk, status=self.Status.RUNNING, worker=self.worker).update(
                heartbeat_at=timezone.now()
            )
        )

    def mark_succeeded(self, *, duration, realtime_factor, mixture_peaks):
        return bool(
            SeparationJob.objects.filter(pk=self.pk, status=self.Status.RUNNING, worker=self.worker).update(
                status=self.Status.SUCCEEDED,
                progress=100,
                finished_at=timezone.now(),
                duration=duration,
                realtime_factor=realtime_factor,
                mixture_peaks=mixture_peaks,
            )
        )

    def mark_failed(self, error, *, only_if_running_on=None):
        query = SeparationJob.objects.filter(pk=self.pk, status__in=[self.Status.QUEUED, self.Status.RUNNING])
        if only_if_running_on is not None:
            query = query.filter(status=self.Status.RUNNING, worker=only_if_running_on)
        return bool(query.update(status=self.Status.FAILED, finished_at=timezone.now(), error=error[:5000]))

    def cancel(self):
        return bool(
            SeparationJob.objects.filter(pk=self.pk, status__in=[self.Status.QUEUED, self.Status.RUNNING]).update(
                status=self.Status.CANCELLED, finished_at=timezone.now(), error="Cancelled."
            )
        )

    def requeue(self, *, from_statuses):
        """Back to queued (retry a failed job, or recover one whose worker died)."""
        return bool(
            SeparationJob.objects.filter(pk=self.pk, status__in=from_statuses).update(
                status=self.Status.QUEUED,
                queued_at=timezone.now(),
                started_at=None,
                finished_at=None,
                heartbeat_at=None,
                progress=0,
                worker="",
                error="",
            )
        )


class Stem(models.Model):
    job = models.ForeignKey(SeparationJob, on_delete=models.CASCADE, related_name="stems")
    name = models.CharField(max_length=20)
    lossless = models.FileField(max_length=300, help_text="FLAC, kept for downloads and mixdowns.")
    compressed = models.FileField(max_length=300, help_text="MP3, what browsers stream.")
    peaks = models.FileField(max_length=300, help_text="JSON waveform peaks.")
    duration = models.FloatField()
    size = models.PositiveBigIntegerField(default=0, help_text="Bytes of both renditions.")

    class Meta:
        ordering = ["job", "name"]
        constraints = [models.UniqueConstraint(fields=["job", "name"], name="stem_unique_name_per_job")]

    def __str__(self):
        return f"{self.name} of {self.job}"
