"""Background work of the library: rendering remix mixdowns.

A mixdown is a background job like a separation (``separation.jobs``): claimed by a
conditional update, kept alive by a heartbeat, recovered by ``recover_stale_jobs``
when its worker dies, so a render never stays "running" for ever.
"""

import logging

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
    with jobs.scratch_folder(mixdown) as work:
        # Copied into the scratch folder when they live in a bucket (STORAGE=s3).
        stems = {
            stem.name: local_copy(stem.lossless.storage, stem.lossless.name, work / f"stem-{stem.name}.flac")
            for stem in mixdown.remix.job.stems.all()
        }
        flac, mp3 = work / "mix.flac", work / "mix.mp3"
        mixing.render(stems, mixdown.stems, flac, mp3)
        jobs.store_and_succeed(
            mixdown,
            {field: (f"{mixdown.storage_base}{path.suffix}", path) for field, path in (("flac", flac), ("mp3", mp3))},
        )
