"""Audio fed in blocks of any size separates exactly as the same audio in one piece."""

import numpy as np
import pytest

from tests.eval_songs import generate_song, read


@pytest.fixture(scope="module")
def mixture(tmp_path_factory):
    return read(generate_song(tmp_path_factory.mktemp("song-seed4"), seconds=20, seed=4) / "mixture.wav")


def odd_blocks(audio):
    sizes = [1, 4095, 10_007, 524_288, 3]
    start = 0
    for size in sizes:
        yield audio[start : start + size]
        start += size
    while start < len(audio):
        yield audio[start : start + 77_777]
        start += 77_777


def test_streamed_blocks_give_the_same_stems_as_one_array(engine, mixture):
    whole = engine.separate(mixture)
    progress = []

    pieces = list(engine.separate_stream(odd_blocks(mixture), total_samples=len(mixture), on_progress=progress.append))

    for name in ("vocals", "accompaniment"):
        streamed = np.concatenate([piece[name] for piece in pieces])
        assert streamed.shape == mixture.shape
        np.testing.assert_allclose(streamed, whole[name], atol=1e-6)
    assert len(pieces) > 1, "stems must come out while audio is still coming in"
    assert progress[-1] == 1.0


def test_empty_audio_gives_empty_stems(engine):
    stems = engine.separate(np.zeros((0, 2), np.float32))

    assert {name: stem.shape for name, stem in stems.items()} == {"vocals": (0, 2), "accompaniment": (0, 2)}
