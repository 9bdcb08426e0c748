"""API load benchmark: 50 concurrent clients on the library list for 30 seconds.

Starts the real web server (`manage.py serve --no-worker`, gunicorn as `make run`
runs it) on a free loopback port with a throwaway SQLite database holding one
user with a library of tracks (a third of them with separation jobs), then runs
closed-loop clients -- each sends its next request as soon as the last answer
arrived, over a keep-alive connection -- against GET /api/tracks/.

The clients are wrk's (a C load generator: `apt-get install wrk`), so that the
load generator takes as little as possible of the two cores the server runs on;
without wrk, or with --client python, 50 Python threads do it, which costs the
server about a core.

    .venv/bin/python bench/api.py [--clients 50] [--seconds 30] [--tracks 500] [--client wrk|python]

Target (issue 4): p95 <= 50 ms, 0 errors.
"""

import argparse
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SEED = """
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from library.models import Track
from separation.models import SeparationJob
user = User.objects.create_user("bench", password="bench-pass-123")
Track.objects.bulk_create(
    Track(owner=user, title=f"Song {i:04d}", artist=f"Band {i % 37}", original=f"tracks/x/{i}.mp3",
          original_name=f"{i}.mp3", sha256=f"{i:064x}", codec="mp3", duration=200, sample_rate=44100,
          channels=2, size=4_000_000)
    for i in range(TRACKS)
)
SeparationJob.objects.bulk_create(
    SeparationJob(sha256=f"{i:064x}", source="x", model="2stems", status="succeeded", progress=100)
    for i in range(0, TRACKS, 3)
)
print(Token.objects.create(user=user).key)
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client(port, token, path, stop_at, latencies, errors):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    while time.perf_counter() < stop_at:
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors.append(response.status)
        except (OSError, http.client.HTTPException) as exc:
            errors.append(type(exc).__name__)
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        latencies.append(time.perf_counter() - started)
    conn.close()


WRK_SCRIPT = """
wrk.headers["Authorization"] = "Token TOKEN"
wrk.headers["Accept"] = "application/json"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %.3f %.3f %.3f\\n", summary.requests,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency.max / 1000))
end
"""


def run_wrk(port, token, path, clients, seconds, work):
    """Closed-loop load from wrk; returns (requests, errors, p50 ms, p95 ms, max ms)."""
    script = work / "bench.lua"
    script.write_text(WRK_SCRIPT.replace("TOKEN", token))
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{clients}",
            f"-d{seconds:.0f}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{path}",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    fields = next(line for line in out.splitlines() if line.startswith("RESULT")).split()[1:]
    requests, errors = int(fields[0]), int(fields[1])
    return requests, errors, *map(float, fields[2:])


def run_python(port, token, path, clients, seconds):
    latencies, errors = [], []
    stop_at = time.perf_counter() + seconds
    threads = [
        threading.Thread(target=client, args=(port, token, path, stop_at, latencies, errors)) for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ms = sorted(x * 1000 for x in latencies)
    p95 = ms[int(len(ms) * 0.95) - 1] if ms else float("nan")
    if errors:
        print(f"error kinds: {sorted(set(map(str, errors)))}")
    return len(ms), len(errors), statistics.median(ms), p95, ms[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--tracks", type=int, default=500)
    parser.add_argument("--path", default="/api/tracks/")
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="stemroom-bench-api-"))
    env = {**os.environ, "STEMROOM_VAR_DIR": str(work), "DEBUG": "0", "LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    python = sys.executable
    server = None
    try:
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
        token = subprocess.run(
            [python, "manage.py", "shell", "-c", SEED.replace("TRACKS", str(args.tracks))],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[-1]
        port = free_port()
        server = subprocess.Popen(
            [python, "manage.py", "serve", "--no-worker", "--port", str(port)],
            cwd=REPO,
            env={**env, "ALLOWED_HOSTS": "127.0.0.1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        # Warm up every worker process and thread before measuring.
        warm_latencies, warm_errors = [], []
        client(port, token, args.path, time.perf_counter() + 2, warm_latencies, warm_errors)

        if args.client == "wrk":
            requests, errors, p50, p95, worst = run_wrk(port, token, args.path, args.clients, args.seconds, work)
        else:
            requests, errors, p50, p95, worst = run_python(port, token, args.path, args.clients, args.seconds)
        print(
            f"GET {args.path} ({args.tracks} tracks, page of 50 with job status), "
            f"{args.clients} closed-loop {args.client} clients, {args.seconds:.0f} s"
        )
        print(f"requests: {requests}  throughput: {requests / args.seconds:.0f} req/s  errors: {errors}")
        print(f"latency p50 {p50:.1f} ms  p95 {p95:.1f} ms  max {worst:.1f} ms  (target p95 <= 50 ms, 0 errors)")
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
