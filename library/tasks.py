"""Background work of the library: rendering remix mixdowns."""

import logging
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.utils import timezone
from django_q.tasks import async_task

from separation.engines import EngineError

from . import mixing
from .models import Mixdown

logger = logging.getLogger(__name__)


def enqueue_mixdown(mixdown):
    async_task("library.tasks.render_mixdown", str(mixdown.pk), task_name=f"mixdown {mixdown.pk.hex[:8]}")


def render_mixdown(mixdown_id):
    won = Mixdown.objects.filter(pk=mixdown_id, status=Mixdown.Status.QUEUED).update(status=Mixdown.Status.RUNNING)
    if not won:
        return
    mixdown = Mixdown.objects.select_related("remix__job").get(pk=mixdown_id)
    work = Path(tempfile.mkdtemp(prefix="mixdown-", dir=settings.FILE_UPLOAD_TEMP_DIR))
    try:
        stems = {stem.name: stem.lossless.path for stem in mixdown.remix.job.stems.all()}
        flac, mp3 = work / "mix.flac", work / "mix.mp3"
        mixing.render(stems, mixdown.stems, flac, mp3)
        base = f"mixdowns/{mixdown.remix_id}/{mixdown.pk.hex}"
        for field, path in (("flac", flac), ("mp3", mp3)):
            with open(path, "rb") as f:
                getattr(mixdown, field).save(f"{base}{path.suffix}", File(f), save=False)
        mixdown.status = Mixdown.Status.SUCCEEDED
        mixdown.finished_at = timezone.now()
        mixdown.save(update_fields=["flac", "mp3", "status", "finished_at"])
    except (EngineError, OSError, RuntimeError) as exc:
        logger.exception("Mixdown %s failed", mixdown_id)
        Mixdown.objects.filter(pk=mixdown_id).update(
            status=Mixdown.Status.FAILED, error=f"Rendering failed: {exc}", finished_at=timezone.now()
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
