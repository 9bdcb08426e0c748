"""Load benchmark (issue 9): uploads, reads and a separation at once, on loopback.

Starts `manage.py serve` as `make run` does (nginx in front of gunicorn, one warm
django-q2 worker) with a throwaway SQLite database, then:

  1. baseline: --baseline-seconds of reads alone, at --rate requests/s;
  2. load: --seconds of the same reads, plus --uploaders clients each uploading a
     distinct 5 MB WAV and deleting it again in a loop, while separations run one
     after another (a 1-minute song uploaded and split, then the next).

Reads alternate GET /api/tracks/ (a page of 50 from a 200-track library) and
GET /api/jobs/{id}/ (the running separation), sent open-loop at a fixed rate from
several client processes, so a slow server shows as latency, not as fewer requests.
Prints throughput, p50/p95, errors and jobs completed for each phase.

    .venv/bin/python bench/load.py [--seconds 60] [--rate 200] [--uploaders 20]

Targets: 0 errors, read p95 <= 250 ms under load.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import soundfile

REPO = Path(__file__).resolve().parent.parent
READER_PROCESSES = 4
THREADS_PER_READER = 16

SEED = """
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from library.models import Track
users = [User.objects.create_user(f"user{i}", password="bench-pass-123") for i in range(UPLOADERS + 1)]
Track.objects.bulk_create(
    Track(owner=users[0], title=f"Song {i:04d}", artist=f"Band {i % 37}", original=f"tracks/x/{i}.mp3",
          original_name=f"{i}.mp3", sha256=f"{i:064x}", codec="mp3", duration=200, sample_rate=44100,
          channels=2, size=4_000_000)
    for i in range(200)
)
# Until the first separation starts, the job-status reads ask about a finished job.
from separation.models import SeparationJob, SeparationRequest
job = SeparationJob.objects.create(sha256="0" * 64, source="tracks/x/0.mp3", model="2stems", status="succeeded", progress=100)
SeparationRequest.objects.create(user=users[0], job=job)
print(job.pk)
print(" ".join(Token.objects.create(user=u).key for u in users))
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds_by_role(root_pid):
    """CPU seconds (own + reaped children, e.g. ffmpeg) of every process under ``root_pid``, by role."""
    tick = os.sysconf("SC_CLK_TCK")
    parents, used, roles = {}, {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        used[pid] = sum(int(x) for x in fields[11:15]) / tick  # utime, stime, cutime, cstime
        roles[pid] = (
            "nginx"
            if "nginx" in args
            else "worker"
            if "qcluster" in args
            else "uploads"
            if "STEMROOM_WEB_POOL=uploads" in args
            else "web"
            if "gunicorn" in args
            else "serve"
        )

    def under_root(pid):
        while pid > 1:
            if pid == root_pid:
                return True
            pid = parents.get(pid, 0)
        return False

    totals = {}
    for pid, seconds in used.items():
        if under_root(pid):
            totals[roles[pid]] = totals.get(roles[pid], 0) + seconds
    return totals


def wait_until_worker_settles(root_pid, timeout=120):
    """Until the worker has loaded TensorFlow and the model (it does as it starts): not part of any phase."""
    deadline = time.monotonic() + timeout
    previous = cpu_seconds_by_role(root_pid).get("worker", 0)
    while time.monotonic() < deadline:
        time.sleep(1)
        now = cpu_seconds_by_role(root_pid).get("worker", 0)
        if now - previous < 0.05:
            return
        previous = now


def print_cpu(before, after, seconds, clients=None):
    shares = {role: after[role] - before.get(role, 0) for role in sorted(after)}
    print(
        "  CPU (cores): "
        + ", ".join(f"{role} {used / seconds:.2f}" for role, used in shares.items())
        + (f", benchmark clients {clients / seconds:.2f}" if clients is not None else "")
    )


def percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Client:
    """One keep-alive connection; reconnects after an error."""

    def __init__(self, port, token):
        self.port, self.token, self.conn = port, token, None

    def request(self, method, path, body=None, headers=None, timeout=120):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            self.conn.request(
                method, path, body=body, headers={"Authorization": f"Token {self.token}", **(headers or {})}
            )
            response = self.conn.getresponse()
            data = response.read()
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return response.status, data
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def close(self):
        if self.conn:
            self.conn.close()
        self.conn = None


def multipart(path):
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
            "Content-Type: audio/wav\r\n\r\n"
        ).encode()
        + path.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def reader_process(port, token, job_box, rate, seconds, out):
    """Open loop: request i is due at start + i/rate; latency is measured from sending it."""
    latencies, errors = [], []
    lock = threading.Lock()
    start = time.monotonic() + 0.2
    total = int(rate * seconds)
    counter = iter(range(total))

    def run():
        client = Client(port, token)
        for i in counter:
            due = start + i / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            path = "/api/tracks/" if i % 2 else f"/api/jobs/{job_box.value.decode() or 'none'}/"
            sent = time.monotonic()
            try:
                status, _ = client.request("GET", path, timeout=30)
                ok = status == 200 or (status == 404 and not job_box.value)
            except (OSError, http.client.HTTPException) as exc:
                status, ok = repr(exc), False
            with lock:
                latencies.append(time.monotonic() - sent)
                if not ok:
                    errors.append(str(status))
        client.close()

    threads = [threading.Thread(target=run) for _ in range(THREADS_PER_READER)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put((latencies, errors))


def run_reads(port, token, job_box, rate, seconds):
    out = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(
            target=reader_process, args=(port, token, job_box, rate / READER_PROCESSES, seconds, out)
        )
        for _ in range(READER_PROCESSES)
    ]
    for p in procs:
        p.start()
    latencies, errors = [], []
    for _ in procs:
        lat, err = out.get()
        latencies += lat
        errors += err
    for p in procs:
        p.join()
    return latencies, errors


