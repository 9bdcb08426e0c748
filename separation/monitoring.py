"""What the job queue is doing, in numbers: one computation behind the admin dashboard,
its JSON endpoint and ``manage.py jobs_report``.

Everything is counted in SQL with a fixed number of queries, however many jobs there
are: the finished jobs of the last 7 days are grouped by hour in one query, and each
median or percentile is read as the value at its rank (``ORDER BY ... LIMIT 2 OFFSET k``),
so at most two values per percentile leave the database, on SQLite and PostgreSQL alike.

Workers are seen through django-q2's own cluster stats: each cluster's sentinel writes
them to the cache every half second with a 3-second expiry, so a cluster that stopped or
died drops out within seconds. That only works with a cache shared between processes
(settings.CACHES).
"""

import math
import os
import socket
from datetime import UTC, timedelta

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone
from django_q.brokers import Broker
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.status import Stat

from .jobs import stale_condition
from .models import SeparationJob, Stem

Status = SeparationJob.Status

# Window name -> hours. Each window is a whole number of clock hours ending with the
# current (partial) hour, so its totals always equal the sum of its bars on the charts.
WINDOWS = {"24h": 24, "7d": 24 * 7}
OUTCOMES = SeparationJob.FINISHED
RUNNING_SHOWN = 25
# A cluster stat older than this counts as gone even if a cache kept it past its expiry.
CLUSTER_STALE_SECONDS = 30
# django-q2's cluster stats do not say which queue a cluster serves: each cluster's workers
# record it under the cluster's host and sentinel pid as they start (record_queue).
QUEUE_KEY = "stemroom:cluster-queue:{host}:{sentinel}"

_storage_sources = {}


def register_storage(label, total_bytes):
    """Count more stored bytes on the dashboard: ``total_bytes()`` returns them.

    The stem factory only knows its stems; the library registers its original uploads.
    """
    _storage_sources[label] = total_bytes


def collect(now=None):
    """Every number the dashboard and ``jobs_report`` show, as JSON-ready values."""
    now = now or timezone.now()
    # Hours in UTC: clock hours that never repeat or vanish with daylight saving.
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    since = {name: hour - timedelta(hours=hours - 1) for name, hours in WINDOWS.items()}

    jobs = SeparationJob.objects.aggregate(
        queued=Count("pk", filter=Q(status=Status.QUEUED)),
        running=Count("pk", filter=Q(status=Status.RUNNING)),
        oldest_queued=Min("queued_at", filter=Q(status=Status.QUEUED)),
        stale=Count("pk", filter=stale_condition(now)),
        **{f"rtf_{name}": Count("pk", filter=_rtf_filter(start)) for name, start in since.items()},
        **{f"wait_{name}": Count("pk", filter=Q(started_at__gte=start)) for name, start in since.items()},
    )
    hourly = _hourly(hour, since["7d"])

    windows = {}
    for name, hours in WINDOWS.items():
        buckets = hourly[-hours:]
        finished = {status: sum(b[status] for b in buckets) for status in OUTCOMES}
        total = sum(finished.values())
        ended = finished[Status.SUCCEEDED] + finished[Status.FAILED]
        elapsed_hours = (now - since[name]).total_seconds() / 3600
        rtf = _percentiles(
            SeparationJob.objects.filter(_rtf_filter(since[name])), F("realtime_factor"), jobs[f"rtf_{name}"]
        )
        wait = _percentiles(
            SeparationJob.objects.filter(started_at__gte=since[name]),
            ExpressionWrapper(F("started_at") - F("queued_at"), output_field=DurationField()),
            jobs[f"wait_{name}"],
        )
        windows[name] = {
            "hours": hours,
            "since": since[name].isoformat(),
            "finished": total,
            **{str(status): count for status, count in finished.items()},
            "jobs_per_hour": total / elapsed_hours if elapsed_hours else 0.0,
            # Cancelled jobs say nothing about the engine: the rate is failed / (succeeded + failed).
            "failure_rate": finished[Status.FAILED] / ended if ended else None,
            "realtime_factor": {"count": jobs[f"rtf_{name}"], **rtf},
            "wait_seconds": {"count": jobs[f"wait_{name}"], **wait},
        }

    return {
        "generated_at": now.isoformat(),
        "queue": {
            "queued_jobs": jobs["queued"],
            "running_jobs": jobs["running"],
            "stale_running_jobs": jobs["stale"],
            "oldest_queued_seconds": (now - jobs["oldest_queued"]).total_seconds() if jobs["oldest_queued"] else None,
            "broker": _broker_tasks(now),
        },
        "running": _running(now),
        "workers": workers(now),
        "windows": windows,
        "hourly": [{"hour": b["hour"].isoformat(), **{str(s): b[s] for s in OUTCOMES}} for b in hourly],
        "storage": _storage(),
    }


