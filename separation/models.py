"""The stem factory's records: one job per (audio, model), and the stems it made.

A job is keyed by the audio's sha256 and the model, never by a library track: the
same song uploaded by two people is separated once, and the library decides who
may see which job.
"""

import uuid

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from .chunks import delete_tree
from .engines.base import SAMPLE_RATE, EngineError
from .jobs import BackgroundJob, JobQuerySet

MODELS = {
    "2stems": ("vocals", "accompaniment"),
    "4stems": ("vocals", "drums", "bass", "other"),
    "5stems": ("vocals", "piano", "drums", "bass", "other"),
}
# Bumped when the engine's output changes, so old stems are not mistaken for new ones.
ENGINE_VERSION = "spleeter-2.4.2-seg512-1"


class SeparationJobQuerySet(JobQuerySet):
    def for_audio(self, sha256, model):
        return self.filter(sha256=sha256, model=model, engine_version=ENGINE_VERSION)

    def asked_for_by(self, user):
        return self.filter(requests__user=user)

    def with_request_of(self, user):
        """Annotate ``request_cancelled_at``: when ``user`` withdrew their request (None: still wanted, or never asked)."""
        mine = SeparationRequest.objects.filter(user=user, job=OuterRef("pk"))
        return self.annotate(request_cancelled_at=Subquery(mine.values("cancelled_at")[:1]))


class SeparationJob(BackgroundJob):
    TASK = "separation.tasks.run_job"
    ACTIVITY = "separating this track"
    # The engine's errors are written for the person who asked.
    expected_errors = (EngineError,)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sha256 = models.CharField(max_length=64, help_text="sha256 of the source audio file.")
    source = models.CharField(max_length=300, help_text="Storage name of the source audio file.")
    source_seconds = models.FloatField(
        null=True,
        blank=True,
        help_text="Decoded length of the source when it was asked for: the worker separates no more than this.",
    )
    model = models.CharField(max_length=16, choices=[(m, m) for m in MODELS])
    engine_version = models.CharField(max_length=40, default=ENGINE_VERSION)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="separation_jobs"
    )
    duration = models.FloatField(null=True, blank=True, help_text="Seconds of audio separated.")
    realtime_factor = models.FloatField(
        null=True, blank=True, help_text="Seconds of audio per second of work (higher is faster)."
    )
    mixture_peaks = models.FileField(max_length=300, blank=True)
    ready_frames = models.PositiveBigIntegerField(
        default=0,
        help_text="Frames of every stem stored as progressive chunks so far (separation.chunks); "
        "the whole length once it succeeded.",
    )
    chunks_removed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the progressive chunks went, once the final files had taken over."
    )

    objects = SeparationJobQuerySet.as_manager()

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

    @property
    def chunks_folder(self):
        """This run's progressive chunks (separation.chunks): one folder per run, named by its start."""
        started = self.started_at.strftime("%Y%m%dT%H%M%S%f") if self.started_at else "unstarted"
        return f"{self.storage_prefix}/chunks/{started}"

    @property
    def all_chunks_folder(self):
        return f"{self.storage_prefix}/chunks"

    def run_reset(self):
        # A restarted run makes its chunks again from the start, in a folder of its own.
        return {"ready_frames": 0, "chunks_removed_at": None}

    def report_chunk(self, ready_frames):
        """Chunks up to ``ready_frames`` are stored; False when the job is no longer this worker's (cancelled, taken over)."""
        return self._move(
            [self.Status.RUNNING], on_worker=self.worker, ready_frames=ready_frames, heartbeat_at=timezone.now()
        )

    def chunks_available(self, status=None):
        """Chunks can be listed: while it runs, and after it succeeded until the sweep removed them."""
        status = status or self.status
        if status == self.Status.RUNNING:
            return True
        return status == self.Status.SUCCEEDED and self.ready_frames > 0 and self.chunks_removed_at is None

    def ready_frames_now(self, status=None):
        """Frames of every stem playable now, for someone who sees the job as ``status``."""
        status = status or self.status
        if status == self.Status.SUCCEEDED:
            # Jobs from before progressive chunks, or swept, count their whole length.
            return self.ready_frames or round((self.duration or 0) * SAMPLE_RATE)
        return self.ready_frames if status == self.Status.RUNNING else 0

    @property
    def status_as_seen(self):
        """The status for the person this row was loaded for (``with_request_of``): cancelled once they withdrew."""
        return self.Status.CANCELLED if getattr(self, "request_cancelled_at", None) else self.status

    def task_options(self):
        return {
            "task_name": f"separate {self.model} {self.sha256[:12]} {self.pk.hex[:8]}",
            "cluster": settings.SEPARATION_CLUSTER or None,
        }

    def failure_message(self, exc):
        if isinstance(exc, self.expected_errors):
            return str(exc)
        return (
            f"Separation failed unexpectedly ({type(exc).__name__}: {exc}). Retry it; if it fails again, "
            "tell the administrator."
        )

    def partial_output_names(self):
        try:
            _, files = default_storage.listdir(self.storage_prefix)
        except FileNotFoundError:
            return []
        return [f"{self.storage_prefix}/{name}" for name in files]

    def discard_partial_output(self):
        """Stem rows too, besides the stored files under the job's prefix and its scratch folder."""
        self.stems.all().delete()
        super().discard_partial_output()
        delete_tree(self.all_chunks_folder)


