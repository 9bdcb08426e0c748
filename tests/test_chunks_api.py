"""Progressive stems through the API: the manifest grows chunk by chunk while a real job runs, for its askers only.

The job runs in this process (``run_job``, the worker's own task body, with the real model); a
wrapper around ``SeparationJob.report_chunk`` looks at the API each time a chunk is out.
"""

import io
from datetime import timedelta

import numpy as np
import pytest
import soundfile
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from library.ingest import ingest
from separation.chunks import CHUNK_FRAMES
from separation.models import SeparationJob
from separation.services import request_separation
from separation.tasks import remove_expired_chunks, run_job
from tests.eval_songs import generate_song
from tests.helpers import files_under

SECONDS = 40  # four chunks


@pytest.fixture(autouse=True)
def no_heartbeat_thread_writes(settings):
    # The job runs inside this test's transaction; a heartbeat from another thread would wait for its lock.
    settings.SEPARATION_HEARTBEAT_SECONDS = 3600


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return generate_song(tmp_path_factory.mktemp("song-seed5"), seconds=SECONDS, seed=5) / "mixture.wav"


@pytest.fixture
def job(alice, song, spleeter_2stems):
    with open(song, "rb") as f:
        track = ingest(alice, SimpleUploadedFile("song.wav", f.read())).track
    job, _ = request_separation(
        sha256=track.sha256, source=track.original.name, model="2stems", user=alice, seconds=track.duration
    )
    return job


@pytest.fixture
def on_each_chunk(monkeypatch):
    """Calls the function it is given after every chunk the worker reports."""
    hooks = []
    report = SeparationJob.report_chunk

    def reporting(job, ready_frames):
        ours = report(job, ready_frames)
        for hook in hooks:
            hook(job, ready_frames)
        return ours

    monkeypatch.setattr(SeparationJob, "report_chunk", reporting)
    return hooks.append


def chunk_files(media_root):
    return [name for name in files_under(media_root) if "/chunks/" in name]


def wav_frames(response):
    return soundfile.read(io.BytesIO(b"".join(response.streaming_content)), dtype="int16")


def test_the_manifest_grows_with_every_chunk_while_the_job_runs(alice_api, job, on_each_chunk):
    queued = alice_api.get(f"/api/jobs/{job.pk}/").json()
    assert (queued["ready_seconds"], queued["chunks_url"]) == (0.0, None)
    assert alice_api.get(f"/api/jobs/{job.pk}/chunks/").json()["stems"] == {"vocals": [], "accompaniment": []}
    seen = []

    def look(job, ready_frames):
        detail = alice_api.get(f"/api/jobs/{job.pk}/").json()
        manifest = alice_api.get(detail["chunks_url"]).json()
        newest = manifest["stems"]["accompaniment"][-1]
        response = alice_api.get(newest["url"])
        data, rate = wav_frames(response)
        seen.append((detail["status"], detail["ready_seconds"], manifest, newest, response, data, rate))

    on_each_chunk(look)
    run_job(str(job.pk))

    assert [s[0] for s in seen] == ["running"] * 4
    readies = [s[1] for s in seen]
    assert readies == sorted(readies) and readies[0] == CHUNK_FRAMES / 44100
    for count, (_, ready, manifest, newest, response, data, rate) in enumerate(seen, start=1):
        assert manifest["status"] == "running"
        assert (manifest["sample_rate"], manifest["channels"]) == (44100, 2)
        assert len(manifest["stems"]["vocals"]) == len(manifest["stems"]["accompaniment"]) == count
        assert manifest["ready_frames"] == sum(c["frames"] for c in manifest["stems"]["vocals"])
        assert manifest["ready_seconds"] == ready
        assert manifest["complete"] == (count == 4)
        assert len(manifest["mixture_peaks"]) == sum(len(c["peaks"]) for c in manifest["stems"]["vocals"])
        assert response.status_code == 200
        assert response["Content-Type"] == "audio/wav"
        assert response["Cache-Control"] == "private, max-age=31536000, immutable"
        assert (rate, data.shape) == (44100, (newest["frames"], 2))

    done = SeparationJob.objects.get(pk=job.pk)
    detail = alice_api.get(f"/api/jobs/{job.pk}/").json()
    assert detail["status"] == "succeeded"
    assert detail["ready_seconds"] == pytest.approx(SECONDS, abs=0.01) == done.duration
    assert detail["chunks_url"] == f"/api/jobs/{job.pk}/chunks/"
    final = alice_api.get(detail["chunks_url"]).json()
    assert final["complete"] and final["ready_frames"] == round(done.duration * 44100)
    # Still served after success, for a player that switches to the final files a moment later.
    joined = np.concatenate([wav_frames(alice_api.get(c["url"]))[0] for c in final["stems"]["vocals"]])
    flac, _ = soundfile.read(done.stems.get(name="vocals").lossless.path, dtype="int16")
    assert np.array_equal(joined, flac)


