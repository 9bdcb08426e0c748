import logging

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django_q.conf import Conf
from django_q.signals import post_spawn

from .chunks import delete_tree
from .models import SeparationJob, Stem, StemVersion, versions_folder

logger = logging.getLogger(__name__)


def delete_files_on_commit(files):
    """Delete stored files once the transaction commits: a rolled-back delete keeps them."""
    names = [(f.storage, f.name) for f in files if f]

    def delete():
        for storage, name in names:
            storage.delete(name)

    transaction.on_commit(delete)


@receiver(post_delete, sender=Stem)
def delete_stem_files(sender, instance, **kwargs):
    delete_files_on_commit([instance.lossless, instance.compressed, instance.peaks])


@receiver(post_delete, sender=SeparationJob)
def delete_job_files(sender, instance, **kwargs):
    delete_files_on_commit([instance.mixture_peaks])
    # Its progressive chunks, and the empty folder its key/tempo versions (deleted with it) leave.
    folders = [instance.all_chunks_folder, versions_folder(instance.pk)]

    def delete_folders():
        for folder in folders:
            delete_tree(folder)

    transaction.on_commit(delete_folders)


@receiver(post_delete, sender=StemVersion)
def delete_version_files(sender, instance, **kwargs):
    delete_files_on_commit([instance.accompaniment, instance.vocals])
    folder = instance.storage_base
    transaction.on_commit(lambda: delete_tree(folder))


@receiver(post_spawn)
def prepare_worker(sender, proc_name, **kwargs):
    """Runs in each new django-q2 worker process, after the fork."""
    from .engines import EngineError, get_engine
    from .models_install import has_checkpoint, model_dir
    from .monitoring import record_queue, takes_only_analyses
    from .tasks import recover_stale_jobs

    # First, so that /healthz soon knows which queue this cluster serves.
    try:
        record_queue(Conf.CLUSTER_NAME)
    except Exception:
        logger.exception("Could not record this cluster's queue")

    # django-q2 spawns a worker at start-up and whenever one died: the moment to
    # pick up a job whose worker was killed mid-way.
    try:
        recover_stale_jobs()
    except Exception:
        logger.exception("Could not recover orphaned separation jobs")

    # Warm worker: TensorFlow and the model load now (seconds), not in the first job.
    # The analysis cluster never separates: it would only hold a gigabyte for nothing.
    for model in [] if takes_only_analyses(Conf.CLUSTER_NAME) else settings.SEPARATION_PRELOAD_MODELS:
        if has_checkpoint(model_dir(model)):
            try:
                get_engine(model).warm_up()
            except EngineError:
                logger.exception("Could not preload the %s model", model)
