"""The karaoke coach's scores of a track: what POST /api/tracks/{id}/scores/ accepts and both methods answer."""

from rest_framework import serializers

from .models import Score

RECENT = 10


class StrictIntegerField(serializers.IntegerField):
    """An IntegerField that refuses 8412.5, "8412" and true instead of quietly turning them into a number."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class ScoreSerializer(serializers.ModelSerializer):
    score = StrictIntegerField(min_value=0, max_value=Score.MAX, help_text="The song's score, 0 to 10000.")

    class Meta:
        model = Score
        fields = ["score", "difficulty", "sung_at"]
        read_only_fields = ["sung_at"]


class PersonalBestSerializer(serializers.Serializer):
    easy = serializers.IntegerField(allow_null=True)
    medium = serializers.IntegerField(allow_null=True)
    hard = serializers.IntegerField(allow_null=True)


class ScoresSerializer(serializers.Serializer):
    """GET: the personal best at each difficulty (null: never sung at it) and the latest scores."""

    personal_best = PersonalBestSerializer()
    recent = ScoreSerializer(many=True)


class SavedScoreSerializer(ScoreSerializer):
    """POST's answer: the score as saved, the personal bests with it, and whether it is a new one."""

    personal_best = PersonalBestSerializer(read_only=True)
    new_best = serializers.BooleanField(read_only=True)

    class Meta(ScoreSerializer.Meta):
        fields = [*ScoreSerializer.Meta.fields, "personal_best", "new_best"]


def scores_of(track):
    scores = Score.objects.filter(track=track)
    return {"personal_best": scores.personal_bests(), "recent": list(scores[:RECENT])}


def save_score(track, data):
    """Save a validated score; the answer says whether it beat every earlier one at its difficulty."""
    before = Score.objects.filter(track=track).personal_bests()[data["difficulty"]]
    saved = Score.objects.create(track=track, **data)
    saved.personal_best = Score.objects.filter(track=track).personal_bests()
    saved.new_best = before is None or saved.score > before
    return saved