def uploader(port, token, wav, stop, stats):
    client = Client(port, token)
    body, headers = multipart(wav)
    while not stop.is_set():
        started = time.monotonic()
        try:
            status, data = client.request("POST", "/api/tracks/", body, headers)
            if status != 201:
                stats["errors"].append(f"upload {status} {data[:120]!r}")
                time.sleep(0.5)
                continue
            stats["upload_seconds"].append(time.monotonic() - started)
            status, _ = client.request("DELETE", f"/api/tracks/{json.loads(data)['id']}/")
            if status != 204:
                stats["errors"].append(f"delete {status}")
        except (OSError, http.client.HTTPException) as exc:
            stats["errors"].append(f"upload {exc!r}")


def separations(port, token, songs, job_box, stop, stats):
    """One separation at a time, back to back, each on a new song."""
    client = Client(port, token)
    for song in songs:
        if stop.is_set():
            return
        body, headers = multipart(song)
        status, data = client.request("POST", "/api/tracks/", body, headers)
        if status not in (200, 201):
            stats["errors"].append(f"song upload {status}")
            return
        track = json.loads(data)["id"]
        status, data = client.request(
            "POST",
            f"/api/tracks/{track}/separations/",
            json.dumps({"model": "2stems"}),
            {"Content-Type": "application/json"},
        )
        if status not in (200, 202):
            stats["errors"].append(f"split {status} {data[:120]!r}")
            return
        job = json.loads(data)["id"]
        job_box.value = job.encode()
        while not stop.is_set():
            status, data = client.request("GET", f"/api/jobs/{job}/")
            state = json.loads(data)["status"] if status == 200 else "?"
            if state == "succeeded":
                stats["jobs"] += 1
                break
            if state in ("failed", "cancelled", "?"):
                stats["errors"].append(f"job {state}")
                break
            time.sleep(0.5)


def write_wav(path, seconds, seed):
    rng = np.random.default_rng(seed)
    soundfile.write(path, (rng.standard_normal((int(44100 * seconds), 2)) * 0.1).astype(np.float32), 44100, "PCM_16")
    return path


