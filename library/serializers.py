from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from platform.datetimes import iso_datetime

from .models import Track

# Stands in for a track id in URL templates: a valid UUID for the URL patterns, never a real id.
URL_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


class SeparationSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    progress = serializers.IntegerField()


class TrackSerializer(serializers.ModelSerializer):
    title = serializers.CharField(max_length=300, allow_blank=False, trim_whitespace=True)
    artist = serializers.CharField(max_length=300, allow_blank=True, trim_whitespace=True, required=False)
    audio_url = serializers.SerializerMethodField()
    cover_url = serializers.SerializerMethodField()
    separation = serializers.SerializerMethodField(help_text="The newest 2stems job for this audio, or null.")

    class Meta:
        model = Track
        fields = [
            "id",
            "title",
            "artist",
            "original_name",
            "sha256",
            "codec",
            "duration",
            "sample_rate",
            "channels",
            "size",
            "audio_url",
            "cover_url",
            "separation",
            "created",
            "updated",
        ]
        read_only_fields = [f for f in fields if f not in {"title", "artist"}]

    def to_representation(self, track):
        # Written out by hand: DRF's field-by-field path (and a reverse() per URL)
        # took ~0.15 ms a track, most of the time of a library page of 50. The
        # declared fields above still validate input and describe the schema;
        # tests/test_track_representation.py holds the two to the same output.
        constants = self._per_request()
        track_id = str(track.id)
        return {
            "id": track_id,
            "title": track.title,
            "artist": track.artist,
            "original_name": track.original_name,
            "sha256": track.sha256,
            "codec": track.codec,
            "duration": track.duration,
            "sample_rate": track.sample_rate,
            "channels": track.channels,
            "size": track.size,
            "audio_url": constants["audio"].replace(URL_PLACEHOLDER, track_id),
            "cover_url": constants["cover"].replace(URL_PLACEHOLDER, track_id) if track.cover else None,
            "separation": self.get_separation(track),
            "created": iso_datetime(track.created, constants["tz"]),
            "updated": iso_datetime(track.updated, constants["tz"]),
        }

    def _per_request(self):
        # Worked out once per serializer (a list page shares one child serializer).
        if not hasattr(self, "_request_constants"):
            self._request_constants = {
                **{name: reverse(f"track-{name}", args=[URL_PLACEHOLDER]) for name in ("audio", "cover")},
                "tz": timezone.get_current_timezone(),
            }
        return self._request_constants

    def get_audio_url(self, track) -> str:
        return reverse("track-audio", args=[track.id])

    def get_cover_url(self, track) -> str | None:
        return reverse("track-cover", args=[track.id]) if track.cover else None

    @extend_schema_field(SeparationSummarySerializer(allow_null=True))
    def get_separation(self, track):
        if not hasattr(track, "latest_job_id"):
            track = Track.objects.with_latest_job().get(pk=track.pk)
        if track.latest_job_id is None:
            return None
        return {
            "id": str(track.latest_job_id),
            "status": track.latest_job_status,
            "progress": track.latest_job_progress,
        }


class TrackUploadSerializer(serializers.Serializer):
    """Only for the schema: the multipart fields POST /api/tracks/ accepts."""

    file = serializers.FileField(help_text="The audio file: mp3, wav, flac, ogg, m4a/aac or opus.")
    title = serializers.CharField(max_length=300, required=False)
    artist = serializers.CharField(max_length=300, required=False)
