"""Job histories and django-q2 cluster stats for the admin monitoring tests."""

import hashlib
import itertools
import os
import random
import socket
import uuid
from datetime import timedelta

from django_q.brokers import Broker
from django_q.conf import Conf
from django_q.signing import SignedPackage
from django_q.status import Stat, Status

from separation.models import SeparationJob, Stem


def sha(n):
    return hashlib.sha256(f"audio {n}".encode()).hexdigest()


def make_history(count, now, *, seed=7, requested_by=None):
    """``count`` finished jobs spread over the last 166 hours (inside any 7-day window) (85% succeeded, 10% failed,
    5% cancelled), plus two running and three queued, written with bulk_create.

    Returns the finished jobs as built, so tests can compute the expected numbers.
    """
    rng = random.Random(seed)
    finished = []
    for i in range(count):
        queued = now - timedelta(hours=rng.uniform(0.2, 166))
        started = queued + timedelta(seconds=rng.uniform(0, 120))
        roll = rng.random()
        status = "succeeded" if roll < 0.85 else "failed" if roll < 0.95 else "cancelled"
        rtf = rng.uniform(20, 60) if status == "succeeded" else None
        finished.append(
            SeparationJob(
                sha256=sha(i),
                source=f"tracks/1/{i}.mp3",
                model="2stems",
                status=status,
                progress=100 if status == "succeeded" else 30,
                queued_at=queued,
                started_at=started,
                finished_at=started + timedelta(seconds=rng.uniform(3, 30)),
                duration=180.0,
                realtime_factor=rtf,
                attempts=1,
                worker="box-1:100",
                requested_by=requested_by,
                error="Separation failed unexpectedly (MemoryError: ).\nSecond line." if status == "failed" else "",
            )
        )
    live = [
        SeparationJob(
            sha256=sha(f"running {i}"),
            source="tracks/1/r.mp3",
            model="2stems",
            status="running",
            progress=40 + i,
            queued_at=now - timedelta(minutes=3),
            started_at=now - timedelta(minutes=2),
            heartbeat_at=now - timedelta(seconds=2),
            worker=f"box-{i}:200",
            attempts=1,
        )
        for i in range(2)
    ] + [
        SeparationJob(
            sha256=sha(f"queued {i}"),
            source="tracks/1/q.mp3",
            model="2stems",
            status="queued",
            queued_at=now - timedelta(seconds=30 + i),
        )
        for i in range(3)
    ]
    SeparationJob.objects.bulk_create(finished + live, batch_size=500)
    Stem.objects.bulk_create(
        [
            Stem(job=job, name=name, duration=180.0, size=1_000_000)
            for job in finished[:200]
            if job.status == "succeeded"
            for name in ("vocals", "accompaniment")
        ]
    )
    return finished


_SENTINEL_PIDS = itertools.count(4_000_000)  # above any real pid (pid_max is at most 2**22)


def report_cluster(*, age_seconds=0.0, workers=1, status=Conf.IDLE, expires_in=3, now=None, queue=None):
    """Write one cluster's stats to the cache exactly where and how django-q2's sentinel
    writes them (``Stat.save``: ``broker.set_stat(key, SignedPackage.dumps(stat, True), 3)``).

    ``age_seconds`` backdates the stats, as if the sentinel stopped writing that long ago;
    ``expires_in`` is the cache expiry (django-q2 uses 3 s). ``queue``: the queue its workers
    record as they start (separation.monitoring.record_queue); None, as before they have.
    """
    from django.utils import timezone

    stat = Status(pid=os.getpid(), cluster_id=uuid.uuid4())
    stat.sentinel = next(_SENTINEL_PIDS)  # each cluster its own, as each sentinel process has
    stat.host = socket.gethostname()
    stat.status = status
    stat.workers = list(range(10_000, 10_000 + workers))
    stat.tob = (now or timezone.now()) - timedelta(minutes=5)
    stat.timestamp = (now or timezone.now()) - timedelta(seconds=age_seconds)
    Broker().set_stat(Stat.get_key(stat.cluster_id), SignedPackage.dumps(stat, True), expires_in)
    if queue is not None:
        from separation.monitoring import record_queue

        record_queue(queue, sentinel=stat.sentinel)
    return stat
