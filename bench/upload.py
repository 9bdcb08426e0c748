"""Upload benchmark: a 100 MB WAV through POST /api/tracks/ against `cp` of the same file.

Starts the real server (nginx in front of gunicorn, as `make run` does) on a free loopback port
with its own throwaway data folder, uploads the file with a streamed multipart
body several times (deleting the track between runs so the duplicate check does
not short-circuit), and samples the server worker's RSS during each upload.

    .venv/bin/python bench/upload.py [--mb 100] [--runs 3]

Targets (issue 2): throughput >= 0.3x of cp, server RSS growth < 50 MB.
"""

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BOUNDARY = uuid.uuid4().hex


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_wav(path, megabytes):
    seconds = megabytes * 1024**2 / (44100 * 2 * 2)
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"anoisesrc=color=pink:sample_rate=44100:duration={seconds:.3f}:amplitude=0.3",
            "-ac",
            "2",
            "-c:a",
            "pcm_s16le",
            str(path),
        ],
        check=True,
    )


def rss_kb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        return 0
    return 0


def children(pid):
    try:
        out = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return []
    return [int(p) for p in out]


class RssSampler(threading.Thread):
    """Peak RSS of the server's worker processes while an upload runs."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids = pids
        self.peak = 0
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            self.peak = max(self.peak, sum(rss_kb(p) for p in self.pids))
            time.sleep(0.01)


def upload(port, token, path):
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    size = path.stat().st_size
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.putrequest("POST", "/api/tracks/")
    conn.putheader("Authorization", f"Token {token}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
    conn.putheader("Content-Length", str(len(head) + size + len(tail)))
    conn.endheaders()
    conn.send(head)
    # sendfile: the client should not be what limits the measurement of the server.
    with open(path, "rb") as f:
        conn.sock.sendfile(f)
    conn.send(tail)
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    if response.status != 201:
        raise SystemExit(f"upload failed: {response.status} {body}")
    return body["id"]


def delete(port, token, track_id):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("DELETE", f"/api/tracks/{track_id}/", headers={"Authorization": f"Token {token}"})
    assert conn.getresponse().status == 204
    conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--direct", action="store_true", help="gunicorn without nginx in front (`serve --no-proxy`), for comparison"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="stemroom-bench-"))
    env = {
        **os.environ,
        "STEMROOM_VAR_DIR": str(work / "var"),
        "DATABASE_URL": f"sqlite:///{work / 'var' / 'bench.sqlite3'}",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    python = sys.executable
    server = None
    try:
        wav = work / "bench.wav"
        make_wav(wav, args.mb)
        size_mb = wav.stat().st_size / 1024**2
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
        token = subprocess.run(
            [
                python,
                "manage.py",
                "shell",
                "-c",
                "from django.contrib.auth.models import User; from rest_framework.authtoken.models import Token;"
                "u = User.objects.create_user('bench', password='bench-pass-123');"
                "print(Token.objects.create(user=u).key)",
            ],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[-1]

        port = free_port()
        server = subprocess.Popen(
            [python, "manage.py", "serve", "--no-worker", "--port", str(port), "--web-workers", "1"]
            + (["--no-proxy"] if args.direct else []),
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        time.sleep(1)
        # serve -> nginx master -> its worker, and serve -> gunicorn master -> one worker:
        # nginx buffers the body to disk and gunicorn's worker handles the upload; both are sampled.
        masters = children(server.pid)
        workers = [w for master in masters for w in children(master)] or masters

        cp_times, up_times, growth = [], [], []
        for _ in range(args.runs):
            target = work / "copy.wav"
            started = time.perf_counter()
            subprocess.run(["cp", str(wav), str(target)], check=True)
            cp_times.append(time.perf_counter() - started)
            target.unlink()

            baseline = sum(rss_kb(p) for p in workers)
            sampler = RssSampler(workers)
            sampler.start()
            started = time.perf_counter()
            track_id = upload(port, token, wav)
            up_times.append(time.perf_counter() - started)
            sampler.done.set()
            sampler.join()
            growth.append((sampler.peak - baseline) / 1024)
            delete(port, token, track_id)

        cp_rate = size_mb / statistics.median(cp_times)
        up_rate = size_mb / statistics.median(up_times)
        shape = "gunicorn alone (--direct)" if args.direct else "nginx in front of gunicorn"
        print(f"file: {size_mb:.1f} MB WAV, {args.runs} runs each, medians; server: {shape}")
        print(f"cp                     : {cp_rate:8.1f} MB/s  ({statistics.median(cp_times):.3f} s)")
        print(f"upload POST /api/tracks: {up_rate:8.1f} MB/s  ({statistics.median(up_times):.3f} s)")
        print(f"throughput ratio upload/cp: {up_rate / cp_rate:.2f}x (target >= 0.30x)")
        print(
            f"server RSS growth (nginx + gunicorn workers): median {statistics.median(growth):.1f} MB, max {max(growth):.1f} MB (target < 50 MB)"
        )
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
