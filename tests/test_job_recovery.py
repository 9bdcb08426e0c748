"""Every background job -- separations and mixdowns -- is recovered the same way when its worker dies,
people's cancels and retries never use up the crashes a job may survive, and the error people
see names no host or process."""

import socket
import subprocess
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ

from library.models import Mixdown
from library.tasks import render_mixdown
from separation.jobs import MAX_ATTEMPTS, recover_stale_jobs
from separation.models import SeparationJob
from tests.separated import separated_track

DEAD_WORKER = "gone-host:4242"


def went_silent(job, *, worker=DEAD_WORKER, minutes_ago=10):
    """A worker claimed the job, then stopped writing heartbeats ``minutes_ago``."""
    assert job.claim(worker)
    past = timezone.now() - timedelta(minutes=minutes_ago)
    type(job).objects.filter(pk=job.pk).update(started_at=past, heartbeat_at=past)
    job.refresh_from_db()


def dead_pid():
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def broker_funcs():
    return [row.task["func"] for row in OrmQ.objects.all()]


@pytest.fixture
def remix(alice, alice_api, tmp_path):
    track, _ = separated_track(alice, tmp_path)
    body = alice_api.post("/api/remixes/", {"track": str(track.pk), "name": "Mix"}, format="json").json()
    return body["id"]


@pytest.fixture
def rendering(remix, alice_api, django_capture_on_commit_callbacks):
    """A mixdown asked for through the API, its task in the broker."""
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.post(f"/api/remixes/{remix}/render/")
    assert response.status_code == 202
    OrmQ.objects.all().delete()  # a worker took the task
    return Mixdown.objects.get(pk=response.json()["id"])


# --- Mixdowns ---


def test_a_mixdown_whose_worker_went_silent_is_queued_again_and_then_renders(
    rendering, alice_api, remix, django_capture_on_commit_callbacks
):
    went_silent(rendering)

    with django_capture_on_commit_callbacks(execute=True):
        assert recover_stale_jobs() == {"requeued": 1, "failed": 0}

    rendering.refresh_from_db()
    assert (rendering.status, rendering.worker, rendering.attempts) == ("queued", "", 1)
    assert broker_funcs() == ["library.tasks.render_mixdown"]
    render_mixdown(str(rendering.pk))
    rendering.refresh_from_db()
    assert rendering.status == "succeeded"
    assert alice_api.get(f"/api/remixes/{remix}/mixdown/?id={rendering.pk}").status_code == 200


def test_a_mixdown_whose_process_is_gone_from_this_host_is_recovered_at_once(
    rendering, django_capture_on_commit_callbacks
):
    # The heartbeat is fresh: only the missing process tells that the worker died.
    assert rendering.claim(f"{socket.gethostname()}:{dead_pid()}")

    with django_capture_on_commit_callbacks(execute=True):
        assert recover_stale_jobs() == {"requeued": 1, "failed": 0}

    assert Mixdown.objects.get(pk=rendering.pk).status == "queued"


def test_render_never_hands_back_a_mixdown_whose_worker_died(
    rendering, alice_api, remix, django_capture_on_commit_callbacks
):
    went_silent(rendering)

    with django_capture_on_commit_callbacks(execute=True):
        again = alice_api.post(f"/api/remixes/{remix}/render/")

    assert again.status_code == 200
    assert again.json()["id"] == str(rendering.pk)
    assert again.json()["status"] == "queued"  # on its way to a live worker, not "running" for ever
    assert broker_funcs() == ["library.tasks.render_mixdown"]

    # It dies again: out of attempts, it fails, and render starts a fresh one.
    OrmQ.objects.all().delete()
    went_silent(Mixdown.objects.get(pk=rendering.pk))
    with django_capture_on_commit_callbacks(execute=True):
        fresh = alice_api.post(f"/api/remixes/{remix}/render/")
    assert fresh.status_code == 202
    assert fresh.json()["id"] != str(rendering.pk)
    failed = Mixdown.objects.get(pk=rendering.pk)
    assert failed.status == "failed"
    assert failed.error.startswith("The worker stopped while rendering this mixdown (2 attempts).")


def test_a_running_mixdown_with_a_live_worker_is_left_alone(rendering, alice_api, remix):
    assert rendering.claim(f"{socket.gethostname()}:1")  # pid 1 is alive
    assert recover_stale_jobs() == {"requeued": 0, "failed": 0}
    again = alice_api.post(f"/api/remixes/{remix}/render/")
    assert again.json()["status"] == "running"


# --- Separations ---


@pytest.fixture
def asked(alice, alice_api, song_wav, spleeter_2stems, isolated_media):
    from tests.helpers import upload

    track_id = upload(alice_api, song_wav).json()["id"]
    response = alice_api.post(f"/api/tracks/{track_id}/separations/", {"model": "2stems"}, format="json")
    return SeparationJob.objects.get(pk=response.json()["id"])


