"""A job is shared by everyone who asks for the same audio, but each person's request is their own:
bob sees alice's job only once he asks, cancels only his request, and has a cap on his own queue."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from library.ingest import ingest
from separation.models import SeparationJob, SeparationRequest
from tests.audio_files import make_audio
from tests.helpers import upload


@pytest.fixture(autouse=True)
def model_installed(spleeter_2stems):
    return spleeter_2stems


def add(owner, path):
    with open(path, "rb") as f:
        return ingest(owner, SimpleUploadedFile(path.name, f.read())).track


def ask(client, track):
    return client.post(f"/api/tracks/{track.pk}/separations/", {"model": "2stems"}, format="json")


@pytest.fixture
def alices_running_job(alice, alice_api, song_wav):
    """alice asked for stems and a worker is on the job."""
    track = add(alice, song_wav)
    job = SeparationJob.objects.get(pk=ask(alice_api, track).json()["id"])
    assert job.claim("worker-host:1234")
    return job


def test_bob_does_not_see_alices_job_for_the_same_audio_until_he_asks(
    alices_running_job, bob, bob_api, song_wav, isolated_media
):
    response = upload(bob_api, song_wav)
    assert response.status_code == 201
    assert response.json()["separation"] is None
    track_id = response.json()["id"]
    assert bob_api.get("/api/tracks/").json()["results"][0]["separation"] is None
    assert bob_api.get(f"/api/tracks/{track_id}/").json()["separation"] is None
    assert bob_api.get(f"/api/tracks/{track_id}/separations/").json() == []
    assert bob_api.get("/api/jobs/").json()["count"] == 0
    assert bob_api.get(f"/api/jobs/{alices_running_job.pk}/").status_code == 404
    assert bob_api.post(f"/api/jobs/{alices_running_job.pk}/cancel/").status_code == 404

    asked = bob_api.post(f"/api/tracks/{track_id}/separations/", {"model": "2stems"}, format="json")
    assert asked.status_code == 200
    assert asked.json()["id"] == str(alices_running_job.pk)
    assert bob_api.get("/api/tracks/").json()["results"][0]["separation"]["status"] == "running"


def test_bob_cancelling_withdraws_only_his_request(alices_running_job, alice_api, bob, bob_api, song_wav):
    job_id = alices_running_job.pk
    ask(bob_api, add(bob, song_wav))

    response = bob_api.post(f"/api/jobs/{job_id}/cancel/")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert SeparationJob.objects.get(pk=job_id).status == "running"
    assert alice_api.get(f"/api/jobs/{job_id}/").json()["status"] == "running"
    assert alice_api.get("/api/tracks/").json()["results"][0]["separation"]["status"] == "running"
    assert bob_api.get(f"/api/jobs/{job_id}/").json()["status"] == "cancelled"
    assert bob_api.get("/api/tracks/").json()["results"][0]["separation"]["status"] == "cancelled"
    again = bob_api.post(f"/api/jobs/{job_id}/cancel/")
    assert again.status_code == 409
    assert again.json()["code"] == "not_cancellable"


def test_the_shared_job_stops_when_the_last_person_who_wants_it_cancels(
    alices_running_job, alice_api, bob, bob_api, song_wav
):
    job_id = alices_running_job.pk
    ask(bob_api, add(bob, song_wav))

    assert alice_api.post(f"/api/jobs/{job_id}/cancel/").status_code == 200
    assert SeparationJob.objects.get(pk=job_id).status == "running"  # bob still wants it
    assert bob_api.post(f"/api/jobs/{job_id}/cancel/").status_code == 200
    assert SeparationJob.objects.get(pk=job_id).status == "cancelled"


def test_retrying_after_a_cancel_rejoins_the_running_job_without_restarting_it(
    alices_running_job, bob, bob_api, song_wav
):
    job_id = alices_running_job.pk
    ask(bob_api, add(bob, song_wav))
    bob_api.post(f"/api/jobs/{job_id}/cancel/")

    response = bob_api.post(f"/api/jobs/{job_id}/retry/")

    assert response.status_code == 202
    assert response.json()["status"] == "running"
    job = SeparationJob.objects.get(pk=job_id)
    assert (job.status, job.worker, job.attempts) == ("running", "worker-host:1234", 1)


def test_retrying_a_job_everyone_cancelled_queues_it_again(alices_running_job, alice_api):
    job_id = alices_running_job.pk
    alice_api.post(f"/api/jobs/{job_id}/cancel/")
    assert SeparationJob.objects.get(pk=job_id).status == "cancelled"

    response = alice_api.post(f"/api/jobs/{job_id}/retry/")

    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert SeparationJob.objects.get(pk=job_id).attempts == 0


def test_deleting_my_copy_of_the_audio_withdraws_my_request(alices_running_job, alice, bob, bob_api, song_wav):
    bobs_track = add(bob, song_wav)
    ask(bob_api, bobs_track)
    bob_api.delete(f"/api/tracks/{bobs_track.pk}/")
    assert bob_api.get(f"/api/jobs/{alices_running_job.pk}/").status_code == 404
    assert not SeparationRequest.objects.filter(user=bob).exists()
    assert SeparationJob.objects.get(pk=alices_running_job.pk).status == "running"


# --- The cap on queued and running jobs per person ---


@pytest.fixture
def four_songs(tmp_path):
    return [make_audio(tmp_path / f"song-{n}.wav", seconds=1, freq=300 + 50 * n) for n in range(4)]


def test_a_person_may_have_only_three_separations_queued_or_running(alice, alice_api, four_songs, settings):
    assert settings.STEMROOM_MAX_ACTIVE_JOBS == 3
    tracks = [add(alice, song) for song in four_songs]
    for track in tracks[:3]:
        assert ask(alice_api, track).status_code == 202

    refused = ask(alice_api, tracks[3])

    assert refused.status_code == 429
    assert refused.json() == {
        "detail": "You have 3 separations queued or running; wait for one to finish or cancel one.",
        "code": "too_many_jobs",
    }
    assert SeparationJob.objects.count() == 3
    # Asking again for one already waiting adds nothing, so it is not refused.
    assert ask(alice_api, tracks[0]).status_code == 200
    # One finished: room for the fourth.
    first = SeparationJob.objects.get(sha256=tracks[0].sha256)
    assert first.claim("w:1") and first.mark_succeeded()
    assert ask(alice_api, tracks[3]).status_code == 202


def test_a_cancelled_request_frees_a_place(alice, alice_api, four_songs):
    tracks = [add(alice, song) for song in four_songs]
    job_ids = [ask(alice_api, track).json()["id"] for track in tracks[:3]]
    alice_api.post(f"/api/jobs/{job_ids[0]}/cancel/")
    assert ask(alice_api, tracks[3]).status_code == 202
    # ...and taking it back would go over again.
    refused = alice_api.post(f"/api/jobs/{job_ids[0]}/retry/")
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_jobs"


def test_stems_that_already_exist_do_not_count(alice, alice_api, bob, bob_api, four_songs):
    for song in four_songs[:3]:
        ask(bob_api, add(bob, song))
    done = add(alice, four_songs[3])
    alices_job = SeparationJob.objects.get(pk=ask(alice_api, done).json()["id"])
    assert alices_job.claim("w:1") and alices_job.mark_succeeded()

    response = ask(bob_api, add(bob, four_songs[3]))

    assert response.status_code == 200
    assert response.json()["status"] == "succeeded"


def test_the_cap_comes_from_the_environment(alice, alice_api, four_songs, settings):
    settings.STEMROOM_MAX_ACTIVE_JOBS = 1
    tracks = [add(alice, song) for song in four_songs[:2]]
    assert ask(alice_api, tracks[0]).status_code == 202
    refused = ask(alice_api, tracks[1])
    assert refused.status_code == 429
    assert refused.json()["detail"] == "You have 1 separation queued or running; wait for one to finish or cancel one."


def test_the_job_remembers_the_decoded_length_the_worker_may_separate(alice, alice_api, song_wav):
    track = add(alice, song_wav)
    job = SeparationJob.objects.get(pk=ask(alice_api, track).json()["id"])
    assert job.source_seconds == pytest.approx(track.duration)
    assert job.source_seconds == pytest.approx(3.0, abs=0.05)


@pytest.mark.django_db(transaction=True)
def test_eight_requests_at_once_still_get_only_three_places(alice, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection
    from rest_framework.test import APIClient

    tracks = [add(alice, make_audio(tmp_path / f"at-once-{n}.wav", seconds=1, freq=200 + 40 * n)) for n in range(8)]

    def ask_in_parallel(track):
        client = APIClient()
        client.force_authenticate(alice)
        try:
            return ask(client, track).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(ask_in_parallel, tracks))

    assert codes == [202] * 3 + [429] * 5
    assert SeparationJob.objects.count() == 3
