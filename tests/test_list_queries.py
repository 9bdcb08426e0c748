"""Listing a big library with each track's separation status costs a constant number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from library.models import Track
from separation.models import SeparationJob, SeparationRequest


def make_library(owner, count):
    tracks = [
        Track(
            owner=owner,
            title=f"Song {i:04d}",
            artist="Band",
            original=f"tracks/{owner.pk}/song{i}.mp3",
            original_name=f"song{i}.mp3",
            sha256=f"{i:064x}",
            codec="mp3",
            duration=180,
            sample_rate=44100,
            channels=2,
            size=1000,
        )
        for i in range(count)
    ]
    Track.objects.bulk_create(tracks)
    # Every third song has a job: some running, some done.
    jobs = SeparationJob.objects.bulk_create(
        SeparationJob(
            sha256=f"{i:064x}", source="x", model="2stems", status="running" if i % 2 else "succeeded", progress=40
        )
        for i in range(0, count, 3)
    )
    SeparationRequest.objects.bulk_create(SeparationRequest(user=owner, job=job) for job in jobs)


@pytest.mark.parametrize("count", [10, 1000])
def test_listing_tracks_with_job_status_uses_constant_queries(alice_api, alice, count):
    make_library(alice, count)
    with CaptureQueriesContext(connection) as queries:
        response = alice_api.get("/api/tracks/?page_size=200&ordering=title")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == count
    first = body["results"][0]
    assert first["separation"]["status"] == "succeeded"
    assert body["results"][1]["separation"] is None
    # Session/auth lookups aside: one COUNT, one page of tracks with the job subqueries.
    assert len(queries) <= 3, [q["sql"] for q in queries]


def test_each_track_shows_the_newest_job_its_owner_asked_for(alice_api, alice, bob):
    make_library(alice, 3)
    older = SeparationJob.objects.get(sha256=f"{0:064x}")
    older.status = "failed"  # one live job per audio: the newer one is a retry
    older.save()
    newer = SeparationJob.objects.create(sha256=f"{0:064x}", source="x", model="2stems", status="queued")
    withdrawn = SeparationRequest.objects.create(user=alice, job=newer)
    # bob's newer job for the same audio is his, not alice's.
    SeparationRequest.objects.create(
        user=bob, job=SeparationJob.objects.create(sha256=f"{0:064x}", source="x", model="2stems", status="cancelled")
    )
    # A job of another model is not the 2stems one the library shows.
    SeparationRequest.objects.create(
        user=alice, job=SeparationJob.objects.create(sha256=f"{1:064x}", source="x", model="4stems")
    )

    def listed():
        results = alice_api.get("/api/tracks/?ordering=title").json()["results"]
        return [track["separation"] for track in results]

    assert listed() == [{"id": str(newer.pk), "status": "queued", "progress": 0}, None, None]
    withdrawn.cancelled_at = timezone.now()
    withdrawn.save()
    assert listed()[0] == {"id": str(newer.pk), "status": "cancelled", "progress": 0}
    withdrawn.delete()
    assert listed()[0] == {"id": str(older.pk), "status": "failed", "progress": 40}
