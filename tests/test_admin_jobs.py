"""Separation jobs in the admin: the list and page show the whole story, and the retry,
cancel and re-queue actions change state correctly without ever leaving two tasks for one job."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from django_q.models import OrmQ, Task

from library.models import Track
from separation.models import SeparationJob, Stem
from separation.services import request_separation
from tests.monitoring_data import sha

CHANGELIST = "/admin/separation/separationjob/"


@pytest.fixture
def staff(db):
    return User.objects.create_superuser("sam", "sam@example.com", "a staff passphrase")


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def request_job(alice, django_capture_on_commit_callbacks):
    """A job asked for through the real service, its django-q2 task really in the broker."""

    def request(n=1):
        with django_capture_on_commit_callbacks(execute=True):
            job, _ = request_separation(sha256=sha(n), source=f"tracks/{alice.pk}/{n}.wav", model="2stems", user=alice)
        job.refresh_from_db()
        return job

    return request


def broker_task_ids():
    return sorted(row.task_id() for row in OrmQ.objects.all())


def act(client, action, *jobs, capture):
    with capture(execute=True):
        response = client.post(
            CHANGELIST, {"action": action, "_selected_action": [str(j.pk) for j in jobs]}, follow=True
        )
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


def worker_took(job, *, minutes_ago):
    """A worker took the job's task and claimed the job ``minutes_ago``, then went silent."""
    OrmQ.objects.update(lock=timezone.now() + timedelta(hours=1))
    assert job.claim("gone-host:4242")
    past = timezone.now() - timedelta(minutes=minutes_ago)
    SeparationJob.objects.filter(pk=job.pk).update(started_at=past, heartbeat_at=past)
    job.refresh_from_db()


# --- Retry ---


def test_retrying_a_failed_job_queues_it_with_exactly_one_new_task(
    admin_client, request_job, django_capture_on_commit_callbacks
):
    job = request_job()
    old_task = job.task_id
    OrmQ.objects.all().delete()  # the worker ran the task and acknowledged it...
    job.mark_failed("Out of memory.")  # ...and the job failed

    messages = act(admin_client, "retry_jobs", job, capture=django_capture_on_commit_callbacks)

    job.refresh_from_db()
    assert job.status == "queued"
    assert job.error == ""
    assert job.task_id != old_task
    assert broker_task_ids() == [job.task_id]
    assert OrmQ.objects.get().task["args"] == (str(job.pk),)
    assert messages == ["1 job queued again."]


def test_retrying_a_job_cancelled_while_queued_replaces_its_waiting_task(
    admin_client, request_job, django_capture_on_commit_callbacks
):
    job = request_job()
    old_task = job.task_id
    job.cancel()
    assert broker_task_ids() == [old_task]  # cancelling through the API leaves the task waiting

    act(admin_client, "retry_jobs", job, capture=django_capture_on_commit_callbacks)

    job.refresh_from_db()
    assert job.status == "queued"
    assert broker_task_ids() == [job.task_id]
    assert job.task_id != old_task


def test_retrying_twice_or_retrying_a_live_job_adds_no_task(
    admin_client, request_job, django_capture_on_commit_callbacks
):
    failed = request_job(1)
    OrmQ.objects.all().delete()
    failed.mark_failed("boom")
    queued = request_job(2)

    act(admin_client, "retry_jobs", failed, capture=django_capture_on_commit_callbacks)
    messages = act(admin_client, "retry_jobs", failed, queued, capture=django_capture_on_commit_callbacks)

    failed.refresh_from_db()
    queued.refresh_from_db()
    assert (failed.status, queued.status) == ("queued", "queued")
    assert broker_task_ids() == sorted([failed.task_id, queued.task_id])
    assert len(messages) == 2
    assert all("only failed or cancelled jobs can be retried" in m for m in messages)


def test_retrying_when_another_live_job_makes_the_stems_leaves_the_old_one_alone(
    admin_client, request_job, alice, django_capture_on_commit_callbacks
):
    old = request_job()
    OrmQ.objects.all().delete()
    old.mark_failed("boom")
    new = request_job()  # asked again after the failure: a new job for the same audio
    assert new.pk != old.pk

    messages = act(admin_client, "retry_jobs", old, capture=django_capture_on_commit_callbacks)

    old.refresh_from_db()
    assert old.status == "failed"
    assert broker_task_ids() == [new.task_id]
    assert f"job {new.pk} (queued) already makes these stems" in messages[0]


