"""Saved remixes: create, validate, list, delete, and server mixdowns equal to the mixing math."""

import numpy as np
import pytest
import soundfile

from library import mixing
from library.models import Mixdown, Remix
from library.tasks import render_mixdown
from tests.separated import separated_track


@pytest.fixture
def alices(alice, tmp_path):
    return separated_track(alice, tmp_path)


def create(client, track, **fields):
    return client.post("/api/remixes/", {"track": str(track.pk), "name": "Karaoke cut", **fields}, format="json")


def test_create_fills_in_defaults_for_every_stem(alice_api, alices):
    track, job = alices
    response = create(alice_api, track, stems={"vocals": {"gain_db": -12, "pan": -0.5}})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["stem_names"] == ["vocals", "accompaniment"]
    assert body["stems"] == {
        "vocals": {"gain_db": -12.0, "mute": False, "solo": False, "pan": -0.5},
        "accompaniment": {"gain_db": 0.0, "mute": False, "solo": False, "pan": 0.0},
    }
    assert (body["title"], body["model"]) == ("Shared Song", "2stems")
    assert Remix.objects.get(pk=body["id"]).job == job


@pytest.mark.parametrize(
    "stems, message",
    [
        ({"drums": {}}, "stems: unknown stem 'drums'; this separation has: vocals, accompaniment."),
        ({"vocals": {"gain_db": 40}}, "stems: vocals.gain_db: must be between -60 and 12 dB."),
        ({"vocals": {"gain_db": "loud"}}, "stems: vocals.gain_db: must be a number."),
        ({"vocals": {"pan": 2}}, "stems: vocals.pan: must be between -1 (left) and 1 (right)."),
        ({"vocals": {"mute": "yes"}}, "stems: vocals.mute: must be true or false."),
        ({"vocals": {"reverb": 1}}, "stems: vocals.reverb: unknown setting; use gain_db, mute, solo, pan."),
        ({"vocals": 3}, "stems: vocals: must be an object with gain_db, mute, solo and pan."),
        ([1, 2], "stems: stems must be an object keyed by stem name"),
    ],
)
def test_bad_settings_are_refused_precisely(alice_api, alices, stems, message):
    response = create(alice_api, alices[0], stems=stems)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(message)
    assert not Remix.objects.exists()


