from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import Track


@receiver(post_delete, sender=Track)
def delete_track_files(sender, instance, **kwargs):
    # Only once the row is really gone: a rolled-back delete keeps its files.
    names = [f.name for f in (instance.original, instance.cover) if f]
    storage = instance.original.storage

    def delete():
        for name in names:
            storage.delete(name)

    transaction.on_commit(delete)
