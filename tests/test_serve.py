"""`manage.py serve` (what `make run` starts): web server and worker together, one Ctrl-C stops all."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid):
    found = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return found
    for child in map(int, children):
        found += [child, *descendants(child)]
    return found


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def command_line(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def environment_of(pid):
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except FileNotFoundError:
        return []


def nice_of(pid):
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[16])


def test_serve_runs_web_and_worker_and_ctrl_c_stops_every_process(tmp_path):
    env = {**os.environ, "STEMROOM_VAR_DIR": str(tmp_path), "LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2) as response:
                    assert response.status == 200
                break
            except OSError:
                assert time.monotonic() < deadline, "the web server did not answer"
                time.sleep(0.3)
        deadline = time.monotonic() + 30
        while not any("qcluster" in command_line(p) for p in descendants(serve.pid)):
            assert time.monotonic() < deadline, "no worker cluster started"
            time.sleep(0.3)
        time.sleep(2)  # let gunicorn and django-q2 spawn their own workers
        family = descendants(serve.pid)
        names = " ".join(command_line(p) for p in family)
        assert "gunicorn" in names and "qcluster" in names
        # Two clusters: separations, and song analyses on their own queue, niced below them.
        niceness = {}
        for pid in family:
            if "qcluster" in command_line(pid):
                cluster = "analysis" if b"Q_CLUSTER_NAME=analysis" in environment_of(pid) else "separation"
                niceness.setdefault(cluster, set()).add(nice_of(pid))
        assert niceness == {"separation": {10}, "analysis": {15}}
        # ... all in serve's own session: Linux shares the CPU equally between sessions
        # (autogroups) before niceness counts, so a session of its own undid the nice.
        assert {os.getsid(pid) for pid in family} == {os.getsid(serve.pid)}

        # A client that never finishes its request keeps a gunicorn worker busy.
        stuck = socket.create_connection(("127.0.0.1", port))
        stuck.sendall(b"GET /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")

        serve.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert serve.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while any(alive(p) for p in family) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [command_line(p) for p in family if alive(p)] == []
        stuck.close()
    finally:
        if serve.poll() is None:
            serve.kill()
