"""Print the job queue's numbers: what the admin monitoring dashboard shows, in the terminal.

    python manage.py jobs_report          # queue, workers, last 24 h and 7 days, storage
    python manage.py jobs_report --json   # the same numbers as /api/monitoring/ returns

Both come from ``separation.monitoring.collect()`` and its ``summary()`` text, so the
report and the dashboard never disagree.
"""

import json

from django.core.management.base import BaseCommand

from separation import monitoring


class Command(BaseCommand):
    help = "Print the separation job queue's numbers (the admin monitoring dashboard, as text)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the raw numbers as JSON")

    def handle(self, *args, as_json=False, **options):
        stats = monitoring.collect()
        if as_json:
            self.stdout.write(json.dumps(stats, indent=2, ensure_ascii=False))
            return
        self.stdout.write(f"Separation jobs as of {stats['generated_at']}")
        for section, rows in monitoring.summary(stats):
            self.stdout.write("")
            self.stdout.write(self.style.MIGRATE_HEADING(section))
            width = max(len(label) for label, _ in rows)
            for label, text in rows:
                self.stdout.write(f"  {label.ljust(width)}  {text}")
        workers = stats["workers"]
        if workers["clusters"]:
            self.stdout.write("")
            self.stdout.write(self.style.MIGRATE_HEADING("Clusters"))
            for cluster in workers["clusters"]:
                self.stdout.write(
                    f"  {cluster['host']} pid {cluster['pid']}: {cluster['status']}, {cluster['workers']} workers, "
                    f"seen {cluster['last_seen_seconds']:.1f} s ago{'' if cluster['alive'] else ' (gone)'}"
                )
        elif not workers["cache_shared"]:
            self.stderr.write("The cache is private to each process: workers cannot be seen from here.")
        if stats["running"]:
            self.stdout.write("")
            self.stdout.write(self.style.MIGRATE_HEADING("Running"))
            for job in stats["running"]:
                beat = monitoring.format_seconds(job["heartbeat_seconds"])
                self.stdout.write(
                    f"  {job['id'][:8]} {job['model']} {job['progress']:3d}%  on {job['worker'] or '?'}, "
                    f"heartbeat {beat} ago{'  NO HEARTBEAT' if job['stale'] else ''}"
                )
