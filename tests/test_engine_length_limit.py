"""The worker separates no more than the length measured at upload: audio that goes on is an
EngineError written for people, and leaves no stem files behind."""

import pytest

from separation.engines import EngineError
from separation.pipeline import separate_file
from tests.audio_files import append_flac_frames, make_audio


def test_audio_that_goes_on_past_max_seconds_is_not_separated(engine, tmp_path):
    # Says 1 s (STREAMINFO), decodes to 30 s: as if measured at 1 s, allowed 2.
    bomb = append_flac_frames(make_audio(tmp_path / "bomb.flac", seconds=1), 30)
    out = tmp_path / "stems"
    progress = []

    with pytest.raises(EngineError) as failure:
        separate_file(bomb, "2stems", out, on_progress=progress.append, max_seconds=2.0)

    assert str(failure.value) == (
        "This audio goes on past 2.0 s, longer than it measured when it was uploaded; it was not separated."
    )
    assert list(out.iterdir()) == []
    assert all(fraction <= 1.0 for fraction in progress)
