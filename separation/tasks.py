"""django-q2 tasks of the stem factory: run one separation job, and recover jobs whose worker died.

The lifecycle (claim, heartbeat, failure, recovery) is ``separation.jobs``, shared by
every kind of background job; this module holds only what separating does.
"""

import logging
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from platform.storage import local_copy

from . import analysis_tasks, jobs
from .chunks import ChunkStore, delete_tree
from .engines.base import SAMPLE_RATE
from .jobs import JobCancelled
from .models import SeparationJob, Stem

logger = logging.getLogger(__name__)

PROGRESS_WRITE_SECONDS = 0.5

# The schedule and the worker start-up call it by this name (migration 0002).
recover_stale_jobs = jobs.recover_stale_jobs


def enqueue(job):
    """Send the job to the workers once the current transaction commits."""
    job.enqueue()


def run_job(job_id):
    jobs.run(SeparationJob, job_id, _separate)
    # Only now, with every final file stored: the analysis never delays first sound.
    succeeded = SeparationJob.objects.filter(pk=job_id, status=SeparationJob.Status.SUCCEEDED).first()
    if succeeded is not None:
        analysis_tasks.start_for(succeeded)


def _separate(job):
    stored = []
    chunks = ChunkStore(job.chunks_folder)
    try:
        _run(job, stored, chunks)
    except BaseException:
        # Failed or cancelled: keep none of its files (a save cut short by a full disk
        # removes its own half: platform.storage), and none of this run's chunks.
        _delete_stored(stored)
        chunks.discard()
        raise


def _run(job, stored, chunks):
    from .pipeline import separate_file

    last_write = 0.0

    def on_chunk(chunk):
        chunks.save(chunk)
        # Only now, with the chunk stored whole, may players see it.
        if not job.report_chunk(chunk.start + chunk.frames):
            raise JobCancelled()

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
        prefix=job.scratch_prefix, dir=settings.FILE_UPLOAD_TEMP_DIR, ignore_cleanup_errors=True
    ) as scratch:
        work_dir = Path(scratch)
        started = time.monotonic()
        # From a bucket (STORAGE=s3), a copy in the scratch folder: workers share no disk.
        source = local_copy(default_storage, job.source, work_dir / ("source" + Path(job.source).suffix))
        # No more than the stored (decoded) length, +1 s: audio that goes on past it fails
        # the job instead of keeping a worker busy for hours.
        limit = {"max_seconds": job.source_seconds + 1} if job.source_seconds is not None else {}
        result = separate_file(source, job.model, work_dir, on_progress=on_progress, on_chunk=on_chunk, **limit)
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
            duration=result.duration,
            realtime_factor=result.duration / max(elapsed, 1e-6),
            mixture_peaks=mixture_peaks,
            ready_frames=round(result.duration * SAMPLE_RATE),
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


def remove_expired_chunks(now=None):
    """Remove progressive chunks nobody needs any more; returns how many jobs' chunks went.

    A succeeded job keeps them for SEPARATION_CHUNK_GRACE_MINUTES, so a player half-way
    through them can finish its switch to the final files. A failed or cancelled job's
    worker removes its own; this catches those whose worker died first.
    """
    now = now or timezone.now()
    grace = now - timedelta(minutes=settings.SEPARATION_CHUNK_GRACE_MINUTES)
    expired = SeparationJob.objects.filter(ready_frames__gt=0, chunks_removed_at__isnull=True).filter(
        Q(status=SeparationJob.Status.SUCCEEDED, finished_at__lt=grace)
        | Q(status__in=[SeparationJob.Status.FAILED, SeparationJob.Status.CANCELLED])
    )
    removed = 0
    for job in expired:
        # Marked first, with the state it was found in: a job retried meanwhile (a new run
        # writing chunks) is left alone.
        if SeparationJob.objects.filter(pk=job.pk, status=job.status, chunks_removed_at__isnull=True).update(
            chunks_removed_at=now
        ):
            delete_tree(job.all_chunks_folder)
            removed += 1
    if removed:
        logger.info("Removed the progressive chunks of %d finished job(s)", removed)
    return removed


def _store(name, path):
    with open(path, "rb") as f:
        return default_storage.save(name, File(f, name=Path(name).name))


def _delete_stored(names):
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.exception("Could not remove %s", name)
