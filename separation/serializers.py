from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from platform.datetimes import iso_datetime

from .engines.base import SAMPLE_RATE
from .models import MODELS, SeparationJob, Stem


class StemSerializer(serializers.ModelSerializer):
    audio_url = serializers.SerializerMethodField(help_text="Compressed rendition for browsers (Range supported).")
    flac_url = serializers.SerializerMethodField(help_text="Lossless FLAC download.")
    peaks_url = serializers.SerializerMethodField(help_text="Waveform peaks as JSON.")

    class Meta:
        model = Stem
        fields = ["id", "name", "duration", "size", "audio_url", "flac_url", "peaks_url"]

    def get_audio_url(self, stem) -> str:
        return reverse("stem-audio", args=[stem.pk])

    def get_flac_url(self, stem) -> str:
        return reverse("stem-audio", args=[stem.pk]) + "?rendition=flac"

    def get_peaks_url(self, stem) -> str:
        return reverse("stem-peaks", args=[stem.pk])


def _stem_representation(stem):
    audio_url = reverse("stem-audio", args=[stem.pk])
    return {
        "id": stem.pk,
        "name": stem.name,
        "duration": stem.duration,
        "size": stem.size,
        "audio_url": audio_url,
        "flac_url": audio_url + "?rendition=flac",
        "peaks_url": reverse("stem-peaks", args=[stem.pk]),
    }


class JobSerializer(serializers.ModelSerializer):
    stems = StemSerializer(many=True, read_only=True)
    mixture_peaks_url = serializers.SerializerMethodField()
    ready_seconds = serializers.SerializerMethodField(
        help_text="Seconds of every stem playable now: progressive chunks while it runs, the whole length once done."
    )
    chunks_url = serializers.SerializerMethodField(
        help_text="The progressive chunks' manifest, while they exist (running, and a while after success)."
    )

    class Meta:
        model = SeparationJob
        fields = [
            "id",
            "model",
            "status",
            "progress",
            "error",
            "queued_at",
            "started_at",
            "finished_at",
            "duration",
            "realtime_factor",
            "attempts",
            "stems",
            "mixture_peaks_url",
            "ready_seconds",
            "chunks_url",
        ]
        read_only_fields = fields

    def to_representation(self, job):
        # Written out by hand: DRF builds this serializer's fields (and the stems') for
        # every job, ~1 ms of the ~3 ms a status poll costs, and every waiting page polls.
        # The declared fields above still describe the schema; tests/test_job_representation.py
        # holds the two to the same output.
        tz = timezone.get_current_timezone()
        data = {
            "id": str(job.id),
            "model": job.model,
            "status": job.status,
            "progress": job.progress,
            "error": job.error,
            "queued_at": iso_datetime(job.queued_at, tz),
            "started_at": iso_datetime(job.started_at, tz),
            "finished_at": iso_datetime(job.finished_at, tz),
            "duration": job.duration,
            "realtime_factor": job.realtime_factor,
            "attempts": job.attempts,
            "stems": [_stem_representation(stem) for stem in job.stems.all()],
            "mixture_peaks_url": self.get_mixture_peaks_url(job),
            "ready_seconds": self.get_ready_seconds(job),
            "chunks_url": self.get_chunks_url(job),
        }
        if job.status_as_seen != job.status:
            # The person looking withdrew their request: for them the job is cancelled, even
            # while it goes on for someone else (SeparationJobQuerySet.with_request_of).
            data.update(
                status=job.status_as_seen,
                error="Cancelled.",
                stems=[],
                mixture_peaks_url=None,
                ready_seconds=0.0,
                chunks_url=None,
            )
        return data

    def get_ready_seconds(self, job) -> float:
        return job.ready_frames_now() / SAMPLE_RATE

    def get_chunks_url(self, job) -> str | None:
        return reverse("job-chunks", args=[job.pk]) if job.chunks_available() else None

    def get_mixture_peaks_url(self, job) -> str | None:
        return reverse("job-mixture-peaks", args=[job.pk]) if job.mixture_peaks else None


class SeparationRequestSerializer(serializers.Serializer):
    model = serializers.ChoiceField(
        choices=list(MODELS),
        default="2stems",
        error_messages={"invalid_choice": "Unknown model {input!r}; choose one of: " + ", ".join(MODELS) + "."},
    )


def analysis_representation(analysis):
    """(body, pending) for GET /api/jobs/{id}/analysis/: the result, the failure, or how far it got."""
    if analysis.status == analysis.Status.SUCCEEDED:
        return {
            "status": analysis.status,
            "key": analysis.key,
            "mode": analysis.mode,
            "tempo": analysis.tempo,
            "beats": analysis.beats,
            "notes": analysis.notes,
            "contour": analysis.contour,
        }, False
    if analysis.status in analysis.UNFINISHED:
        return {"status": analysis.status, "progress": analysis.progress}, True
    # Failed, or cancelled by an administrator: it will not come by waiting.
    return {"status": "failed", "error": analysis.error or "The analysis was stopped."}, False
