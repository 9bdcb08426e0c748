"""WAV uploads are read in-process (libsndfile) with the facts ffprobe gives; anything more goes to ffprobe."""

import hashlib
import struct

import numpy as np
import pytest
import soundfile

from library import audio_probe
from library.models import Track
from separation import audio
from tests.audio_files import make_audio
from tests.helpers import upload

PCM_CODECS = ["pcm_u8", "pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le", "pcm_f64le"]


def tagged_wav(path, codec, rate, channels, seconds=1.5):
    return make_audio(
        path, seconds=seconds, rate=rate, channels=channels, codec=codec, title="Slow Song", artist="The Testers"
    )


@pytest.mark.parametrize("codec", PCM_CODECS)
@pytest.mark.parametrize(("rate", "channels"), [(44100, 2), (22050, 1)])
def test_it_reads_the_same_facts_as_ffprobe(tmp_path, codec, rate, channels):
    path = tagged_wav(tmp_path / "song.wav", codec, rate, channels)
    in_process = audio_probe._read_plain_wav(path)
    assert in_process is not None, "a plain PCM WAV must not need ffprobe"
    ffprobe = audio_probe._ffprobe(path)
    assert in_process.codec == ffprobe.codec == codec
    assert (in_process.sample_rate, in_process.channels) == (ffprobe.sample_rate, ffprobe.channels) == (rate, channels)
    assert in_process.declared == pytest.approx(ffprobe.declared, abs=1e-3)
    for tag in ("title", "artist"):
        assert audio_probe._tag(in_process.tags, tag) == audio_probe._tag(ffprobe.tags, tag)


def test_a_wav_cut_short_is_measured_by_the_audio_really_there(tmp_path):
    whole = tagged_wav(tmp_path / "whole.wav", "pcm_s16le", 44100, 2, seconds=4)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    in_process = audio_probe._read_plain_wav(cut)
    assert in_process.declared == pytest.approx(audio_probe._ffprobe(cut).declared, abs=1e-3)
    assert in_process.declared == pytest.approx(2, abs=0.01)


def test_a_wav_with_an_id3_chunk_keeps_its_cover(alice_api, tmp_path):
    # ffmpeg cannot write pictures into WAV; taggers do, in an "id3 " chunk. Borrow an
    # MP3's ID3v2 tag (with its cover) and append it as one.
    mp3 = make_audio(tmp_path / "tagged.mp3", seconds=1, title="Tagged Tune", artist="Id Three", cover=True)
    data = mp3.read_bytes()
    size = data[6:10]
    tag = data[: 10 + (size[0] << 21 | size[1] << 14 | size[2] << 7 | size[3])]
    wav = bytearray(make_audio(tmp_path / "plain.wav", seconds=1).read_bytes())
    wav += b"id3 " + struct.pack("<I", len(tag)) + tag + b"\0" * (len(tag) % 2)
    wav[4:8] = struct.pack("<I", len(wav) - 8)
    path = tmp_path / "with-cover.wav"
    path.write_bytes(wav)

    assert audio_probe._read_plain_wav(path) is None
    body = upload(alice_api, path).json()
    assert body["cover_url"] is not None
    assert alice_api.get(body["cover_url"]).status_code == 200


def test_a_large_wav_arrives_whole_through_many_chunks(alice_api, tmp_path):
    # 12 MB: more 1 MB chunks than the helper threads may hold at once.
    path = make_audio(tmp_path / "long.wav", seconds=70, freq=523)
    response = upload(alice_api, path)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert body["duration"] == pytest.approx(70, abs=0.01)
    assert body["codec"] == "pcm_s16le"
    assert Track.objects.get(pk=body["id"]).original.read() == path.read_bytes()


def test_a_plain_wav_is_measured_without_starting_ffmpeg_or_ffprobe(settings, tmp_path):
    # The upload fast path: for PCM the frames present are the decoded length.
    settings.FFMPEG_BINARY = settings.FFPROBE_BINARY = str(tmp_path / "not-installed")
    info = audio_probe.probe(make_audio(tmp_path / "song.wav", seconds=2), max_seconds=10)
    assert info.duration == pytest.approx(2, abs=1e-3)


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
@pytest.mark.parametrize(("rate", "channels"), [(44100, 2), (22050, 1), (48000, 3)])
def test_its_waveform_is_the_largest_mean_of_the_channels_in_each_bin(tmp_path, subtype, rate, channels):
    # Noise that swells from silence, over a length that ends inside a bin.
    frames = int(rate * 2.7) + 3
    swell = np.linspace(0, 1, frames)[:, None]
    noise = np.clip(np.random.default_rng(7).standard_normal((frames, channels)) * 0.4 * swell, -1, 1)
    path = tmp_path / "noise.wav"
    soundfile.write(path, noise, rate, subtype=subtype)

    samples, _ = soundfile.read(path, dtype="float64", always_2d=True)
    mono = np.abs(samples.mean(axis=1))
    bin_frames = round(audio.PEAK_BIN_SAMPLES * rate / 44100) // 2 * 2
    expected = [min(mono[i : i + bin_frames].max(), 1.0) for i in range(0, frames, bin_frames)]

    peaks = audio_probe.probe(path).peaks
    assert len(peaks) == len(expected) == -(-frames // bin_frames)
    assert peaks == pytest.approx(expected, abs=5e-5)  # written with four decimals
