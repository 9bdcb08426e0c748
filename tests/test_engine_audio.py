"""The engine's audio I/O: any ffmpeg-readable file in, FLAC out, peaks, and a clear error for non-audio."""

import numpy as np
import pytest
import soundfile
from PIL import Image

from separation import audio
from separation.audio import AudioError
from separation.engines import EngineError
from tests.audio_files import append_flac_frames, make_audio


def test_a_48khz_mono_ogg_becomes_float32_stereo_at_44khz(tmp_path):
    ogg = make_audio(tmp_path / "tone.ogg", seconds=2, rate=48_000, channels=1)

    decoded = audio.decode(ogg)

    assert decoded.dtype == np.float32
    assert decoded.shape[1] == 2
    assert abs(len(decoded) - 2 * 44_100) < 1024  # Vorbis may pad its last packet
    assert np.array_equal(decoded[:, 0], decoded[:, 1])
    # ffmpeg's test tone peaks at 1/8; an upmix that lowered the level by 3 dB would read 0.088.
    assert np.abs(decoded).max() == pytest.approx(0.125, abs=0.01)


def test_decoding_streams_in_bounded_blocks(tmp_path):
    wav = make_audio(tmp_path / "tone.wav", seconds=3)

    blocks = list(audio.read_blocks(wav, block_samples=10_000))

    assert all(len(block) <= 10_000 for block in blocks)
    assert np.array_equal(np.concatenate(blocks), audio.decode(wav))
    assert sum(len(block) for block in blocks) == 3 * 44_100


@pytest.mark.parametrize("content", ["png", "text", "empty"])
def test_a_file_that_is_not_audio_is_an_engine_error_written_for_people(tmp_path, content):
    path = tmp_path / "song.mp3"
    if content == "png":
        Image.new("RGB", (32, 32)).save(path, format="PNG")
    elif content == "text":
        path.write_text("these are my lyrics, not my song\n" * 100)
    else:
        path.write_bytes(b"")

    with pytest.raises(AudioError, match="song.mp3 is not an audio file that can be read") as failure:
        audio.probe(path)
    assert isinstance(failure.value, EngineError)
    with pytest.raises(AudioError):
        audio.decode(path)


def test_a_missing_file_is_reported_as_such(tmp_path):
    with pytest.raises(AudioError, match="does not exist"):
        audio.probe(tmp_path / "gone.wav")


def test_flac_keeps_the_samples_and_clips_instead_of_wrapping_around(tmp_path):
    samples = np.stack([np.linspace(-0.9, 0.9, 44_100), np.full(44_100, 1.7)], axis=1).astype(np.float32)

    audio.write_flac(tmp_path / "stem.flac", samples)

    written, rate = soundfile.read(tmp_path / "stem.flac", dtype="float32")
    assert rate == 44_100
    assert np.abs(written[:, 0] - samples[:, 0]).max() < 1 / 32_768
    assert written[:, 1].min() > 0.999, "an over-full-scale sample must clip to +1, not wrap to -1"


def test_peaks_are_about_a_thousand_per_minute_of_the_loudest_sample():
    seconds = 90
    t = np.arange(seconds * 44_100) / 44_100
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    stereo = np.stack([tone, -0.25 * tone], axis=1)

    peaks = audio.peaks(stereo)

    assert len(peaks) == 1500
    assert all(p == pytest.approx(0.5, abs=1e-3) for p in peaks)


def test_peaks_fed_in_blocks_equal_peaks_of_the_whole():
    noise = np.random.default_rng(0).uniform(-1, 1, (100_000, 2)).astype(np.float32)
    meter = audio.PeakMeter()
    for start in range(0, len(noise), 7_001):
        meter.add(noise[start : start + 7_001])

    assert meter.peaks == audio.peaks(noise)


def test_decoding_stops_one_sample_past_max_seconds(tmp_path):
    # Says 1 s (STREAMINFO), decodes to 5 s: the worker must not separate the other 4.
    bomb = append_flac_frames(make_audio(tmp_path / "bomb.flac", seconds=1), 5)
    decoded = []

    with pytest.raises(EngineError, match=r"This audio goes on past 2\.0 s, longer than it measured when it was up"):
        for block in audio.read_blocks(bomb, block_samples=10_000, max_seconds=2.0):
            decoded.append(block)

    assert sum(len(block) for block in decoded) <= 2 * 44_100


def test_audio_within_max_seconds_decodes_whole(tmp_path):
    wav = make_audio(tmp_path / "tone.wav", seconds=3)
    blocks = list(audio.read_blocks(wav, block_samples=10_000, max_seconds=3.0))
    assert sum(len(block) for block in blocks) == 3 * 44_100
