import logging

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django_q.signals import post_spawn

from .models import SeparationJob, Stem

logger = logging.getLogger(__name__)


def _delete_files_on_commit(files):
    names = [(f.storage, f.name) for f in files if f]

    def delete():
        for storage, name in names:
            storage.delete(name)

    transaction.on_commit(delete)


@receiver(post_delete, sender=Stem)
def delete_stem_files(sender, instance, **kwargs):
    _delete_files_on_commit([instance.lossless, instance.compressed, instance.peaks])


@receiver(post_delete, sender=SeparationJob)
def delete_job_files(sender, instance, **kwargs):
    _delete_files_on_commit([instance.mixture_peaks])


@receiver(post_spawn)
def recover_jobs_of_dead_workers(sender, proc_name, **kwargs):
    # django-q2 spawns a worker at start-up and whenever one died: the moment to
    # pick up a job whose worker was killed mid-way.
    from .tasks import recover_stale_jobs

    try:
        recover_stale_jobs()
    except Exception:
        logger.exception("Could not recover orphaned separation jobs")
