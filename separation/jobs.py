"""One machinery for every background job: separations, mixdowns, and whatever renders come next.

A job is a database row that inherits ``BackgroundJob``; the django-q2 task carries only
its id. Each state change is written once, here, as a conditional update, so two
processes (two workers, a worker and the web, a worker and the recovery) never both win
the same change:

    queued --claim--> running --mark_succeeded--> succeeded
       ^                 |  \\--mark_failed-----> failed     --retry--> queued
       |                 |   \\--cancel---------> cancelled  --retry--> queued
       +---requeue-------+  (its worker died: no heartbeat for SEPARATION_STALE_SECONDS,
                             or its process is gone from this host)

``attempts`` counts claims since the job was last asked for afresh: a worker that dies
uses one up, and after ``MAX_ATTEMPTS`` the job fails with the reason instead of being
requeued for ever. A cancel or retry by a person resets it, so stopping and restarting a
job never eats into the crashes it may survive.

``run`` is the task body every job type shares (claim, heartbeat thread, exception ->
failed); ``recover_stale_jobs`` finds dead workers' jobs of every job model.
"""

import contextlib
import errno
import logging
import os
import shutil
import socket
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.tasks import async_task

logger = logging.getLogger(__name__)

# A job whose worker died this many times fails instead of being requeued again.
MAX_ATTEMPTS = 2


class Status(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


# A worker still has to act on these: they can be cancelled.
UNFINISHED = (Status.QUEUED, Status.RUNNING)
# Makes or holds a result: asking again reuses such a job instead of starting another.
LIVE = (Status.QUEUED, Status.RUNNING, Status.SUCCEEDED)
FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)
RETRYABLE = (Status.FAILED, Status.CANCELLED)


STORAGE_FULL_ERROR = (
    "The server's storage is full, so the result could not be saved and nothing was kept. "
    "Retry once the administrator has made room."
)


def is_disk_full(exc):
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


class JobCancelled(Exception):
    """Raised inside a job's work when the row is no longer this worker's to finish."""


def stale_cutoff(now=None):
    return (now or timezone.now()) - timedelta(seconds=settings.SEPARATION_STALE_SECONDS)


def stale_condition(now=None):
    """Running, and its worker stopped writing heartbeats (killed, crashed, machine lost)."""
    cutoff = stale_cutoff(now)
    return Q(status=Status.RUNNING) & (Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff))


class JobQuerySet(models.QuerySet):
    def unfinished(self):
        return self.filter(status__in=UNFINISHED)

    def live(self):
        return self.filter(status__in=LIVE)

    def stale(self, now=None):
        return self.filter(stale_condition(now))


def host_name():
    """This machine's name in ``worker`` (SEPARATION_WORKER_HOST, by default its host name)."""
    return settings.SEPARATION_WORKER_HOST or socket.gethostname()


def worker_id():
    return f"{host_name()}:{os.getpid()}"


