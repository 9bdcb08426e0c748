"""Bob must not see, change, delete or stream Alice's tracks: every endpoint says 404."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from library.ingest import ingest
from library.models import Track


@pytest.fixture
def alices_track(alice, song_mp3):
    with open(song_mp3, "rb") as f:
        return ingest(alice, SimpleUploadedFile("song.mp3", f.read())).track


def test_bob_does_not_see_alices_track_in_his_list(bob_api, alices_track):
    assert bob_api.get("/api/tracks/").json()["count"] == 0


@pytest.mark.parametrize(
    "method, suffix, data",
    [
        ("get", "", None),
        ("patch", "", {"title": "Mine now"}),
        ("put", "", {"title": "Mine now", "artist": "Bob"}),
        ("delete", "", None),
        ("get", "audio/", None),
        ("get", "cover/", None),
    ],
)
def test_bob_gets_404_on_every_endpoint_of_alices_track(bob_api, alices_track, method, suffix, data):
    response = getattr(bob_api, method)(f"/api/tracks/{alices_track.pk}/{suffix}", data, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    alices_track.refresh_from_db()
    assert alices_track.title == "Morning Tune"


@pytest.mark.parametrize("method, suffix", [("get", ""), ("post", ""), ("post", "delete/")])
def test_bob_gets_404_on_alices_track_pages(client, bob, alices_track, method, suffix):
    client.force_login(bob)
    response = getattr(client, method)(f"/tracks/{alices_track.pk}/{suffix}", {"title": "Mine now"})
    assert response.status_code == 404
    assert Track.objects.filter(pk=alices_track.pk, title="Morning Tune").exists()
