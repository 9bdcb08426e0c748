"""Share links: who can reach what. Anonymous visitors, another user and the owner, for every
remix/share endpoint and every media URL a share page uses; revoke; fork; malformed tokens."""

import pytest
from rest_framework.test import APIClient

from library.models import Remix, ShareLink
from library.tasks import render_mixdown
from tests.separated import separated_track


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def anonymous():
    return APIClient()


@pytest.fixture
def shared(alice, alice_api, tmp_path):
    """Alice's remix of her track, rendered, with a live share link; and a second, private remix."""
    track, job = separated_track(alice, tmp_path, cover=True)
    alice_api.put(f"/api/tracks/{track.pk}/lyrics/", {"lrc": "[00:00.50]Hello\n[00:01.50]World"}, format="json")
    remix = alice_api.post(
        "/api/remixes/",
        {"track": str(track.pk), "name": "No vocals", "stems": {"vocals": {"mute": True}}},
        format="json",
    ).json()
    private = alice_api.post("/api/remixes/", {"track": str(track.pk), "name": "Secret"}, format="json").json()
    render_mixdown(alice_api.post(f"/api/remixes/{remix['id']}/render/").json()["id"])
    link = alice_api.post("/api/shares/", {"remix": remix["id"]}, format="json").json()
    return {"track": track, "job": job, "remix": remix, "private": private, "token": link["token"], "link": link}


def share_urls(token):
    return [
        f"/s/{token}/",
        f"/s/{token}/data.json",
        f"/s/{token}/stems/vocals/audio/",
        f"/s/{token}/stems/accompaniment/audio/",
        f"/s/{token}/stems/vocals/peaks/",
        f"/s/{token}/cover/",
        f"/s/{token}/mixdown/",
    ]


def test_the_token_is_unguessable(shared):
    # token_urlsafe(32): 43 base64url characters = 256 random bits (>= 128 required).
    assert len(shared["token"]) >= 43
    assert shared["link"]["url"].endswith(f"/s/{shared['token']}/")


