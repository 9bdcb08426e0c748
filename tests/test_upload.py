"""Uploading real audio: every common format, tags, cover art, duplicates."""

import hashlib

import pytest
from PIL import Image

from library.models import Track
from tests.audio_files import make_audio
from tests.helpers import files_under, upload


@pytest.mark.parametrize("ext", ["mp3", "wav", "flac", "ogg", "m4a", "opus"])
def test_it_accepts_each_common_format(alice_api, audio_dir, ext):
    path = make_audio(audio_dir / f"tone-{ext}.{ext}", seconds=2.5, freq=330)
    response = upload(alice_api, path)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["duplicate"] is False
    assert body["duration"] == pytest.approx(2.5, abs=0.1)
    assert body["channels"] == 2
    assert body["size"] == path.stat().st_size
    assert body["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    track = Track.objects.get(pk=body["id"])
    assert track.original.read() == path.read_bytes()
    assert track.original.name.endswith({"opus": ".ogg"}.get(ext, f".{ext}"))


@pytest.mark.parametrize("name", ["evil.php", "index.html", "no-extension"])
def test_the_stored_file_is_named_by_its_detected_format_not_the_uploaders_name(alice_api, song_mp3, name):
    body = upload(alice_api, song_mp3, name=name).json()
    track = Track.objects.get(pk=body["id"])
    assert track.original.name == f"tracks/{track.owner_id}/{track.pk}.mp3"
    # The name the user gave is kept; a download is named after the song, with the detected format's extension.
    assert track.original_name == name
    response = alice_api.get(f"/api/tracks/{track.pk}/audio/?download=1")
    assert response["Content-Type"] == "audio/mpeg"
    assert 'filename="The Testers - Morning Tune.mp3"' in response["Content-Disposition"]
    assert name not in response["Content-Disposition"]


def test_it_reads_title_artist_and_cover_from_tags(alice_api, song_mp3, isolated_media):
    body = upload(alice_api, song_mp3).json()
    assert (body["title"], body["artist"]) == ("Morning Tune", "The Testers")
    assert body["cover_url"] == f"/api/tracks/{body['id']}/cover/"
    track = Track.objects.get(pk=body["id"])
    with Image.open(track.cover.path) as cover:
        # A 640x480 picture thumbnailed into 512x512 keeps its shape.
        assert cover.size == (512, 384)
        assert cover.format == "JPEG"
    response = alice_api.get(body["cover_url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"


def test_untagged_files_take_artist_and_title_from_the_file_name(alice_api, song_wav):
    body = upload(alice_api, song_wav).json()
    assert (body["artist"], body["title"]) == ("Nina Sine", "Four Forty")
    assert body["cover_url"] is None


def test_fields_sent_with_the_upload_win_over_tags(alice_api, song_mp3):
    body = upload(alice_api, song_mp3, title="My Title", artist="Me").json()
    assert (body["title"], body["artist"]) == ("My Title", "Me")


def test_uploading_the_same_file_twice_returns_the_existing_track(alice_api, song_mp3, isolated_media):
    first = upload(alice_api, song_mp3)
    stored = files_under(isolated_media.MEDIA_ROOT)
    second = upload(alice_api, song_mp3, name="renamed copy.mp3")
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["duplicate"] is True
    assert second.json()["id"] == first.json()["id"]
    assert Track.objects.count() == 1
    assert files_under(isolated_media.MEDIA_ROOT) == stored
    assert files_under(isolated_media.FILE_UPLOAD_TEMP_DIR) == []


def test_the_same_file_in_two_libraries_is_two_tracks(alice_api, bob_api, song_mp3):
    assert upload(alice_api, song_mp3).status_code == 201
    assert upload(bob_api, song_mp3).status_code == 201
    assert Track.objects.count() == 2


def test_it_leaves_no_temp_file_after_a_successful_upload(alice_api, song_wav, isolated_media):
    assert upload(alice_api, song_wav).status_code == 201
    assert files_under(isolated_media.FILE_UPLOAD_TEMP_DIR) == []


def test_the_library_page_uploads_with_a_plain_form(client, alice, song_mp3):
    client.force_login(alice)
    with open(song_mp3, "rb") as f:
        response = client.post("/library/", {"file": f, "title": "", "artist": ""})
    track = Track.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/tracks/{track.pk}/"
    page = client.get(response["Location"])
    assert "Morning Tune" in page.content.decode()
    assert f"/api/tracks/{track.pk}/audio/" in page.content.decode()


def test_the_page_says_when_a_song_is_already_in_the_library(client, alice, song_mp3):
    client.force_login(alice)
    for _ in range(2):
        with open(song_mp3, "rb") as f:
            response = client.post("/library/", {"file": f}, follow=True)
    assert "You already have this song" in response.content.decode()
    assert Track.objects.count() == 1
