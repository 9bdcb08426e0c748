"""Separation benchmark: Stemroom against the plain Spleeter CLI, same machine, same run.

For each song length (default 3 and 10 minutes, generated with ../shared/eval/gen_mixes.py,
which also writes the true stems) it measures:

  (a) `spleeter separate -p spleeter:2stems -d 7200` (without -d the CLI stops at 600 s),
      with the same installed weights (MODEL_PATH);
  (b) a Stemroom job in an already-warm django-q2 worker: upload -> job -> decode, stems as
      FLAC + MP3 + peaks stored (the job's started_at..finished_at), and the worker's peak RSS;
  (c) `manage.py separate` from a cold start (a new process, model load included);

and prints wall time (median of --runs), peak RSS, real-time factor and global SDR of the
vocals and accompaniment against the truth. The runs are interleaved: one of each kind per
round, in an order that rotates every round, and "x CLI" is the median of each round's ratio
to that round's CLI run. These shared machines change speed by a third within minutes; a
ratio of medians taken minutes apart measured the machine as much as the code.

    .venv/bin/python bench/separate.py [--minutes 3 10] [--runs 3] [--skip-cli-above 11]

For (b) it also prints, per song, the median time from the request (job committed and
enqueued) until the worker claimed it, and until the first progressive chunk was playable
(the job's ready_frames > 0, polled every 20 ms until then, every 0.25 s after it).

Targets: (b) <= 0.25x the CLI's wall time on 3 minutes (issue 10; 0.33x in issue 3); (c) <= 0.6x;
worker peak RSS <= 1.5 GB on 10 minutes (the kernel's high-water mark over each job); SDR
within 0.01 dB of the CLI's.
"""

import argparse
import contextlib
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
STEMS = ("vocals", "accompaniment")
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


class PeakRss:
    """A process's peak RSS over a stretch of time: the kernel's high-water mark, reset at the start.

    Writing 5 to /proc/PID/clear_refs resets VmHWM (Linux >= 4.0), so nothing polls the worker
    while it separates; where that is refused, /proc/PID/status is sampled every 50 ms instead.
    """

    def __init__(self, pid):
        self.pid, self.peak = pid, 0
        self._sampling = None
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            self._sampling = threading.Event()
            threading.Thread(target=self._sample, daemon=True).start()

    def _read(self, field):
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
        return 0

    def _sample(self):
        while not self._sampling.is_set():
            with contextlib.suppress(FileNotFoundError):
                self.peak = max(self.peak, self._read("VmRSS:"))
            time.sleep(0.05)

    def stop(self):
        if self._sampling is None:
            self.peak = self._read("VmHWM:")
        else:
            self._sampling.set()
        return self.peak


def run_cli(folder, out, model_root):
    """One `spleeter separate`: (wall, peak RSS, folder of its stems)."""
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
    return wall, rss, {name: out / "mixture" / f"{name}.wav" for name in STEMS}


def run_command(folder, out, env):
    """One cold `manage.py separate`: (wall, peak RSS, its stems)."""
    wall, rss = run_measured(
        [sys.executable, "manage.py", "separate", str(folder / "mixture.wav"), "--out", str(out)], cwd=REPO, env=env
    )
    return wall, rss, {name: out / f"{name}.flac" for name in STEMS}