def report(name, seconds, latencies, errors):
    print(
        f"{name}: {len(latencies)} reads, {len(latencies) / seconds:.0f} req/s, "
        f"p50 {1000 * percentile(latencies, 0.5):.0f} ms, p95 {1000 * percentile(latencies, 0.95):.0f} ms, "
        f"errors {len(errors)}" + (f" (first: {errors[0]})" if errors else "")
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--baseline-seconds", type=int, default=15)
    parser.add_argument("--rate", type=int, default=200, help="reads per second")
    parser.add_argument("--uploaders", type=int, default=20)
    parser.add_argument("--worker-nice", type=int, default=10, help="the worker's niceness (serve --worker-nice)")
    parser.add_argument("--serve-args", default="", help="extra `manage.py serve` options, e.g. '--web-workers 4'")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="stemroom-load-"))
    env = {
        **os.environ,
        "STEMROOM_VAR_DIR": str(work / "var"),
        "SPLEETER_MODEL_PATH": str(REPO / "var" / "models"),
        "LOG_LEVEL": "WARNING",
        # The benchmark's 20 uploaders are legitimate load, not an attack: lift the
        # per-user upload throttle and job cap for it.
        "STEMROOM_UPLOAD_RATE": "100000/hour",
        "STEMROOM_MAX_ACTIVE_JOBS": "1000",
    }
    env.pop("DATABASE_URL", None)
    python = sys.executable
    server = None
    keep = True
    try:
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
        seeded = (
            subprocess.run(
                [python, "manage.py", "shell", "-c", SEED.replace("UPLOADERS", str(args.uploaders))],
                cwd=REPO,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()
        )
        finished_job, tokens = seeded[-2], seeded[-1].split()
        reader_token, upload_tokens = tokens[0], tokens[1:]
        wavs = [write_wav(work / f"upload{i}.wav", 5 * 1024**2 / (44100 * 4), seed=i) for i in range(args.uploaders)]
        songs = [write_wav(work / f"song{i}.wav", 60, seed=1000 + i) for i in range(20)]

        port = free_port()
        # Kept on failure (the work folder is removed only when the run is clean).
        server_log = open(work / "server.log", "wb")  # noqa: SIM115 -- open for the server's whole life
        server = subprocess.Popen(
            [
                python,
                "manage.py",
                "serve",
                "--port",
                str(port),
                "--worker-nice",
                str(args.worker_nice),
                *args.serve_args.split(),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=server_log,
        )
        client = Client(port, reader_token)
        deadline = time.monotonic() + 120
        while True:
            try:
                if client.request("GET", "/healthz")[0] == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server and its worker did not become healthy")
            time.sleep(0.5)

        job_box = multiprocessing.Array("c", 64)
        job_box.value = finished_job.encode()
        print(
            f"server: nginx + gunicorn + one warm worker (nice {args.worker_nice}), SQLite; "
            f"reads at {args.rate}/s open loop"
        )
        wait_until_worker_settles(server.pid)
        run_reads(port, reader_token, job_box, args.rate, 3)  # warm-up: every web worker loads its code
        cpu_before, started = cpu_seconds_by_role(server.pid), time.monotonic()
        latencies, errors = run_reads(port, reader_token, job_box, args.rate, args.baseline_seconds)
        report(f"baseline ({args.baseline_seconds} s, reads only)", args.baseline_seconds, latencies, errors)
        print_cpu(cpu_before, cpu_seconds_by_role(server.pid), time.monotonic() - started)

        stop = threading.Event()
        stats = {"errors": [], "upload_seconds": [], "jobs": 0}
        threads = [threading.Thread(target=separations, args=(port, reader_token, songs, job_box, stop, stats))]
        threads += [
            threading.Thread(target=uploader, args=(port, token, wav, stop, stats))
            for token, wav in zip(upload_tokens, wavs, strict=True)
        ]
        for t in threads:
            t.start()
        time.sleep(2)  # let the first separation start
        cpu_before, clients_before, started = cpu_seconds_by_role(server.pid), os.times(), time.monotonic()
        latencies, errors = run_reads(port, reader_token, job_box, args.rate, args.seconds)
        cpu_after, clients_after, elapsed = cpu_seconds_by_role(server.pid), os.times(), time.monotonic() - started
        stop.set()
        for t in threads:
            t.join()
        report(f"load ({args.seconds} s, + {args.uploaders} uploaders + separations)", args.seconds, latencies, errors)
        ups = stats["upload_seconds"]
        print(
            f"uploads: {len(ups)} of 5 MB ({len(ups) * 5 / elapsed:.1f} MB/s), "
            f"p50 {percentile(ups, 0.5):.2f} s, p95 {percentile(ups, 0.95):.2f} s, errors {len(stats['errors'])}"
            + (f" (first: {stats['errors'][0]})" if stats["errors"] else "")
        )
        print(f"separation jobs completed (1-minute songs, one at a time): {stats['jobs']}")
        print_cpu(cpu_before, cpu_after, elapsed, clients=sum(clients_after[:4]) - sum(clients_before[:4]))
        total_errors = len(errors) + len(stats["errors"])
        p95 = 1000 * percentile(latencies, 0.95)
        print(
            f"targets: errors {total_errors} (target 0), read p95 {p95:.0f} ms (target <= 250 ms): "
            + ("met" if total_errors == 0 and p95 <= 250 else "NOT met")
        )
        keep = total_errors > 0
    finally:
        if server:
            server.send_signal(2)
            server.wait(timeout=60)
        if keep:
            print(f"server log kept: {work / 'server.log'}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
