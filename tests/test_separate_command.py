"""``manage.py separate SONG``: stems from a file with no database rows, or one clear error line."""

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import soundfile
from django.core.management import CommandError, call_command
from PIL import Image

from tests.eval_songs import read, sdr

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def png_named_mp3(tmp_path):
    path = tmp_path / "holiday.png"
    Image.new("RGB", (64, 64), (10, 200, 30)).save(path)
    return path.rename(tmp_path / "holiday.mp3")


def separate(*args):
    out, err = StringIO(), StringIO()
    call_command("separate", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_writes_each_stem_as_flac_with_a_progress_bar(spleeter_2stems, seed3_song, tmp_path):
    out_dir = tmp_path / "stems"

    stdout, stderr = separate(seed3_song / "mixture.wav", "--out", out_dir)

    assert sorted(p.name for p in out_dir.iterdir()) == ["accompaniment.flac", "vocals.flac"]
    for name in ("vocals", "accompaniment"):
        info = soundfile.info(out_dir / f"{name}.flac")
        assert (info.samplerate, info.channels, info.frames) == (44_100, 2, 20 * 44_100)
        assert str(out_dir / f"{name}.flac") in stdout
    assert "100%" in stderr
    # The same threshold as the in-memory engine test: writing FLAC must cost no quality.
    assert sdr(read(out_dir / "vocals.flac"), read(seed3_song / "vocals.wav")) > 8.5


def test_with_web_it_also_writes_mp3_copies_and_waveform_peaks(spleeter_2stems, seed3_song, tmp_path):
    separate(seed3_song / "mixture.wav", "--out", tmp_path, "--web")

    for name in ("vocals", "accompaniment"):
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name", "-of", "json"]
            + [str(tmp_path / f"{name}.mp3")],
            capture_output=True,
            text=True,
            check=True,
        )
        described = json.loads(probe.stdout)
        assert described["streams"][0]["codec_name"] == "mp3"
        assert float(described["format"]["duration"]) == pytest.approx(20, abs=0.1)
    for name in ("vocals", "accompaniment", "mixture"):
        peaks = json.loads((tmp_path / f"{name}.peaks.json").read_text())
        assert len(peaks) == 334  # ~1000 per minute
        assert all(0 <= p <= 1 for p in peaks) and max(peaks) > 0.1
    assert not list(tmp_path.glob(".*.part"))


def test_by_default_it_writes_into_separated_slash_the_song_name(spleeter_2stems, seed3_song, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    short = tmp_path / "Short Song.wav"
    soundfile.write(short, read(seed3_song / "mixture.wav")[:44_100], 44_100)

    separate(short)

    assert sorted(p.name for p in (tmp_path / "separated" / "Short Song").iterdir()) == [
        "accompaniment.flac",
        "vocals.flac",
    ]


def test_a_png_renamed_mp3_exits_nonzero_with_one_clear_line(png_named_mp3, tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "separate", str(png_named_mp3), "--out", str(tmp_path / "stems")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert result.stderr.strip() == "CommandError: holiday.mp3 is not an audio file that can be read."
    assert not (tmp_path / "stems").exists()


def test_a_missing_model_stops_it_with_the_command_that_installs_it(settings, seed3_song, tmp_path):
    settings.SPLEETER_MODEL_PATH = tmp_path / "no-models"

    with pytest.raises(CommandError, match=r"not installed.*manage\.py install_models --model 2stems"):
        separate(seed3_song / "mixture.wav", "--out", tmp_path / "stems")

    assert not (tmp_path / "stems").exists()