# --- Cancel ---


def test_cancelling_a_queued_job_removes_its_waiting_task(
    admin_client, request_job, django_capture_on_commit_callbacks
):
    job = request_job()
    assert len(broker_task_ids()) == 1

    messages = act(admin_client, "cancel_jobs", job, capture=django_capture_on_commit_callbacks)

    job.refresh_from_db()
    assert job.status == "cancelled"
    assert job.finished_at is not None
    assert broker_task_ids() == []
    assert messages == ["1 job cancelled."]


def test_cancelling_a_running_job_leaves_its_task_to_the_worker(
    admin_client, request_job, django_capture_on_commit_callbacks
):
    job = request_job()
    worker_took(job, minutes_ago=0)

    act(admin_client, "cancel_jobs", job, capture=django_capture_on_commit_callbacks)

    job.refresh_from_db()
    assert job.status == "cancelled"
    assert broker_task_ids() == [job.task_id]  # held by the worker, which sees the cancel at its next report
    assert not job.report_progress(50)


def test_cancel_leaves_finished_jobs_alone(admin_client, request_job, django_capture_on_commit_callbacks):
    job = request_job()
    OrmQ.objects.all().delete()
    job.claim("box:1")
    job.mark_succeeded(duration=3.0, realtime_factor=30.0, mixture_peaks="")

    messages = act(admin_client, "cancel_jobs", job, capture=django_capture_on_commit_callbacks)

    job.refresh_from_db()
    assert job.status == "succeeded"
    assert messages == [f"Left alone: {job.pk} is succeeded: only queued or running jobs can be cancelled."]


# --- Re-queue ---


def test_requeueing_a_stuck_running_job_gives_it_one_fresh_task(
    admin_client, request_job, django_capture_on_commit_callbacks
):
    job = request_job()
    old_task = job.task_id
    worker_took(job, minutes_ago=10)
    Stem.objects.create(job=job, name="vocals", duration=3.0)  # half-written output of the dead worker

    messages = act(admin_client, "requeue_jobs", job, capture=django_capture_on_commit_callbacks)

    job.refresh_from_db()
    assert job.status == "queued"
    assert (job.worker, job.started_at, job.progress) == ("", None, 0)
    assert job.attempts == 1  # the next claim counts the next attempt
    assert not job.stems.exists()
    # The dead worker's held task is gone (django-q2 would have handed it out again later).
    assert broker_task_ids() == [job.task_id]
    assert job.task_id != old_task
    assert OrmQ.objects.get().lock <= timezone.now()
    assert messages == ["1 job re-queued."]
    # Run again, the old worker's writes bounce: it cannot finish the job a second time.
    assert not SeparationJob.objects.filter(pk=job.pk, status="running", worker="gone-host:4242").exists()


def test_a_running_job_with_a_live_heartbeat_is_never_requeued(
    admin_client, request_job, django_capture_on_commit_callbacks
):
    job = request_job()
    worker_took(job, minutes_ago=0)

    messages = act(admin_client, "requeue_jobs", job, capture=django_capture_on_commit_callbacks)

    job.refresh_from_db()
    assert job.status == "running"
    assert job.worker == "gone-host:4242"
    assert broker_task_ids() == [job.task_id]
    assert "is running on gone-host:4242" in messages[0]
    assert "cancel it instead" in messages[0]


def test_requeueing_a_queued_job_whose_task_is_waiting_adds_nothing(
    admin_client, request_job, django_capture_on_commit_callbacks
):
    job = request_job()
    before = list(OrmQ.objects.values_list("pk", flat=True))

    messages = act(admin_client, "requeue_jobs", job, capture=django_capture_on_commit_callbacks)

    assert list(OrmQ.objects.values_list("pk", flat=True)) == before
    assert SeparationJob.objects.get(pk=job.pk).task_id == job.task_id
    assert "already waiting in the queue" in messages[0]


