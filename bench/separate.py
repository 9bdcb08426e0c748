"""Separation benchmark: Stemroom against the plain Spleeter CLI, same machine, same run.

For each song length (default 3 and 10 minutes, generated with ../shared/eval/gen_mixes.py,
which also writes the true stems) it measures:

  (a) `spleeter separate -p spleeter:2stems -d 7200` (without -d the CLI stops at 600 s),
      with the same installed weights (MODEL_PATH);
  (b) a Stemroom job in an already-warm django-q2 worker: upload -> job -> decode, stems as
      FLAC + MP3 + peaks stored (the job's started_at..finished_at), and the worker's peak RSS;
  (c) `manage.py separate` from a cold start (a new process, model load included);

and prints wall time (median of --runs), peak RSS, real-time factor and global SDR of the
vocals and accompaniment against the truth.

    .venv/bin/python bench/separate.py [--minutes 3 10] [--runs 3] [--skip-cli-above 11]

For (b) it also prints, per song, the median time from the request (job committed and
enqueued) until the worker claimed it, and until the first progressive chunk was playable
(the job's ready_frames > 0, polled every 20 ms until then, every 0.25 s after it).

Targets (issue 3): (b) <= 0.33x the CLI's wall time on 3 minutes (stretch 0.25x); (c) <= 0.6x;
worker peak RSS <= 1.5 GB on 10 minutes; SDR within 0.01 dB of the CLI's.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # our `platform` package before the stdlib's (see platform/__init__.py)
EVAL = REPO.parent / "shared" / "eval"
SONG_CACHE = REPO / "var" / "bench" / "songs"


def song(minutes, seed=7):
    folder = SONG_CACHE / f"seed{seed}-{minutes}min"
    if not (folder / "mixture.wav").is_file():
        subprocess.run(
            [
                sys.executable,
                str(EVAL / "gen_mixes.py"),
                "--seed",
                str(seed),
                "--seconds",
                str(minutes * 60),
                "--out",
                str(folder),
            ],
            check=True,
        )
    return folder


def run_measured(command, **kwargs):
    """Run a command; return (wall seconds, peak RSS in MB of it and the children it waited for)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[0]} failed: {process.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def read(path):
    import soundfile

    data, _ = soundfile.read(str(path), dtype="float64", always_2d=True)
    return data


def sdr(estimate_path, truth_path):
    import numpy as np

    estimate, truth = read(estimate_path), read(truth_path)
    n = min(len(estimate), len(truth))
    estimate, truth = estimate[:n], truth[:n]
    eps = 1e-9
    return float(10 * np.log10((np.sum(truth**2) + eps) / (np.sum((truth - estimate) ** 2) + eps)))


class RssSampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def run(self):
        while not self.done.is_set():
            try:
                for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.peak = max(self.peak, int(line.split()[1]) / 1024)
            except FileNotFoundError:
                pass
            time.sleep(0.05)


def bench_cli(folder, runs, model_root, work):
    walls, peak = [], 0
    for run in range(runs):
        out = work / f"cli-{folder.name}-{run}"
        wall, rss = run_measured(
            [
                str(Path(sys.executable).parent / "spleeter"),
                "separate",
                "-p",
                "spleeter:2stems",
                "-d",
                "7200",
                "-o",
                str(out),
                str(folder / "mixture.wav"),
            ],
            env={**os.environ, "MODEL_PATH": str(model_root)},
        )
        walls.append(wall)
        peak = max(peak, rss)
    stems = out / "mixture"
    return (
        walls,
        peak,
        {name: sdr(stems / f"{name}.wav", folder / f"{name}.wav") for name in ("vocals", "accompaniment")},
    )


def bench_command(folder, runs, work, env):
    walls, peak = [], 0
    for run in range(runs):
        out = work / f"cmd-{folder.name}-{run}"
        wall, rss = run_measured(
            [sys.executable, "manage.py", "separate", str(folder / "mixture.wav"), "--out", str(out)], cwd=REPO, env=env
        )
        walls.append(wall)
        peak = max(peak, rss)
    return (
        walls,
        peak,
        {name: sdr(out / f"{name}.flac", folder / f"{name}.wav") for name in ("vocals", "accompaniment")},
    )


def bench_jobs(folders, runs, env):
    """Jobs through a real, warm worker cluster; returns {folder: (walls, peak RSS, sdr)}."""
    import django

    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "platform.settings"
    django.setup()
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command

    from library.ingest import ingest
    from separation.models import SeparationJob
    from separation.services import request_separation

    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench", password="bench-pass-123")
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=REPO,
        env={**os.environ},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    results = {}
    try:
        # Warm-up job: the worker has loaded the model once it finishes.
        warm = song_of_seconds(10)
        run_job(user, warm / "mixture.wav", ingest, request_separation, SeparationJob, SimpleUploadedFile)
        for folder in folders:
            walls, peak, job, latencies = [], 0, None, []
            for _ in range(runs):
                SeparationJob.objects.all().delete()
                job, rss, latency = run_job(
                    user, folder / "mixture.wav", ingest, request_separation, SeparationJob, SimpleUploadedFile
                )
                walls.append((job.finished_at - job.started_at).total_seconds())
                peak = max(peak, rss)
                latencies.append(latency)
            stems = {stem.name: stem.lossless.path for stem in job.stems.all()}
            results[folder] = (
                walls,
                peak,
                {n: sdr(stems[n], folder / f"{n}.wav") for n in ("vocals", "accompaniment")},
            )
            claimed = statistics.median(c for c, _ in latencies)
            first = statistics.median(f for _, f in latencies if f is not None)
            print(
                f"{folder.name}: after the request, claimed in {claimed:.2f} s, first chunk playable in "
                f"{first:.2f} s (median of {runs}; each: {', '.join(f'{f:.2f}' for _, f in latencies)})"
            )
    finally:
        cluster.terminate()
        cluster.wait(timeout=60)
    return results


def song_of_seconds(seconds):
    folder = SONG_CACHE / f"seed1-{seconds}s"
    if not (folder / "mixture.wav").is_file():
        subprocess.run(
            [
                sys.executable,
                str(EVAL / "gen_mixes.py"),
                "--seed",
                "1",
                "--seconds",
                str(seconds),
                "--out",
                str(folder),
            ],
            check=True,
        )
    return folder


def run_job(user, path, ingest, request_separation, SeparationJob, SimpleUploadedFile):
    from library.models import Track

    Track.objects.filter(owner=user).delete()
    with open(path, "rb") as f:
        track = ingest(user, SimpleUploadedFile(path.name, f.read())).track
    job, _ = request_separation(sha256=track.sha256, source=track.original.name, model="2stems", user=user)
    asked = time.perf_counter()
    sampler, claimed, first_chunk = None, None, None
    row = SeparationJob.objects.filter(pk=job.pk)
    while True:
        status, worker, ready_frames = row.values_list("status", "worker", "ready_frames").get()
        now = time.perf_counter() - asked
        if claimed is None and status != "queued":
            claimed = now
        if first_chunk is None and ready_frames:
            first_chunk = now
        if sampler is None and worker:
            sampler = RssSampler(int(worker.rsplit(":", 1)[1]))
            sampler.start()
        if status in ("succeeded", "failed", "cancelled"):
            break
        # Fast until the first chunk (its latency is timed here), slow after it: the job's wall
        # comes from its own timestamps, and polling every 20 ms takes CPU from the worker.
        time.sleep(0.02 if first_chunk is None else 0.25)
    if sampler:
        sampler.done.set()
    job.refresh_from_db()
    if job.status != "succeeded":
        raise SystemExit(f"job {job.status}: {job.error}")
    return job, sampler.peak if sampler else 0, (claimed, first_chunk)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, nargs="+", default=[3, 10])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-cli-above", type=int, default=99, help="skip the CLI on songs longer than N minutes")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="stemroom-bench-sep-"))
    model_root = REPO / "var" / "models"
    env = {
        "STEMROOM_VAR_DIR": str(work / "var"),
        "SPLEETER_MODEL_PATH": str(model_root),
        "LOG_LEVEL": "WARNING",
        "STEMROOM_MAX_UPLOAD_BYTES": str(2 * 1024**3),
        "STEMROOM_MAX_TRACK_SECONDS": str(3600),
    }
    env_all = {**os.environ, **env}
    env_all.pop("DATABASE_URL", None)
    try:
        folders = {m: song(m) for m in args.minutes}
        rows = {}
        for minutes, folder in folders.items():
            cli = bench_cli(folder, args.runs, model_root, work) if minutes <= args.skip_cli_above else None
            command = bench_command(folder, args.runs, work, env_all)
            rows[minutes] = {"cli": cli, "command": command}
        jobs = bench_jobs(list(folders.values()), args.runs, env)
        for minutes, folder in folders.items():
            rows[minutes]["job"] = jobs[folder]

        print(
            f"\n{'song':>6} {'how':<28} {'wall s (median)':>16} {'x CLI':>7} {'RTF':>7} {'peak RSS MB':>12} {'SDR voc':>8} {'SDR acc':>8}"
        )
        for minutes, row in rows.items():
            cli_wall = statistics.median(row["cli"][0]) if row["cli"] else None
            for label, key in (
                ("spleeter separate (CLI)", "cli"),
                ("Stemroom job, warm worker", "job"),
                ("manage.py separate (cold)", "command"),
            ):
                if not row[key]:
                    print(f"{minutes:>4}m  {label:<28} {'skipped':>16}")
                    continue
                walls, peak, quality = row[key]
                wall = statistics.median(walls)
                ratio = f"{wall / cli_wall:.2f}" if cli_wall else "-"
                print(
                    f"{minutes:>4}m  {label:<28} {wall:>16.2f} {ratio:>7} {minutes * 60 / wall:>7.1f} {peak:>12.0f} "
                    f"{quality['vocals']:>8.3f} {quality['accompaniment']:>8.3f}"
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