def died_on_this_host(worker):
    """The worker ("host:pid") ran here and its process is gone: known at once, no need to wait for staleness."""
    host, _, pid = (worker or "").rpartition(":")
    if host != host_name() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class BackgroundJob(models.Model):
    Status = Status
    UNFINISHED = UNFINISHED
    LIVE = LIVE
    FINISHED = FINISHED
    RETRYABLE = RETRYABLE

    # Subclasses set these.
    TASK = ""  # dotted path of the django-q2 task that runs one job given its id (usually via ``run``)
    ACTIVITY = "working on this job"  # for messages: "The worker stopped while <ACTIVITY>"
    expected_errors = ()  # exceptions whose message is for the user as it is
    SCRATCH = "job"  # its worker's temp folder is named "<SCRATCH>-<id>-..." (``scratch_prefix``)

    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0-100")
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Runs since it was last asked for; a worker's death uses one up."
    )
    worker = models.CharField(max_length=100, blank=True, help_text="host:pid of the worker that ran it last.")
    task_id = models.CharField(max_length=64, blank=True, help_text="The django-q2 task that runs this job.")
    error = models.TextField(blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        abstract = True

    # State changes: each a conditional update, so two processes can never both win one.

    def _move(self, from_statuses, *, on_worker=None, **changes):
        rows = type(self)._default_manager.filter(pk=self.pk, status__in=list(from_statuses))
        if on_worker is not None:
            rows = rows.filter(worker=on_worker)
        return bool(rows.update(**changes))

    def claim(self, worker):
        """queued -> running for this worker; False if someone else got it or it was cancelled."""
        now = timezone.now()
        won = self._move(
            [Status.QUEUED],
            status=Status.RUNNING,
            started_at=now,
            heartbeat_at=now,
            worker=worker,
            attempts=F("attempts") + 1,
            progress=0,
            error="",
            **self.run_reset(),
        )
        if won:
            self.refresh_from_db()
        return won

    def beat(self):
        return self._move([Status.RUNNING], on_worker=self.worker, heartbeat_at=timezone.now())

    def report_progress(self, percent):
        """Store progress and heartbeat; False when the job is no longer ours to run (cancelled)."""
        return self._move(
            [Status.RUNNING],
            on_worker=self.worker,
            progress=min(100, max(0, int(percent))),
            heartbeat_at=timezone.now(),
        )

    def mark_succeeded(self, **result):
        """running (on this worker) -> succeeded, storing the result fields given."""
        return self._move(
            [Status.RUNNING],
            on_worker=self.worker,
            status=Status.SUCCEEDED,
            progress=100,
            finished_at=timezone.now(),
            **result,
        )

    def mark_failed(self, error, *, only_if_running_on=None):
        if only_if_running_on is not None:
            return self._move(
                [Status.RUNNING],
                on_worker=only_if_running_on,
                status=Status.FAILED,
                finished_at=timezone.now(),
                error=error[:5000],
            )
        return self._move(UNFINISHED, status=Status.FAILED, finished_at=timezone.now(), error=error[:5000])

    def cancel(self):
        """queued/running -> cancelled; a running job's worker notices at its next progress report."""
        return self._move(UNFINISHED, status=Status.CANCELLED, finished_at=timezone.now(), error="Cancelled.")

    def requeue(self, *, from_statuses, reset_attempts=False, on_worker=None):
        """Back to queued. ``reset_attempts``: a person asked again, so earlier runs do not count."""
        changes = {"attempts": 0} if reset_attempts else {}
        return self._move(
            from_statuses,
            on_worker=on_worker,
            status=Status.QUEUED,
            queued_at=timezone.now(),
            started_at=None,
            finished_at=None,
            heartbeat_at=None,
            progress=0,
            worker="",
            error="",
            **self.run_reset(),
            **changes,
        )

    def retry(self):
        """failed/cancelled -> queued, as if asked for the first time. The caller enqueues it."""
        return self.requeue(from_statuses=RETRYABLE, reset_attempts=True)

    # Dead workers.

    def is_stale(self, now=None):
        """As ``JobQuerySet.stale``, on a row already loaded (no query)."""
        seen = self.heartbeat_at or self.started_at
        return self.status == Status.RUNNING and seen is not None and seen < stale_cutoff(now)

    def is_orphaned(self, now=None):
        return self.status == Status.RUNNING and (self.is_stale(now) or died_on_this_host(self.worker))

    def recover(self):
        """Its worker died: queue it again, or fail it with the reason after MAX_ATTEMPTS.

        Returns "requeued", "failed", or None when the row changed meanwhile (the worker
        was alive after all and finished). Leftovers go only once the row is ours.
        """
        if self.attempts < MAX_ATTEMPTS:
            if not self.requeue(from_statuses=[Status.RUNNING], on_worker=self.worker):
                return None
            self.discard_partial_output()
            self.refresh_from_db()
            self.enqueue()
            return "requeued"
        if not self.mark_failed(self.worker_died_message(), only_if_running_on=self.worker):
            return None
        self.discard_partial_output()
        return "failed"

    # Hooks for job types.

    def run_reset(self):
        """Fields of a job type that a run fills as it goes, back to their start whenever a run starts or is requeued."""
        return {}

    def task_options(self):
        """Extra keyword arguments for django-q2's ``async_task`` (task_name, cluster...)."""
        return {"task_name": f"{self._meta.model_name} {self.pk}"}

    def enqueue(self):
        """Send the job to the workers once the current transaction commits."""

        def send():
            task_id = async_task(self.TASK, str(self.pk), **self.task_options())
            type(self)._default_manager.filter(pk=self.pk).update(task_id=task_id)

        transaction.on_commit(send)

    @property
    def scratch_prefix(self):
        return f"{self.SCRATCH}-{self.pk.hex[:8]}-"

    def partial_output_names(self):
        """Storage names a worker of this job may have written before it died."""
        return []

    def discard_partial_output(self):
        """Remove what a dead or cancelled worker left half-written: stored files and its scratch folder."""
        for name in self.partial_output_names():
            try:
                default_storage.delete(name)
            except OSError:
                logger.exception("Could not remove %s", name)
        for leftover in Path(settings.FILE_UPLOAD_TEMP_DIR).glob(f"{self.scratch_prefix}*"):
            shutil.rmtree(leftover, ignore_errors=True)

    def failure_message(self, exc):
        if isinstance(exc, self.expected_errors):
            return str(exc)
        return (
            f"{self._meta.verbose_name.capitalize()} failed unexpectedly ({type(exc).__name__}: {exc}). "
            "Retry it; if it fails again, tell the administrator."
        )

    def worker_died_message(self):
        # The worker's host and pid stay in ``worker`` for the admin; people see only what happened.
        return (
            f"The worker stopped while {self.ACTIVITY} ({self.attempts} attempts). "
            "It may have run out of memory or been restarted. Retry to try again."
        )


def job_models():
    return [model for model in apps.get_models() if issubclass(model, BackgroundJob)]


def run(model, job_id, work):
    """The task body of every job: fetch, claim, heartbeat while ``work(job)`` runs, record a failure.

    ``work`` does the job and calls ``job.mark_succeeded(...)`` itself (raising
    ``JobCancelled`` if that finds the job taken from it); it removes what it stored
    when it raises. Any exception marks the job failed, with ``failure_message``.
    """
    job = model._default_manager.filter(pk=job_id).first()
    if job is None:
        logger.info("%s %s is gone; nothing to do.", model.__name__, job_id)
        return
    if not job.claim(worker_id()):
        logger.info("%s %s is %s; not running it again.", model.__name__, job_id, job.status)
        return
    heartbeat = Heartbeat(job)
    heartbeat.start()
    try:
        work(job)
    except JobCancelled:
        logger.info("%s %s was cancelled while running.", model.__name__, job.pk)
    except Exception as exc:
        if is_disk_full(exc):
            logger.error("%s %s failed: the media storage is full (%s)", model.__name__, job.pk, exc)
            message = STORAGE_FULL_ERROR
        elif isinstance(exc, job.expected_errors):
            logger.warning("%s %s failed: %s", model.__name__, job.pk, exc)
            message = job.failure_message(exc)
        else:
            logger.exception("%s %s crashed", model.__name__, job.pk)
            message = job.failure_message(exc)
        job.mark_failed(message, only_if_running_on=job.worker)
    finally:
        heartbeat.stop()


@contextlib.contextmanager
def scratch_folder(job):
    """A worker-local folder for the job's intermediate files, removed however the job ends.

    Named after the job (``scratch_prefix``), so recovery can find what a dead worker left."""
    settings.FILE_UPLOAD_TEMP_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=job.scratch_prefix, dir=settings.FILE_UPLOAD_TEMP_DIR))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def store_and_succeed(job, files, **fields):
    """Store local files and mark ``job`` succeeded with their stored names (and ``fields``).

    ``files`` maps a file field to (storage name, local path). If a save fails, or the job
    was cancelled meanwhile (``JobCancelled``), what was already stored is removed again."""
    stored = {}
    try:
        for field, (name, path) in files.items():
            with open(path, "rb") as f:
                stored[field] = default_storage.save(name, File(f, name=Path(path).name))
        if not job.mark_succeeded(**stored, **fields):
            raise JobCancelled()
    except BaseException:
        for name in stored.values():
            default_storage.delete(name)
        raise