class WarmWorker:
    """A real django-q2 cluster, warmed up by one short job; ``run`` sends it a song as a job."""

    def __init__(self, env):
        import django

        os.environ.update(env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "platform.settings"
        django.setup()
        from django.contrib.auth.models import User
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        self.user = User.objects.create_user("bench", password="bench-pass-123")
        self.latencies = {}

    def __enter__(self):
        self.cluster = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=REPO,
            env={**os.environ},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Warm-up job: the worker has loaded the model once it finishes.
        self.run(song_of_seconds(10))
        return self

    def __exit__(self, *exc):
        self.cluster.terminate()
        self.cluster.wait(timeout=60)

    def run(self, folder):
        """One job: (wall from the job's own timestamps, the worker's peak RSS, its stems)."""
        from separation.models import SeparationJob

        SeparationJob.objects.all().delete()
        job, rss, latency = run_job(self.user, folder / "mixture.wav")
        self.latencies.setdefault(folder, []).append(latency)
        stems = {stem.name: Path(stem.lossless.path) for stem in job.stems.all()}
        return (job.finished_at - job.started_at).total_seconds(), rss, stems


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


def run_job(user, path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from library.ingest import ingest
    from library.models import Track
    from separation.models import SeparationJob
    from separation.services import request_separation

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
            sampler = PeakRss(int(worker.rsplit(":", 1)[1]))
        if status in ("succeeded", "failed", "cancelled"):
            break
        # Fast until the first chunk (its latency is timed here), slow after it: the job's wall
        # comes from its own timestamps, and polling every 20 ms takes CPU from the worker.
        time.sleep(0.02 if first_chunk is None else 0.25)
    peak = sampler.stop() if sampler else 0
    job.refresh_from_db()
    if job.status != "succeeded":
        raise SystemExit(f"job {job.status}: {job.error}")
    return job, peak, (claimed, first_chunk)


def measure_interleaved(folder, kinds, runs):
    """Each kind once per round, the order rotated every round, so that a machine slowing down
    or speeding up for a while (these shared machines do, by a third) weighs on every kind
    alike; a ratio is then taken within each round. Returns {kind: (walls, peak RSS, SDR)}."""
    walls = {kind: [] for kind in kinds}
    peaks = dict.fromkeys(kinds, 0)
    stems = {}
    order = list(kinds)
    for run in range(runs):
        for kind in order[run % len(order) :] + order[: run % len(order)]:
            wall, rss, stems[kind] = kinds[kind](folder, run)
            walls[kind].append(wall)
            peaks[kind] = max(peaks[kind], rss)
    return {
        kind: (
            walls[kind],
            peaks[kind],
            {name: sdr(path, folder / f"{name}.wav") for name, path in stems[kind].items()},
        )
        for kind in kinds
    }


def print_table(rows):
    """Medians; "x CLI" is the median of each round's ratio to the CLI run of the same round."""
    print(
        f"\n{'song':>6} {'how':<28} {'wall s (median)':>16} {'x CLI':>7} {'RTF':>7} {'peak RSS MB':>12} "
        f"{'SDR voc':>8} {'SDR acc':>8}  x CLI each round"
    )
    for minutes, row in rows.items():
        cli = row.get("cli")
        for label, key in (
            ("spleeter separate (CLI)", "cli"),
            ("Stemroom job, warm worker", "job"),
            ("manage.py separate (cold)", "command"),
        ):
            if key not in row:
                print(f"{minutes:>4}m  {label:<28} {'skipped':>16}")
                continue
            walls, peak, quality = row[key]
            wall = statistics.median(walls)
            ratios = [w / c for w, c in zip(walls, cli[0], strict=True)] if cli else []
            ratio = f"{statistics.median(ratios):.2f}" if ratios else "-"
            print(
                f"{minutes:>4}m  {label:<28} {wall:>16.2f} {ratio:>7} {minutes * 60 / wall:>7.1f} {peak:>12.0f} "
                f"{quality['vocals']:>8.3f} {quality['accompaniment']:>8.3f}  {' '.join(f'{r:.2f}' for r in ratios)}"
            )


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
        with WarmWorker(env) as worker:
            for minutes, folder in folders.items():
                kinds = {
                    "job": lambda folder, run: worker.run(folder),
                    "command": lambda folder, run: run_command(folder, work / f"cmd-{folder.name}-{run}", env_all),
                }
                if minutes <= args.skip_cli_above:
                    kinds["cli"] = lambda folder, run: run_cli(folder, work / f"cli-{folder.name}-{run}", model_root)
                rows[minutes] = measure_interleaved(folder, kinds, args.runs)
                claimed, first = zip(*worker.latencies[folder], strict=True)
                print(
                    f"{folder.name}: after the request, claimed in {statistics.median(claimed):.2f} s, first chunk "
                    f"playable in {statistics.median(f for f in first if f is not None):.2f} s (median of {args.runs}; each: "
                    f"{', '.join(f'{f:.2f}' if f is not None else '-' for f in first)})"
                )
        print_table(rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
