"""Forks of shared remixes end when their source does: alice sees and revokes forks of her
remixes; deleting her track (or the remix) cuts every fork off -- and forks of forks -- and
frees the stems, unless another user's own track holds the same audio (library.sharing)."""

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from library.ingest import ingest
from library.models import Mixdown, Remix
from library.remix_serializers import RemixSerializer
from library.tasks import render_mixdown
from separation.models import SeparationJob, Stem
from tests.separated import separated_track

REMOVED = "The original was removed by its owner."
REVOKED = "The owner of the original revoked this copy."


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def signed_in(username):
    user = User.objects.create_user(username, f"{username}@example.com", "a long enough passphrase")
    client = APIClient()
    client.force_login(user)  # a session, so the plain share pages see the user too
    return client


def share(client, remix_id):
    return client.post("/api/shares/", {"remix": remix_id}, format="json").json()["token"]


def share_urls(token):
    return [f"/s/{token}/{tail}" for tail in ("stems/vocals/audio/", "stems/vocals/peaks/", "cover/", "mixdown/")]


@pytest.fixture(name="forks")
def forks_fixture(alice, tmp_path, django_capture_on_commit_callbacks):
    """alice shares a remix; carol forks it, renders and shares her fork; dave forks carol's fork."""
    alice_api = APIClient()
    alice_api.force_login(alice)
    track, job = separated_track(alice, tmp_path, cover=True)
    remix = alice_api.post("/api/remixes/", {"track": str(track.pk), "name": "Alice's mix"}, format="json").json()
    alice_token = share(alice_api, remix["id"])
    carol, dave = signed_in("carol"), signed_in("dave")
    fork = carol.post(f"/api/shares/{alice_token}/fork/").json()
    render_mixdown(carol.post(f"/api/remixes/{fork['id']}/render/").json()["id"])
    carol_token = share(carol, fork["id"])
    dave_fork = dave.post(f"/api/shares/{carol_token}/fork/").json()
    stem = job.stems.get(name="vocals")
    assert body(carol.get(f"/api/stems/{stem.pk}/audio/"))  # carol plays the stems before anything happens
    return {
        "alice": alice_api,
        "carol": carol,
        "dave": dave,
        "anonymous": APIClient(),
        "track": track,
        "job": job,
        "stem": stem,
        "remix": remix,
        "alice_token": alice_token,
        "fork": fork,
        "carol_token": carol_token,
        "dave_fork": dave_fork,
    }


def assert_cut_off(f, reason):
    """carol's fork, dave's fork of it and carol's link reach no stems, and the link names nothing of alice's."""
    for client, fork in ((f["carol"], f["fork"]), (f["dave"], f["dave_fork"])):
        shown = client.get(f"/api/remixes/{fork['id']}/").json()
        assert (shown["available"], shown["unavailable_reason"]) == (False, reason)
        assert shown["stem_files"] == [] and shown["stem_names"] == []
        assert client.get(f"/api/stems/{f['stem'].pk}/audio/").status_code == 404
        assert client.get(f"/api/jobs/{f['job'].pk}/").status_code == 404
        assert client.post(f"/api/remixes/{fork['id']}/render/").status_code == 409
        assert client.patch(f"/api/remixes/{fork['id']}/", {"name": "x"}, format="json").status_code == 400
    anonymous = f["anonymous"]
    page = anonymous.get(f"/s/{f['carol_token']}/")
    assert page.status_code == 410
    html = page.content.decode()
    assert reason in html
    for leaked in ("Shared Song", "alice", "Alice's mix", "/cover/", "/audio/"):
        assert leaked not in html
    data = anonymous.get(f"/s/{f['carol_token']}/data.json")
    assert (data.status_code, data.json()) == (410, {"available": False, "unavailable_reason": reason})
    for url in share_urls(f["carol_token"]):
        assert anonymous.get(url).status_code == 404, url
    assert f["dave"].post(f"/api/shares/{f['carol_token']}/fork/").status_code == 404
    assert not Mixdown.objects.filter(remix_id=f["fork"]["id"]).exists()


def test_revoking_alices_link_stops_new_forks_but_not_the_ones_made(forks):
    assert forks["alice"].delete(f"/api/shares/{forks['alice_token']}/").status_code == 204
    assert forks["dave"].post(f"/api/shares/{forks['alice_token']}/fork/").status_code == 404
    assert forks["carol"].get(f"/api/stems/{forks['stem'].pk}/audio/").status_code == 200
    assert forks["anonymous"].get(f"/s/{forks['carol_token']}/stems/vocals/audio/").status_code == 200


