"""Faults in the middle of a real job: the media disk fills up, PostgreSQL goes away.

Nothing may be lost and nothing left stuck, and the system must work again without
manual repair once the fault is gone (docs/reliability.md).
"""

import os
import subprocess
import time

import pytest
from django.conf import settings
from django.db import connections

from separation.models import SeparationJob
from tests.disk import small_disk
from tests.eval_songs import generate_song
from tests.helpers import files_under
from tests.test_worker_jobs import client_for, job_status, separate
from tests.workers import wait_for

pytestmark = pytest.mark.worker

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return generate_song(tmp_path_factory.mktemp("song20"), seconds=20, seed=21)


def stem_files(media):
    return [f for f in files_under(media) if f.startswith("stems/")]


def test_a_media_disk_that_fills_up_fails_the_job_clearly_and_a_retry_then_works(
    worker_cluster, alice, song, isolated_media
):
    source_size = (song / "mixture.wav").stat().st_size
    with small_disk(isolated_media.MEDIA_ROOT, source_size + 256 * 1024) as grow:
        api = client_for(alice)
        _, job = separate(api, song)
        failed = wait_for(lambda: job_status(job["id"], "succeeded", "failed"), 300, "the job to end", worker_cluster)
        assert failed.status == "failed"
        assert "storage" in failed.error.lower() and "full" in failed.error.lower(), failed.error
        assert failed.stems.count() == 0
        assert stem_files(isolated_media.MEDIA_ROOT) == [], "a half-written stem was left on the full disk"
        assert not list(isolated_media.FILE_UPLOAD_TEMP_DIR.glob("job-*"))

        grow(source_size + 64 * 1024 * 1024)  # the administrator makes room
        response = api.post(f"/api/jobs/{job['id']}/retry/")
        assert response.status_code == 202, response.json()
        done = wait_for(lambda: job_status(job["id"], "succeeded", "failed"), 300, "the retry", worker_cluster)
        assert done.status == "succeeded", done.error
        final = [f for f in stem_files(isolated_media.MEDIA_ROOT) if "/chunks/" not in f]
        assert len(final) == 7  # two stems' FLAC, MP3 and peaks, and the mixture's peaks


def pg_ctl(*args):
    command = [os.path.join(os.environ["STEMROOM_TEST_PG_BIN"], "pg_ctl"), "-D", os.environ["STEMROOM_TEST_PG_DATA"]]
    owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run(owner + command + list(args), check=True, capture_output=True)


@pytest.mark.skipif(not ON_POSTGRES, reason="a PostgreSQL fault: runs in the PostgreSQL pass of make test")
def test_postgresql_stopped_mid_job_and_restarted_the_job_still_finishes(worker_cluster, alice, song, isolated_media):
    api = client_for(alice)
    _, job = separate(api, song)
    wait_for(
        lambda: SeparationJob.objects.filter(pk=job["id"], status="running").exists(),
        300,
        "the job to start",
        worker_cluster,
        interval=0.05,
    )
    connections.close_all()
    pg_ctl("-m", "fast", "-w", "stop")
    time.sleep(5)  # the worker meets a dead database mid-job
    pg_ctl("-w", "-l", os.environ["STEMROOM_TEST_PG_LOG"], "-o", os.environ["STEMROOM_TEST_PG_OPTIONS"], "start")
    connections.close_all()

    done = wait_for(lambda: job_status(job["id"], "succeeded", "failed"), 300, "the job to recover", worker_cluster)
    assert done.status == "succeeded", done.error
    # The first run died with the database; a second one made the stems.
    assert done.attempts == 2, worker_cluster.output()
    assert done.stems.count() == 2
    files = stem_files(isolated_media.MEDIA_ROOT)
    assert len([f for f in files if "/chunks/" not in f]) == 7
    # Progressive chunks stay a while after success (SEPARATION_CHUNK_GRACE_MINUTES), but only
    # the finishing run's: the run the database outage killed left none behind.
    assert len({f.split("/chunks/")[1].split("/")[0] for f in files if "/chunks/" in f}) <= 1
    assert not list(isolated_media.FILE_UPLOAD_TEMP_DIR.glob("job-*"))
    assert worker_cluster.process.poll() is None, worker_cluster.output()
