from django.urls import reverse
from rest_framework import serializers

from .models import Track


class TrackSerializer(serializers.ModelSerializer):
    title = serializers.CharField(max_length=300, allow_blank=False, trim_whitespace=True)
    artist = serializers.CharField(max_length=300, allow_blank=True, trim_whitespace=True, required=False)
    audio_url = serializers.SerializerMethodField()
    cover_url = serializers.SerializerMethodField()

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
            "created",
            "updated",
        ]
        read_only_fields = [f for f in fields if f not in {"title", "artist"}]

    def get_audio_url(self, track) -> str:
        return reverse("track-audio", args=[track.id])

    def get_cover_url(self, track) -> str | None:
        return reverse("track-cover", args=[track.id]) if track.cover else None


class TrackUploadSerializer(serializers.Serializer):
    """Only for the schema: the multipart fields POST /api/tracks/ accepts."""

    file = serializers.FileField(help_text="The audio file: mp3, wav, flac, ogg, m4a/aac or opus.")
    title = serializers.CharField(max_length=300, required=False)
    artist = serializers.CharField(max_length=300, required=False)
