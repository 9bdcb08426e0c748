"""Length-bomb benchmark: how long ingest takes to refuse a FLAC that decodes to 12 hours.

Builds the bomb of issue 9 (60 s of FLAC whose STREAMINFO says 60 s, its frames
appended 719 more times: ~6 MB that decode to 12 hours), then times
``library.audio_probe.probe`` on it against the default 20-minute limit, as the
upload does, and for comparison an honest 20-minute FLAC (the most any accepted
upload costs to measure). ``--full`` also times decoding the whole bomb, which is
what measuring it used to cost.

    .venv/bin/python bench/length_bomb.py [--runs 5] [--full]

Target (issue 9): the bomb is refused in under 2 s.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform.settings")


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *map(str, args)], check=True)


def cpu_seconds():
    """CPU of this process and its finished children (ffmpeg): on a shared machine the
    wall time depends on the neighbours, this does not."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


def timed(probe, path, limit):
    wall, cpu = time.perf_counter(), cpu_seconds()
    try:
        info = probe(path, max_seconds=limit)
        outcome = f"accepted, {info.duration:.1f} s"
    except Exception as exc:  # noqa: BLE001 - the outcome is what we print
        outcome = f"refused ({getattr(exc, 'code', type(exc).__name__)}): {exc}"
    return time.perf_counter() - wall, cpu_seconds() - cpu, outcome


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--full", action="store_true", help="also time a full decode of the bomb")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    from library import audio_probe
    from tests.audio_files import append_flac_frames, make_audio

    limit = settings.STEMROOM_MAX_TRACK_SECONDS
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        bomb = folder / "bomb.flac"
        ffmpeg("-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo", "-t", 60, "-c:a", "flac", bomb)
        append_flac_frames(bomb, 12 * 60)
        honest = make_audio(folder / "honest.flac", seconds=limit)
        print(f"bomb: {bomb.stat().st_size / 1e6:.1f} MB, header says 60 s, decodes to 12 h; limit {limit} s")
        print(f"honest: {honest.stat().st_size / 1e6:.1f} MB, {limit} s")
        print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        for name, path in (("bomb", bomb), ("honest", honest)):
            runs = [timed(audio_probe.probe, path, limit) for _ in range(args.runs)]
            walls = [wall for wall, _, _ in runs]
            cpus = [cpu for _, cpu, _ in runs]
            print(
                f"{name}: {runs[0][2]}\n"
                f"  wall median {statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f}), "
                f"CPU median {statistics.median(cpus):.2f} s over {args.runs} runs"
            )
        if args.full:
            settings.STEMROOM_DECODE_TIMEOUT_SECONDS = 3600
            wall, cpu = time.perf_counter(), cpu_seconds()
            seconds = audio_probe._decoded_seconds(bomb)
            print(
                f"full decode of the bomb ({seconds / 3600:.1f} h): {time.perf_counter() - wall:.1f} s wall, "
                f"{cpu_seconds() - cpu:.1f} s CPU"
            )
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
