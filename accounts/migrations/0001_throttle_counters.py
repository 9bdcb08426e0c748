"""Create the table of the ``throttles`` cache (settings.CACHES), where sign-in lockouts,
bad-token, sign-up and upload counters live, so `migrate` is all an existing install needs.
`createcachetable` skips tables that exist and caches that are not in the database."""

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = []

    operations = [migrations.RunPython(create_cache_tables, migrations.RunPython.noop)]
