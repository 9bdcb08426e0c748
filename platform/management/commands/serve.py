"""Serve Stemroom: nginx in front of the web server, and a django-q2 worker cluster.

nginx (``platform.proxy``) listens on --host/--port and reads every request whole
before handing it to gunicorn on a private loopback port, so slow or idle clients
never tie up Django's threads. One command, one Ctrl-C: both run as children of this process, each in its own
process group: the stop goes to each group's leader, and whatever is left of a
group afterwards (gunicorn's and django-q2's own workers included) is killed.
The groups stay in this process's session: Linux first shares the CPU equally between
sessions ("autogroups") and only then by niceness, so a worker in a session of its own
took half the cores from the web server however niced it was.
Children also get SIGTERM from the kernel if this process dies abruptly
(PR_SET_PDEATHSIG), so nothing is left orphaned.
"""

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from platform import proxy

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
STOP_GRACE_SECONDS = 15
WORKER_NICENESS = 10
WEB_WORKERS = max(2, min(8, 2 * (os.cpu_count() or 1)))
ANALYSIS_NICENESS = 15
UPLOADS_NICENESS = 15


def _die_with_parent():
    # Not on Linux there is no prctl: the signal handlers below still stop the children.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Command(BaseCommand):
    help = "Run the web server and a background worker cluster until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--web-workers",
            type=int,
            default=WEB_WORKERS,
            help="gunicorn processes for pages and API reads (default: two per core, 2 to 8).",
        )
        # One thread each: threads of one process take turns at the GIL (bench/load.py, reads
        # alone at 200/s: p95 45-57 ms with 4 processes x 1 thread, 71-90 ms with 3 x 2,
        # 196-399 ms with 2 x 8). nginx buffers every request and response, so a thread is
        # never held by a slow client; more processes are what serve more at once.
        parser.add_argument("--threads", type=int, default=1)
        parser.add_argument(
            "--upload-workers",
            type=int,
            default=1,
            help="gunicorn workers of their own for new uploads, behind nginx (0: the web workers take them).",
        )
        parser.add_argument(
            "--upload-threads",
            type=int,
            default=8,
            help="threads of each upload worker: an upload mostly waits on ffmpeg and the disk, outside the GIL.",
        )
        parser.add_argument(
            "--upload-nice",
            type=int,
            default=UPLOADS_NICENESS,
            help="CPU priority of the upload workers below the web server's (0: the same).",
        )
        parser.add_argument("--no-worker", action="store_true", help="Serve the web app only.")
        parser.add_argument(
            "--worker-nice",
            type=int,
            default=WORKER_NICENESS,
            help="CPU priority of the worker cluster below the web server's (0: the same).",
        )
        parser.add_argument(
            "--analysis-nice",
            type=int,
            default=ANALYSIS_NICENESS,
            help="CPU priority of the song-analysis cluster below the separation worker's.",
        )
        parser.add_argument(
            "--no-proxy",
            action="store_true",
            help="gunicorn listens itself, without nginx in front (development only: slow clients can stall it).",
        )

    def handle(self, *args, **options):
        public = f"{options['host']}:{options['port']}"
        if options["no_proxy"]:
            bind = public
        else:
            try:
                proxy.nginx_binary()
            except proxy.ProxyUnavailable as exc:
                raise CommandError(str(exc)) from None
            bind = f"127.0.0.1:{_free_port()}"
        commands = {"web": _gunicorn(bind, options["web_workers"], options["threads"])}
        environments = {}
        uploads_bind = None
        if not options["no_proxy"] and options["upload_workers"] > 0:
            # Probing, hashing and storing a file is bulk work, like separating: niced, a
            # burst of uploads leaves the cores to the pages and API reads people wait on
            # (bench/load.py, 20 uploaders: read p95 36 ms at nice 15, 311-648 ms at nice 5,
            # whose eight threads together still outweighed the web's processes).
            uploads_bind = f"127.0.0.1:{_free_port()}"
            commands["uploads"] = [
                "nice",
                "-n",
                str(options["upload_nice"]),
                *_gunicorn(uploads_bind, options["upload_workers"], options["upload_threads"]),
                # Only a label, so that `ps` (and bench/load.py) can tell the two pools apart.
                "--env",
                "STEMROOM_WEB_POOL=uploads",
            ]
        if not options["no_worker"]:
            # Separation is batch work and takes every core it gets: niced, it yields them
            # to page and API requests, which then stay quick while a job runs.
            commands["worker"] = _qcluster(options["worker_nice"])
            if settings.ANALYSIS_CLUSTER:
                # Analyses have a queue and a cluster of their own (settings.ANALYSIS_CLUSTER),
                # so a Split never waits behind one; niced below separation, they take what
                # it leaves of the cores.
                commands["analysis"] = _qcluster(options["analysis_nice"])
                environments["analysis"] = {**os.environ, "Q_CLUSTER_NAME": settings.ANALYSIS_CLUSTER}

        children = {
            name: subprocess.Popen(cmd, env=environments.get(name), preexec_fn=_die_with_parent, process_group=0)
            for name, cmd in commands.items()
        }
        if not options["no_proxy"]:
            # nginx starts once gunicorn answers, so the first visitor never meets a 502.
            _wait_for_port(bind, children["web"])
            if uploads_bind:
                _wait_for_port(uploads_bind, children["uploads"])
            conf = proxy.write_config(
                settings.VAR_DIR / "run" / "nginx", listen=public, upstream=bind, uploads=uploads_bind
            )
            children["proxy"] = subprocess.Popen(proxy.command(conf), preexec_fn=_die_with_parent, process_group=0)
        self.stdout.write(f"Stemroom is running on http://{public}/ (Ctrl-C stops the server and the worker).")

        stopping = False

        def request_stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)

        exit_code = 0
        while not stopping:
            for name, child in children.items():
                code = child.poll()
                if code is not None:
                    logger.error("The %s process exited with code %s; stopping.", name, code)
                    exit_code = code or 1
                    stopping = True
            time.sleep(0.2)
        self._stop(children)
        if exit_code:
            sys.exit(exit_code)

    def _stop(self, children):
        # The leaders stop their own workers in order (gunicorn's master, django-q2's
        # sentinel); signalling every process at once leaves django-q2 waiting.
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, child in children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("The %s process did not stop in time; killing it.", name)
            # Whatever the group leader left behind (workers mid-request) goes too.
            _signal_group(child, signal.SIGKILL)
            child.wait()
        self.stdout.write("Stopped.")


def _qcluster(niceness):
    return ["nice", "-n", str(niceness), sys.executable, "manage.py", "qcluster"]


def _gunicorn(bind, workers, threads):
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "platform.wsgi",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--worker-class",
        # gthread even with one thread: it keeps nginx's upstream connections alive. The
        # plain sync worker closes each one, and cost more CPU per read (bench/load.py).
        "gthread",
        "--threads",
        str(threads),
        "--timeout",
        "300",
        "--graceful-timeout",
        "5",
        # Longer than nginx keeps an idle upstream connection (60 s): were gunicorn to close
        # it first (its default is 2 s), nginx could send an upload down a socket just being
        # closed, and a POST is not retried: a 502.
        "--keep-alive",
        "75",
        # No access log: one line per request, written under a lock all threads share,
        # cost ~6% of a busy web worker (py-spy during bench/load.py). Errors still log.
    ]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(address, child, timeout=60):
    host, _, port = address.rpartition(":")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.poll() is None:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)


def _signal_group(child, signum):
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signum)
