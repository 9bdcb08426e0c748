"""Synthetic songs with true stems, from the team's evaluation kit (../shared/eval)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

EVAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "eval"


def generate_song(out_dir, *, seconds, seed):
    """Write mixture.wav, vocals.wav and accompaniment.wav into ``out_dir`` and return it."""
    script = EVAL_DIR / "gen_mixes.py"
    if not script.is_file():
        raise FileNotFoundError(
            f"The evaluation kit is missing: expected {script} (the shared/ folder beside the repo)"
        )
    out_dir = Path(out_dir)
    if not (out_dir / "mixture.wav").is_file():
        subprocess.run(
            [sys.executable, str(script), "--seed", str(seed), "--seconds", str(seconds), "--out", str(out_dir)],
            check=True,
            capture_output=True,
        )
    return out_dir


def sdr(estimate, truth):
    """Global SDR in dB (10 log10 of signal over error energy), as ../shared/eval/sdr.py computes it."""
    n = min(len(estimate), len(truth))
    estimate, truth = np.asarray(estimate[:n], np.float64), np.asarray(truth[:n], np.float64)
    return 10 * np.log10(np.sum(truth**2) / max(np.sum((truth - estimate) ** 2), 1e-12))


def read(path):
    data, _ = sf.read(str(path), dtype="float32", always_2d=True)
    return data


def frame_scores(contour, lead, hop=0.01):
    """(raw pitch accuracy, voicing recall) over the 10 ms frames inside the true sung notes."""
    truth = np.full(round(max(note["end"] for note in lead) / hop) + 1, np.nan)
    for note in lead:
        truth[round(note["start"] / hop) : round(note["end"] / hop)] = note["midi"]
    estimate = np.full(len(truth), np.nan)
    values = [np.nan if m is None else m for m in contour[: len(truth)]]
    estimate[: len(values)] = values
    inside = ~np.isnan(truth)
    close = np.abs(estimate - truth) <= 0.5
    return close[inside].mean(), (~np.isnan(estimate[inside])).mean()