def test_requeueing_a_queued_job_whose_task_was_lost_sends_one(
    admin_client, request_job, django_capture_on_commit_callbacks
):
    job = request_job()
    OrmQ.objects.all().delete()  # e.g. the broker table was purged

    act(admin_client, "requeue_jobs", job, capture=django_capture_on_commit_callbacks)
    act(admin_client, "requeue_jobs", job, capture=django_capture_on_commit_callbacks)  # twice: still one

    job.refresh_from_db()
    assert job.status == "queued"
    assert broker_task_ids() == [job.task_id]


def test_a_requeued_stuck_job_is_then_claimed_by_one_worker_only(
    admin_client, request_job, django_capture_on_commit_callbacks
):
    job = request_job()
    worker_took(job, minutes_ago=10)
    act(admin_client, "requeue_jobs", job, capture=django_capture_on_commit_callbacks)
    act(admin_client, "requeue_jobs", job, capture=django_capture_on_commit_callbacks)

    # Every task left in the broker would try to claim the job; only one can win.
    claims = [SeparationJob.objects.get(pk=row.task["args"][0]).claim(f"w:{row.pk}") for row in OrmQ.objects.all()]
    assert claims == [True]


def test_finished_jobs_cannot_be_requeued(admin_client, request_job, django_capture_on_commit_callbacks):
    job = request_job()
    OrmQ.objects.all().delete()
    job.mark_failed("boom")

    messages = act(admin_client, "requeue_jobs", job, capture=django_capture_on_commit_callbacks)

    assert SeparationJob.objects.get(pk=job.pk).status == "failed"
    assert broker_task_ids() == []
    assert "only stuck queued or running jobs can be re-queued" in messages[0]


def test_the_buttons_on_a_jobs_page_come_back_to_it(admin_client, request_job, django_capture_on_commit_callbacks):
    job = request_job()
    page = admin_client.get(f"{CHANGELIST}{job.pk}/change/").content.decode()
    assert 'value="cancel_jobs"' in page
    assert 'value="retry_jobs"' not in page  # a queued job cannot be retried
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            CHANGELIST, {"action": "cancel_jobs", "_selected_action": [str(job.pk)], "_back_to_job": "1"}
        )
    assert response.status_code == 302
    assert response["Location"] == f"{CHANGELIST}{job.pk}/change/"
    assert SeparationJob.objects.get(pk=job.pk).status == "cancelled"


# --- What the list and the page show ---


def add_track(owner, n, title):
    return Track.objects.create(
        owner=owner,
        title=title,
        artist="The Testers",
        original=f"tracks/{owner.pk}/{n}.mp3",
        original_name=f"{title}.mp3",
        sha256=sha(n),
        codec="mp3",
        duration=180,
        sample_rate=44100,
        channels=2,
        size=4_000_000,
    )


def test_the_list_links_each_job_to_the_tracks_and_owners_of_its_audio(admin_client, alice, bob, request_job):
    job = request_job(1)
    alices = add_track(alice, 1, "Morning Tune")
    bobs = add_track(bob, 1, "Same Song, Bob's Copy")

    page = admin_client.get(CHANGELIST).content.decode()

    assert f'href="/admin/library/track/{alices.pk}/change/"' in page
    assert f'href="/admin/library/track/{bobs.pk}/change/"' in page
    assert f'href="/admin/auth/user/{bob.pk}/change/"' in page
    assert "Same Song, Bob&#x27;s Copy" in page
    assert "Queued" in page  # the status badge
    assert str(job.pk.hex[:8]) in page


def test_the_list_takes_the_same_number_of_queries_for_many_jobs(
    admin_client, alice, bob, django_assert_max_num_queries
):
    def fill(start, count):
        for n in range(start, start + count):
            add_track(alice if n % 2 else bob, n, f"Song {n}")
        SeparationJob.objects.bulk_create(
            SeparationJob(
                sha256=sha(n), source="x", model="2stems", status="failed", error=f"error {n}", requested_by=alice
            )
            for n in range(start, start + count)
        )

    fill(0, 2)
    with django_assert_max_num_queries(12) as few:
        admin_client.get(CHANGELIST)
    fill(2, 48)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = admin_client.get(CHANGELIST).content.decode()
    assert page.count('href="/admin/library/track/') >= 50


