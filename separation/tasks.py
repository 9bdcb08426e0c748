"""django-q2 tasks: run one separation job, and recover jobs whose worker died.

Every job is a database row; the task only carries its id. A worker claims the
row with a conditional update, so a job never runs twice at once, even when
django-q2 delivers the same task again. While it works, a thread writes a
heartbeat every few seconds; ``recover_stale_jobs`` (scheduled every minute)
finds running jobs whose heartbeat stopped -- a worker killed with -9, a lost
machine -- and queues them again or fails them with the reason.
"""

import errno
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django_q.tasks import async_task

from .engines.base import EngineError
from .models import MAX_ATTEMPTS, SeparationJob, Stem

logger = logging.getLogger(__name__)

PROGRESS_WRITE_SECONDS = 0.5
STORAGE_FULL_ERROR = (
    "The server's storage is full, so the stems could not be saved and nothing was kept. "
    "Retry once the administrator has made room."
)


def is_disk_full(exc):
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


class JobCancelled(Exception):
    pass


def worker_id():
    return f"{socket.gethostname()}:{os.getpid()}"


def enqueue(job):
    """Send the job to the workers once the current transaction commits."""

    def send():
        task_id = async_task(
            "separation.tasks.run_job",
            str(job.pk),
            task_name=f"separate {job.model} {job.sha256[:12]} {job.pk.hex[:8]}",
            cluster=settings.SEPARATION_CLUSTER or None,
        )
        SeparationJob.objects.filter(pk=job.pk).update(task_id=task_id)

    transaction.on_commit(send)


def run_job(job_id):
    job = SeparationJob.objects.filter(pk=job_id).first()
    if job is None:
        logger.info("Job %s is gone; nothing to do.", job_id)
        return
    if not job.claim(worker_id()):
        logger.info("Job %s is %s; not running it again.", job_id, job.status)
        return

    heartbeat = _Heartbeat(job)
    heartbeat.start()
    stored = []
    try:
        _run(job, stored)
    except JobCancelled:
        logger.info("Job %s was cancelled while running.", job.pk)
        _delete_stored(stored)
    except EngineError as exc:
        logger.warning("Job %s failed: %s", job.pk, exc)
        job.mark_failed(str(exc), only_if_running_on=job.worker)
        _delete_stored(stored)
    except Exception as exc:
        if is_disk_full(exc):
            logger.error("Job %s failed: the media storage is full (%s)", job.pk, exc)
            error = STORAGE_FULL_ERROR
        else:
            logger.exception("Job %s crashed", job.pk)
            error = (
                f"Separation failed unexpectedly ({type(exc).__name__}: {exc}). Retry it; if it fails again, "
                "tell the administrator."
            )
        job.mark_failed(error, only_if_running_on=job.worker)
        _delete_stored(stored)
        # A file cut short by a full disk was never named back to us: clear the job's whole folder.
        _delete_stored(_stored_under(job.storage_prefix))
    finally:
        heartbeat.stop()


def _run(job, stored):
    from .pipeline import separate_file

    last_write = 0.0

    def on_progress(fraction):
        nonlocal last_write
        now = time.monotonic()
        if now - last_write < PROGRESS_WRITE_SECONDS and fraction < 1:
            return
        last_write = now
        if not job.report_progress(round(99 * fraction)):
            raise JobCancelled()

    # The scratch folder is gone before the job says how it ended (the with block closes
    # before any status is written): whoever sees a finished job sees a clean disk.
    with tempfile.TemporaryDirectory(
        prefix=f"job-{job.pk.hex[:8]}-", dir=settings.FILE_UPLOAD_TEMP_DIR, ignore_cleanup_errors=True
    ) as scratch:
        work_dir = Path(scratch)
        started = time.monotonic()
        source = default_storage.path(job.source) if _is_local() else _fetch(job.source, work_dir)
        result = separate_file(source, job.model, work_dir, on_progress=on_progress)
        elapsed = time.monotonic() - started

        prefix = job.storage_prefix
        stems = []
        for name, files in result.stems.items():
            stem = Stem(job=job, name=name, duration=files.duration)
            for field, path in (("lossless", files.lossless), ("compressed", files.compressed), ("peaks", files.peaks)):
                stored_name = _store(f"{prefix}/{path.name}", path)
                stored.append(stored_name)
                getattr(stem, field).name = stored_name
            stem.size = files.lossless.stat().st_size + files.compressed.stat().st_size
            stems.append(stem)
        mixture_peaks = _store(f"{prefix}/mixture.peaks.json", result.mixture_peaks)
        stored.append(mixture_peaks)

    with transaction.atomic():
        for stem in stems:
            stem.save()
        if not job.mark_succeeded(
            duration=result.duration, realtime_factor=result.duration / max(elapsed, 1e-6), mixture_peaks=mixture_peaks
        ):
            # Cancelled (or taken over) at the last moment: keep nothing.
            raise JobCancelled()
    logger.info(
        "Job %s done: %.1f s of audio in %.1f s (%.1fx real time)",
        job.pk,
        result.duration,
        elapsed,
        result.duration / elapsed,
    )


