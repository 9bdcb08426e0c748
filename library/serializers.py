from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Track


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
        return {"id": track.latest_job_id, "status": track.latest_job_status, "progress": track.latest_job_progress}


class TrackUploadSerializer(serializers.Serializer):
    """Only for the schema: the multipart fields POST /api/tracks/ accepts."""

    file = serializers.FileField(help_text="The audio file: mp3, wav, flac, ogg, m4a/aac or opus.")
    title = serializers.CharField(max_length=300, required=False)
    artist = serializers.CharField(max_length=300, required=False)