class SeparationRequestQuerySet(models.QuerySet):
    def live(self):
        """Requests whose person still wants the stems."""
        return self.filter(cancelled_at__isnull=True)

    def in_flight(self):
        """Live requests whose job still has to run: what counts against a person's cap."""
        return self.live().filter(job__status__in=SeparationJob.UNFINISHED)


class SeparationRequest(models.Model):
    """One person asked for one (shared) job.

    Jobs are shared by everyone who asks for the same audio and model; each person's
    request is their own: they see a job only once they asked for it, cancelling
    withdraws their request, and the job stops only when no live request remains.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="separation_requests")
    job = models.ForeignKey(SeparationJob, on_delete=models.CASCADE, related_name="requests")
    created = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects = SeparationRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        constraints = [models.UniqueConstraint(fields=["user", "job"], name="request_one_per_user_and_job")]

    def __str__(self):
        return f"{self.user} asked for {self.job}" + (" (cancelled)" if self.cancelled_at else "")


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


class Analysis(BackgroundJob):
    """What a separated song is made of: its key, tempo and beats, and the sung melody (separation.analysis).

    One per separation job, shared by everyone who may see the job, like its stems. Made
    after the job's final files exist, so it never delays first sound.
    """

    TASK = "separation.analysis_tasks.run_analysis"
    ACTIVITY = "analysing this song"
    SCRATCH = "analysis"
    # Unreadable or missing stem files (soundfile's errors are RuntimeErrors).
    expected_errors = (EngineError, OSError, RuntimeError)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.OneToOneField(SeparationJob, on_delete=models.CASCADE, related_name="analysis")
    key = models.CharField(max_length=2, blank=True, help_text="Tonic, e.g. A or F#.")
    mode = models.CharField(max_length=5, blank=True, help_text="major or minor.")
    tempo = models.FloatField(null=True, blank=True, help_text="Beats per minute.")
    beats = models.JSONField(default=list, blank=True, help_text="Beat times in seconds.")
    notes = models.JSONField(default=list, blank=True, help_text='Sung notes: [{"start": s, "end": s, "midi": n}].')
    contour = models.JSONField(
        default=dict, blank=True, help_text='Sung pitch: {"hop": s, "midi": [float or null, ...]}.'
    )
    seconds = models.FloatField(null=True, blank=True, help_text="Seconds the analysis took.")

    class Meta:
        verbose_name_plural = "analyses"
        constraints = [models.CheckConstraint(condition=Q(progress__lte=100), name="analysis_progress_at_most_100")]

    def __str__(self):
        return f"Analysis of {self.job} ({self.status})"

    def task_options(self):
        return {
            "task_name": f"analyse {self.job.sha256[:12]} {self.pk.hex[:8]}",
            "cluster": settings.ANALYSIS_CLUSTER or None,
        }

    def failure_message(self, exc):
        if isinstance(exc, self.expected_errors):
            return f"Analysis failed: {exc}"
        return super().failure_message(exc)


# What a key/tempo version may ask for (issue 12): a singer's range, a practice speed.
SEMITONES_RANGE = (-6, 6)
TEMPO_RANGE = (50, 150)
# The stems a version renders: the karaoke player's accompaniment and vocal guide.
VERSION_STEMS = ("accompaniment", "vocals")


def versions_folder(job_id):
    """Where a separation's key/tempo versions are stored, beside (not inside) its stems."""
    return f"versions/{job_id.hex}"


class StemVersion(BackgroundJob):
    """A job's accompaniment and vocals at another key and tempo, rendered by Rubber Band (separation.keytempo).

    Shared like the stems it is made from: one per (job, semitones, tempo), whoever
    asked first; it goes with the job's files when the job goes (CASCADE + signals).
    """

    TASK = "separation.keytempo.run_version"
    ACTIVITY = "changing this song's key and tempo"
    SCRATCH = "keytempo"
    expected_errors = (EngineError,)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(SeparationJob, on_delete=models.CASCADE, related_name="versions")
    semitones = models.SmallIntegerField(help_text="Pitch shift, -6 to +6 semitones.")
    tempo = models.PositiveSmallIntegerField(help_text="Speed in percent of the original, 50 to 150.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="stem_versions"
    )
    accompaniment = models.FileField(max_length=300, blank=True)
    vocals = models.FileField(max_length=300, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds of the rendered stems.")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(fields=["job", "semitones", "tempo"], name="version_one_per_job_key_tempo"),
            models.CheckConstraint(
                condition=Q(semitones__gte=SEMITONES_RANGE[0], semitones__lte=SEMITONES_RANGE[1]),
                name="version_semitones_in_range",
            ),
            models.CheckConstraint(
                condition=Q(tempo__gte=TEMPO_RANGE[0], tempo__lte=TEMPO_RANGE[1]), name="version_tempo_in_range"
            ),
        ]

    def __str__(self):
        return f"{self.semitones:+d} st, {self.tempo}% of {self.job} ({self.status})"

    @property
    def storage_base(self):
        # From ids alone: the files can be found (and removed) without loading the job.
        return f"{versions_folder(self.job_id)}/{self.pk.hex}"

    def storage_name(self, stem):
        return f"{self.storage_base}/{stem}.mp3"

    def task_options(self):
        return {"task_name": f"keytempo {self.semitones:+d} {self.tempo}% {self.pk.hex[:8]}"}

    def failure_message(self, exc):
        if isinstance(exc, self.expected_errors):
            return f"Changing the key and tempo failed: {exc}"
        return super().failure_message(exc)

    def partial_output_names(self):
        return [self.storage_name(stem) for stem in VERSION_STEMS]
