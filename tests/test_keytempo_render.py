"""Key and tempo renders (separation.keytempo) with the real ffmpeg rubberband filter, on a generated song's true stems.

A tempo change gives the right length, the two stems stay in step with each other and
with the original timeline (scaled by 100 / tempo), and the song's key moves by the
semitones asked for.
"""

import numpy as np
import pytest

from separation.audio import decode
from separation.engines.base import SAMPLE_RATE
from separation.keytempo import render_stems
from tests.eval_songs import generate_song

SECONDS = 12
HOP = 441  # 10 ms envelope frames
NOTES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return generate_song(tmp_path_factory.mktemp("keytempo-song"), seconds=SECONDS, seed=3)


def render(song, tmp_path_factory, semitones, tempo):
    work = tmp_path_factory.mktemp(f"render{semitones:+d}-{tempo}")
    reports = []
    outputs = render_stems(
        {name: song / f"{name}.wav" for name in ("accompaniment", "vocals")},
        work,
        semitones=semitones,
        tempo=tempo,
        expected_seconds=SECONDS * 100 / tempo,
        on_progress=reports.append,
    )
    return {name: decode(path) for name, path in outputs.items()}, reports


@pytest.fixture(scope="module")
def slower(song, tmp_path_factory):
    return render(song, tmp_path_factory, -3, 80)


@pytest.fixture(scope="module")
def faster(song, tmp_path_factory):
    return render(song, tmp_path_factory, 2, 125)


@pytest.fixture(scope="module")
def up_two(song, tmp_path_factory):
    return render(song, tmp_path_factory, 2, 100)


def onsets(audio):
    """Positive log-energy changes of the mono mix in 10 ms frames: where notes and syllables start."""
    mono = audio.mean(axis=1)
    frames = len(mono) // HOP
    energy = np.sqrt((mono[: frames * HOP].reshape(frames, HOP) ** 2).mean(axis=1))
    return np.maximum(np.diff(np.log(energy + 1e-4)), 0)


def lag_frames(reference, other, scale=1.0, search=30):
    """The shift (in 10 ms frames) that best lines ``other``'s onsets up with ``reference``'s.

    ``other`` is first put on ``reference``'s timeline: its frame i is reference frame i * scale.
    """
    on_reference = np.interp(np.arange(len(reference)), np.arange(len(other)) * scale, other)

    def match(k):
        a = reference[max(0, k) : len(reference) + min(0, k)]
        b = on_reference[max(0, -k) : len(on_reference) - max(0, k)]
        return float(np.dot(a, b))

    return max(range(-search, search + 1), key=match)


@pytest.mark.parametrize("which, tempo", [("slower", 80), ("faster", 125)])
def test_a_tempo_change_gives_the_right_length_within_half_a_percent(request, which, tempo):
    stems, reports = request.getfixturevalue(which)
    expected = SECONDS * 100 / tempo
    for name, audio in stems.items():
        seconds = len(audio) / SAMPLE_RATE
        assert abs(seconds - expected) / expected < 0.005, f"{name}: {seconds:.3f} s, expected {expected:.3f} s"
    # Progress went up to the end, never backwards.
    assert reports[-1] == 1.0 and reports == sorted(reports)


@pytest.mark.parametrize("which, tempo", [("slower", 80), ("faster", 125), ("up_two", 100)])
def test_the_stems_stay_in_step_with_each_other_and_the_original_timeline(request, song, which, tempo):
    stems, _ = request.getfixturevalue(which)
    assert abs(len(stems["accompaniment"]) - len(stems["vocals"])) <= HOP
    # Each stem against its original: rendered frame i holds original frame i * tempo / 100.
    lags = {
        name: lag_frames(onsets(decode(song / f"{name}.wav")), onsets(stems[name]), scale=tempo / 100)
        for name in ("accompaniment", "vocals")
    }
    assert all(abs(lag) <= 2 for lag in lags.values()), f"off the original timeline (10 ms frames): {lags}"
    # So with each other: the same shift, to 10 ms.
    assert abs(lags["accompaniment"] - lags["vocals"]) <= 1, lags


@pytest.mark.parametrize("which, semitones", [("up_two", 2), ("slower", -3)])
def test_the_key_detector_reads_the_shifted_accompaniment_as_that_many_semitones_away(
    request, song, tmp_path, which, semitones
):
    import soundfile as sf

    from separation.analysis import detect_key

    stems, _ = request.getfixturevalue(which)
    shifted = tmp_path / "shifted.wav"
    sf.write(shifted, stems["accompaniment"], SAMPLE_RATE)
    tonic, mode = detect_key(song / "accompaniment.wav")
    shifted_tonic, shifted_mode = detect_key(shifted)
    assert shifted_mode == mode
    assert NOTES.index(shifted_tonic) == (NOTES.index(tonic) + semitones) % 12, f"{tonic} {mode} -> {shifted_tonic}"
