"""GET /healthz: 200 when the database, the broker, a worker cluster and the model are all there; 503 otherwise.

Anyone gets the status; only staff and holders of HEALTHZ_TOKEN get the checks behind it.
"""

import os
import signal

import pytest
from django.core.cache import cache
from django.test import Client

from separation import monitoring
from tests.monitoring_data import report_cluster
from tests.workers import wait_for


@pytest.fixture(autouse=True)
def no_leftover_cluster_stats(db):
    cache.clear()
    yield
    cache.clear()


TOKEN = "monitor-token-for-tests"


@pytest.fixture
def monitor(settings):
    """A monitoring system holding the configured token: it sees every check."""
    settings.HEALTHZ_TOKEN = TOKEN
    return Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


@pytest.fixture
def model_installed(settings, spleeter_2stems):
    settings.SPLEETER_MODEL_PATH = spleeter_2stems.parent
    return spleeter_2stems


@pytest.fixture
def no_model(settings, tmp_path):
    settings.SPLEETER_MODEL_PATH = tmp_path / "empty-models"
    settings.SPLEETER_MODEL_PATH.mkdir()


def test_it_is_ok_when_everything_is_up(monitor, model_installed):
    report_cluster(workers=2)
    response = monitor.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "workers", "model"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["workers"]["clusters"] == 1
    assert body["checks"]["workers"]["processes"] == 2
    assert body["checks"]["model"]["name"] == "2stems"
    assert "no-cache" in response["Cache-Control"]


def test_it_fails_when_the_worker_heartbeat_is_stale(monitor, model_installed):
    # The cluster stopped writing its stats two minutes ago (and a cache kept them).
    report_cluster(age_seconds=120, expires_in=3600)
    response = monitor.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["workers"]["ok"] is False
    assert "qcluster" in body["checks"]["workers"]["detail"]
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"] and body["checks"]["model"]["ok"]


def test_it_fails_when_no_cluster_ever_reported(monitor, model_installed):
    response = monitor.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["workers"] == {
        "ok": False,
        "clusters": 0,
        "processes": 0,
        "last_seen_seconds": None,
        "detail": response.json()["checks"]["workers"]["detail"],
        "ms": response.json()["checks"]["workers"]["ms"],
    }


def test_a_cluster_that_is_stopping_does_not_count(client, model_installed):
    from django_q.conf import Conf

    report_cluster(status=Conf.STOPPING)
    assert client.get("/healthz").status_code == 503


@pytest.mark.parametrize(
    "separation_cluster, live_queues, healthy",
    [
        ("", ["stemroom", "analysis"], True),
        ("", ["analysis"], False),
        # Separations go to the GPU queue: CPU workers (mixdowns) and analyses alone leave Splits queued.
        ("gpu", ["stemroom", "analysis"], False),
        ("gpu", ["gpu"], True),
        # ... and GPU workers are no use while separations go to the default queue.
        ("", ["gpu", "analysis"], False),
    ],
)
def test_only_clusters_that_take_separations_count(
    monitor, model_installed, settings, separation_cluster, live_queues, healthy
):
    settings.SEPARATION_CLUSTER = separation_cluster
    for queue in live_queues:
        report_cluster(queue=queue)
    response = monitor.get("/healthz")
    assert response.status_code == (200 if healthy else 503)
    assert response.json()["checks"]["workers"]["clusters"] == (1 if healthy else 0)


def test_it_fails_when_the_model_is_missing(monitor, no_model):
    report_cluster()
    response = monitor.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["model"]["ok"] is False
    assert "install_models --model 2stems" in body["checks"]["model"]["detail"]
    assert body["checks"]["workers"]["ok"] is True
    # Nothing about the server's folders leaks out.
    assert "empty-models" not in response.content.decode()


def test_it_needs_no_login_but_tells_anonymous_callers_only_ok_or_fail(client, monitor, model_installed, settings):
    report_cluster()
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    settings.SPLEETER_MODEL_PATH = settings.SPLEETER_MODEL_PATH / "nothing-here"
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (503, {"status": "fail"})
    # A wrong token is just an anonymous caller.
    response = client.get("/healthz", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert response.json() == {"status": "fail"}


def test_staff_and_the_token_see_the_broker_queue(
    client, monitor, model_installed, alice, django_capture_on_commit_callbacks
):
    from separation.services import request_separation

    with django_capture_on_commit_callbacks(execute=True):
        request_separation(sha256="a" * 64, source="tracks/1/a.mp3", model="2stems", user=alice)
    report_cluster()
    assert monitor.get("/healthz").json()["checks"]["broker"]["tasks"] == 1
    assert client.get(f"/healthz?token={TOKEN}").json()["checks"]["broker"]["tasks"] == 1
    client.force_login(alice)
    assert "checks" not in client.get("/healthz").json()
    alice.is_staff = True
    alice.save()
    assert client.get("/healthz").json()["checks"]["broker"]["tasks"] == 1


def test_a_process_private_cache_is_named_as_the_reason(monitor, settings, model_installed):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    response = monitor.get("/healthz")
    assert response.status_code == 503
    assert "shared cache" in response.json()["checks"]["workers"]["detail"]


@pytest.mark.worker
def test_a_real_worker_cluster_makes_it_healthy_and_killing_it_makes_it_fail(
    no_preloading, worker_cluster, monitor, model_installed
):
    def queues():
        return sorted(str(c["queue"]) for c in monitoring.workers()["clusters"] if c["alive"])

    # The song-analysis cluster runs beside it (worker_cluster), and is not counted: it cannot separate.
    wait_for(lambda: queues() == ["analysis", "stemroom"], 60, "both clusters to report", worker_cluster)
    response = monitor.get("/healthz")
    assert response.status_code == 200
    workers = response.json()["checks"]["workers"]
    assert workers["clusters"] == 1
    assert workers["processes"] == 1
    # A crash, not a shutdown: nothing gets to say goodbye, the stats just stop coming. The
    # analysis cluster alone still reports, and cannot make it healthy.
    os.killpg(worker_cluster.process.pid, signal.SIGKILL)
    worker_cluster.process.wait()
    wait_for(lambda: monitor.get("/healthz").status_code == 503, 15, "/healthz to notice the cluster is gone")


@pytest.fixture
def no_preloading(monkeypatch):
    # The cluster only has to start: no TensorFlow model loading in its worker.
    monkeypatch.setenv("SEPARATION_PRELOAD_MODELS", "")
