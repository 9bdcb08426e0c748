"""Listing a big library with each track's separation status costs a constant number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

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
