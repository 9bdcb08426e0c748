from django.urls import reverse
from rest_framework import serializers

from separation.models import SeparationJob
from separation.serializers import StemSerializer

from . import mixing
from .models import Mixdown, Remix, ShareLink, Track


class ShareLinkSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    remix = serializers.PrimaryKeyRelatedField(queryset=Remix.objects.none())

    class Meta:
        model = ShareLink
        fields = ["token", "url", "remix", "created", "revoked_at"]
        read_only_fields = ["token", "url", "created", "revoked_at"]

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            fields["remix"].queryset = Remix.objects.owned_by(request.user)
        return fields

    def get_url(self, link) -> str:
        path = reverse("share-page", args=[link.token])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class MixdownSerializer(serializers.ModelSerializer):
    mp3_url = serializers.SerializerMethodField()
    flac_url = serializers.SerializerMethodField()

    class Meta:
        model = Mixdown
        fields = ["id", "status", "stems", "error", "created", "finished_at", "mp3_url", "flac_url"]
        read_only_fields = fields

    def get_mp3_url(self, mixdown) -> str | None:
        if mixdown.status != Mixdown.Status.SUCCEEDED:
            return None
        return reverse("remix-mixdown", args=[mixdown.remix_id]) + f"?id={mixdown.pk}&rendition=mp3"

    def get_flac_url(self, mixdown) -> str | None:
        if mixdown.status != Mixdown.Status.SUCCEEDED:
            return None
        return reverse("remix-mixdown", args=[mixdown.remix_id]) + f"?id={mixdown.pk}&rendition=flac"


class RemixSerializer(serializers.ModelSerializer):
    track = serializers.PrimaryKeyRelatedField(
        queryset=Track.objects.none(), required=False, help_text="Your track whose stems this remix mixes."
    )
    stems = serializers.JSONField(
        required=False, help_text='{"vocals": {"gain_db": -6, "mute": false, "solo": false, "pan": 0}, ...}'
    )
    model = serializers.CharField(source="job.model", read_only=True)
    stem_names = serializers.SerializerMethodField()
    stem_files = StemSerializer(
        source="job.stems", many=True, read_only=True, help_text="The stems this remix mixes, with their URLs."
    )
    share_links = serializers.SerializerMethodField()
    available = serializers.BooleanField(read_only=True, help_text="False once this fork was cut off its stems.")
    unavailable_reason = serializers.CharField(read_only=True, help_text="Why it was cut off; empty if available.")
    cover_url = serializers.SerializerMethodField(
        help_text="The song's cover: a fork shows the original owner's. Null without one, or once cut off."
    )
    lyrics_url = serializers.SerializerMethodField(
        help_text="The song's synced lyrics, read-only (a fork reads the original owner's). Null once cut off."
    )

    class Meta:
        model = Remix
        fields = [
            "id",
            "name",
            "track",
            "model",
            "stem_names",
            "stems",
            "stem_files",
            "title",
            "artist",
            "forked_from",
            "available",
            "unavailable_reason",
            "cover_url",
            "lyrics_url",
            "share_links",
            "created",
            "updated",
        ]
        read_only_fields = ["id", "model", "title", "artist", "forked_from", "created", "updated"]

    def to_representation(self, remix):
        data = super().to_representation(remix)
        if not remix.available:
            data["stem_files"] = []
        return data

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            fields["track"].queryset = Track.objects.owned_by(request.user)
        return fields

    def get_cover_url(self, remix) -> str | None:
        track = remix.song_track()
        return reverse("remix-cover", args=[remix.pk]) if track and track.cover else None

    def get_lyrics_url(self, remix) -> str | None:
        return reverse("remix-lyrics", args=[remix.pk]) if remix.song_track() else None

    def get_stem_names(self, remix) -> list[str]:
        return list(remix.job.stem_names) if remix.job else []

    def get_share_links(self, remix) -> list[dict]:
        links = [link for link in remix.share_links.all() if link.revoked_at is None]
        return ShareLinkSerializer(links, many=True, context=self.context).data

    def update(self, instance, validated_data):
        for attr, value in validated_data.items():
            setattr(instance, attr, value)
        # Only the fields the user changed: a fork cut off meanwhile must not get its stems back from this stale row.
        instance.save(update_fields=[*validated_data, "updated"])
        return instance

    def validate(self, attrs):
        if self.instance is None:
            track = attrs.get("track")
            if track is None:
                raise serializers.ValidationError({"track": ["This field is required."]})
            # Stems the owner asked for (and still wants): someone else's job is not theirs to use unasked.
            job = (
                SeparationJob.objects.for_audio(track.sha256, "2stems")
                .filter(
                    status=SeparationJob.Status.SUCCEEDED,
                    requests__user=track.owner,
                    requests__cancelled_at__isnull=True,
                )
                .first()
            )
            if job is None:
                raise serializers.ValidationError({"track": ["Separate this track into stems first."]})
            attrs["job"] = job
            attrs["title"], attrs["artist"] = track.title, track.artist
        elif "track" in attrs and attrs["track"] != self.instance.track:
            raise serializers.ValidationError({"track": ["A remix stays with its track; make a new remix instead."]})
        elif not self.instance.available:
            raise serializers.ValidationError(
                {"stems": [f"{self.instance.unavailable_reason} This copy can no longer change; delete it."]}
            )
        job = attrs.get("job") or self.instance.job
        try:
            attrs["stems"] = mixing.normalize(attrs.get("stems", getattr(self.instance, "stems", None)), job.stem_names)
        except mixing.SettingsError as exc:
            raise serializers.ValidationError({"stems": [str(exc)]}) from None
        return attrs


class ForkSerializer(serializers.ModelSerializer):
    """Someone's fork of your remix, as its owner sees it: who, when, shared on or not."""

    owner = serializers.CharField(source="owner.username", read_only=True)
    shared = serializers.SerializerMethodField(help_text="Whether the fork has a live share link of its own.")
    available = serializers.BooleanField(read_only=True)
    unavailable_reason = serializers.CharField(read_only=True)

    class Meta:
        model = Remix
        fields = ["id", "owner", "name", "created", "shared", "available", "unavailable_reason", "cut_off_at"]
        read_only_fields = fields

    def get_shared(self, fork) -> bool:
        return fork.available and any(link.revoked_at is None for link in fork.share_links.all())