def test_a_job_whose_worker_keeps_dying_fails_without_showing_host_or_pid(asked, alice_api):
    for _ in range(MAX_ATTEMPTS):
        went_silent(SeparationJob.objects.get(pk=asked.pk))
        recover_stale_jobs()

    job = SeparationJob.objects.get(pk=asked.pk)
    assert job.status == "failed"
    assert job.worker == DEAD_WORKER  # kept for the admin
    shown = alice_api.get(f"/api/jobs/{job.pk}/").json()["error"]
    assert shown == (
        "The worker stopped while separating this track (2 attempts). "
        "It may have run out of memory or been restarted. Retry to try again."
    )
    assert "gone-host" not in shown and "4242" not in shown


def test_cancel_and_retry_rounds_never_use_up_crash_attempts(asked, alice_api):
    for round_number in range(4):
        assert SeparationJob.objects.get(pk=asked.pk).claim(f"worker:{round_number}")
        assert alice_api.post(f"/api/jobs/{asked.pk}/cancel/").json()["status"] == "cancelled"
        assert alice_api.post(f"/api/jobs/{asked.pk}/retry/").json()["status"] == "queued"

    went_silent(SeparationJob.objects.get(pk=asked.pk))  # now a real crash
    assert recover_stale_jobs() == {"requeued": 1, "failed": 0}
    assert SeparationJob.objects.get(pk=asked.pk).status == "queued"


def test_a_job_recovered_while_its_worker_finishes_is_left_alone(asked):
    went_silent(asked)
    stale = SeparationJob.objects.get(pk=asked.pk)
    assert asked.mark_succeeded()  # the worker was only slow, and finished first
    assert stale.recover() is None
    assert SeparationJob.objects.get(pk=asked.pk).status == "succeeded"


def test_an_operators_retry_gives_the_job_its_crash_attempts_back(asked):
    from separation import operations

    for _ in range(MAX_ATTEMPTS):
        went_silent(SeparationJob.objects.get(pk=asked.pk))
        recover_stale_jobs()
    assert SeparationJob.objects.get(pk=asked.pk).status == "failed"

    assert operations.retry(SeparationJob.objects.get(pk=asked.pk)).done
    went_silent(SeparationJob.objects.get(pk=asked.pk))
    assert recover_stale_jobs() == {"requeued": 1, "failed": 0}


# --- Queued jobs whose task a cluster took but never started (its machine died) ---


def asked_for_render(remix, alice_api, capture):
    with capture(execute=True):
        response = alice_api.post(f"/api/remixes/{remix}/render/")
    assert response.status_code == 202
    return Mixdown.objects.get(pk=response.json()["id"])


def waited(job, minutes):
    Mixdown.objects.filter(pk=job.pk).update(queued_at=timezone.now() - timedelta(minutes=minutes))


def test_a_queued_job_whose_task_a_cluster_took_is_sent_again_once(
    remix, alice_api, django_capture_on_commit_callbacks
):
    job = asked_for_render(remix, alice_api, django_capture_on_commit_callbacks)
    first_task = Mixdown.objects.get(pk=job.pk).task_id
    # A cluster's pusher took it (locked for `retry` seconds), then the cluster was killed.
    OrmQ.objects.update(lock=timezone.now() + timedelta(hours=1))
    waited(job, 10)

    with django_capture_on_commit_callbacks(execute=True):
        assert recover_stale_jobs() == {"requeued": 1, "failed": 0}

    job.refresh_from_db()
    assert job.status == "queued" and job.attempts == 0
    assert job.task_id not in ("", first_task)
    assert [row.task_id() for row in OrmQ.objects.all()] == [job.task_id]  # the taken copy is gone
    # Waiting in the broker for any cluster: left alone, however long it has waited.
    assert recover_stale_jobs() == {"requeued": 0, "failed": 0}
    render_mixdown(str(job.pk))
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("succeeded", 1)


def test_a_queued_job_waiting_less_than_the_stale_time_keeps_its_taken_task(
    remix, alice_api, django_capture_on_commit_callbacks
):
    asked_for_render(remix, alice_api, django_capture_on_commit_callbacks)
    OrmQ.objects.update(lock=timezone.now() + timedelta(hours=1))

    assert recover_stale_jobs() == {"requeued": 0, "failed": 0}
    assert OrmQ.objects.count() == 1


def test_a_second_copy_of_a_task_finds_the_job_claimed_and_does_nothing(
    remix, alice_api, django_capture_on_commit_callbacks
):
    job = asked_for_render(remix, alice_api, django_capture_on_commit_callbacks)
    render_mixdown(str(job.pk))
    render_mixdown(str(job.pk))  # the stranded copy, reached later by its cluster
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("succeeded", 1)


def test_a_heartbeat_that_fails_once_keeps_beating(settings):
    # One locked SQLite write or dropped connection must not silence the worker for good:
    # its job would be taken for dead and run twice.
    from django.db import OperationalError

    from separation.jobs import Heartbeat

    settings.SEPARATION_HEARTBEAT_SECONDS = 0.02

    class FlakyJob:
        pk = "flaky"
        beats = 0

        def beat(self):
            self.beats += 1
            if self.beats == 1:
                raise OperationalError("database is locked")
            return True

    job = FlakyJob()
    heartbeat = Heartbeat(job)
    heartbeat.start()
    try:
        deadline = time.monotonic() + 5
        while job.beats < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert heartbeat.is_alive()
    finally:
        heartbeat.stop()
    assert job.beats >= 3
