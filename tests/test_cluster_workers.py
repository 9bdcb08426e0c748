"""Two django-q2 clusters on one PostgreSQL, as two machines run them (issue 13, part 3).

Each cluster is its own ``manage.py qcluster`` process group with its own
SEPARATION_WORKER_HOST, so a job's ``worker`` field says which "machine" ran it and a
killed cluster's jobs can only come back the way they would from a lost machine: through
the shared database (stale heartbeats, and tasks its pusher had taken but never started).
The jobs are real mixdown renders (ffmpeg), the short job type; the routing test also
runs real separations. PostgreSQL only: SQLite is one machine's database by design.
"""

import socket

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django_q.models import Task
from rest_framework.test import APIClient

from library.models import Mixdown, Remix
from separation import monitoring
from separation.models import SeparationJob
from tests.eval_songs import generate_song
from tests.helpers import upload
from tests.separated import separated_track
from tests.workers import start_cluster, wait_for

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(not ON_POSTGRES, reason="two machines share PostgreSQL: runs in the PostgreSQL pass"),
]

# Mixdown workers need no model: leave TensorFlow unloaded, so the two clusters start fast.
NO_MODEL = {"SEPARATION_PRELOAD_MODELS": ""}
# A killed machine's running job is presumed lost after 3 s without a heartbeat.
FAST_RECOVERY = {"SEPARATION_HEARTBEAT_SECONDS": "1", "SEPARATION_STALE_SECONDS": "3"}


def api_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def remix_of(track, job, gain_db):
    mix = {stem: {"gain_db": gain_db, "mute": False, "solo": False, "pan": 0.0} for stem in job.stem_names}
    return Remix.objects.create(
        owner=track.owner, job=job, track=track, stems=mix, title=track.title, name=f"{gain_db}"
    )


def render(api, remix):
    response = api.post(f"/api/remixes/{remix.pk}/render/")
    assert response.status_code == 202, response.json()
    return response.json()["id"]


def task_count(func):
    return Task.objects.filter(func=func).count()


def host_of(job):
    return job.worker.rpartition(":")[0]


def wait_for_clusters(count, clusters):
    def alive():
        for cluster in clusters:
            assert cluster.process.poll() is None, cluster.output()
        return monitoring.workers()["clusters_alive"] >= count

    try:
        wait_for(alive, 120, f"{count} live clusters")
    except AssertionError as exc:
        logs = "\n".join(f"--- cluster {n} ---\n{c.output()}" for n, c in enumerate(clusters))
        raise AssertionError(f"{exc}\n{monitoring.workers()}\n{logs}") from None


@pytest.fixture
def two_machines(transactional_db, isolated_media, tmp_path):
    clusters = {
        host: start_cluster(
            tmp_path / host,
            isolated_media,
            SEPARATION_WORKER_HOST=host,
            Q_CLUSTER_NAME=None,
            **NO_MODEL,
            **FAST_RECOVERY,
        )
        for host in ("machine-a", "machine-b")
    }
    yield clusters
    for cluster in clusters.values():
        cluster.stop()


def test_cluster_pair_runs_twenty_jobs_once_each_and_a_killed_cluster_loses_none(alice, two_machines, tmp_path):
    api = api_for(alice)
    short_track, short_job = separated_track(alice, tmp_path, seconds=2.0)
    (tmp_path / "long").mkdir()
    long_track, long_job = separated_track(alice, tmp_path / "long", seconds=240.0)
    wait_for_clusters(2, list(two_machines.values()))

    # 20 jobs; the 13th renders four minutes of audio, so it is still running when its cluster dies.
    ids = [render(api, remix_of(short_track, short_job, gain)) for gain in range(-12, 0)]
    long_id = render(api, remix_of(long_track, long_job, -3))
    ids += [long_id] + [render(api, remix_of(short_track, short_job, gain)) for gain in range(1, 8)]
    assert len(ids) == 20

    def running_long():
        job = Mixdown.objects.get(pk=long_id)
        return job if job.status == "running" else None

    victim_host = host_of(wait_for(running_long, 60, "the long render to start", interval=0.02))
    survivor_host = ({"machine-a", "machine-b"} - {victim_host}).pop()
    two_machines[victim_host].kill()

    def all_finished():
        return not Mixdown.objects.filter(pk__in=ids).exclude(status__in=Mixdown.FINISHED).exists()

    wait_for(all_finished, 150, "all 20 renders to finish", cluster=two_machines[survivor_host])

    mixdowns = {str(m.pk): m for m in Mixdown.objects.filter(pk__in=ids)}
    assert {m.status for m in mixdowns.values()} == {"succeeded"}, [(m.status, m.error) for m in mixdowns.values()]
    # Exactly once: one claim each, but the killed render's two; every render stored once.
    assert [mixdowns[i].attempts for i in ids] == [2 if i == long_id else 1 for i in ids]
    assert host_of(mixdowns[long_id]) == survivor_host
    stored = sorted(p.name for p in (settings.MEDIA_ROOT / "mixdowns").rglob("*") if p.is_file())
    assert stored == sorted(f"{pk.replace('-', '')}.{ext}" for pk in ids for ext in ("flac", "mp3"))
    # Spread: both machines finished renders, though one died.
    finished_on = {host_of(m) for m in mixdowns.values()}
    assert finished_on == {"machine-a", "machine-b"}, finished_on
    # django-q2's own record: every render's task ran, and only on the default cluster.
    # django-q2's monitor saves a task's record just after the function returns.
    wait_for(lambda: task_count("library.tasks.render_mixdown") >= len(ids), 30, "django-q2 to record every render")
    tasks = Task.objects.filter(func="library.tasks.render_mixdown")
    assert {t.args[0] for t in tasks} >= set(ids)
    assert {t.cluster for t in tasks} == {"stemroom"}


