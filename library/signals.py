from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from separation import services as separation

from .models import Track


@receiver(post_delete, sender=Track)
def delete_track_files(sender, instance, **kwargs):
    # Stems belong to the audio, not the track: they stay while any track still
    # holds the same audio, and go with the last one.
    other = Track.objects.filter(sha256=instance.sha256).exclude(pk=instance.pk).first()
    if other:
        separation.move_source(instance.sha256, instance.original.name, other.original.name)
    else:
        separation.forget_audio(instance.sha256)

    # Only once the row is really gone: a rolled-back delete keeps its files.
    names = [f.name for f in (instance.original, instance.cover) if f]
    storage = instance.original.storage

    def delete():
        for name in names:
            storage.delete(name)

    transaction.on_commit(delete)