def test_deleting_the_track_cuts_off_every_fork_and_frees_the_stems(forks, django_capture_on_commit_callbacks):
    stem, job = forks["stem"], forks["job"]
    mixdown = Mixdown.objects.get(remix_id=forks["fork"]["id"])
    files = [stem.lossless, stem.compressed, stem.peaks, mixdown.mp3, mixdown.flac]
    assert all(f.storage.exists(f.name) for f in files)
    forks["alice"].delete(f"/api/shares/{forks['alice_token']}/")
    with django_capture_on_commit_callbacks(execute=True):
        assert forks["alice"].delete(f"/api/tracks/{forks['track'].pk}/").status_code == 204

    assert_cut_off(forks, REMOVED)
    # Nothing keeps alice's audio: the job, its stems and every file made from them are gone.
    assert not SeparationJob.objects.filter(pk=job.pk).exists()
    assert not Stem.objects.filter(job_id=job.pk).exists()
    assert not any(f.storage.exists(f.name) for f in files)
    # carol keeps only the record of what went, and can delete it.
    assert forks["carol"].get("/remixes/").status_code == 200
    fork_page = forks["carol"].get(f"/remixes/{forks['fork']['id']}/").content.decode()
    assert REMOVED in fork_page and 'id="mixer"' not in fork_page
    assert forks["carol"].delete(f"/api/remixes/{forks['fork']['id']}/").status_code == 204


def test_deleting_only_the_remix_cuts_off_its_forks_but_keeps_alices_stems(forks):
    assert forks["alice"].delete(f"/api/remixes/{forks['remix']['id']}/").status_code == 204
    assert_cut_off(forks, REMOVED)
    assert forks["alice"].get(f"/api/stems/{forks['stem'].pk}/audio/").status_code == 200


def test_stems_stay_for_another_user_whose_own_track_holds_the_same_audio(forks, django_capture_on_commit_callbacks):
    bob = User.objects.create_user("bob", "bob@example.com", "another good passphrase")
    with forks["track"].original.open("rb") as f:
        bobs_track = ingest(bob, SimpleUploadedFile("same.mp3", f.read())).track
    bob_api = APIClient()
    bob_api.force_authenticate(bob)
    # Bob asks for the stems of his copy: he is given the finished job at once.
    asked = bob_api.post(f"/api/tracks/{bobs_track.pk}/separations/", {"model": "2stems"}, format="json")
    assert asked.status_code == 200, asked.json()
    with django_capture_on_commit_callbacks(execute=True):
        assert forks["alice"].delete(f"/api/tracks/{forks['track'].pk}/").status_code == 204
    assert_cut_off(forks, REMOVED)
    stem = forks["stem"]
    assert body(bob_api.get(f"/api/stems/{stem.pk}/audio/?rendition=flac"))[:4] == b"fLaC"


def test_alice_sees_the_forks_of_her_remix_and_revokes_one(forks):
    remix_id, fork_id = forks["remix"]["id"], forks["fork"]["id"]
    listed = forks["alice"].get(f"/api/remixes/{remix_id}/forks/")
    assert listed.status_code == 200
    assert [(f["id"], f["owner"], f["shared"], f["available"]) for f in listed.json()] == [
        (fork_id, "carol", True, True)
    ]
    # Only alice: carol (the fork's owner), dave and anonymous get nothing.
    revoke = f"/api/remixes/{remix_id}/forks/{fork_id}/revoke/"
    for client in (forks["carol"], forks["dave"]):
        assert client.get(f"/api/remixes/{remix_id}/forks/").status_code == 404
        assert client.post(revoke).status_code == 404
    assert forks["anonymous"].post(revoke).status_code in (401, 403)
    assert forks["alice"].post(f"/api/remixes/{remix_id}/forks/{forks['remix']['id']}/revoke/").status_code == 404
    assert Remix.objects.get(pk=fork_id).available

    revoked = forks["alice"].post(revoke)
    assert revoked.status_code == 200
    assert (revoked.json()["available"], revoked.json()["unavailable_reason"]) == (False, REVOKED)
    assert_cut_off(forks, REVOKED)
    assert forks["alice"].get(f"/api/remixes/{remix_id}/forks/").json()[0]["available"] is False
    assert forks["alice"].post(revoke).status_code == 200  # again: nothing more to do
    # alice's own remix, link and stems are untouched.
    assert forks["anonymous"].get(f"/s/{forks['alice_token']}/stems/vocals/audio/").status_code == 200
    assert forks["stem"].lossless.storage.exists(forks["stem"].lossless.name)


def test_an_edit_from_before_the_revoke_does_not_give_the_fork_its_stems_back(forks):
    stale = Remix.objects.get(pk=forks["fork"]["id"])
    forks["alice"].post(f"/api/remixes/{forks['remix']['id']}/forks/{stale.pk}/revoke/")
    # carol's PATCH read the row before alice's revoke and saves after it.
    edit = RemixSerializer(stale, data={"name": "Renamed"}, partial=True)
    edit.is_valid(raise_exception=True)
    edit.save()
    fork = Remix.objects.get(pk=stale.pk)
    assert (fork.name, fork.job_id, fork.available) == ("Renamed", None, False)
