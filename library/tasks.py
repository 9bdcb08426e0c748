"""Background work of the library: rendering remix mixdowns.

A mixdown is a background job like a separation (``separation.jobs``): claimed by a
conditional update, kept alive by a heartbeat, recovered by ``recover_stale_jobs``
when its worker dies, so a render never stays "running" for ever.
"""

import logging
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from platform.storage import local_copy
from separation import jobs

from . import mixing
from .models import Mixdown

logger = logging.getLogger(__name__)


def enqueue_mixdown(mixdown):
    mixdown.enqueue()


def render_mixdown(mixdown_id):
    jobs.run(Mixdown, mixdown_id, _render)


def _render(mixdown):
    settings.FILE_UPLOAD_TEMP_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=mixdown.scratch_prefix, dir=settings.FILE_UPLOAD_TEMP_DIR))
    stored = []
    try:
        # Copied into the scratch folder when they live in a bucket (STORAGE=s3).
        stems = {
            stem.name: local_copy(stem.lossless.storage, stem.lossless.name, work / f"stem-{stem.name}.flac")
            for stem in mixdown.remix.job.stems.all()
        }
        flac, mp3 = work / "mix.flac", work / "mix.mp3"
        mixing.render(stems, mixdown.stems, flac, mp3)
        names = {}
        for field, path in (("flac", flac), ("mp3", mp3)):
            with open(path, "rb") as f:
                names[field] = default_storage.save(f"{mixdown.storage_base}{path.suffix}", File(f))
            stored.append(names[field])
        if not mixdown.mark_succeeded(**names):
            raise jobs.JobCancelled()
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