def test_an_anonymous_visitor_gets_the_read_only_player_and_exactly_that_remix(anonymous, shared):
    page = anonymous.get(f"/s/{shared['token']}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<meta property="og:title" content="No vocals — Shared Song">' in html
    assert f'<meta property="og:image" content="http://testserver/s/{shared["token"]}/cover/">' in html
    for url in share_urls(shared["token"]):
        assert anonymous.get(url).status_code == 200, url
    data = anonymous.get(f"/s/{shared['token']}/data.json").json()
    assert {s["name"]: s["settings"]["mute"] for s in data["stems"]} == {"vocals": True, "accompaniment": False}
    assert [line["text"] for line in data["lyrics"]["lines"]] == ["Hello", "World"]
    streamed = anonymous.get(f"/s/{shared['token']}/stems/vocals/audio/", HTTP_RANGE="bytes=0-99")
    assert streamed.status_code == 206
    assert len(body(streamed)) == 100


def test_the_share_exposes_nothing_else_of_the_owners(anonymous, bob_api, shared):
    track, job = shared["track"], shared["job"]
    stem = job.stems.first()
    for client, denied in ((anonymous, 401), (bob_api, 404)):
        assert client.get(f"/api/tracks/{track.pk}/audio/").status_code == denied
        assert client.get(f"/api/tracks/{track.pk}/").status_code == denied
        assert client.get(f"/api/tracks/{track.pk}/lyrics/").status_code == denied
        assert client.get(f"/api/stems/{stem.pk}/audio/").status_code == denied
        assert client.get(f"/api/jobs/{job.pk}/").status_code == denied
        assert client.get(f"/api/remixes/{shared['private']['id']}/").status_code == denied
        assert client.get(f"/api/remixes/{shared['remix']['id']}/").status_code == denied
        assert client.get(f"/api/remixes/{shared['remix']['id']}/mixdown/").status_code == denied
        assert client.delete(f"/api/shares/{shared['token']}/").status_code == denied
    # Stems the remix does not have, and path tricks, are simply not there.
    assert anonymous.get(f"/s/{shared['token']}/stems/drums/audio/").status_code == 404
    assert anonymous.get(f"/s/{shared['token']}/stems/..%2F..%2Fsettings.py/audio/").status_code == 404
    assert ShareLink.objects.get(token=shared["token"]).revoked_at is None


@pytest.mark.parametrize("token", ["nope", "a" * 43, "x" * 300, "%00", "..%2F..%2Fetc%2Fpasswd"])
def test_wrong_or_malformed_tokens_are_404(anonymous, shared, token):
    for url in share_urls(token):
        assert anonymous.get(url).status_code == 404, url


def test_revoking_makes_the_link_404_for_everyone_but_the_owner(alice, alice_api, bob, bob_api, anonymous, shared):
    # Share pages are plain pages: signed in with a session, as in a browser.
    alice_api.force_login(alice)
    bob_api.force_login(bob)
    response = alice_api.delete(f"/api/shares/{shared['token']}/")
    assert response.status_code == 204
    page = f"/s/{shared['token']}/"
    for url in share_urls(shared["token"]):
        # The page itself says why it plays nothing (410); the data and media are simply not found.
        expected = 410 if url == page else 404
        assert anonymous.get(url).status_code == expected, url
        assert bob_api.get(url).status_code == expected, url
        assert alice_api.get(url).status_code == 200, url
    assert "This link was revoked" in anonymous.get(page).content.decode()
    assert "No vocals" not in anonymous.get(page).content.decode()  # nothing of the remix
    assert "This link is revoked" in alice_api.get(page).content.decode()
    assert bob_api.post(f"/api/shares/{shared['token']}/fork/").status_code == 404
    assert alice_api.get(f"/api/remixes/{shared['remix']['id']}/").json()["share_links"] == []


def test_only_the_owner_lists_or_creates_links_for_a_remix(bob_api, alice_api, shared):
    assert bob_api.get("/api/shares/").json()["count"] == 0
    assert alice_api.get("/api/shares/").json()["count"] == 1
    response = bob_api.post("/api/shares/", {"remix": shared["remix"]["id"]}, format="json")
    assert response.status_code == 400
    assert "object does not exist" in response.json()["detail"]


def test_a_signed_in_visitor_forks_without_copying_files_or_gaining_other_access(bob, bob_api, anonymous, shared):
    assert anonymous.post(f"/api/shares/{shared['token']}/fork/").status_code == 401
    response = bob_api.post(f"/api/shares/{shared['token']}/fork/")
    assert response.status_code == 201
    fork = Remix.objects.get(pk=response.json()["id"])
    assert fork.owner == bob
    assert fork.job == shared["job"]
    assert fork.track is None
    assert fork.stems == Remix.objects.get(pk=shared["remix"]["id"]).stems
    assert str(fork.forked_from_id) == shared["remix"]["id"]
    # Bob plays his fork's stems...
    stem = shared["job"].stems.first()
    assert bob_api.get(f"/api/stems/{stem.pk}/audio/").status_code == 200
    assert bob_api.get(f"/api/remixes/{fork.pk}/").status_code == 200
    # ...and still nothing else of Alice's.
    assert bob_api.get(f"/api/tracks/{shared['track'].pk}/audio/").status_code == 404
    assert bob_api.get(f"/api/remixes/{shared['private']['id']}/").status_code == 404
    assert bob_api.get("/api/tracks/").json()["count"] == 0


def test_a_nul_byte_in_a_stem_name_is_404_not_a_server_error(anonymous, shared):
    assert anonymous.get(f"/s/{shared['token']}/stems/voc%00als/audio/").status_code == 404


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_share_views_answer_only_get_and_head(anonymous, shared, method):
    for url in share_urls(shared["token"]):
        assert getattr(anonymous, method)(url).status_code == 405, url
        assert anonymous.head(url).status_code == 200, url
