from rest_framework import serializers

from . import lrc
from .models import Lyrics


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers instead of quietly turning them into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class LyricsSerializer(serializers.ModelSerializer):
    lrc = StrictCharField(
        trim_whitespace=False,
        help_text="LRC text: [mm:ss.xx] per line, optional <mm:ss.xx> word times (enhanced LRC).",
    )
    offset_ms = serializers.IntegerField(
        required=False,
        min_value=-Lyrics.MAX_OFFSET_MS,
        max_value=Lyrics.MAX_OFFSET_MS,
        help_text="Timing correction in milliseconds, -30000 to 30000.",
    )
    lines = serializers.SerializerMethodField()

    class Meta:
        model = Lyrics
        fields = ["lrc", "offset_ms", "lines", "updated"]
        read_only_fields = ["lines", "updated"]

    def validate_lrc(self, value):
        try:
            self._parsed = lrc.parse(value)
        except lrc.LrcError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value

    def validate(self, attrs):
        parsed = getattr(self, "_parsed", None)
        if parsed and parsed.offset_ms and "offset_ms" not in attrs:
            # The file's own [offset:] tag, unless the request sets one.
            if abs(parsed.offset_ms) > Lyrics.MAX_OFFSET_MS:
                raise serializers.ValidationError(
                    {"lrc": [f"The [offset:] tag must be within ±{Lyrics.MAX_OFFSET_MS} ms."]}
                )
            attrs["offset_ms"] = parsed.offset_ms
        return attrs

    def get_lines(self, lyrics) -> list[dict]:
        return lrc.parse(lyrics.lrc).as_json()


def lrc_from_upload(uploaded):
    """Text of an uploaded .lrc file, read with a hard size cap."""
    data = uploaded.read(lrc.MAX_BYTES + 1)
    try:
        return lrc.decode(data)
    except lrc.LrcError as exc:
        raise serializers.ValidationError({"file": [str(exc)]}) from None
