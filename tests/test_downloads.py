"""Downloads: stems and originals named after the song, FLAC/WAV/MP3 per stem, and a streamed zip of all stems."""

import io
import zipfile
from urllib.parse import quote

import numpy as np
import pytest
import soundfile
from django.http import StreamingHttpResponse

from library.downloads import content_disposition, file_name
from tests.separated import separated_track


@pytest.fixture
def song(alice, tmp_path):
    track, job = separated_track(alice, tmp_path)
    # A slash and non-ASCII letters: the name must survive both.
    track.title, track.artist = "Jóga/Live", "Björk"
    track.save()
    return track, job


def body(response):
    assert isinstance(response, StreamingHttpResponse) or response.streaming
    return b"".join(response.streaming_content)


def disposition_name(response):
    """The UTF-8 file name a browser saves the download as (``filename*``)."""
    header = response["Content-Disposition"]
    assert header.startswith("attachment;")
    encoded = header.split("filename*=UTF-8''", 1)[1]
    from urllib.parse import unquote

    return unquote(encoded)


def test_a_stem_downloads_as_artist_title_and_stem_in_each_format(alice_api, song):
    track, job = song
    vocals = job.stems.get(name="vocals")
    for rendition, extra, magic in (("flac", "", b"fLaC"), ("wav", "", b"RIFF"), ("mp3", "&download=1", None)):
        response = alice_api.get(f"/api/stems/{vocals.pk}/audio/?rendition={rendition}{extra}")
        assert response.status_code == 200, rendition
        data = body(response)
        assert int(response["Content-Length"]) == len(data)
        assert disposition_name(response) == f"Björk – Jóga Live (vocals).{rendition}"
        # The ASCII fallback for old clients: no quotes or non-ASCII inside.
        assert 'filename="Bjork - Joga Live (vocals).' in response["Content-Disposition"]
        if magic:
            assert data[:4] == magic
        else:
            assert data[:3] == b"ID3" or data[0] == 0xFF


def test_the_wav_holds_exactly_the_flacs_samples(alice_api, song):
    _, job = song
    stem = job.stems.get(name="accompaniment")
    with stem.lossless.open("rb") as f:
        flac, rate = soundfile.read(f, dtype="int16", always_2d=True)
    wav_bytes = body(alice_api.get(f"/api/stems/{stem.pk}/audio/?rendition=wav"))
    wav, wav_rate = soundfile.read(io.BytesIO(wav_bytes), dtype="int16", always_2d=True)
    info = soundfile.info(io.BytesIO(wav_bytes))
    assert (info.format, info.subtype, wav_rate) == ("WAV", "PCM_16", rate)
    assert wav.shape == flac.shape and np.array_equal(wav, flac)


def test_the_streaming_mp3_stays_inline_for_the_players(alice_api, song):
    _, job = song
    response = alice_api.get(f"/api/stems/{job.stems.first().pk}/audio/")
    assert response.status_code == 200
    assert not response.get("Content-Disposition", "").startswith("attachment")
    assert response["Accept-Ranges"] == "bytes"


def test_an_unknown_rendition_is_a_clear_400(alice_api, song):
    _, job = song
    response = alice_api.get(f"/api/stems/{job.stems.first().pk}/audio/?rendition=ogg")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_rendition"
    assert "flac, wav, mp3" in response.json()["detail"]


@pytest.mark.parametrize("rendition", ["flac", "wav", "mp3"])
def test_all_stems_come_in_one_zip_streamed_not_built_in_memory(alice_api, song, rendition):
    track, job = song
    response = alice_api.get(f"/api/tracks/{track.pk}/stems-zip/?rendition={rendition}")
    assert response.status_code == 200
    assert response.streaming, "the zip must be streamed while it is written"
    assert response["Content-Type"] == "application/zip"
    assert disposition_name(response) == f"Björk – Jóga Live (stems, {rendition.upper()}).zip"
    chunks = list(response.streaming_content)
    assert len(chunks) > 2, "written piece by piece, not as one buffer"
    data = b"".join(chunks)
    assert int(response["Content-Length"]) == len(data)
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    assert archive.namelist() == [
        f"Björk – Jóga Live (vocals).{rendition}",
        f"Björk – Jóga Live (accompaniment).{rendition}",
    ]
    vocals = job.stems.get(name="vocals")
    if rendition == "flac":
        assert archive.read(archive.namelist()[0]) == vocals.lossless.open("rb").read()
    if rendition == "wav":
        inside, _ = soundfile.read(io.BytesIO(archive.read(archive.namelist()[0])), dtype="int16")
        kept, _ = soundfile.read(vocals.lossless.open("rb"), dtype="int16")
        assert np.array_equal(inside, kept)


