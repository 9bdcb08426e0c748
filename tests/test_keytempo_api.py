"""POST/GET /api/jobs/{id}/versions/: asking for the stems at another key and tempo.

Bad input gets a precise 400 and leaves nothing behind; other people's jobs are 404;
a version is rendered once and shared; its files go with the job.
"""

import pytest
from django.core.files.storage import default_storage

from separation.keytempo import run_version
from separation.models import SeparationJob, SeparationRequest, StemVersion
from tests.separated import separated_track


@pytest.fixture
def alices(alice, tmp_path):
    return separated_track(alice, tmp_path)


def versions_url(job):
    return f"/api/jobs/{job.pk}/versions/"


def stored_files():
    found = []

    def walk(folder):
        folders, files = default_storage.listdir(folder)
        found.extend(f"{folder}/{name}".lstrip("/") for name in files)
        for name in folders:
            walk(f"{folder}/{name}".lstrip("/"))

    walk("")
    return sorted(found)


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"key": 13, "tempo": 100}, "key", "Must be a whole number of semitones from -6 to 6."),
        ({"key": -7, "tempo": 100}, "key", "Must be a whole number of semitones from -6 to 6."),
        ({"key": "2", "tempo": 100}, "key", "Must be a whole number of semitones from -6 to 6."),
        ({"key": 1.5, "tempo": 100}, "key", "Must be a whole number of semitones from -6 to 6."),
        ({"key": True, "tempo": 100}, "key", "Must be a whole number of semitones from -6 to 6."),
        ({"tempo": 100}, "key", "Must be a whole number of semitones from -6 to 6."),
        ({"key": 2, "tempo": 0}, "tempo", "Must be a whole number of percent from 50 to 150."),
        ({"key": 2, "tempo": 1000}, "tempo", "Must be a whole number of percent from 50 to 150."),
        ({"key": 2, "tempo": "fast"}, "tempo", "Must be a whole number of percent from 50 to 150."),
        ({"key": 2, "tempo": None}, "tempo", "This field may not be null."),
    ],
)
def test_bad_key_or_tempo_gets_a_precise_400_and_nothing_is_queued(
    alice_api, alices, body, field, message, django_capture_on_commit_callbacks
):
    _, job = alices
    with django_capture_on_commit_callbacks() as sent:
        response = alice_api.post(versions_url(job), body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == f"{field}: {message}"
    assert response.json()["code"] in ("invalid", "min_value", "max_value", "required", "null")
    assert not StemVersion.objects.exists() and not sent


def test_bob_cannot_ask_for_or_see_versions_of_alices_stems(alice_api, bob_api, alices):
    _, job = alices
    version = alice_api.post(versions_url(job), {"key": 2, "tempo": 90}, format="json").json()
    assert bob_api.post(versions_url(job), {"key": 3, "tempo": 90}, format="json").status_code == 404
    assert bob_api.get(version["url"]).status_code == 404
    assert bob_api.get(f"{version['url']}accompaniment/").status_code == 404
    assert StemVersion.objects.count() == 1


def test_a_version_of_another_job_or_a_malformed_id_is_404(alice_api, alice, alices):
    _, job = alices
    version = alice_api.post(versions_url(job), {"key": 2, "tempo": 90}, format="json").json()
    other = SeparationJob.objects.create(sha256="b" * 64, source="x", model="2stems", status="succeeded")
    SeparationRequest.objects.create(user=alice, job=other)
    assert alice_api.get(f"/api/jobs/{other.pk}/versions/{version['id']}/").status_code == 404
    assert alice_api.get(f"/api/jobs/{job.pk}/versions/not-a-uuid/").status_code == 404


def test_stems_that_are_not_ready_cannot_change_key(alice_api, alice):
    job = SeparationJob.objects.create(sha256="c" * 64, source="x", model="2stems", status="running")
    SeparationRequest.objects.create(user=alice, job=job)
    response = alice_api.post(versions_url(job), {"key": 2, "tempo": 100}, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "The stems are not ready (the separation is running): change the key and tempo once it succeeded.",
        "code": "stems_not_ready",
    }
    assert not StemVersion.objects.exists()


def test_the_original_key_and_tempo_is_the_original_stems_with_nothing_rendered(alice_api, alices):
    _, job = alices
    response = alice_api.post(versions_url(job), {"key": 0, "tempo": 100}, format="json")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "succeeded" and data["id"] is None
    stems = {stem.name: stem for stem in job.stems.all()}
    assert data["stems"] == [
        {"name": name, "audio_url": f"/api/stems/{stems[name].pk}/audio/"} for name in ("accompaniment", "vocals")
    ]
    assert not StemVersion.objects.exists()


def test_a_version_renders_once_and_is_shared(alice_api, bob, bob_api, alices, django_capture_on_commit_callbacks):
    _, job = alices
    with django_capture_on_commit_callbacks(execute=False) as sent:
        first = alice_api.post(versions_url(job), {"key": 2, "tempo": 90}, format="json")
    assert first.status_code == 202
    queued = first.json()
    assert queued["status"] == "queued" and queued["stems"] == [] and len(sent) == 1
    assert alice_api.get(queued["url"]).json()["status"] == "queued"

    run_version(queued["id"])  # what the worker runs

    done = alice_api.get(queued["url"]).json()
    assert done["status"] == "succeeded" and done["progress"] == 100
    assert done["duration"] == pytest.approx(job.duration * 100 / 90)
    assert [stem["name"] for stem in done["stems"]] == ["accompaniment", "vocals"]
    audio = alice_api.get(done["stems"][0]["audio_url"], HTTP_RANGE="bytes=0-99")
    assert audio.status_code == 206 and audio["Content-Type"] == "audio/mpeg"
    assert len(b"".join(audio.streaming_content)) == 100

    # Asking again, or asking for the same stems as someone else, reuses it: 200, same id, no new job.
    with django_capture_on_commit_callbacks(execute=False) as sent_again:
        again = alice_api.post(versions_url(job), {"key": 2, "tempo": 90}, format="json")
    SeparationRequest.objects.create(user=bob, job=job)
    bobs = bob_api.post(versions_url(job), {"key": 2, "tempo": 90}, format="json")
    assert again.status_code == bobs.status_code == 200
    assert again.json()["id"] == bobs.json()["id"] == queued["id"]
    assert not sent_again and StemVersion.objects.count() == 1


def test_the_per_person_cap_counts_renders_in_flight(alice_api, alices, settings):
    settings.STEMROOM_MAX_ACTIVE_JOBS = 1
    _, job = alices
    assert alice_api.post(versions_url(job), {"key": 1, "tempo": 100}, format="json").status_code == 202
    # The same one again is not another render.
    assert alice_api.post(versions_url(job), {"key": 1, "tempo": 100}, format="json").status_code == 202
    refused = alice_api.post(versions_url(job), {"key": -1, "tempo": 100}, format="json")
    assert refused.status_code == 429
    assert refused.json() == {
        "detail": "You have 1 key and tempo change rendering; wait for one to finish before asking for another.",
        "code": "too_many_jobs",
    }
    assert StemVersion.objects.count() == 1


def test_a_failed_version_is_queued_again_when_asked_for(alice_api, alices):
    _, job = alices
    version = StemVersion.objects.create(job=job, semitones=3, tempo=100, status="failed", error="boom")
    response = alice_api.post(versions_url(job), {"key": 3, "tempo": 100}, format="json")
    assert response.status_code == 202
    assert response.json()["id"] == str(version.pk) and response.json()["status"] == "queued"
    assert response.json()["error"] == ""


def test_a_versions_files_go_with_the_job(alice_api, alices, django_capture_on_commit_callbacks):
    track, job = alices
    version = alice_api.post(versions_url(job), {"key": -2, "tempo": 110}, format="json").json()
    run_version(version["id"])
    rendered = [name for name in stored_files() if name.startswith("versions/")]
    assert len(rendered) == 2
    with django_capture_on_commit_callbacks(execute=True):
        alice_api.delete(f"/api/tracks/{track.pk}/")
    assert not StemVersion.objects.exists()
    assert not [name for name in stored_files() if name.startswith("versions")]