def _is_local():
    try:
        default_storage.path("x")
        return True
    except NotImplementedError:
        return False


def _fetch(name, work_dir):
    target = work_dir / ("source" + Path(name).suffix)
    with default_storage.open(name, "rb") as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)
    return target


def _store(name, path):
    with open(path, "rb") as f:
        return default_storage.save(name, File(f, name=Path(name).name))


def _delete_stored(names):
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.exception("Could not remove %s", name)


def _stored_under(prefix):
    try:
        _, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return []
    return [f"{prefix}/{name}" for name in files]


class _Heartbeat(threading.Thread):
    """Tells the database every few seconds that this worker is still on the job."""

    def __init__(self, job):
        super().__init__(daemon=True, name=f"heartbeat-{job.pk.hex[:8]}")
        self.job = job
        self.stopped = threading.Event()

    def run(self):
        from django.db import connection

        try:
            while not self.stopped.wait(settings.SEPARATION_HEARTBEAT_SECONDS):
                self.job.beat()
        finally:
            connection.close()

    def stop(self):
        self.stopped.set()
        self.join(timeout=settings.SEPARATION_HEARTBEAT_SECONDS)


def recover_stale_jobs():
    """Requeue (or fail, after MAX_ATTEMPTS) running jobs whose worker is gone.

    A worker is gone when its heartbeat is stale, or -- known at once, without
    waiting for staleness -- when it ran on this host and its process no longer
    exists. Runs every minute (a django-q2 schedule) and whenever a worker
    process starts, which is when django-q2 replaces a worker that died.
    """
    running = SeparationJob.objects.filter(status=SeparationJob.Status.RUNNING)
    orphans = list(SeparationJob.objects.stale()) + [
        job for job in running.exclude(pk__in=SeparationJob.objects.stale().values("pk")) if _died_on_this_host(job)
    ]
    recovered = failed = 0
    for job in orphans:
        _delete_partial_stems(job)
        if job.attempts < MAX_ATTEMPTS:
            if job.requeue(from_statuses=[SeparationJob.Status.RUNNING]):
                enqueue(job)
                recovered += 1
        elif job.mark_failed(
            f"The worker stopped while separating this track ({job.attempts} attempts; last on {job.worker}). "
            "It may have run out of memory or been restarted. Retry to try again."
        ):
            failed += 1
    if recovered or failed:
        logger.warning("Recovered %d orphaned job(s), failed %d.", recovered, failed)
    return {"requeued": recovered, "failed": failed}


def _died_on_this_host(job):
    host, _, pid = job.worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _delete_partial_stems(job):
    """Remove whatever a dead worker left: stem rows, stored files under the job's prefix, its temp folder."""
    job.stems.all().delete()
    _delete_stored(_stored_under(job.storage_prefix))
    for leftover in Path(settings.FILE_UPLOAD_TEMP_DIR).glob(f"job-{job.pk.hex[:8]}-*"):
        shutil.rmtree(leftover, ignore_errors=True)
