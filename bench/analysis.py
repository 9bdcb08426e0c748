"""Analysis benchmark (issue 12): key, tempo and sung melody against the generator's truth.

Generates --songs songs (seeds spread over 0-999, --seconds each, with ../shared/eval/gen_mixes.py,
which writes meta.json and melody.json beside the mixture), separates each with the real engine
in this process (the worker's own path: separation.pipeline.separate_file, the model and the
analyser warmed once first), analyses the stems as the analysis job does
(separation.analysis.analyse), and prints per song and overall:

  - key and mode exactly right (% of songs)                      target >= 80 %
  - tempo within 2 % (half or double tempo is wrong)             target >= 90 %
  - melody: 10 ms frames inside true notes within half a semitone target >= 85 %
    (pooled over all songs; an unvoiced frame there counts as wrong)
  - voicing recall: frames inside true notes with any pitch      target >= 80 %
  - analysis time / separation time (sums over all songs)        target <= 0.3

    .venv/bin/python bench/analysis.py [--songs 20] [--seconds 40] [--seeds 11,42] [--reuse-stems]

Songs are cached under var/bench/analysis-songs/ (generation is not what is measured). With
--reuse-stems the separated stems and their separation time are kept there too and reused, so
work on the analyser itself needs no engine run (the first run still separates each song).
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # our `platform` package before the stdlib's (see platform/__init__.py)
SONG_CACHE = REPO / "var" / "bench" / "analysis-songs"
TEMPO_TOLERANCE = 0.02


def seeds(count):
    # Spread over 0-999 and fixed, so runs compare.
    return [round(i * 997 / count) + 1 for i in range(count)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--songs", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=40)
    parser.add_argument("--seeds", help="comma-separated seeds instead of --songs spread over 0-999")
    parser.add_argument("--reuse-stems", action="store_true", help="keep and reuse the separated stems")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform.settings")
    import django

    django.setup()
    from separation.analysis import analyse
    from separation.engines import get_engine
    from separation.pipeline import separate_file
    from tests.eval_songs import frame_scores, generate_song

    warm = analyser_warm = False
    rows, frames = [], []
    separating = analysing = 0.0
    chosen = [int(seed) for seed in args.seeds.split(",")] if args.seeds else seeds(args.songs)
    print(f"{'seed':>5} {'true key':>10} {'found':>10} {'tempo':>7} {'found':>7} {'melody':>7} {'voicing':>7}")
    for seed in chosen:
        song = generate_song(SONG_CACHE / f"seed{seed}-{args.seconds}s", seconds=args.seconds, seed=seed)
        meta = json.loads((song / "meta.json").read_text())
        lead = json.loads((song / "melody.json").read_text())["lead"]
        kept = song / "stems"
        timing = kept / "separation.json"
        out = kept if args.reuse_stems else Path(tempfile.mkdtemp(prefix="bench-analysis-"))
        out.mkdir(exist_ok=True)
        try:
            if args.reuse_stems and timing.is_file():
                separation_seconds = json.loads(timing.read_text())["seconds"]
            else:
                if not warm:
                    get_engine("2stems").warm_up()
                    warm = True
                started = time.perf_counter()
                separate_file(song / "mixture.wav", "2stems", out, browser_files=True)
                separation_seconds = time.perf_counter() - started
                if args.reuse_stems:
                    timing.write_text(json.dumps({"seconds": separation_seconds}))
            if not analyser_warm:
                # Like the engine's warm-up: numba compiles librosa's beat tracker on first use
                # (~3 s, once per worker process), which is not what is measured.
                analyse(out / "vocals.flac", out / "accompaniment.flac")
                analyser_warm = True
            started = time.perf_counter()
            result = analyse(out / "vocals.flac", out / "accompaniment.flac")
            analysing += time.perf_counter() - started
        finally:
            if not args.reuse_stems:
                shutil.rmtree(out, ignore_errors=True)
        separating += separation_seconds
        key_right = (result["key"], result["mode"]) == (meta["key"], meta["mode"])
        tempo_right = abs(result["tempo"] - meta["tempo"]) <= TEMPO_TOLERANCE * meta["tempo"]
        accuracy, recall = frame_scores(result["contour"]["midi"], lead)
        inside = sum(round(n["end"] / 0.01) - round(n["start"] / 0.01) for n in lead)
        frames.append((accuracy, recall, inside))
        rows.append((key_right, tempo_right))
        print(
            f"{seed:>5} {meta['key'] + ' ' + meta['mode']:>10} {result['key'] + ' ' + result['mode']:>10}"
            f" {meta['tempo']:>7.1f} {result['tempo']:>7.1f} {accuracy:>7.1%} {recall:>7.1%}",
            flush=True,
        )

    weights = np.array([f[2] for f in frames], float)
    melody = float(np.average([f[0] for f in frames], weights=weights))
    voicing = float(np.average([f[1] for f in frames], weights=weights))
    keys = np.mean([r[0] for r in rows])
    tempos = np.mean([r[1] for r in rows])
    ratio = analysing / separating
    print(f"\n{len(rows)} songs of {args.seconds} s: separation {separating:.1f} s, analysis {analysing:.1f} s in all")
    print(f"key and mode right  {keys:6.1%}  (target >= 80 %)")
    print(f"tempo within 2 %    {tempos:6.1%}  (target >= 90 %)")
    print(f"melody within 0.5   {melody:6.1%}  (target >= 85 %)")
    print(f"voicing recall      {voicing:6.1%}  (target >= 80 %)")
    print(f"analysis/separation {ratio:6.2f}   (target <= 0.3)")
    print(
        f"analysis: key {keys:.0%}, tempo {tempos:.0%}, melody {melody:.1%}, voicing {voicing:.1%}, time {ratio:.2f}x"
    )


if __name__ == "__main__":
    main()
