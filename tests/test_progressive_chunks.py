"""Progressive chunks are the final stems, cut up: joined they equal the FLAC and the peaks, sample for sample."""

import io
import json

import numpy as np
import pytest
import soundfile

from separation import audio
from separation.chunks import CHUNK_FRAMES, Chunker
from separation.pipeline import separate_file
from tests.eval_songs import generate_song


@pytest.fixture(scope="module")
def three_minute_run(spleeter_2stems, tmp_path_factory):
    """The 3-minute eval song through the pipeline once, keeping every chunk and the progress at its arrival."""
    song = generate_song(tmp_path_factory.mktemp("song-seed7-3min"), seconds=180, seed=7)
    out = tmp_path_factory.mktemp("stems")
    progress, chunks = [0.0], []

    def on_chunk(chunk):
        chunks.append((chunk, progress[-1]))

    result = separate_file(song / "mixture.wav", "2stems", out, on_progress=progress.append, on_chunk=on_chunk)
    return result, chunks


def test_joined_chunks_equal_the_final_flac_sample_for_sample(three_minute_run):
    result, chunks = three_minute_run
    for name, files in result.stems.items():
        flac, _ = soundfile.read(files.lossless, dtype="int16")
        joined = np.concatenate([chunk.pcm16[name] for chunk, _ in chunks])
        assert joined.dtype == np.int16
        assert joined.shape == flac.shape
        assert np.array_equal(joined, flac)


def test_every_chunk_is_a_wav_of_exactly_its_frames(three_minute_run):
    _, chunks = three_minute_run
    chunk, _ = chunks[0]
    data, rate = soundfile.read(io.BytesIO(audio.wav_bytes(chunk.pcm16["vocals"])), dtype="int16")
    info = soundfile.info(io.BytesIO(audio.wav_bytes(chunk.pcm16["vocals"])))
    assert (rate, info.channels, info.subtype, len(data)) == (44100, 2, "PCM_16", chunk.frames)
    assert np.array_equal(data, chunk.pcm16["vocals"])


def test_chunks_start_on_peak_bins_so_their_peaks_join_into_the_final_peaks(three_minute_run):
    result, chunks = three_minute_run
    *whole, (last, _) = [chunk for chunk in chunks]
    assert all(chunk.frames == CHUNK_FRAMES for chunk, _ in whole)
    assert CHUNK_FRAMES % audio.PEAK_BIN_SAMPLES == 0
    assert last.last and not any(chunk.last for chunk, _ in whole)
    assert [chunk.start for chunk, _ in chunks] == [i * CHUNK_FRAMES for i in range(len(chunks))]
    for name, files in result.stems.items():
        final = json.loads(files.peaks.read_text())
        assert sum((chunk.peaks[name] for chunk, _ in chunks), []) == final
    mixture = json.loads(result.mixture_peaks.read_text())
    assert sum((chunk.mixture_peaks for chunk, _ in chunks), []) == mixture


def test_chunks_arrive_while_separation_goes_on_one_per_segment(three_minute_run):
    _, chunks = three_minute_run
    # 180 s: 16 segments of 11.9 s, 16 chunks of 11.76 s; the first one with the first segment.
    assert len(chunks) == 16
    progress_at_arrival = [p for _, p in chunks]
    assert progress_at_arrival[0] == 0.0
    assert progress_at_arrival[1] < 0.1
    assert progress_at_arrival == sorted(progress_at_arrival)


def test_the_mp3_made_while_separating_is_the_one_encoding_the_flac_gives(three_minute_run, tmp_path):
    result, _ = three_minute_run
    files = result.stems["vocals"]
    afterwards = tmp_path / "vocals.mp3"
    audio.encode_browser_copy(files.lossless, afterwards)
    assert files.compressed.read_bytes() == afterwards.read_bytes()


def test_our_16_bit_conversion_is_libsndfiles_flac_conversion(tmp_path):
    steps = np.arange(-65540, 65541) / 65536
    samples = np.concatenate([steps, steps + 1e-7, steps - 1e-7, [1.5, -1.5, 0.0]]).astype(np.float32)
    block = np.stack([samples, -samples], axis=1)
    soundfile.write(tmp_path / "libsndfile.flac", np.clip(block, -1, 1), 44100, subtype="PCM_16")
    theirs, _ = soundfile.read(tmp_path / "libsndfile.flac", dtype="int16")
    assert np.array_equal(audio.to_pcm16(block), theirs)


def test_a_chunk_holds_back_until_audio_past_it_arrives_so_the_last_is_never_empty():
    meter = audio.PeakMeter()
    bins = audio.PEAK_BIN_SAMPLES
    chunker = Chunker(("vocals",), meter, chunk_frames=2 * bins)
    block = np.full((2 * bins, 2), 0.5, np.float32)
    meter.add(block)

    assert list(chunker.add({"vocals": block}, {"vocals": audio.to_pcm16(block)})) == []
    (last,) = chunker.finish()
    assert (last.start, last.frames, last.last, last.mixture_peaks) == (0, 2 * bins, True, [0.5, 0.5])
