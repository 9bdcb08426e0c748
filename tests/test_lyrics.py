"""Synced lyrics: LRC and enhanced LRC accepted, bad input refused with the line named."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from library.ingest import ingest
from library.lrc import LrcError, parse
from library.models import Lyrics

GOOD = """[ti:Morning Tune]
[ar:The Testers]
[00:01.00]First line
[00:03.50]Second <00:03.50>word <00:04.00>by <00:04.25>word
[01:02.123]Much later
"""


@pytest.fixture
def track(alice, song_wav):
    with open(song_wav, "rb") as f:
        return ingest(alice, SimpleUploadedFile("a.wav", f.read())).track


def url(track):
    return f"/api/tracks/{track.pk}/lyrics/"


def test_parse_lines_words_and_meta():
    lyrics = parse(GOOD)
    assert [(line.time, line.text) for line in lyrics.lines] == [
        (1.0, "First line"),
        (3.5, "Second word by word"),
        (62.123, "Much later"),
    ]
    assert [(w.time, w.text) for w in lyrics.lines[1].words] == [(3.5, "word"), (4.0, "by"), (4.25, "word")]
    assert lyrics.meta == {"ti": "Morning Tune", "ar": "The Testers"}


def test_a_line_with_several_times_repeats_in_order():
    lyrics = parse("[00:01.00]verse\n[00:05.00][00:02.00]chorus\n")
    assert [(line.time, line.text) for line in lyrics.lines] == [(1.0, "verse"), (2.0, "chorus"), (5.0, "chorus")]


@pytest.mark.parametrize(
    "text, message",
    [
        ("[00:01.00]ok\n[00:61.00]bad", "Line 2: bad timestamp [00:61.00]: seconds must be 00-59."),
        ("[00:01.00]ok\n[0a:01.00]bad", "Line 2: bad timestamp in '[0a:01.00]bad': use [mm:ss.xx]."),
        ("[00:05.00]later\n[00:01.00]earlier", "Line 2: lines are out of order: [00:01.00] comes after [00:05.00]."),
        ("[00:01.00]ok\njust words", "Line 2: no timestamp: 'just words'."),
        ("[-00:01.00]before the start", "Line 1: negative timestamp [-00:01.00]"),
        ("[ti:only meta]", "No timed lyric lines found"),
        ("[00:01.00]a\x07b", "Line 1: contains control characters"),
        ("[offset:soon]\n[00:01.00]a", "Line 1: bad offset 'soon'"),
    ],
)
def test_parse_refuses_bad_lrc_naming_the_line(text, message):
    with pytest.raises(LrcError) as error:
        parse(text)
    assert str(error.value).startswith(message)


def test_put_get_and_patch_the_offset(alice_api, track):
    response = alice_api.put(url(track), {"lrc": GOOD}, format="json")
    assert response.status_code == 201
    body = alice_api.get(url(track)).json()
    assert body["offset_ms"] == 0
    assert body["lines"][1] == {
        "time": 3.5,
        "text": "Second word by word",
        "words": [{"time": 3.5, "text": "word"}, {"time": 4.0, "text": "by"}, {"time": 4.25, "text": "word"}],
    }
    response = alice_api.patch(url(track), {"offset_ms": -350}, format="json")
    assert response.status_code == 200
    assert Lyrics.objects.get(track=track).offset_ms == -350
    assert alice_api.put(url(track), {"lrc": "[00:02.00]Replaced"}, format="json").status_code == 200
    assert alice_api.get(url(track)).json()["lines"] == [{"time": 2.0, "text": "Replaced", "words": []}]


def test_upload_an_lrc_file(alice_api, track):
    upload = SimpleUploadedFile("song.lrc", "[offset:+250]\n[00:01.00]Olá, mundo\n".encode())
    response = alice_api.put(url(track), {"file": upload}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["offset_ms"] == 250
    assert response.json()["lines"][0]["text"] == "Olá, mundo"


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"lrc": "[00:05.00]b\n[00:01.00]a"}, "lrc: Line 2: lines are out of order"),
        ({"lrc": GOOD, "offset_ms": "soon"}, "offset_ms: A valid integer is required."),
        ({"lrc": GOOD, "offset_ms": 45_000}, "offset_ms: Ensure this value is less than or equal to 30000."),
        ({"lrc": GOOD, "offset_ms": -45_000}, "offset_ms: Ensure this value is greater than or equal to -30000."),
        ({"lrc": 12}, "lrc: Not a valid string."),
        ({"lrc": ["[00:01.00]a"]}, "lrc: Not a valid string."),
        ({}, "lrc: This field is required."),
    ],
)
def test_bad_lyrics_requests_are_refused_and_keep_what_was_there(alice_api, track, payload, message):
    alice_api.put(url(track), {"lrc": GOOD}, format="json")
    response = alice_api.put(url(track), payload, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith(message), response.json()
    assert Lyrics.objects.get(track=track).lrc == GOOD


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00junk", "file: This is not a text file (it contains binary data)."),
        (b"[00:01.00]x\n" * 30_000, "file: The lyrics are too large"),
    ],
)
def test_junk_and_huge_files_are_refused(alice_api, track, data, message):
    response = alice_api.put(url(track), {"file": SimpleUploadedFile("x.lrc", data)}, format="multipart")
    assert response.status_code == 400
    assert response.json()["detail"].startswith(message)
    assert not Lyrics.objects.exists()


def test_someone_elses_lyrics_are_404(alice_api, bob_api, track):
    alice_api.put(url(track), {"lrc": GOOD}, format="json")
    for method in ("get", "put", "patch", "delete"):
        assert getattr(bob_api, method)(url(track), {"lrc": "[00:01.00]mine"}, format="json").status_code == 404
    assert Lyrics.objects.get(track=track).lrc == GOOD


def test_no_lyrics_yet_is_404_with_a_message(alice_api, track):
    response = alice_api.get(url(track))
    assert response.status_code == 404
    assert response.json()["detail"] == "This track has no lyrics yet."