def test_the_zip_is_flac_by_default_and_refuses_unknown_formats(alice_api, song):
    track, _ = song
    response = alice_api.get(f"/api/tracks/{track.pk}/stems-zip/")
    assert response.status_code == 200
    assert all(name.endswith(".flac") for name in zipfile.ZipFile(io.BytesIO(body(response))).namelist())
    refused = alice_api.get(f"/api/tracks/{track.pk}/stems-zip/?rendition=aiff")
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_rendition"


def test_a_song_not_split_yet_has_no_zip(alice_api, alice, song_mp3):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from library.ingest import ingest

    with open(song_mp3, "rb") as f:
        track = ingest(alice, SimpleUploadedFile("x.mp3", f.read())).track
    response = alice_api.get(f"/api/tracks/{track.pk}/stems-zip/")
    assert response.status_code == 409
    assert response.json()["code"] == "no_stems"


def test_bob_gets_neither_alices_zip_nor_her_stems(bob_api, song):
    track, job = song
    assert bob_api.get(f"/api/tracks/{track.pk}/stems-zip/").status_code == 404
    assert bob_api.get(f"/api/stems/{job.stems.first().pk}/audio/?rendition=wav").status_code == 404


def test_the_original_downloads_under_the_songs_name(alice_api, song):
    track, _ = song
    response = alice_api.get(f"/api/tracks/{track.pk}/audio/?download=1")
    assert response.status_code == 200
    assert disposition_name(response) == "Björk – Jóga Live.mp3"
    inline = alice_api.get(f"/api/tracks/{track.pk}/audio/")
    assert not inline.get("Content-Disposition", "").startswith("attachment")


def test_a_title_alone_is_the_name_and_unsafe_characters_go():
    assert file_name("Song", "flac", "vocals") == "Song (vocals).flac"
    assert file_name('a:b*c?"d<e>f|g\\h/i\x00j', "wav") == "a b c d e f g h i j.wav"
    assert file_name("...", "mp3") == "Stemroom download.mp3"
    assert len(file_name("x" * 1000, "flac", "vocals")) <= 186
    header = content_disposition("Sigur Rós – Hoppípolla (vocals).flac")
    assert header == (
        'attachment; filename="Sigur Ros - Hoppipolla (vocals).flac"; '
        f"filename*=UTF-8''{quote('Sigur Rós – Hoppípolla (vocals).flac', safe='')}"
    )


def test_the_track_page_offers_every_format_and_the_zip(client, alice, song):
    track, job = song
    client.force_login(alice)
    page = client.get(f"/tracks/{track.pk}/").content.decode()
    for stem in job.stems.all():
        for rendition in ("flac", "wav"):
            assert f"/api/stems/{stem.pk}/audio/?rendition={rendition}" in page
        assert f"/api/stems/{stem.pk}/audio/?rendition=mp3&amp;download=1" in page
    for rendition in ("flac", "wav", "mp3"):
        assert f"/api/tracks/{track.pk}/stems-zip/?rendition={rendition}" in page
    assert f"/api/tracks/{track.pk}/audio/?download=1" in page


def test_a_24_bit_flac_becomes_a_24_bit_wav_with_the_same_samples(tmp_path, settings):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from library.downloads import wav_chunks, wav_size

    samples = (np.random.default_rng(3).uniform(-1, 1, (50_000, 2)) * 0.9).astype(np.float64)
    path = tmp_path / "deep.flac"
    soundfile.write(path, samples, 48_000, subtype="PCM_24")

    class Stored:  # what a FileField gives downloads: a name in a storage
        storage = default_storage
        name = default_storage.save("deep.flac", ContentFile(path.read_bytes()))

    data = b"".join(wav_chunks(Stored))
    assert len(data) == wav_size(Stored) == 44 + 50_000 * 2 * 3
    info = soundfile.info(io.BytesIO(data))
    assert (info.subtype, info.samplerate, info.frames) == ("PCM_24", 48_000, 50_000)
    wav, _ = soundfile.read(io.BytesIO(data), dtype="int32")
    flac, _ = soundfile.read(path, dtype="int32")
    assert np.array_equal(wav, flac)
