"""The real 2stems model separates a generated song about as well as Spleeter itself does.

Threshold from measurement: seed 3, 20 s scores vocals 9.7 dB and accompaniment 15.8 dB global
SDR with this engine (identical to the plain Spleeter CLI, see test_engine_matches_spleeter).
The mixture itself scores -6.4 dB as a vocals estimate, so passing means real separation.
"""

import numpy as np

from separation.engines import get_engine
from tests.eval_songs import read, sdr

VOCALS_MIN_SDR = 8.5
ACCOMPANIMENT_MIN_SDR = 14.5


def test_it_separates_vocals_from_accompaniment_above_the_measured_sdr(engine, seed3_song):
    mixture = read(seed3_song / "mixture.wav")
    progress = []

    stems = engine.separate(mixture, on_progress=progress.append)

    assert set(stems) == {"vocals", "accompaniment"}
    for stem in stems.values():
        assert stem.shape == mixture.shape
        assert stem.dtype == np.float32
    assert sdr(mixture, read(seed3_song / "vocals.wav")) < 0, "the mixture alone must not pass for separated vocals"
    assert sdr(stems["vocals"], read(seed3_song / "vocals.wav")) > VOCALS_MIN_SDR
    assert sdr(stems["accompaniment"], read(seed3_song / "accompaniment.wav")) > ACCOMPANIMENT_MIN_SDR
    assert progress == sorted(progress)
    assert progress[-1] == 1.0
    assert len(progress) >= 2, "progress is reported per 512-frame segment, not only at the end"


def test_the_engine_is_loaded_once_per_process(engine):
    assert get_engine("2stems") is engine
