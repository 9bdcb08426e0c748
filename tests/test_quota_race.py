"""Eight uploads at once against a 3 MB quota: the quota holds, on SQLite and PostgreSQL.

Real threads, each with its own database connection, send real uploads through the API
at the same moment; only the database can keep them from all seeing the same free space.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import User
from django.db import connections
from rest_framework.test import APIClient

from library.models import Track
from tests.audio_files import ffmpeg, make_audio
from tests.helpers import files_under, upload

QUOTA = 3 * 1024**2
UPLOADS = 8


@pytest.fixture(scope="module")
def eight_songs(tmp_path_factory):
    """Eight different files of just under 1 MB (60 s of 128 kbit/s MP3, retagged), so three fit."""
    folder = tmp_path_factory.mktemp("race")
    base = make_audio(folder / "base.mp3", seconds=60)
    songs = []
    for i in range(UPLOADS):
        song = folder / f"song-{i}.mp3"
        ffmpeg("-i", base, "-c", "copy", "-metadata", f"title=Song {i}", song)
        songs.append(song)
    return songs


@pytest.mark.django_db(transaction=True)
def test_eight_parallel_uploads_never_store_more_than_the_quota(eight_songs, settings):
    settings.STEMROOM_QUOTA_STORAGE_BYTES = QUOTA
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    alice = User.objects.create_user("alice", password="correct horse battery")
    sizes = [song.stat().st_size for song in eight_songs]
    assert all(QUOTA / 4 < size < QUOTA / 3 for size in sizes)
    start = threading.Barrier(UPLOADS)

    def send(song):
        try:
            client = APIClient()
            client.force_authenticate(alice)
            start.wait()
            response = upload(client, song)
            return response.status_code, response.json()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(UPLOADS) as pool:
        results = list(pool.map(send, eight_songs))

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * 3 + [413] * 5, results
    assert {body["code"] for status, body in results if status == 413} == {"quota_exceeded"}
    assert Track.objects.storage_used_by(alice) <= QUOTA
    assert Track.objects.filter(owner=alice).count() == 3
    # The refused uploads left nothing behind.
    # Three originals, each with its waveform.
    assert len(files_under(settings.MEDIA_ROOT / "tracks")) == 6
    assert files_under(settings.FILE_UPLOAD_TEMP_DIR) == []
