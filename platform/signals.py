import logging

from django.dispatch import receiver
from django_q.signals import post_spawn

logger = logging.getLogger(__name__)


@receiver(post_spawn)
def put_back_missing_schedules(sender, proc_name, **kwargs):
    """Runs in each new django-q2 worker process (at cluster start and when one is replaced)."""
    from .schedules import ensure_schedules

    try:
        ensure_schedules()
    except Exception:
        logger.exception("Could not check the periodic task schedules")
