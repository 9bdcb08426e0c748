"""Progressive stems (separation.chunks): how much of each stem is playable, when its chunks went, and their sweep."""

from django.db import migrations, models

SCHEDULE = "Remove expired progressive chunks"


def add_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE,
        defaults={"func": "separation.tasks.remove_expired_chunks", "schedule_type": "I", "minutes": 5, "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("separation", "0004_separation_requests"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="separationjob",
            name="ready_frames",
            field=models.PositiveBigIntegerField(
                default=0,
                help_text="Frames of every stem stored as progressive chunks so far (separation.chunks); "
                "the whole length once it succeeded.",
            ),
        ),
        migrations.AddField(
            model_name="separationjob",
            name="chunks_removed_at",
            field=models.DateTimeField(
                blank=True,
                null=True,
                help_text="When the progressive chunks went, once the final files had taken over.",
            ),
        ),
        migrations.RunPython(add_schedule, remove_schedule),
    ]
