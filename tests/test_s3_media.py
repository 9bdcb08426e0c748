"""STORAGE=s3: media lives in a private bucket of a real S3 server (moto, tests/s3_server.py).

Uploads, covers, peaks, stems, progressive chunks and mixdowns are objects in the bucket,
never files on the local disk; a real worker reads its source from the bucket and writes
its stems back; browsers get a 302 to a URL signed for a few minutes, only after the view
checked permission, and seek in it with Range requests the S3 server answers itself.

The end-to-end test with a worker runs in the PostgreSQL pass of `make test` only (the issue
allows the S3 tests one pass): on SQLite it would add its worker start-up again for nothing
new about the bucket. The quick ones run in both passes.
"""

import io
import json
import zipfile
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage

from library.models import Mixdown
from library.streaming import content_disposition
from separation.models import SeparationJob
from tests.helpers import files_under, upload
from tests.s3_server import BUCKET
from tests.test_production_settings import run
from tests.workers import wait_for

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.fixture
def worker_env(s3_media):
    # The worker cluster's processes use the same bucket: no media folder is shared with them.
    return s3_media.environment()


def signed(response, s3):
    """The signed bucket URL a view redirected to, checked to be one."""
    assert response.status_code == 302, getattr(response, "content", b"")[:300]
    url = response["Location"]
    assert url.startswith(f"{s3.endpoint}/{BUCKET}/")
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["300"]
    assert query["X-Amz-Signature"]
    assert response["Cache-Control"] == "private, no-store"
    return url


def job_done(job_id):
    job = SeparationJob.objects.get(pk=job_id)
    return job if job.status in {"succeeded", "failed"} else None


@pytest.mark.worker
@pytest.mark.skipif(not ON_POSTGRES, reason="a real worker on the bucket: runs in the PostgreSQL pass of make test")
def test_s3_a_song_goes_from_upload_through_a_worker_to_signed_streams_and_is_deleted(
    worker_cluster, s3_media, alice_api, bob_api, song_mp3, isolated_media
):
    s3 = s3_media
    track = upload(alice_api, song_mp3).json()
    # The original, its cover and its waveform are objects in the bucket, not local files.
    assert len(s3.object_keys()) == 3, s3.object_keys()
    assert s3.read(track_key := next(k for k in s3.object_keys() if k.endswith(".mp3"))) == song_mp3.read_bytes()

    job = alice_api.post(f"/api/tracks/{track['id']}/separations/", {"model": "2stems"}, format="json").json()
    done = wait_for(lambda: job_done(job["id"]), 120, "the worker to split the song", worker_cluster)
    assert done.status == "succeeded", done.error
    keys = s3.object_keys()
    for stem in done.stems.all():
        assert {stem.lossless.name, stem.compressed.name, stem.peaks.name} <= set(keys)
        assert s3.read(stem.lossless.name)[:4] == b"fLaC"
    assert any("/chunks/" in key for key in keys), keys  # progressive chunks too
    # Nothing went through the local disk: the worker read the bucket and wrote to it.
    assert files_under(isolated_media.MEDIA_ROOT) == []

    # The player streams a stem from the bucket and seeks in it with a Range request.
    stem = done.stems.get(name="vocals")
    url = signed(alice_api.get(f"/api/stems/{stem.pk}/audio/"), s3)
    part = requests.get(url, headers={"Range": "bytes=100-1123"}, timeout=10)
    assert part.status_code == 206
    assert part.headers["Content-Range"].startswith("bytes 100-1123/")
    assert part.headers["Content-Type"] == "audio/mpeg"
    assert part.content == s3.read(stem.compressed.name)[100:1124]
    # Peaks and the progressive chunks the players fetch() follow the same redirect.
    peaks = requests.get(signed(alice_api.get(f"/api/stems/{stem.pk}/peaks/"), s3), timeout=10)
    assert len(json.loads(peaks.content)) > 10
    manifest = alice_api.get(f"/api/jobs/{done.pk}/chunks/").json()
    chunk = alice_api.get(manifest["stems"]["vocals"][0]["url"])
    assert "immutable" not in chunk["Cache-Control"]  # the redirect expires: never cached for good
    assert requests.get(signed(chunk, s3), timeout=10).content[:4] == b"RIFF"

    # A download keeps the song's name: the signature fixes the bucket's response headers.
    flac = requests.get(signed(alice_api.get(f"/api/stems/{stem.pk}/audio/?rendition=flac"), s3), timeout=10)
    assert flac.headers["Content-Type"] == "audio/flac"
    assert flac.headers["Content-Disposition"] == content_disposition("The Testers – Morning Tune (vocals).flac")
    assert flac.content == s3.read(stem.lossless.name)
    # A WAV is decoded from the bucket's FLAC while it is sent.
    wav = alice_api.get(f"/api/stems/{stem.pk}/audio/?rendition=wav")
    assert wav.status_code == 200
    assert b"".join(wav.streaming_content)[:4] == b"RIFF"
    # The zip of all stems streams from the bucket through the app.
    archive = alice_api.get(f"/api/tracks/{track['id']}/stems-zip/")
    with zipfile.ZipFile(io.BytesIO(b"".join(archive.streaming_content))) as zipped:
        assert sorted(zipped.namelist()) == [
            "The Testers – Morning Tune (accompaniment).flac",
            "The Testers – Morning Tune (vocals).flac",
        ]
        assert zipped.read("The Testers – Morning Tune (vocals).flac") == s3.read(stem.lossless.name)

    # A mixdown's worker reads the stems from the bucket too, and stores its render there.
    remix = alice_api.post("/api/remixes/", {"track": track["id"], "name": "Quiet"}, format="json").json()
    mixdown_id = alice_api.post(f"/api/remixes/{remix['id']}/render/").json()["id"]
    mixdown = wait_for(
        lambda: Mixdown.objects.filter(pk=mixdown_id, status__in=["succeeded", "failed"]).first(),
        60,
        "the mixdown",
        worker_cluster,
    )
    assert mixdown.status == "succeeded", mixdown.error
    mixed = requests.get(signed(alice_api.get(f"/api/remixes/{remix['id']}/mixdown/?rendition=flac"), s3), timeout=10)
    assert mixed.content[:4] == b"fLaC"
    assert mixed.content == s3.read(mixdown.flac.name)

    # Permission comes before any signing: Bob gets a 404 and no URL.
    for path in (f"/api/stems/{stem.pk}/audio/", f"/api/tracks/{track['id']}/audio/", f"/api/stems/{stem.pk}/peaks/"):
        refused = bob_api.get(path)
        assert refused.status_code == 404
        assert "Location" not in refused
    # The bucket itself refuses the same object without a signature.
    assert requests.get(url.split("?")[0], timeout=10).status_code == 403
    assert requests.get(f"{s3.endpoint}/{BUCKET}/{track_key}", timeout=10).status_code == 403

    # Deleting the song removes every object it had: original, cover, peaks, stems, chunks, mixdown.
    assert alice_api.delete(f"/api/tracks/{track['id']}/").status_code == 204
    wait_for(lambda: not s3.object_keys(), 10, "the bucket to be empty")


