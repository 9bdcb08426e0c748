"""A real django-q2 worker cluster for tests, sharing the test database and media folder."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

REPO = Path(__file__).resolve().parent.parent


def database_url():
    """The URL of the test database this process uses, for a separate worker process."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Cluster:
    def __init__(self, process, log):
        self.process = process
        self.log = log

    def output(self):
        return self.log.read_text(errors="replace")[-5000:]

    def kill(self):
        """SIGKILL to the whole cluster at once (sentinel, pusher, monitor, workers): a machine lost."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self):
        # SIGTERM to the cluster's main process only: it stops its own workers in
        # order (a SIGTERM to each of them at once leaves it waiting on them).
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def start_cluster(folder, media, **env):
    """``manage.py qcluster`` in its own process group, on the test database and media folder.

    ``folder`` holds its var folder and log; ``env`` adds to (or, as None, removes from) its environment.
    """
    var = folder / "worker-var"
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "STEMROOM_VAR_DIR": str(var),
        "SEPARATION_HEARTBEAT_SECONDS": "1",
        "SEPARATION_STALE_SECONDS": "10",
        "Q_WORKERS": "1",
        "LOG_LEVEL": "INFO",
    }
    for name, value in env.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    # The worker must read and write the same media and temp folders as this test.
    var.mkdir(parents=True)
    os.symlink(media.MEDIA_ROOT, var / "media")
    os.symlink(media.FILE_UPLOAD_TEMP_DIR, var / "tmp")
    log = folder / "qcluster.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=REPO,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Cluster(process, log)


@pytest.fixture
def worker_env():
    """More environment for the worker cluster: a test module overrides this (the S3 tests do)."""
    return {}


@pytest.fixture
def worker_cluster(transactional_db, isolated_media, spleeter_2stems, tmp_path, worker_env):
    """The worker cluster, with the song-analysis cluster beside it as `manage.py serve` runs them."""
    env = {"SPLEETER_MODEL_PATH": str(spleeter_2stems.parent), **worker_env}
    cluster = start_cluster(tmp_path, isolated_media, **env)
    analysis = start_cluster(tmp_path / "analysis", isolated_media, Q_CLUSTER_NAME=settings.ANALYSIS_CLUSTER, **env)
    yield cluster
    # At once: a graceful stop waits for an analysis under way (up to 30 s), and the test is over.
    analysis.kill()
    cluster.stop()


def wait_for(predicate, timeout, what, cluster=None, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    detail = f"\n--- worker log ---\n{cluster.output()}" if cluster else ""
    raise AssertionError(f"Timed out after {timeout} s waiting for {what}{detail}")
