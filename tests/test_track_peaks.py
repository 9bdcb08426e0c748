"""A track's waveform is measured at upload, in the pass that counts its samples, and served
at /api/tracks/{id}/peaks/ to its owner only: the track page draws it before any split.

The audio is half silence, half a loud tone, so the peaks show where the sound is. They are
the peaks of the mono downmix (what the counting pass decodes): a tone at 0.8 left and 0.4
right peaks at 0.6.
"""

import json

import numpy as np
import pytest
import soundfile
from rest_framework.test import APIClient

from library.models import Track
from tests.audio_files import ffmpeg
from tests.helpers import upload

RATE = 44100


@pytest.fixture
def half_loud_wav(tmp_path):
    """2 s of silence, then 2 s of a 440 Hz tone (0.8 left, 0.4 right): a plain PCM WAV (read without ffmpeg)."""
    t = np.arange(2 * RATE) / RATE
    tone = 0.8 * np.sin(2 * np.pi * 440 * t)
    samples = np.concatenate([np.zeros(2 * RATE), tone]).astype(np.float32)
    path = tmp_path / "half-loud.wav"
    soundfile.write(path, np.stack([samples, samples * 0.5], axis=1), RATE, subtype="PCM_16")
    return path


@pytest.fixture
def half_loud_mp3(half_loud_wav, tmp_path):
    path = tmp_path / "half-loud.mp3"
    ffmpeg("-i", half_loud_wav, "-c:a", "libmp3lame", "-b:a", "192k", path)
    return path


def peaks_of(client, track_id):
    response = client.get(f"/api/tracks/{track_id}/peaks/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return np.array(json.loads(b"".join(response.streaming_content)))


def assert_half_loud(peaks, seconds=4.0):
    # ~1000 peaks a minute, as the worker measures stems.
    assert len(peaks) == pytest.approx(seconds / 60 * 1000, abs=2)
    half = len(peaks) // 2
    assert peaks[: half - 2].max() < 0.02, "silence reads as silence"
    assert peaks[half + 2 :].min() == pytest.approx(0.6, abs=0.03), "the tone's peaks are its (mono) amplitude"


@pytest.mark.parametrize("fixture", ["half_loud_wav", "half_loud_mp3"])
def test_the_waveform_is_measured_at_upload_and_served_to_the_owner(request, alice_api, fixture):
    path = request.getfixturevalue(fixture)
    body = upload(alice_api, path).json()
    track = Track.objects.get(pk=body["id"])
    # Stored next to the original.
    assert track.peaks.name == track.original.name.rsplit(".", 1)[0] + ".peaks.json"
    assert_half_loud(peaks_of(alice_api, track.pk))


def test_bob_cannot_read_alices_waveform(alice_api, bob_api, half_loud_wav):
    track_id = upload(alice_api, half_loud_wav).json()["id"]
    assert bob_api.get(f"/api/tracks/{track_id}/peaks/").status_code == 404
    assert APIClient().get(f"/api/tracks/{track_id}/peaks/").status_code in (401, 403)


def test_a_track_from_before_waveforms_answers_404(alice_api, half_loud_wav):
    track_id = upload(alice_api, half_loud_wav).json()["id"]
    track = Track.objects.get(pk=track_id)
    track.peaks.delete(save=True)
    response = alice_api.get(f"/api/tracks/{track_id}/peaks/")
    assert response.status_code == 404
    assert "waveform" in response.json()["detail"]


def test_deleting_the_track_deletes_its_waveform(alice_api, half_loud_wav, django_capture_on_commit_callbacks):
    track = Track.objects.get(pk=upload(alice_api, half_loud_wav).json()["id"])
    storage, name = track.peaks.storage, track.peaks.name
    assert storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        assert alice_api.delete(f"/api/tracks/{track.pk}/").status_code == 204
    assert not storage.exists(name)