class FailingRead(io.RawIOBase):
    """A file whose reading fails half-way, as an upload cut off by a dropped connection does."""

    def __init__(self, size, fail_at):
        self.size, self.fail_at, self.position = size, fail_at, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.position >= self.fail_at:
            raise OSError("connection reset while reading the upload")
        n = min(len(buffer), self.fail_at - self.position)
        buffer[:n] = b"\x01" * n
        self.position += n
        return n


@pytest.mark.parametrize("size", [64 * 1024, 20 * 1024 * 1024], ids=["single-put", "multipart"])
def test_s3_a_save_that_fails_half_way_leaves_no_object(s3_media, size):
    content = File(io.BufferedReader(FailingRead(size, fail_at=size // 2)), name="half.flac")
    content.size = size
    with pytest.raises(OSError):
        default_storage.save("stems/half.flac", content)
    assert s3_media.object_keys() == []
    # Nor an unfinished multipart upload holding the half on the server.
    assert not s3_media.client.list_multipart_uploads(Bucket=BUCKET).get("Uploads")


def test_s3_settings_sign_for_the_public_address_and_let_the_page_load_from_it(tmp_path):
    script = (
        "import django, json; django.setup()\n"
        "from django.conf import settings\n"
        "from django.core.files.storage import default_storage\n"
        "print(json.dumps([settings.CONTENT_SECURITY_POLICY, default_storage.signed_url('a/b.mp3')]))"
    )
    env = {
        "STORAGE": "s3",
        "S3_BUCKET": "media",
        "S3_ENDPOINT_URL": "http://storage:9000",
        "S3_PUBLIC_ENDPOINT_URL": "https://media.example.org",
        "S3_ACCESS_KEY_ID": "key",
        "S3_SECRET_ACCESS_KEY": "secret",
        "S3_SIGNED_URL_SECONDS": "120",
    }
    result = run(tmp_path, "-c", script, **env)
    assert result.returncode == 0, result.stderr
    policy, url = json.loads(result.stdout)
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    for directive in ("media-src", "connect-src", "img-src"):
        assert "https://media.example.org" in directives[directive].split()
    assert url.startswith("https://media.example.org/media/a/b.mp3?")
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["120"]

    missing = run(tmp_path, "-c", script, **{**env, "S3_BUCKET": ""})
    assert missing.returncode != 0
    assert "STORAGE=s3 needs S3_BUCKET" in missing.stderr
    typo = run(tmp_path, "-c", script, STORAGE="s4")
    assert "STORAGE must be 'local' or 's3', got 's4'" in typo.stderr