def test_cluster_health_command_sees_only_a_live_cluster_on_this_host(two_machines):
    wait_for_clusters(2, list(two_machines.values()))
    call_command("worker_health")  # both clusters run here
    for cluster in two_machines.values():
        cluster.kill()

    def refuses():
        try:
            call_command("worker_health")
        except CommandError as exc:
            return str(exc)
        return None

    message = wait_for(refuses, 15, "the health check to notice no live cluster")
    assert socket.gethostname() in message


@pytest.fixture(scope="module")
def short_songs(tmp_path_factory):
    return [generate_song(tmp_path_factory.mktemp(f"s{seed}"), seconds=5, seed=seed) for seed in (31, 32)]


def test_cluster_for_gpu_gets_every_separation_and_the_default_cluster_none(
    transactional_db, alice, isolated_media, spleeter_2stems, short_songs, tmp_path, settings
):
    settings.SEPARATION_CLUSTER = "gpu"
    model_path = {"SPLEETER_MODEL_PATH": str(spleeter_2stems.parent)}
    # The CPU machine's cluster first (the model's path set, so nothing but the queue keeps
    # separations off it), then the GPU machine's, on the CPU here (no GPU on this machine).
    started = []
    try:
        cpu = start_cluster(
            tmp_path / "cpu",
            isolated_media,
            SEPARATION_WORKER_HOST="cpu-machine",
            Q_CLUSTER_NAME=None,
            **NO_MODEL,
            **model_path,
        )
        started.append(cpu)
        wait_for_clusters(1, [cpu])
        gpu = start_cluster(
            tmp_path / "gpu",
            isolated_media,
            SEPARATION_WORKER_HOST="gpu-machine",
            Q_CLUSTER_NAME="gpu",
            SEPARATION_DEVICE="cpu",
            **model_path,
        )
        started.append(gpu)
        wait_for_clusters(2, [cpu, gpu])
        api = api_for(alice)
        separations = []
        for song in short_songs:
            track = upload(api, song / "mixture.wav").json()
            response = api.post(f"/api/tracks/{track['id']}/separations/", {"model": "2stems"}, format="json")
            assert response.status_code == 202, response.json()
            separations.append(response.json()["id"])
        # A mixdown goes to the default queue: the CPU cluster is alive and taking work.
        track, job = separated_track(alice, tmp_path, seconds=2.0)
        mixdown = render(api, remix_of(track, job, -6))

        def done():
            jobs = list(SeparationJob.objects.filter(pk__in=separations)) + [Mixdown.objects.get(pk=mixdown)]
            return all(j.status in SeparationJob.FINISHED for j in jobs)

        wait_for(done, 180, "the separations and the mixdown", cluster=gpu)
        for pk in separations:
            job = SeparationJob.objects.get(pk=pk)
            assert (job.status, job.error) == ("succeeded", "")
            assert host_of(job) == "gpu-machine"
        assert host_of(Mixdown.objects.get(pk=mixdown)) == "cpu-machine"
        # django-q2's monitor saves a task's record after the function returns, so the job
        # can read "succeeded" a moment before its Task row exists.
        wait_for(lambda: task_count("separation.tasks.run_job") >= 2, 30, "django-q2 to record both separations")
        separated = Task.objects.filter(func="separation.tasks.run_job")
        assert separated.count() == 2
        assert {t.cluster for t in separated} == {"gpu"}
    finally:
        for cluster in started:
            cluster.stop()
