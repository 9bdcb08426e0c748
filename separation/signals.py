from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import SeparationJob, Stem


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
