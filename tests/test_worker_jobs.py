"""Real jobs in a real django-q2 worker: separation end to end, reuse, cancel, and a worker killed mid-job."""

import json
import os
import signal

import pytest
from rest_framework.test import APIClient

from separation.models import SeparationJob, Stem
from tests.eval_songs import generate_song, read, sdr
from tests.helpers import files_under, upload
from tests.workers import wait_for

pytestmark = pytest.mark.worker


@pytest.fixture(scope="module")
def short_song(tmp_path_factory):
    return generate_song(tmp_path_factory.mktemp("song20"), seconds=20, seed=11)


@pytest.fixture(scope="module")
def long_song(tmp_path_factory):
    return generate_song(tmp_path_factory.mktemp("song90"), seconds=90, seed=12)


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def separate(client, song):
    track = upload(client, song / "mixture.wav").json()
    response = client.post(f"/api/tracks/{track['id']}/separations/", {"model": "2stems"}, format="json")
    assert response.status_code in (200, 202), response.json()
    return track, response.json()


def job_status(job_id, *statuses):
    job = SeparationJob.objects.get(pk=job_id)
    return job if job.status in statuses else None


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_worker_separates_a_song_into_playable_stems(worker_cluster, alice, bob, short_song, isolated_media):
    alice_api = client_for(alice)
    track, job = separate(alice_api, short_song)
    assert job["status"] == "queued"
    done = wait_for(lambda: job_status(job["id"], "succeeded", "failed"), 300, "the job to finish", worker_cluster)
    assert done.status == "succeeded", done.error

    body_json = alice_api.get(f"/api/jobs/{job['id']}/").json()
    assert body_json["progress"] == 100
    assert body_json["realtime_factor"] > 1
    assert body_json["duration"] == pytest.approx(20, abs=0.1)
    assert {s["name"] for s in body_json["stems"]} == {"vocals", "accompaniment"}

    truth = {name: read(short_song / f"{name}.wav") for name in ("vocals", "accompaniment")}
    for stem in Stem.objects.filter(job=done):
        estimate = read(stem.lossless.path)
        assert estimate.shape == truth[stem.name].shape
        # The generator's songs give the CLI ~3-12 dB on vocals; far below that means garbage.
        assert sdr(estimate, truth[stem.name]) > 3, stem.name
        peaks = json.loads(body(alice_api.get(f"/api/stems/{stem.pk}/peaks/")))
        assert 300 <= len(peaks) <= 400  # ~1000 points per minute of a 20-second song
        streamed = alice_api.get(f"/api/stems/{stem.pk}/audio/", HTTP_RANGE="bytes=0-1023")
        assert streamed.status_code == 206
        assert streamed["Content-Type"] == "audio/mpeg"
        flac = alice_api.get(f"/api/stems/{stem.pk}/audio/?rendition=flac")
        assert body(flac)[:4] == b"fLaC"
    assert alice_api.get(body_json["mixture_peaks_url"]).status_code == 200

    # Bob has nothing to do with this audio: none of it is his to fetch.
    bob_api = client_for(bob)
    stem = done.stems.first()
    assert bob_api.get(f"/api/stems/{stem.pk}/audio/").status_code == 404
    assert bob_api.get(f"/api/stems/{stem.pk}/peaks/").status_code == 404

    # The same audio from another user reuses the finished stems at once.
    _, again = separate(bob_api, short_song)
    assert again["id"] == job["id"]
    assert again["status"] == "succeeded"
    assert SeparationJob.objects.count() == 1
    assert bob_api.get(f"/api/stems/{stem.pk}/audio/").status_code == 200

    # Alice deletes her copy: Bob's stems stay.
    alice_api.delete(f"/api/tracks/{track['id']}/")
    assert os.path.exists(stem.lossless.path)
    assert bob_api.get(f"/api/stems/{stem.pk}/audio/?rendition=flac").status_code == 200


def test_cancelling_a_running_job_stops_it_and_keeps_no_stems(worker_cluster, alice, long_song, isolated_media):
    api = client_for(alice)
    _, job = separate(api, long_song)
    wait_for(
        lambda: SeparationJob.objects.filter(pk=job["id"], status="running", progress__gt=0).exists(),
        300,
        "the job to make progress",
        worker_cluster,
        interval=0.05,
    )
    response = api.post(f"/api/jobs/{job['id']}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    # The worker notices at its next progress report and cleans up its temp files.
    wait_for(
        lambda: not list(isolated_media.FILE_UPLOAD_TEMP_DIR.glob("job-*")),
        60,
        "the worker to clean up",
        worker_cluster,
    )
    cancelled = SeparationJob.objects.get(pk=job["id"])
    assert cancelled.status == "cancelled"
    assert cancelled.stems.count() == 0
    assert not [f for f in files_under(isolated_media.MEDIA_ROOT) if f.startswith("stems/")]


def test_a_worker_killed_mid_job_is_replaced_and_the_job_finishes(worker_cluster, alice, long_song, isolated_media):
    api = client_for(alice)
    _, job = separate(api, long_song)
    running = wait_for(
        lambda: SeparationJob.objects.filter(pk=job["id"], status="running", progress__gt=0).first(),
        300,
        "the job to make progress",
        worker_cluster,
        interval=0.05,
    )
    pid = int(running.worker.rsplit(":", 1)[1])
    os.kill(pid, signal.SIGKILL)

    done = wait_for(
        lambda: job_status(job["id"], "succeeded", "failed"), 300, "the job to be recovered", worker_cluster
    )
    assert done.status == "succeeded", done.error
    assert done.attempts == 2
    assert done.worker != running.worker
    assert done.stems.count() == 2
    stored = [f for f in files_under(isolated_media.MEDIA_ROOT) if f.startswith("stems/")]
    final = [f for f in stored if "/chunks/" not in f]
    # Exactly the finished job's files: 2 stems x (flac, mp3, peaks) + mixture peaks.
    assert len(final) == 7, stored
    # Progressive chunks of the run that finished only: the killed run's went when it was requeued.
    assert any("/chunks/" in f for f in stored)
    assert {f for f in stored if "/chunks/" in f} == {
        f for f in stored if f.startswith(f"{done.chunks_folder}/") and f.endswith((".wav", ".json"))
    }
    assert not list(isolated_media.FILE_UPLOAD_TEMP_DIR.glob("job-*"))