def test_bob_cannot_see_alices_chunks_and_anonymous_is_refused(alice_api, bob_api, job, on_each_chunk):
    answers = {}

    def look(job, ready_frames):
        if answers:
            return
        urls = [f"/api/jobs/{job.pk}/", f"/api/jobs/{job.pk}/chunks/", f"/api/jobs/{job.pk}/chunks/vocals/0/"]
        answers["alice"] = [alice_api.get(url).status_code for url in urls]
        answers["bob"] = [bob_api.get(url).status_code for url in urls]
        answers["anonymous"] = [APIClient().get(url).status_code for url in urls]

    on_each_chunk(look)
    run_job(str(job.pk))

    assert answers["alice"] == [200, 200, 200]
    assert answers["bob"] == [404, 404, 404]
    assert answers["anonymous"][0] in (401, 403)
    assert answers["anonymous"] == [answers["anonymous"][0]] * 3


def test_an_unknown_stem_or_a_chunk_not_written_yet_is_404(alice_api, job, on_each_chunk):
    answers = []

    def look(job, ready_frames):
        if not answers:
            base = f"/api/jobs/{job.pk}/chunks"
            answers.extend(alice_api.get(f"{base}/{path}/").status_code for path in ("drums/0", "vocals/1", "vocals/0"))

    assert alice_api.get(f"/api/jobs/{job.pk}/chunks/vocals/0/").status_code == 404  # queued: nothing yet
    on_each_chunk(look)
    run_job(str(job.pk))
    assert answers == [404, 404, 200]


def test_cancelling_mid_job_removes_its_chunks(alice_api, job, on_each_chunk, isolated_media):
    found = []

    def cancel_after_the_first(job, ready_frames):
        found.extend(chunk_files(isolated_media.MEDIA_ROOT))
        if ready_frames == CHUNK_FRAMES:
            assert alice_api.post(f"/api/jobs/{job.pk}/cancel/").status_code == 200

    on_each_chunk(cancel_after_the_first)
    run_job(str(job.pk))

    assert found, "the first chunk was stored before the cancel"
    assert SeparationJob.objects.get(pk=job.pk).status == "cancelled"
    assert chunk_files(isolated_media.MEDIA_ROOT) == []
    detail = alice_api.get(f"/api/jobs/{job.pk}/").json()
    assert (detail["chunks_url"], detail["ready_seconds"]) == (None, 0.0)
    manifest = alice_api.get(f"/api/jobs/{job.pk}/chunks/").json()
    assert manifest["status"] == "cancelled"
    assert manifest["stems"] == {"vocals": [], "accompaniment": []}
    assert alice_api.get(f"/api/jobs/{job.pk}/chunks/vocals/0/").status_code == 404


def test_a_job_that_fails_mid_way_removes_its_chunks(alice_api, job, on_each_chunk, isolated_media):
    # The audio goes on past what was measured at upload: decoding stops at 30 s, after the first chunk.
    SeparationJob.objects.filter(pk=job.pk).update(source_seconds=29)
    found = []
    on_each_chunk(lambda job, ready_frames: found.extend(chunk_files(isolated_media.MEDIA_ROOT)))

    run_job(str(job.pk))

    assert found
    failed = SeparationJob.objects.get(pk=job.pk)
    assert failed.status == "failed" and "goes on past" in failed.error
    assert chunk_files(isolated_media.MEDIA_ROOT) == []
    manifest = alice_api.get(f"/api/jobs/{job.pk}/chunks/").json()
    assert (manifest["status"], manifest["stems"]["vocals"], manifest["ready_frames"]) == ("failed", [], 0)


def test_the_sweep_removes_a_succeeded_jobs_chunks_after_the_grace_period(alice_api, job, isolated_media, settings):
    settings.SEPARATION_CHUNK_GRACE_MINUTES = 15
    run_job(str(job.pk))
    done = SeparationJob.objects.get(pk=job.pk)
    assert len(chunk_files(isolated_media.MEDIA_ROOT)) == 2 * 4 + 4  # two stems' WAVs, one sidecar per chunk

    assert remove_expired_chunks(now=done.finished_at + timedelta(minutes=14)) == 0
    assert len(chunk_files(isolated_media.MEDIA_ROOT)) == 12
    assert remove_expired_chunks(now=done.finished_at + timedelta(minutes=16)) == 1

    assert chunk_files(isolated_media.MEDIA_ROOT) == []
    assert {stem.name for stem in done.stems.all()} == {"vocals", "accompaniment"}  # the final files stay
    detail = alice_api.get(f"/api/jobs/{job.pk}/").json()
    assert detail["chunks_url"] is None
    assert detail["ready_seconds"] == done.duration
    manifest = alice_api.get(f"/api/jobs/{job.pk}/chunks/").json()
    assert manifest["complete"] and manifest["stems"] == {"vocals": [], "accompaniment": []}
    assert manifest["ready_frames"] == round(done.duration * 44100)
    assert alice_api.get(f"/api/jobs/{job.pk}/chunks/vocals/0/").status_code == 404


def test_a_job_whose_worker_died_starts_its_chunks_again_from_zero(job):
    job.claim("elsewhere:1")
    assert job.report_chunk(CHUNK_FRAMES)
    SeparationJob.objects.filter(pk=job.pk).update(heartbeat_at=job.started_at - timedelta(hours=1))
    job.refresh_from_db()

    assert job.recover() == "requeued"
    assert SeparationJob.objects.get(pk=job.pk).ready_frames == 0
    job.refresh_from_db()
    assert job.claim("here:2")
    assert job.ready_frames == 0
