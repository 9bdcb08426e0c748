"""The analysis job: a separated song's key, tempo, beats and sung melody (separation.analysis).

An ``Analysis`` is a background job like a separation or a mixdown (``separation.jobs``).
It starts when a separation succeeds, once the final files are stored, so it never delays
first sound; jobs that succeeded before analyses existed get one on first request.
"""

import logging
import time

from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from platform.storage import local_copy

from . import jobs
from .models import Analysis, SeparationJob

logger = logging.getLogger(__name__)


def start_for(job):
    """The job's analysis, created and enqueued if it has none yet (only for a succeeded job)."""
    existing = Analysis.objects.filter(job=job).first()
    if existing is not None or job.status != SeparationJob.Status.SUCCEEDED:
        return existing
    try:
        with transaction.atomic():
            analysis = Analysis.objects.create(job=job)
            analysis.enqueue()
    except IntegrityError:
        # Someone else created it at the same moment: theirs is enqueued.
        return Analysis.objects.get(job=job)
    return analysis


def run_analysis(analysis_id):
    jobs.run(Analysis, analysis_id, _analyse)


def _analyse(analysis):
    from .analysis import analyse

    with jobs.scratch_folder(analysis) as work:
        # The stems themselves on local disk; a scratch copy when they live in a bucket.
        stems = {
            stem.name: local_copy(default_storage, stem.lossless.name, work / f"{stem.name}.flac")
            for stem in analysis.job.stems.all()
        }
        vocals = stems.pop("vocals")
        # 2stems has one accompaniment; 4stems and 5stems are summed from the other stems.
        accompaniment = stems.pop("accompaniment", None) or sorted(stems.values())

        def on_progress(fraction):
            if not analysis.report_progress(round(99 * fraction)):
                raise jobs.JobCancelled()

        started = time.monotonic()
        result = analyse(vocals, accompaniment, on_progress=on_progress)
        seconds = time.monotonic() - started
    if not analysis.mark_succeeded(
        key=result["key"],
        mode=result["mode"],
        tempo=result["tempo"],
        beats=result["beats"],
        notes=result["notes"],
        contour=result["contour"],
        seconds=seconds,
    ):
        raise jobs.JobCancelled()
    logger.info(
        "Analysis %s: %s %s, %.1f BPM, %d notes in %.1f s",
        analysis.pk,
        result["key"],
        result["mode"],
        result["tempo"],
        len(result["notes"]),
        seconds,
    )
