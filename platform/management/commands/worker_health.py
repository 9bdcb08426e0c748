"""``manage.py worker_health``: is a django-q2 cluster on this host alive? The worker containers' health check.

It reads the same stats as ``/healthz``'s "workers" check (each cluster's sentinel writes
them to the shared cache every half second with a 3-second expiry), limited to clusters
on this host, so one worker container's check says nothing about another's. Exit 0 and a
line per live cluster, or exit 1 saying none reports.
"""

import socket

from django.core.management.base import BaseCommand, CommandError

from separation import monitoring


class Command(BaseCommand):
    help = "Exit 0 when a django-q2 cluster on this host reports, 1 otherwise (worker health check)."

    def handle(self, *args, **options):
        host = socket.gethostname()
        alive = [c for c in monitoring.workers()["clusters"] if c["alive"] and c["host"] == host]
        if not alive:
            raise CommandError(f"No django-q2 cluster on {host} is reporting: is `manage.py qcluster` running?")
        for cluster in alive:
            self.stdout.write(
                f"cluster {cluster['cluster_id']} on {host}: {cluster['workers']} worker(s), "
                f"seen {cluster['last_seen_seconds']:.1f} s ago"
            )