class Heartbeat(threading.Thread):
    """Tells the database every few seconds that this worker is still on the job."""

    def __init__(self, job):
        super().__init__(daemon=True, name=f"heartbeat-{str(job.pk)[:8]}")
        self.job = job
        self.stopped = threading.Event()

    def run(self):
        from django.db import connection

        try:
            while not self.stopped.wait(settings.SEPARATION_HEARTBEAT_SECONDS):
                try:
                    self.job.beat()
                except DatabaseError as exc:
                    # A locked SQLite file or a dropped PostgreSQL connection must not end the
                    # heartbeats for good: the job would look dead SEPARATION_STALE_SECONDS
                    # later and run a second time while this worker still runs it. The next
                    # beat opens a fresh connection.
                    logger.warning("Heartbeat of job %s not written: %s", self.job.pk, exc)
                    connection.close()
        finally:
            connection.close()

    def stop(self):
        self.stopped.set()
        self.join(timeout=settings.SEPARATION_HEARTBEAT_SECONDS)


def recover_stale_jobs():
    """Requeue (or fail, after MAX_ATTEMPTS) running jobs of every kind whose worker is gone.

    A worker is gone when its heartbeat is stale, or -- known at once -- when it ran on
    this host and its process no longer exists. Runs every minute (a django-q2 schedule)
    and whenever a worker process starts, which is when django-q2 replaces one that died.
    """
    counts = {"requeued": 0, "failed": 0}
    for model in job_models():
        stale = model._default_manager.stale()
        running = model._default_manager.filter(status=Status.RUNNING).exclude(pk__in=stale.values("pk"))
        orphans = list(stale) + [job for job in running if died_on_this_host(job.worker)]
        for job in orphans:
            outcome = job.recover()
            if outcome:
                counts[outcome] += 1
        counts["requeued"] += requeue_stranded(model)
    if any(counts.values()):
        logger.warning("Recovered %(requeued)d orphaned job(s), failed %(failed)d.", counts)
    return counts


