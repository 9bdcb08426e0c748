"""The hand-written track representation says exactly what DRF's declared fields would."""

import json

import pytest
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIRequestFactory

from library.models import Track
from library.serializers import TrackSerializer
from separation.models import SeparationJob, SeparationRequest


def track(owner, n, **extra):
    return Track.objects.create(
        owner=owner,
        title=f"Song {n}",
        artist="" if n % 2 else "The Testers",
        original=f"tracks/x/{n}.mp3",
        original_name=f"{n}.mp3",
        sha256=f"{n:064x}",
        codec="mp3",
        duration=187.25 + n,
        sample_rate=44100,
        channels=2,
        size=4_000_000 + n,
        **extra,
    )


@pytest.fixture
def tracks(alice):
    plain = track(alice, 1)
    with_cover = track(alice, 2, cover="covers/x/2.jpg")
    separated = track(alice, 3)
    job = SeparationJob.objects.create(
        sha256=separated.sha256, source="x", model="2stems", status="running", progress=42
    )
    SeparationRequest.objects.create(user=alice, job=job)
    return [plain, with_cover, separated]


def rendered(data):
    return json.loads(JSONRenderer().render(data))


def test_it_matches_drfs_field_by_field_output(tracks):
    request = APIRequestFactory().get("/api/tracks/")
    for item in Track.objects.with_latest_job().filter(pk__in=[t.pk for t in tracks]):
        serializer = TrackSerializer(context={"request": request})
        by_hand = serializer.to_representation(item)
        by_fields = serializers.ModelSerializer.to_representation(serializer, item)
        assert list(by_hand) == list(by_fields)
        assert rendered(by_hand) == rendered(by_fields)


def test_the_list_shows_covers_and_job_status(alice_api, tracks):
    rows = {row["title"]: row for row in alice_api.get("/api/tracks/").json()["results"]}
    assert rows["Song 1"]["cover_url"] is None
    assert rows["Song 2"]["cover_url"] == f"/api/tracks/{tracks[1].pk}/cover/"
    assert rows["Song 3"]["separation"]["status"] == "running"
    assert rows["Song 3"]["separation"]["progress"] == 42
    assert rows["Song 1"]["audio_url"] == f"/api/tracks/{tracks[0].pk}/audio/"
