"""The periodic tasks every installation runs, as rows of django-q2's Schedule table.

Migrations create them (separation 0002, platform 0001). Each worker cluster also puts
back any that are missing when its workers start: without "recover stale jobs", a job
whose worker died mid-way -- killed, or cut off from a database that went away -- would
stay running for ever, and a schedule is easily lost (deleted in the admin, a database
restored from before the migration, a test that empties the tables).
"""

from django_q.models import Schedule

SCHEDULES = {
    "Recover stale separation jobs": {"func": "separation.tasks.recover_stale_jobs", "minutes": 1},
    "Remove expired progressive chunks": {"func": "separation.tasks.remove_expired_chunks", "minutes": 5},
    "Remove stale upload temp files": {"func": "platform.tempfiles.remove_stale_temp_files", "minutes": 15},
}


def ensure_schedules():
    """Create missing schedules; two worker processes starting at once may race, so keep one of each."""
    for name, spec in SCHEDULES.items():
        Schedule.objects.get_or_create(name=name, defaults={**spec, "schedule_type": Schedule.MINUTES, "repeats": -1})
        extra = list(Schedule.objects.filter(name=name).order_by("pk").values_list("pk", flat=True))[1:]
        if extra:
            Schedule.objects.filter(pk__in=extra).delete()
