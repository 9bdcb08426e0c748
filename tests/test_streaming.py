"""Authorized media streaming with HTTP Range, so <audio> can seek."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from library.ingest import ingest
from library.streaming import parse_range


@pytest.fixture
def track(alice, song_mp3):
    with open(song_mp3, "rb") as f:
        return ingest(alice, SimpleUploadedFile("song.mp3", f.read())).track


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_plain_request_gets_the_whole_file(alice_api, track, song_mp3):
    response = alice_api.get(f"/api/tracks/{track.pk}/audio/")
    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "audio/mpeg"
    assert int(response["Content-Length"]) == song_mp3.stat().st_size
    assert body(response) == song_mp3.read_bytes()


@pytest.mark.parametrize(
    "header, start, end",
    [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-", 1000, None),
        ("bytes=-500", None, None),
        ("bytes=100-999999999", 100, None),
    ],
)
def test_a_range_request_gets_206_with_exactly_those_bytes(alice_api, track, song_mp3, header, start, end):
    data = song_mp3.read_bytes()
    size = len(data)
    if start is None:
        start = size - 500
    if end is None:
        end = size - 1
    response = alice_api.get(f"/api/tracks/{track.pk}/audio/", HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/{size}"
    assert int(response["Content-Length"]) == end - start + 1
    assert response["Accept-Ranges"] == "bytes"
    assert body(response) == data[start : end + 1]


def test_a_range_past_the_end_is_416(alice_api, track, song_mp3):
    size = song_mp3.stat().st_size
    response = alice_api.get(f"/api/tracks/{track.pk}/audio/", HTTP_RANGE=f"bytes={size}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{size}"


def test_a_stale_if_range_gets_the_whole_file(alice_api, track):
    response = alice_api.get(f"/api/tracks/{track.pk}/audio/", HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"stale"')
    assert response.status_code == 200
    response = alice_api.get(
        f"/api/tracks/{track.pk}/audio/", HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=f'"{track.sha256}"'
    )
    assert response.status_code == 206


def test_download_names_the_original_after_the_song(alice_api, track):
    response = alice_api.get(f"/api/tracks/{track.pk}/audio/?download=1")
    assert (track.artist, track.title) == ("The Testers", "Morning Tune")
    assert response["Content-Disposition"] == (
        'attachment; filename="The Testers - Morning Tune.mp3"; '
        "filename*=UTF-8''The%20Testers%20%E2%80%93%20Morning%20Tune.mp3"
    )


def test_media_is_never_served_from_a_public_url(client, alice, track):
    client.force_login(alice)
    for prefix in ("/", "/media/", "/static/"):
        assert client.get(prefix + track.original.name).status_code == 404


@pytest.mark.parametrize(
    "header, expected",
    [
        (None, None),
        ("", None),
        ("bytes=0-0", (0, 0)),
        ("bytes=5-2", "unsatisfiable"),
        ("bytes=-0", "unsatisfiable"),
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
        ("bytes=-2000", (0, 999)),
    ],
)
def test_parse_range(header, expected):
    assert parse_range(header, 1000) == expected
