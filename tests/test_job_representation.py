"""The hand-written job representation says exactly what DRF's declared fields would."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from library.api_jobs import visible_job
from separation.models import SeparationJob, SeparationRequest, Stem
from separation.serializers import JobSerializer


def rendered(data):
    return json.loads(JSONRenderer().render(data))


@pytest.fixture
def jobs(alice):
    now = timezone.now()
    queued = SeparationJob.objects.create(sha256="1" * 64, source="x", model="2stems")
    running = SeparationJob.objects.create(
        sha256="2" * 64, source="x", model="4stems", status="running", progress=42, started_at=now, attempts=1
    )
    failed = SeparationJob.objects.create(
        sha256="3" * 64, source="x", model="2stems", status="failed", error="The file is not audio.", finished_at=now
    )
    done = SeparationJob.objects.create(
        sha256="4" * 64,
        source="x",
        model="2stems",
        status="succeeded",
        progress=100,
        started_at=now - timedelta(seconds=7),
        finished_at=now,
        duration=187.5,
        realtime_factor=31.25,
        mixture_peaks="stems/x/mixture.peaks.json",
    )
    for name in ("vocals", "accompaniment"):
        Stem.objects.create(
            job=done,
            name=name,
            lossless=f"stems/x/{name}.flac",
            compressed=f"stems/x/{name}.mp3",
            peaks=f"stems/x/{name}.peaks.json",
            duration=187.5,
            size=123_456,
        )
    withdrawn = SeparationJob.objects.create(sha256="5" * 64, source="x", model="2stems", status="running")
    for job in (queued, running, failed, done):
        SeparationRequest.objects.create(user=alice, job=job)
    SeparationRequest.objects.create(user=alice, job=withdrawn, cancelled_at=now)
    return [queued, running, failed, done, withdrawn]


def test_it_matches_drfs_field_by_field_output(alice, jobs):
    for job in jobs:
        seen = visible_job(alice, job.pk)
        serializer = JobSerializer()
        by_hand = serializer.to_representation(seen)
        by_fields = serializers.ModelSerializer.to_representation(serializer, seen)
        if seen.status_as_seen != seen.status:
            by_fields.update(
                status=seen.status_as_seen,
                error="Cancelled.",
                stems=[],
                mixture_peaks_url=None,
                ready_seconds=0.0,
                chunks_url=None,
            )
        assert list(by_hand) == list(by_fields)
        assert rendered(by_hand) == rendered(by_fields)


def test_the_api_shows_stems_and_what_alice_sees(alice_api, jobs):
    done = alice_api.get(f"/api/jobs/{jobs[3].pk}/").json()
    assert sorted(stem["name"] for stem in done["stems"]) == ["accompaniment", "vocals"]
    assert done["stems"][0]["flac_url"].endswith("/audio/?rendition=flac")
    assert done["mixture_peaks_url"] == f"/api/jobs/{jobs[3].pk}/mixture-peaks/"
    withdrawn = alice_api.get(f"/api/jobs/{jobs[4].pk}/").json()
    assert (withdrawn["status"], withdrawn["error"], withdrawn["stems"]) == ("cancelled", "Cancelled.", [])
    assert alice_api.get(f"/api/jobs/{jobs[1].pk}/").json()["progress"] == 42


def test_someone_elses_job_and_a_bad_id_are_404(bob, jobs):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(bob)
    assert client.get(f"/api/jobs/{jobs[1].pk}/").status_code == 404
    assert client.get("/api/jobs/not-a-uuid/").status_code == 404
