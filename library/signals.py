from django.db.models.signals import post_delete, pre_delete
from django.dispatch import receiver

from separation import services as separation
from separation.models import SeparationJob
from separation.signals import delete_files_on_commit

from .models import Mixdown, Remix, RemovedShareLink, ShareLink, Track


@receiver(post_delete, sender=Track)
def delete_track_files(sender, instance, **kwargs):
    # Stems belong to the audio, not the track: they stay while any track still
    # holds the same audio, and go with the last one. Forks do not hold them: the
    # track's remixes went first and cut their forks off (cut_off_forks below).
    other = Track.objects.filter(sha256=instance.sha256).exclude(pk=instance.pk).first()
    if other:
        separation.move_source(instance.sha256, instance.original.name, other.original.name)
        # The owner's requests go with their copy: no more access to the stems through them.
        separation.withdraw_all(instance.owner_id, instance.sha256)
    else:
        in_use = Remix.objects.filter(job__sha256=instance.sha256).values_list("job_id", flat=True)
        separation.forget_audio(instance.sha256, keep=list(in_use))

    delete_files_on_commit([instance.original, instance.cover, instance.peaks])


@receiver(post_delete, sender=Mixdown)
def delete_mixdown_files(sender, instance, **kwargs):
    delete_files_on_commit([instance.mp3, instance.flac])


@receiver(pre_delete, sender=Remix)
def cut_off_forks(sender, instance, **kwargs):
    # Before the delete sets their forked_from to NULL, while they can still be found.
    Remix.objects.filter(forked_from=instance).cut_off(Remix.CutOff.SOURCE_REMOVED)


@receiver(post_delete, sender=Remix)
def forget_unused_stems(sender, instance, **kwargs):
    # Stems no track holds and no remix mixes any more go (a fork is deleted after its source's track).
    if instance.job_id is None:
        return
    job = SeparationJob.objects.filter(pk=instance.job_id).first()
    if job is None:
        return
    if not Track.objects.filter(sha256=job.sha256).exists() and not Remix.objects.filter(job=job).exists():
        separation.forget_audio(job.sha256)


@receiver(post_delete, sender=ShareLink)
def remember_removed_share_link(sender, instance, **kwargs):
    # Whoever still holds the link is told the remix was removed (410), not "no such page".
    RemovedShareLink.objects.get_or_create(token_digest=RemovedShareLink.digest(instance.token))
