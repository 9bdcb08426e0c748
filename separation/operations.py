"""What an operator can do to jobs from the admin: retry, cancel, re-queue.

Every state change is one of the model's conditional updates, so it never fights a
worker over a row, and a job never ends up with two django-q2 tasks: before a job gets
a new task, the old one still sitting in the broker for it (found by the job's
``task_id``) is removed. A duplicate would do no harm -- the worker's ``claim()`` turns
it into a no-op -- but it would wait in the queue and show up as a run that did nothing.
A job whose worker is alive is never given a second task.
"""

from dataclasses import dataclass

from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ

from . import services
from .models import SeparationJob

Status = SeparationJob.Status


@dataclass(frozen=True)
class Outcome:
    done: bool
    message: str


def retry(job):
    """failed/cancelled -> queued, with one fresh task."""
    if job.status not in SeparationJob.RETRYABLE:
        return Outcome(False, f"{job.pk} is {job.status}: only failed or cancelled jobs can be retried.")
    # A job cancelled while queued still has its task waiting; the retry sends a new one.
    drop_broker_tasks(job)
    live = services.retry(job)
    if live.pk != job.pk:
        return Outcome(False, f"{job.pk}: job {live.pk} ({live.status}) already makes these stems.")
    if live.status != Status.QUEUED:
        return Outcome(False, f"{job.pk} changed to {live.status} meanwhile; left alone.")
    return Outcome(True, f"{job.pk} queued again.")


def cancel(job):
    """queued/running -> cancelled; a running job's worker notices at its next progress report."""
    if not job.cancel():
        job.refresh_from_db(fields=["status"])
        return Outcome(False, f"{job.pk} is {job.status}: only queued or running jobs can be cancelled.")
    # Its waiting task would only find a cancelled job; a task a worker holds is left to that worker.
    drop_broker_tasks(job, waiting_only=True)
    return Outcome(True, f"{job.pk} cancelled.")


def requeue(job, now=None):
    """A stuck job back to queued with exactly one task waiting for it.

    Stuck means running with no heartbeat for ``SEPARATION_STALE_SECONDS`` (its worker
    died or hangs), or queued with no task waiting in the broker (the task was lost,
    or a worker took it and died before claiming the job). A job that is running with a
    live heartbeat, or queued with its task waiting, is left as it is.
    """
    now = now or timezone.now()
    if job.status == Status.RUNNING:
        if not job.is_stale(now):
            beat = (now - (job.heartbeat_at or job.started_at or now)).total_seconds()
            return Outcome(
                False,
                f"{job.pk} is running on {job.worker or 'a worker'} (heartbeat {beat:.0f} s ago): "
                "cancel it instead, or wait until its heartbeat is stale.",
            )
        if not job.requeue(from_statuses=[Status.RUNNING], on_worker=job.worker):
            return Outcome(False, f"{job.pk} changed meanwhile; left alone.")
        job.discard_partial_output()
    elif job.status == Status.QUEUED:
        waiting = [row for row in broker_tasks([job.task_id]).get(job.task_id, []) if _is_waiting(row, now)]
        if waiting:
            return Outcome(False, f"{job.pk} is already waiting in the queue (broker task {waiting[0].pk}).")
        if not job.requeue(from_statuses=[Status.QUEUED]):
            return Outcome(False, f"{job.pk} changed meanwhile; left alone.")
    else:
        return Outcome(False, f"{job.pk} is {job.status}: only stuck queued or running jobs can be re-queued.")
    # The dead worker's task stays held in the broker and would be handed out again after Q_CLUSTER["retry"].
    drop_broker_tasks(job)
    job.enqueue()
    return Outcome(True, f"{job.pk} re-queued.")


def broker_tasks(task_ids):
    """django-q2 broker rows carrying these task ids, as {task_id: [OrmQ, ...]}.

    The task id lives inside the signed payload, so this reads the queue: it holds only
    tasks not yet done, a handful normally.
    """
    wanted = {task_id for task_id in task_ids if task_id}
    found = {}
    if not wanted:
        return found
    for row in OrmQ.objects.using(Conf.ORM).order_by("pk"):
        if row.task_id() in wanted:
            found.setdefault(row.task_id(), []).append(row)
    return found


def drop_broker_tasks(job, *, waiting_only=False):
    now = timezone.now()
    rows = broker_tasks([job.task_id]).get(job.task_id, [])
    ids = [row.pk for row in rows if not waiting_only or _is_waiting(row, now)]
    if ids:
        OrmQ.objects.using(Conf.ORM).filter(pk__in=ids).delete()
    return len(ids)


def _is_waiting(row, now):
    """Not yet handed to a cluster (django-q2 sets ``lock`` into the future when it hands a task out)."""
    return row.lock is None or row.lock <= now