def takes_only_analyses(queue):
    """Whether a cluster serving ``queue`` is the song-analysis cluster (settings.ANALYSIS_CLUSTER), which never separates."""
    return bool(settings.ANALYSIS_CLUSTER) and queue == settings.ANALYSIS_CLUSTER


def takes_separations(queue):
    """Whether a cluster serving ``queue`` gets separation jobs: the queue settings.SEPARATION_CLUSTER
    names, else the default cluster's. A cluster whose queue is not recorded yet (its workers
    are starting) is given the benefit of the doubt."""
    return queue is None or queue == (settings.SEPARATION_CLUSTER or Conf.PREFIX)


def record_queue(queue, sentinel=None):
    """In a new django-q2 worker process: the queue its cluster serves, for ``workers()``."""
    # A worker is a child of its cluster's sentinel, whose pid the cluster's stats carry.
    sentinel = os.getppid() if sentinel is None else sentinel
    caches[Conf.CACHE].set(QUEUE_KEY.format(host=socket.gethostname(), sentinel=sentinel), queue, None)


def workers(now=None):
    """django-q2's live cluster stats, read from the cache the clusters write them to.

    ``separating`` counts the live clusters that take separations (``takes_separations``):
    the song-analysis cluster, or CPU workers while separations go to the GPU queue, alone
    would leave every Split queued.
    """
    now = now or timezone.now()
    cache = caches[Conf.CACHE]
    shared = not isinstance(cache, LocMemCache | DummyCache)
    # A bare Broker reads stats from the cache only: the ORM broker's constructor would
    # also close this request's database connection ("close_old_connections").
    stats = Stat.get_all(broker=Broker())
    keys = {stat.cluster_id: QUEUE_KEY.format(host=stat.host, sentinel=stat.sentinel) for stat in stats}
    queues = cache.get_many(list(keys.values())) if keys else {}
    clusters = []
    for stat in stats:
        last_seen = (now - stat.timestamp).total_seconds()
        status = str(stat.status)
        clusters.append(
            {
                "cluster_id": str(stat.cluster_id),
                "queue": queues.get(keys[stat.cluster_id]),
                "host": stat.host,
                "pid": stat.pid,
                "status": status,
                "workers": len(stat.workers),
                "uptime_seconds": (now - stat.tob).total_seconds() if stat.tob else None,
                "last_seen_seconds": last_seen,
                "alive": (
                    last_seen <= CLUSTER_STALE_SECONDS
                    and bool(stat.workers)
                    and status not in (str(Conf.STOPPING), str(Conf.STOPPED))
                ),
            }
        )
    clusters.sort(key=lambda c: (c["host"], c["pid"]))
    alive = [c for c in clusters if c["alive"]]
    separating = [c for c in alive if takes_separations(c["queue"])]
    return {
        "clusters": clusters,
        "clusters_alive": len(alive),
        "separating": len(separating),
        "separating_processes": sum(c["workers"] for c in separating),
        "processes": sum(c["workers"] for c in alive),
        "last_seen_seconds": min((c["last_seen_seconds"] for c in alive), default=None),
        "cache_shared": shared,
    }


def _rtf_filter(start):
    return Q(status=Status.SUCCEEDED, finished_at__gte=start, realtime_factor__isnull=False)