def test_a_track_without_stems_cannot_be_remixed(alice_api, alice, song_wav):
    from tests.helpers import upload

    track = upload(alice_api, song_wav).json()
    response = alice_api.post("/api/remixes/", {"track": track["id"], "name": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "track: Separate this track into stems first."


def test_someone_elses_track_cannot_be_remixed(bob_api, alices):
    response = create(bob_api, alices[0])
    assert response.status_code == 400
    assert "object does not exist" in response.json()["detail"]


def test_list_edit_and_delete_my_remixes(alice_api, bob_api, alices):
    remix = create(alice_api, alices[0]).json()
    assert [r["id"] for r in alice_api.get("/api/remixes/").json()["results"]] == [remix["id"]]
    assert bob_api.get("/api/remixes/").json()["count"] == 0
    assert bob_api.get(f"/api/remixes/{remix['id']}/").status_code == 404
    assert bob_api.patch(f"/api/remixes/{remix['id']}/", {"name": "mine"}, format="json").status_code == 404
    response = alice_api.patch(
        f"/api/remixes/{remix['id']}/", {"stems": {"accompaniment": {"mute": True}}}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["stems"]["accompaniment"]["mute"] is True
    assert response.json()["stems"]["vocals"]["gain_db"] == 0.0
    assert bob_api.delete(f"/api/remixes/{remix['id']}/").status_code == 404
    assert alice_api.delete(f"/api/remixes/{remix['id']}/").status_code == 204
    assert not Remix.objects.exists()


def test_the_mixdown_renders_gain_pan_mute_and_solo(alice_api, alices, django_capture_on_commit_callbacks):
    track, job = alices
    stems = {"vocals": {"gain_db": -6, "pan": 0.4}, "accompaniment": {"gain_db": 3, "pan": -0.7}}
    remix = create(alice_api, track, stems=stems).json()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = alice_api.post(f"/api/remixes/{remix['id']}/render/")
    assert response.status_code == 202
    assert len(callbacks) == 1  # enqueued for a worker once committed
    render_mixdown(response.json()["id"])  # what the worker runs
    mixdown = Mixdown.objects.get(pk=response.json()["id"])
    assert mixdown.status == "succeeded", mixdown.error

    rendered, rate = soundfile.read(mixdown.flac.path, dtype="float32")
    assert rate == 44100
    expected = np.zeros_like(rendered)
    normalized = Remix.objects.get(pk=remix["id"]).stems
    for stem in job.stems.all():
        samples, _ = soundfile.read(stem.lossless.path, dtype="float32")
        settings = normalized[stem.name]
        expected += mixing.pan_stereo(samples * 10 ** (settings["gain_db"] / 20), settings["pan"])
    assert np.abs(rendered - expected).max() < 2e-4  # 16-bit FLAC rounding

    download = alice_api.get(f"/api/remixes/{remix['id']}/mixdown/?rendition=mp3")
    assert download.status_code == 200
    assert download["Content-Type"] == "audio/mpeg"
    again = alice_api.post(f"/api/remixes/{remix['id']}/render/")
    assert again.status_code == 200  # the same settings reuse the finished render
    assert again.json()["id"] == str(mixdown.pk)


def test_solo_wins_over_mute_and_all_muted_is_silence():
    stems = mixing.normalize({"vocals": {"solo": True}, "accompaniment": {"solo": False}}, ["vocals", "accompaniment"])
    assert mixing.audible(stems) == ["vocals"]
    stems = mixing.normalize({"vocals": {"mute": True}, "accompaniment": {"mute": True}}, ["vocals", "accompaniment"])
    assert mixing.audible(stems) == []


def test_pan_follows_the_web_audio_stereo_panner():
    block = np.array([[1.0, 0.5]], np.float32)
    assert np.allclose(mixing.pan_stereo(block, 0.0), [[1.0, 0.5]], atol=1e-6)
    assert np.allclose(mixing.pan_stereo(block, -1.0), [[1.5, 0.0]], atol=1e-6)
    assert np.allclose(mixing.pan_stereo(block, 1.0), [[0.0, 1.5]], atol=1e-6)


def test_an_edited_remix_does_not_serve_its_old_mixdown(alice_api, alices):
    remix = create(alice_api, alices[0]).json()
    render_mixdown(alice_api.post(f"/api/remixes/{remix['id']}/render/").json()["id"])
    assert alice_api.get(f"/api/remixes/{remix['id']}/mixdown/").status_code == 200
    alice_api.patch(f"/api/remixes/{remix['id']}/", {"stems": {"vocals": {"mute": True}}}, format="json")
    response = alice_api.get(f"/api/remixes/{remix['id']}/mixdown/")
    assert response.status_code == 404
    assert response.json()["detail"] == "No finished mixdown of the current settings; render the remix first."
    # The old render stays reachable by its id.
    old = alice_api.get(f"/api/remixes/{remix['id']}/mixdowns/").json()[0]["id"]
    assert alice_api.get(f"/api/remixes/{remix['id']}/mixdown/?id={old}").status_code == 200


def test_remixes_list_their_stem_files_and_filter_by_track(alice_api, alice, alices, tmp_path):
    track, job = alices
    remix = create(alice_api, track).json()
    assert {s["name"] for s in remix["stem_files"]} == {"vocals", "accompaniment"}
    assert all(s["audio_url"].startswith("/api/stems/") for s in remix["stem_files"])
    assert alice_api.get(f"/api/remixes/?track={track.pk}").json()["count"] == 1
    assert alice_api.get("/api/remixes/?track=00000000-0000-0000-0000-000000000000").json()["count"] == 0
    assert alice_api.get("/api/remixes/?track=not-a-uuid").json()["count"] == 0
