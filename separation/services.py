"""Asking for stems: get the live job for this audio and model, or start one."""

from django.db import IntegrityError, transaction

from .models import SeparationJob
from .tasks import enqueue


def request_separation(*, sha256, source, model, user):
    """Return (job, created). Everyone asking for the same audio and model shares one job."""
    existing = SeparationJob.objects.for_audio(sha256, model).active().first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            job = SeparationJob.objects.create(sha256=sha256, source=source, model=model, requested_by=user)
    except IntegrityError:
        # Someone asked for the same stems a moment ago.
        return SeparationJob.objects.for_audio(sha256, model).active().get(), False
    enqueue(job)
    return job, True


def jobs_for_audio(sha256):
    return SeparationJob.objects.filter(sha256=sha256).prefetch_related("stems")


def retry(job):
    """Queue a failed or cancelled job again; returns the job that will produce the stems."""
    live = SeparationJob.objects.for_audio(job.sha256, job.model).active().exclude(pk=job.pk).first()
    if live:
        return live
    try:
        with transaction.atomic():
            requeued = job.requeue(from_statuses=[SeparationJob.Status.FAILED, SeparationJob.Status.CANCELLED])
    except IntegrityError:
        return SeparationJob.objects.for_audio(job.sha256, job.model).active().get()
    if requeued:
        job.refresh_from_db()
        enqueue(job)
    return job


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
