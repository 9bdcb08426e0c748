"""Remove what killed processes left in the upload temp folder (settings.FILE_UPLOAD_TEMP_DIR).

A web worker killed mid-upload never runs Django's cleanup of its temp file, and a
worker killed mid-mixdown never removes its scratch folder. Both would stay for ever.
This runs when each web server process starts (platform.wsgi) and every few minutes
on the task queue (the schedule in platform/migrations).

"Stale" means nothing was written for UPLOAD_TEMP_MAX_AGE_MINUTES: a live upload
writes its file chunk by chunk and a live mixdown writes its files block by block,
so their modification times stay fresh. Separation scratch folders (``job-*``) are
left to the job recovery (separation.tasks), which knows whether their job still runs.
"""

import logging
import shutil
import time
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

# Django's TemporaryUploadedFile ("tmpXXXX.upload.mp3") and ingest's spooled copy ("tmpXXXX.upload").
UPLOAD_PATTERNS = ("*.upload", "*.upload.*")
SCRATCH_PATTERNS = ("mixdown-*",)


def remove_stale_temp_files(max_age_minutes=None):
    """Delete stale upload files and mixdown scratch folders; return how many entries went."""
    folder = Path(settings.FILE_UPLOAD_TEMP_DIR)
    if not folder.is_dir():
        return 0
    if max_age_minutes is None:
        max_age_minutes = settings.UPLOAD_TEMP_MAX_AGE_MINUTES
    cutoff = time.time() - max_age_minutes * 60
    removed = 0
    for pattern in UPLOAD_PATTERNS:
        for path in folder.glob(pattern):
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                pass  # Its own request finished and removed it just now.
            except OSError:
                # Never a reason to keep the server from starting.
                logger.warning("Could not remove stale temp file %s", path, exc_info=True)
    for pattern in SCRATCH_PATTERNS:
        for path in folder.glob(pattern):
            if path.is_dir() and _last_written(path) < cutoff:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
    if removed:
        logger.info("Removed %d stale temp entries from %s", removed, folder)
    return removed


def _last_written(folder):
    try:
        return max(entry.stat().st_mtime for entry in [folder, *folder.rglob("*")])
    except FileNotFoundError:
        return time.time()  # Changing under us: in use.
