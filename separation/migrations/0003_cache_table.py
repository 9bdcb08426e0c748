"""Create the database cache's table (settings.CACHES), so `migrate` is all a new install needs.

django-q2 writes its cluster stats to that cache, and the admin monitoring page and
/healthz read them from there. The table is not a model, so Django's `createcachetable`
makes it; it skips tables that exist and caches that are not in the database.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("separation", "0002_recovery_schedule")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
