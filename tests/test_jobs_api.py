"""Asking for stems, sharing jobs between owners of the same audio, cancel, retry, visibility."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_q.models import OrmQ

from library.ingest import ingest
from separation.models import SeparationJob


@pytest.fixture(autouse=True)
def model_installed(spleeter_2stems):
    return spleeter_2stems


def add(owner, path):
    with open(path, "rb") as f:
        return ingest(owner, SimpleUploadedFile(path.name, f.read())).track


@pytest.fixture
def alices_track(alice, song_wav):
    return add(alice, song_wav)


def ask(client, track, model="2stems", capture=None):
    return client.post(f"/api/tracks/{track.pk}/separations/", {"model": model}, format="json")


def test_asking_for_stems_queues_one_job_and_enqueues_it_on_commit(
    alice_api, alices_track, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = ask(alice_api, alices_track)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert body["progress"] == 0
    assert body["stems"] == []
    assert len(callbacks) == 1
    job = SeparationJob.objects.get(pk=body["id"])
    assert job.sha256 == alices_track.sha256
    assert job.source == alices_track.original.name
    assert job.task_id
    assert OrmQ.objects.count() == 1


def test_asking_again_returns_the_same_job(alice_api, alices_track):
    first = ask(alice_api, alices_track).json()
    second = ask(alice_api, alices_track)
    assert second.status_code == 200
    assert second.json()["id"] == first["id"]
    assert SeparationJob.objects.count() == 1


def test_another_user_with_the_same_audio_shares_the_job(alice_api, bob, bob_api, alices_track, song_wav):
    job_id = ask(alice_api, alices_track).json()["id"]
    bobs_track = add(bob, song_wav)
    response = ask(bob_api, bobs_track)
    assert response.status_code == 200
    assert response.json()["id"] == job_id
    assert bob_api.get(f"/api/jobs/{job_id}/").status_code == 200


def test_bob_cannot_see_or_steer_alices_job(alice_api, bob_api, alices_track):
    job_id = ask(alice_api, alices_track).json()["id"]
    assert bob_api.get(f"/api/jobs/{job_id}/").status_code == 404
    assert bob_api.post(f"/api/jobs/{job_id}/cancel/").status_code == 404
    assert bob_api.post(f"/api/jobs/{job_id}/retry/").status_code == 404
    assert bob_api.get("/api/jobs/").json()["count"] == 0
    assert bob_api.post(f"/api/tracks/{alices_track.pk}/separations/", {"model": "2stems"}).status_code == 404
    assert SeparationJob.objects.get(pk=job_id).status == "queued"


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"model": "7stems"}, "model: Unknown model '7stems'; choose one of: 2stems, 4stems, 5stems."),
        ({"model": 2}, "model: Unknown model 2; choose one of: 2stems, 4stems, 5stems."),
        ({"model": ["2stems"]}, "model: Unknown model"),
    ],
)
def test_unknown_models_are_refused(alice_api, alices_track, payload, message):
    response = alice_api.post(f"/api/tracks/{alices_track.pk}/separations/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith(message)
    assert SeparationJob.objects.count() == 0


def test_a_model_that_is_not_installed_is_refused_clearly(alice_api, alices_track, settings, tmp_path):
    settings.SPLEETER_MODEL_PATH = tmp_path / "no-models"
    response = ask(alice_api, alices_track, "4stems")
    assert response.status_code == 400
    assert response.json()["code"] == "model_not_installed"
    assert "install_models --model 4stems" in response.json()["detail"]


def test_cancel_a_queued_job(alice_api, alices_track):
    job_id = ask(alice_api, alices_track).json()["id"]
    response = alice_api.post(f"/api/jobs/{job_id}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = alice_api.post(f"/api/jobs/{job_id}/cancel/")
    assert again.status_code == 409
    assert again.json()["detail"] == "Only queued or running jobs can be cancelled; this one is cancelled."


def test_retry_a_failed_job(alice_api, alices_track, django_capture_on_commit_callbacks):
    job_id = ask(alice_api, alices_track).json()["id"]
    job = SeparationJob.objects.get(pk=job_id)
    job.mark_failed("The model broke.")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = alice_api.post(f"/api/jobs/{job_id}/retry/")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert response.json()["error"] == ""
    assert len(callbacks) == 1


def test_only_failed_or_cancelled_jobs_can_be_retried(alice_api, alices_track):
    job_id = ask(alice_api, alices_track).json()["id"]
    response = alice_api.post(f"/api/jobs/{job_id}/retry/")
    assert response.status_code == 409
    assert response.json()["code"] == "not_retryable"


def test_after_a_failure_asking_again_starts_a_new_job(alice_api, alices_track):
    first = ask(alice_api, alices_track).json()["id"]
    SeparationJob.objects.get(pk=first).mark_failed("boom")
    second = ask(alice_api, alices_track)
    assert second.status_code == 202
    assert second.json()["id"] != first
    listed = alice_api.get(f"/api/tracks/{alices_track.pk}/separations/").json()
    assert {j["id"] for j in listed} == {first, second.json()["id"]}


def test_deleting_the_last_track_with_that_audio_drops_its_jobs(alice_api, alices_track):
    ask(alice_api, alices_track)
    alice_api.delete(f"/api/tracks/{alices_track.pk}/")
    assert SeparationJob.objects.count() == 0


def test_deleting_one_of_two_copies_keeps_the_job_and_moves_its_source(alice_api, bob, alices_track, song_wav):
    job_id = ask(alice_api, alices_track).json()["id"]
    bobs_track = add(bob, song_wav)
    alice_api.delete(f"/api/tracks/{alices_track.pk}/")
    job = SeparationJob.objects.get(pk=job_id)
    assert job.source == bobs_track.original.name
