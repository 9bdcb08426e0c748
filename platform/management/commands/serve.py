"""Serve Stemroom: the web server and a django-q2 worker cluster, together.

One command, one Ctrl-C: both run as children of this process, each in its own
process group: the stop goes to each group's leader, and whatever is left of a
group afterwards (gunicorn's and django-q2's own workers included) is killed.
Children also get SIGTERM from the kernel if this process dies abruptly
(PR_SET_PDEATHSIG), so nothing is left orphaned.
"""

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
STOP_GRACE_SECONDS = 15


def _die_with_parent():
    # Not on Linux there is no prctl: the signal handlers below still stop the children.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Command(BaseCommand):
    help = "Run the web server and a background worker cluster until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument("--no-worker", action="store_true", help="Serve the web app only.")

    def handle(self, *args, **options):
        bind = f"{options['host']}:{options['port']}"
        commands = {
            "web": [
                sys.executable,
                "-m",
                "gunicorn",
                "platform.wsgi",
                "--bind",
                bind,
                "--workers",
                str(options["web_workers"]),
                "--worker-class",
                "gthread",
                "--threads",
                str(options["threads"]),
                "--timeout",
                "300",
                "--graceful-timeout",
                "5",
                "--access-logfile",
                "-",
            ],
        }
        if not options["no_worker"]:
            commands["worker"] = [sys.executable, "manage.py", "qcluster"]

        children = {
            name: subprocess.Popen(cmd, preexec_fn=_die_with_parent, start_new_session=True)
            for name, cmd in commands.items()
        }
        self.stdout.write(f"Stemroom is running on http://{bind}/ (Ctrl-C stops the server and the worker).")

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


def _signal_group(child, signum):
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signum)
