"""django-q2 tasks of the stem factory: run one separation job, and recover jobs whose worker died.

The lifecycle (claim, heartbeat, failure, recovery) is ``separation.jobs``, shared by
every kind of background job; this module holds only what separating does.
"""

import logging
import shutil
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from . import jobs
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


def _separate(job):
    stored = []
    try:
        _run(job, stored)
    except BaseException:
        # Failed or cancelled: keep none of its files (a save cut short by a full disk
        # removes its own half: platform.storage).
        _delete_stored(stored)
        raise


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
        prefix=job.scratch_prefix, dir=settings.FILE_UPLOAD_TEMP_DIR, ignore_cleanup_errors=True
    ) as scratch:
        work_dir = Path(scratch)
        started = time.monotonic()
        source = default_storage.path(job.source) if _is_local() else _fetch(job.source, work_dir)
        # No more than the stored (decoded) length, +1 s: audio that goes on past it fails
        # the job instead of keeping a worker busy for hours.
        limit = {"max_seconds": job.source_seconds + 1} if job.source_seconds is not None else {}
        result = separate_file(source, job.model, work_dir, on_progress=on_progress, **limit)
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