def requeue_stranded(model, now=None):
    """Send again the queued jobs whose django-q2 task a cluster took but never started.

    Each cluster's pusher takes tasks from the broker ahead of its workers (up to
    ``queue_limit``, plus one in hand) and locks them for ``retry`` seconds (over an hour).
    When that cluster is killed, those jobs would sit "queued" for the whole lock; and
    while it is busy with a long job, they wait for it even when another cluster is idle.
    A job still queued after SEPARATION_STALE_SECONDS whose task is so taken (or gone from
    the broker) gets a fresh task: the first copy a worker reaches claims the job, any other
    finds it claimed and does nothing (``run``), so a job still runs exactly once.
    """
    waiting = list(model._default_manager.filter(status=Status.QUEUED, queued_at__lt=stale_cutoff(now)))
    if not waiting:
        return 0
    now = now or timezone.now()
    tasks = {row.task_id(): row for row in OrmQ.objects.using(Conf.ORM)}
    requeued = 0
    for job in waiting:
        row = tasks.get(job.task_id)
        if row is not None and (row.lock is None or row.lock <= now):
            continue  # still waiting in the broker for any cluster to take it
        # Only if no other recovery (on another machine) re-sent it meanwhile.
        if not model._default_manager.filter(pk=job.pk, status=Status.QUEUED, task_id=job.task_id).update(task_id=""):
            continue
        if row is not None:
            row.delete()
        job.enqueue()
        requeued += 1
    return requeued
