"""Segment-by-segment separation gives what Spleeter's own whole-file run gives.

The reference is Spleeter's ``Separator`` (its estimator's predict, the code path of the
``spleeter separate`` CLI) on the same waveform. Lengths cover a 40 s song (three full
segments and a partial one) and the two tail cases of the 512-frame grid: the last real
frames spill into a second, nearly empty segment, or end exactly on a segment's span.
"""

import numpy as np
import pytest

from tests.eval_songs import generate_song, read

TOLERANCE = 1e-4
# 4096 leading zeros + n samples make ceil((n + 4096) / 1024) frames:
SPILLS_TWO_FRAMES = 522_000  # 514 frames: a full segment and one of 2 frames
ENDS_ON_A_SPAN = 523_264  # 515 frames; the padded signal is exactly one segment's span long


@pytest.fixture(scope="module")
def spleeter_separator(spleeter_2stems):
    from spleeter.model.provider import ModelProvider
    from spleeter.separator import Separator

    # Spleeter looks "2stems" up under MODEL_PATH, read when it was imported: point it at ours.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ModelProvider, "DEFAULT_MODEL_PATH", str(spleeter_2stems.parent))
        yield Separator("spleeter:2stems", multiprocess=False)


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return read(generate_song(tmp_path_factory.mktemp("song-seed2"), seconds=40, seed=2) / "mixture.wav")


@pytest.mark.parametrize("length", [None, SPILLS_TWO_FRAMES, ENDS_ON_A_SPAN], ids=["40s", "spill", "span"])
def test_it_equals_spleeters_whole_file_separation(engine, spleeter_separator, song, length):
    waveform = song[:length]

    ours = engine.separate(waveform)
    theirs = spleeter_separator.separate(waveform)

    for name in ("vocals", "accompaniment"):
        assert ours[name].shape == theirs[name].shape == waveform.shape
        assert np.abs(ours[name] - theirs[name]).max() < TOLERANCE, name


def test_each_unets_one_filter_upsampling_runs_as_a_convolution(engine):
    # The speed-up of _one_filter_deconvolutions_as_convolutions, which falls back silently
    # to Spleeter's own transposed convolution if Keras's layer ever changes.
    ops = [op.type for op in engine._graph.get_operations()]
    assert ops.count("DepthToSpace") == len(engine.stem_names)
    assert ops.count("Conv2DBackpropInput") == 5 * len(engine.stem_names)
