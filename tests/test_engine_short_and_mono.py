"""Odd inputs separate correctly: half a second of audio, and a mono 22.05 kHz file."""

import subprocess

import numpy as np

from separation import audio
from tests.eval_songs import read, sdr

HALF_SECOND = 22_050


def as_mono_22k(source, target):
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", source, "-ac", "1", "-ar", "22050", target], check=True
    )
    return target


def test_half_a_second_separates_into_half_a_second_of_each_stem(engine, seed3_song):
    vocals = read(seed3_song / "vocals.wav")
    # The half second where the singer is loudest, so a silent estimate cannot pass.
    loudest = max(
        range(0, len(vocals) - HALF_SECOND, HALF_SECOND), key=lambda i: np.sum(vocals[i : i + HALF_SECOND] ** 2)
    )
    clip = read(seed3_song / "mixture.wav")[loudest : loudest + HALF_SECOND]

    stems = engine.separate(clip)

    for stem in stems.values():
        assert stem.shape == (HALF_SECOND, 2)
        assert np.isfinite(stem).all()
    # Measured 18.8 dB; the clip's mixture scores far lower as a vocals estimate.
    assert sdr(stems["vocals"], vocals[loudest : loudest + HALF_SECOND]) > 10


def test_a_mono_22khz_file_is_decoded_to_stereo_44khz_and_separated(engine, seed3_song, tmp_path):
    mono = {name: as_mono_22k(seed3_song / f"{name}.wav", tmp_path / f"{name}.wav") for name in ("mixture", "vocals")}

    mixture = audio.decode(mono["mixture"])
    stems = engine.separate(mixture)

    assert mixture.shape == (20 * 44_100, 2)
    assert np.array_equal(mixture[:, 0], mixture[:, 1]), "mono is duplicated at full level, as Spleeter does"
    for stem in stems.values():
        assert stem.shape == mixture.shape
        assert np.isfinite(stem).all()
    # Measured 9.1 dB (the stereo original scores 9.7 dB).
    assert sdr(stems["vocals"], audio.decode(mono["vocals"])) > 8
    # Ratio masks sum to one below 11 kHz, all a 22.05 kHz file holds: the stems add up to the input.
    assert sdr(stems["vocals"] + stems["accompaniment"], mixture) > 40