def _hourly(hour, start):
    """One bucket per clock hour from ``start`` to ``hour``: jobs finished in it, by outcome."""
    rows = (
        SeparationJob.objects.filter(finished_at__gte=start, status__in=OUTCOMES)
        .annotate(hour=TruncHour("finished_at", tzinfo=UTC))
        .values("hour", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {(row["hour"].timestamp(), row["status"]): row["n"] for row in rows}
    buckets = []
    bucket = start
    while bucket <= hour:
        buckets.append({"hour": bucket, **{s: counts.get((bucket.timestamp(), s), 0) for s in OUTCOMES}})
        bucket += timedelta(hours=1)
    return buckets


def _percentiles(queryset, expression, count, fractions=(("p5", 0.05), ("median", 0.5), ("p95", 0.95))):
    """Percentiles (linear between neighbouring ranks) of ``expression`` over ``count`` rows."""
    values = queryset.annotate(value=expression).order_by("value").values_list("value", flat=True)
    result = {}
    for name, fraction in fractions:
        result[name] = None
        if not count:
            continue
        rank = fraction * (count - 1)
        low = math.floor(rank)
        pair = [_number(v) for v in values[low : low + 2] if v is not None]
        if not pair:  # rows went away between the count and this read
            continue
        high = pair[1] if len(pair) > 1 else pair[0]
        result[name] = pair[0] + (high - pair[0]) * (rank - low)
    return result


def _number(value):
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _broker_tasks(now):
    """django-q2's queue itself: tasks waiting to be picked up, and tasks a cluster holds."""
    return OrmQ.objects.using(Conf.ORM).aggregate(
        total=Count("pk"),
        ready=Count("pk", filter=Q(lock__lte=now) | Q(lock__isnull=True)),
        leased=Count("pk", filter=Q(lock__gt=now)),
    )


def _running(now):
    jobs = (
        SeparationJob.objects.filter(status=Status.RUNNING)
        .select_related("requested_by")
        .order_by("started_at")[:RUNNING_SHOWN]
    )
    return [
        {
            "id": str(job.pk),
            "model": job.model,
            "sha256": job.sha256,
            "progress": job.progress,
            "worker": job.worker,
            "attempts": job.attempts,
            "requested_by": job.requested_by.get_username() if job.requested_by else None,
            "running_seconds": (now - job.started_at).total_seconds() if job.started_at else None,
            "heartbeat_seconds": (now - job.heartbeat_at).total_seconds() if job.heartbeat_at else None,
            "stale": job.is_stale(now),
        }
        for job in jobs
    ]


def _storage():
    parts = {"Stems": Stem.objects.aggregate(total=Sum("size"))["total"] or 0}
    for label, total_bytes in _storage_sources.items():
        parts[label] = total_bytes() or 0
    return {"parts": parts, "total": sum(parts.values())}


# --- Text, shared by the dashboard and jobs_report so both say exactly the same ---


def format_seconds(seconds):
    if seconds is None:
        return "—"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"
    return f"{int(seconds // 86400)} d {int(seconds % 86400 // 3600):02d} h"


def format_bytes(count):
    value = float(count)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"  # pragma: no cover


def format_rate(fraction):
    return "—" if fraction is None else f"{100 * fraction:.1f}%"


def format_factor(factor):
    return "—" if factor is None else f"{factor:.1f}×"


def summary(stats):
    """The headline numbers as (section, [(label, text), ...]), in the order people read them."""
    queue, workers_ = stats["queue"], stats["workers"]
    broker = queue["broker"]
    sections = [
        (
            "Queue",
            [
                ("Queued jobs", str(queue["queued_jobs"])),
                ("Running jobs", str(queue["running_jobs"])),
                ("Running jobs without a heartbeat", str(queue["stale_running_jobs"])),
                ("Oldest queued job waiting", format_seconds(queue["oldest_queued_seconds"])),
                ("Broker tasks (ready / held by a worker)", f"{broker['ready']} / {broker['leased']}"),
            ],
        ),
        (
            "Workers",
            [
                ("Clusters alive", str(workers_["clusters_alive"])),
                ("Worker processes", str(workers_["processes"])),
            ],
        ),
    ]
    for window in stats["windows"].values():
        rtf, wait = window["realtime_factor"], window["wait_seconds"]
        sections.append(
            (
                f"Last {window['hours']} h" if window["hours"] <= 24 else f"Last {window['hours'] // 24} days",
                [
                    ("Jobs finished", str(window["finished"])),
                    ("Jobs per hour", f"{window['jobs_per_hour']:.2f}"),
                    (
                        "Succeeded / failed / cancelled",
                        f"{window['succeeded']} / {window['failed']} / {window['cancelled']}",
                    ),
                    ("Failure rate", format_rate(window["failure_rate"])),
                    ("Real-time factor, median", format_factor(rtf["median"])),
                    ("Real-time factor, p95", format_factor(rtf["p95"])),
                    ("Real-time factor, p5 (slowest jobs)", format_factor(rtf["p5"])),
                    ("Wait, median", format_seconds(wait["median"])),
                    ("Wait, p95", format_seconds(wait["p95"])),
                ],
            )
        )
    storage = stats["storage"]
    sections.append(
        (
            "Storage",
            [(label, format_bytes(size)) for label, size in storage["parts"].items()]
            + [("Total", format_bytes(storage["total"]))],
        )
    )
    return sections
