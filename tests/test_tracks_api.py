"""Listing, searching, sorting, editing and deleting tracks through the API."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from library.ingest import ingest
from library.models import Track
from tests.audio_files import make_audio
from tests.helpers import files_under


@pytest.fixture(scope="module")
def tones(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tones")
    return [make_audio(folder / f"tone{i}.wav", seconds=1 + i * 0.5, freq=200 + 50 * i) for i in range(3)]


def add(owner, path, **fields):
    with open(path, "rb") as f:
        return ingest(owner, SimpleUploadedFile(path.name, f.read()), **fields).track


@pytest.fixture
def alices_tracks(alice, tones):
    return [
        add(alice, tones[0], title="Blue Moon", artist="Ella"),
        add(alice, tones[1], title="Yellow Submarine", artist="The Beatles"),
        add(alice, tones[2], title="Moonlight", artist="Beethoven"),
    ]


def test_the_list_is_paginated(alice_api, alices_tracks):
    body = alice_api.get("/api/tracks/?page_size=2").json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"].endswith("page=2&page_size=2")


def test_search_matches_title_or_artist(alice_api, alices_tracks):
    titles = {t["title"] for t in alice_api.get("/api/tracks/?search=moon").json()["results"]}
    assert titles == {"Blue Moon", "Moonlight"}
    titles = {t["title"] for t in alice_api.get("/api/tracks/?search=beatles").json()["results"]}
    assert titles == {"Yellow Submarine"}


def test_it_sorts_by_title_and_duration(alice_api, alices_tracks):
    titles = [t["title"] for t in alice_api.get("/api/tracks/?ordering=title").json()["results"]]
    assert titles == ["Blue Moon", "Moonlight", "Yellow Submarine"]
    durations = [t["duration"] for t in alice_api.get("/api/tracks/?ordering=-duration").json()["results"]]
    assert durations == sorted(durations, reverse=True)


def test_detail_and_edit(alice_api, alices_tracks):
    track = alices_tracks[0]
    assert alice_api.get(f"/api/tracks/{track.pk}/").json()["title"] == "Blue Moon"
    response = alice_api.patch(
        f"/api/tracks/{track.pk}/", {"title": "  Blue Moon (live) ", "artist": "Ella F."}, format="json"
    )
    assert response.status_code == 200
    track.refresh_from_db()
    assert (track.title, track.artist) == ("Blue Moon (live)", "Ella F.")


def test_edit_refuses_an_empty_title_and_keeps_the_old_one(alice_api, alices_tracks):
    track = alices_tracks[0]
    response = alice_api.patch(f"/api/tracks/{track.pk}/", {"title": "   "}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "title: This field may not be blank."
    assert response.json()["fields"]["title"] == ["This field may not be blank."]
    track.refresh_from_db()
    assert track.title == "Blue Moon"


def test_edit_ignores_read_only_fields(alice_api, alices_tracks):
    track = alices_tracks[0]
    alice_api.patch(f"/api/tracks/{track.pk}/", {"sha256": "0" * 64, "duration": 999}, format="json")
    track.refresh_from_db()
    assert track.sha256 != "0" * 64
    assert track.duration < 10


def test_delete_removes_the_row_and_its_files(
    alice_api, alices_tracks, isolated_media, django_capture_on_commit_callbacks
):
    track = alices_tracks[0]
    original = track.original.name
    assert original in files_under(isolated_media.MEDIA_ROOT)
    # Files go once the deletion commits.
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.delete(f"/api/tracks/{track.pk}/")
    assert response.status_code == 204
    assert not Track.objects.filter(pk=track.pk).exists()
    assert original not in files_under(isolated_media.MEDIA_ROOT)
    # The other two tracks' originals and waveforms (tracks/<owner>/<id>.peaks.json).
    assert len(files_under(isolated_media.MEDIA_ROOT)) == 4


def test_anonymous_clients_get_401(client, alices_tracks):
    response = client.get("/api/tracks/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert client.get(f"/api/tracks/{alices_tracks[0].pk}/audio/").status_code == 401


def test_a_malformed_id_is_404(alice_api, alices_tracks):
    assert alice_api.get("/api/tracks/not-a-uuid/").status_code == 404