def test_filters_find_jobs_by_status_requester_track_owner_and_track_title(admin_client, alice, bob, request_job):
    alices_job = request_job(1)
    bobs_job = request_job(2)
    add_track(alice, 1, "Alice's Song")
    add_track(bob, 2, "Bob's Song")

    def listed(query):
        return {str(j.pk) for j in admin_client.get(CHANGELIST + query).context["cl"].result_list}

    assert listed(f"?track_owner={bob.pk}") == {str(bobs_job.pk)}
    assert listed("?q=Alice%27s") == {str(alices_job.pk)}
    assert listed(f"?requested_by__id__exact={alice.pk}") == {str(alices_job.pk), str(bobs_job.pk)}
    assert listed("?status__exact=failed") == set()
    assert listed("?status__exact=queued&model__exact=2stems") == {str(alices_job.pk), str(bobs_job.pk)}


def test_the_job_page_shows_the_full_error_its_tracks_stems_and_django_q_task(admin_client, alice, request_job):
    job = request_job(1)
    add_track(alice, 1, "Morning Tune")
    job.claim("box:1")
    stem = Stem.objects.create(job=job, name="vocals", duration=3.0, size=2_000_000)
    long_error = "The engine gave up.\n" + "x" * 300 + "\nLast line of the error."
    job.mark_failed(long_error)
    Task.objects.create(
        id=job.task_id,
        name="separate",
        func="separation.tasks.run_job",
        started=timezone.now(),
        stopped=timezone.now(),
        success=True,
    )

    page = admin_client.get(f"{CHANGELIST}{job.pk}/change/").content.decode()

    assert "Last line of the error." in page
    assert "Morning Tune" in page
    assert f'href="/admin/separation/stem/{stem.pk}/change/"' in page
    assert f'href="/admin/django_q/success/{job.task_id}/change/"' in page
    assert 'value="retry_jobs"' in page


def test_the_job_page_links_a_waiting_task_to_the_broker_queue(admin_client, request_job):
    job = request_job()
    page = admin_client.get(f"{CHANGELIST}{job.pk}/change/").content.decode()
    assert f'href="/admin/django_q/ormq/{OrmQ.objects.get().pk}/change/"' in page


def test_people_who_are_not_staff_are_sent_to_the_login(client, alice, request_job):
    job = request_job()
    client.force_login(alice)
    for url in (CHANGELIST, f"{CHANGELIST}{job.pk}/change/", "/admin/library/track/", "/admin/auth/user/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url
    response = client.post(CHANGELIST, {"action": "cancel_jobs", "_selected_action": [str(job.pk)]})
    assert response.status_code == 302
    assert SeparationJob.objects.get(pk=job.pk).status == "queued"


def test_staff_without_permission_to_change_jobs_cannot_run_the_actions(client, request_job):
    viewer = User.objects.create_user("vera", password="a viewing passphrase", is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_separationjob"))
    job = request_job()
    client.force_login(viewer)
    assert client.get(CHANGELIST).status_code == 200
    client.post(CHANGELIST, {"action": "cancel_jobs", "_selected_action": [str(job.pk)]})
    assert SeparationJob.objects.get(pk=job.pk).status == "queued"


def test_the_user_page_lists_their_tracks_and_the_storage_they_use(admin_client, alice, bob):
    add_track(alice, 1, "Morning Tune")
    add_track(alice, 2, "Evening Tune")
    add_track(bob, 3, "Bob's Only Song")

    page = admin_client.get(f"/admin/auth/user/{alice.pk}/change/").content.decode()
    assert "Morning Tune" in page and "Evening Tune" in page
    assert "Bob&#x27;s Only Song" not in page
    assert "7.6 MB of 5.0 GB" in page  # 2 x 4,000,000 bytes

    listing = admin_client.get("/admin/auth/user/?o=-7").context["cl"].result_list
    assert [(u.username, u.storage_bytes, u.track_count) for u in listing if u.username in ("alice", "bob")] == [
        ("alice", 8_000_000, 2),
        ("bob", 4_000_000, 1),
    ]


def test_the_track_page_links_to_its_jobs(admin_client, alice, request_job):
    job = request_job(1)
    track = add_track(alice, 1, "Morning Tune")
    listing = admin_client.get("/admin/library/track/").content.decode()
    assert f'href="/admin/separation/separationjob/{job.pk}/change/"' in listing
    page = admin_client.get(f"/admin/library/track/{track.pk}/change/").content.decode()
    assert f'href="/admin/separation/separationjob/{job.pk}/change/"' in page
