"""Asking for stems: the shared job for this audio and model, and each person's request for it.

A job is shared by everyone who asks for the same audio and model. What each person
does -- ask, cancel, retry -- changes their own ``SeparationRequest``; the shared job
is cancelled only when no live request for it remains, and it runs again when someone
retries it after it stopped.
"""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import SeparationJob, SeparationRequest


class TooManyJobs(Exception):
    def __init__(self, limit):
        super().__init__(
            f"You have {limit} separation{'s' if limit != 1 else ''} queued or running; "
            "wait for one to finish or cancel one."
        )
        self.limit = limit


def request_separation(*, sha256, source, model, user=None, seconds=None, max_in_flight=None):
    """Return (job, created): the live job for this audio and model (new if none), with ``user``'s request.

    ``seconds``: the source's decoded length, the most a worker will separate.
    ``max_in_flight``: refuse (TooManyJobs) when this would give ``user`` more requests
    than that waiting for a queued or running job. Asking for stems that already exist,
    or for a job one already waits for, never counts.
    """
    created = False
    with transaction.atomic():
        _lock_person(user)
        job = SeparationJob.objects.for_audio(sha256, model).live().select_for_update().first()
        if job is None or job.status in SeparationJob.UNFINISHED:
            _check_cap(user, job, max_in_flight)
        if job is None:
            try:
                with transaction.atomic():
                    job = SeparationJob.objects.create(
                        sha256=sha256, source=source, source_seconds=seconds, model=model, requested_by=user
                    )
                created = True
            except IntegrityError:
                # Someone asked for the same stems a moment ago.
                job = SeparationJob.objects.for_audio(sha256, model).live().get()
        if user is not None:
            _ask(user, job)
        if created:
            job.enqueue()
    return job, created


def cancel_request(user, job):
    """Withdraw ``user``'s request; the job stops only if nobody else still wants it. False if nothing to withdraw."""
    with transaction.atomic():
        # One withdrawal (or new request) at a time per job, so the last one out stops it.
        SeparationJob.objects.select_for_update().filter(pk=job.pk).first()
        withdrawn = SeparationRequest.objects.live().filter(user=user, job=job).update(cancelled_at=timezone.now())
        if withdrawn and not job.requests.live().exists():
            job.cancel()
    return bool(withdrawn)


def retry_request(user, job, *, max_in_flight=None):
    """``user`` wants the stems again: their request is live again, and a stopped job is queued again.

    Returns the job that will make the stems (another live job, if one took over meanwhile).
    """
    with transaction.atomic():
        _lock_person(user)
        if job.status != SeparationJob.Status.SUCCEEDED:
            _check_cap(user, job, max_in_flight)
        target = retry(job) if job.status in SeparationJob.RETRYABLE else job
        _ask(user, job)
        if target.pk != job.pk:
            _ask(user, target)
    return target


def retry(job):
    """Queue a failed or cancelled job again (crash attempts start over); returns the job that will make the stems."""
    live = SeparationJob.objects.for_audio(job.sha256, job.model).live().exclude(pk=job.pk).first()
    if live:
        return live
    try:
        with transaction.atomic():
            requeued = job.retry()
    except IntegrityError:
        return SeparationJob.objects.for_audio(job.sha256, job.model).live().get()
    if requeued:
        job.refresh_from_db()
        job.enqueue()
    return job


def withdraw_all(user_id, sha256):
    """The person no longer holds this audio: drop their requests, and stop jobs nobody else wants."""
    for job in SeparationJob.objects.filter(sha256=sha256, requests__user_id=user_id):
        with transaction.atomic():
            SeparationJob.objects.select_for_update().filter(pk=job.pk).first()
            SeparationRequest.objects.filter(user_id=user_id, job=job).delete()
            if not job.requests.live().exists():
                job.cancel()


def jobs_for_audio(sha256):
    return SeparationJob.objects.filter(sha256=sha256).prefetch_related("stems")


def forget_audio(sha256, keep=()):
    """No track holds this audio any more: drop its jobs and stems (files go with the rows).

    ``keep``: ids of jobs still in use elsewhere (a fork of a shared remix mixes them).
    """
    for job in SeparationJob.objects.filter(sha256=sha256).exclude(pk__in=keep):
        job.cancel()
        job.delete()


def move_source(sha256, old_source, new_source):
    """The file jobs read from is going away, but another copy of the same audio remains."""
    SeparationJob.objects.filter(sha256=sha256, source=old_source).update(source=new_source)


def _ask(user, job):
    SeparationRequest.objects.update_or_create(user=user, job=job, defaults={"cancelled_at": None})


def _lock_person(user):
    # Counting a person's jobs and adding one happen as one step, so parallel requests cannot pass the cap together.
    if user is not None:
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()


def _check_cap(user, job, max_in_flight):
    if user is None or max_in_flight is None:
        return
    waiting = SeparationRequest.objects.in_flight().filter(user=user)
    if job is not None:
        waiting = waiting.exclude(job=job)  # already waiting for this one: asking again adds nothing
    if waiting.count() >= max_in_flight:
        raise TooManyJobs(max_in_flight)
