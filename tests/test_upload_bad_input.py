"""Every bad upload gets a precise 4xx and leaves nothing behind: no temp file,
no stored file, no Track row. Each case runs through the API and the page."""

import io
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from library.models import Track
from tests.audio_files import make_audio
from tests.helpers import files_under


@dataclass
class Case:
    name: str
    status: int
    code: str
    message: str
    settings: dict = field(default_factory=dict)


def _png_bytes():
    out = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(out, "PNG")
    return out.getvalue()


CASES = [
    Case("zero-byte", 400, "empty_file", "The file is empty (0 bytes)."),
    Case("png-renamed-mp3", 415, "not_audio", "The file contains no audio stream."),
    Case("truncated-mp3", 422, "damaged", "The file is truncated or damaged"),
    Case(
        "over-size-limit",
        413,
        "file_too_large",
        "larger than the 0 MB upload limit",
        {"STEMROOM_MAX_UPLOAD_BYTES": 20_000},
    ),
    Case(
        "over-duration-limit",
        422,
        "too_long",
        "The audio is 0:04 long; the limit is 0:02.",
        {"STEMROOM_MAX_TRACK_SECONDS": 2},
    ),
    Case(
        "over-storage-quota",
        413,
        "quota_exceeded",
        "Not enough storage left",
        {"STEMROOM_QUOTA_STORAGE_BYTES": 120_000},
    ),
    Case("missing-file-field", 400, "required", "No file was submitted: send the audio in the 'file' field."),
]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    song = make_audio(folder / "song.mp3", seconds=4)
    data = song.read_bytes()
    return {
        "zero-byte": ("empty.mp3", b""),
        "png-renamed-mp3": ("picture.mp3", _png_bytes()),
        "truncated-mp3": ("cut.mp3", data[: len(data) // 3]),
        "over-size-limit": ("song.mp3", data),
        "over-duration-limit": ("song.mp3", data),
        "over-storage-quota": ("song.mp3", data),
    }


@pytest.fixture
def existing_track(alice, isolated_media, tmp_path):
    """Alice already owns a track (so a quota overrun has something to protect)."""
    from library.ingest import ingest

    path = make_audio(tmp_path / "existing.wav", seconds=1)  # ~176 KB
    with open(path, "rb") as f:
        return ingest(alice, SimpleUploadedFile("existing.wav", f.read())).track


def _send(client, url, case, bad_files):
    if case.name == "missing-file-field":
        return (
            client.post(url, {"title": "No file here"}, format="multipart")
            if url.startswith("/api")
            else client.post(url, {"title": "No file here"})
        )
    name, data = bad_files[case.name]
    payload = {"file": SimpleUploadedFile(name, data)}
    return client.post(url, payload, format="multipart") if url.startswith("/api") else client.post(url, payload)


def _prepare(case, isolated_media, existing_track):
    for key, value in case.settings.items():
        setattr(isolated_media, key, value)
    if case.name == "over-storage-quota":
        # The quota fits what Alice has, not one more song.
        isolated_media.STEMROOM_QUOTA_STORAGE_BYTES = existing_track.size + 20_000
    return set(files_under(isolated_media.MEDIA_ROOT)), set(Track.objects.values_list("pk", flat=True))


def _assert_nothing_left(isolated_media, files_before, rows_before):
    assert set(files_under(isolated_media.MEDIA_ROOT)) == files_before
    assert files_under(isolated_media.FILE_UPLOAD_TEMP_DIR) == []
    assert set(Track.objects.values_list("pk", flat=True)) == rows_before


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_api_refuses_bad_uploads_precisely(alice_api, case, bad_files, isolated_media, existing_track):
    files_before, rows_before = _prepare(case, isolated_media, existing_track)
    response = _send(alice_api, "/api/tracks/", case, bad_files)
    assert response.status_code == case.status, response.content
    body = response.json()
    assert body["code"] == case.code
    assert case.message in body["detail"]
    _assert_nothing_left(isolated_media, files_before, rows_before)
    assert Track.objects.filter(pk=existing_track.pk).exists()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_library_page_shows_bad_uploads_as_form_errors(
    client, alice, case, bad_files, isolated_media, existing_track
):
    client.force_login(alice)
    files_before, rows_before = _prepare(case, isolated_media, existing_track)
    response = _send(client, "/library/", case, bad_files)
    assert response.status_code == case.status
    errors = response.context["form"].errors["file"]
    assert any(case.message in error for error in errors), errors
    assert case.message.replace("'", "&#x27;") in response.content.decode()
    _assert_nothing_left(isolated_media, files_before, rows_before)
