"""A fork (a shared remix added with "Add to my library") is a song of its owner's library: listed on
the library page and by ``GET /api/remixes/?kind=fork``, with the original owner's cover and lyrics
read through the fork (read-only, no file copied), karaoke over its stems, and -- once cut off --
none of that, only the reason. Nobody else reaches any of it."""

import pytest
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.test import Client
from rest_framework.test import APIClient

from library.models import Lyrics, Remix, Track
from tests.test_forks import REMOVED, body, forks_fixture  # noqa: F401 (the fixture "forks")

LRC = "[00:00.50]Hello from alice\n[00:01.50]Second line\n"


def stored_files():
    def walk(folder):
        dirs, files = default_storage.listdir(folder)
        found = {f"{folder}/{name}".lstrip("/") for name in files}
        for child in dirs:
            found |= walk(f"{folder}/{child}".lstrip("/"))
        return found

    return walk("")


def page_client(username):
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


@pytest.fixture
def with_lyrics(forks):
    assert (
        forks["alice"].put(f"/api/tracks/{forks['track'].pk}/lyrics/", {"lrc": LRC}, format="json").status_code == 201
    )
    return forks


def test_the_api_lists_forks_as_songs_with_the_owners_cover_and_lyrics(with_lyrics):
    f = with_lyrics
    listed = f["carol"].get("/api/remixes/?kind=fork").json()["results"]
    assert [r["id"] for r in listed] == [f["fork"]["id"]]
    fork = listed[0]
    assert fork["track"] is None
    assert fork["cover_url"] == f"/api/remixes/{fork['id']}/cover/"
    assert fork["lyrics_url"] == f"/api/remixes/{fork['id']}/lyrics/"
    # carol's remixes of her own tracks are the other kind; a kind that does not exist is a clear 400.
    assert f["carol"].get("/api/remixes/?kind=own").json()["results"] == []
    bad = f["carol"].get("/api/remixes/?kind=mine")
    assert bad.status_code == 400
    assert bad.json()["detail"] == "Unknown kind 'mine'; use one of: fork, own."


def test_a_fork_reads_the_originals_cover_and_lyrics_without_copying_them(with_lyrics):
    f = with_lyrics
    fork_id = f["fork"]["id"]
    track = f["track"]
    with default_storage.open(track.cover.name) as stored:
        original_cover = stored.read()
    cover = f["carol"].get(f"/api/remixes/{fork_id}/cover/")
    assert cover.status_code == 200 and cover["Content-Type"] == "image/jpeg"
    assert body(cover) == original_cover
    lyrics = f["carol"].get(f"/api/remixes/{fork_id}/lyrics/").json()
    assert lyrics["lrc"] == LRC
    assert [line["text"] for line in lyrics["lines"]] == ["Hello from alice", "Second line"]
    # A fork of a fork (dave's, of carol's) reads the same original.
    assert body(f["dave"].get(f"/api/remixes/{f['dave_fork']['id']}/cover/")) == original_cover
    # Read-only: carol cannot write alice's lyrics through her fork.
    for method in ("put", "patch", "delete"):
        response = getattr(f["carol"], method)(
            f"/api/remixes/{fork_id}/lyrics/", {"lrc": "[00:01.00]mine"}, format="json"
        )
        assert response.status_code == 405
    assert Lyrics.objects.get(track=track).lrc == LRC
    # Nothing was copied: carol and dave hold no tracks, and one set of lyrics exists.
    assert not Track.objects.exclude(owner=track.owner).exists()
    assert Lyrics.objects.count() == 1


def test_forking_stores_no_file(forks, bob):
    token = forks["alice_token"]
    before = stored_files()
    client = APIClient()
    client.force_login(bob)
    made = client.post(f"/api/shares/{token}/fork/").json()
    assert client.get(f"/api/remixes/{made['id']}/cover/").status_code == 200
    assert stored_files() == before


def test_karaoke_reads_the_forks_stems(forks):
    f = forks
    jobs = f["carol"].get(f"/api/remixes/{f['fork']['id']}/separations/").json()
    assert [job["id"] for job in jobs] == [str(f["job"].pk)]
    assert {stem["name"] for stem in jobs[0]["stems"]} == {"vocals", "accompaniment"}
    vocals = next(stem for stem in jobs[0]["stems"] if stem["name"] == "vocals")
    assert f["carol"].get(vocals["audio_url"]).status_code == 200


def test_another_user_reaches_none_of_it(with_lyrics, bob):
    f = with_lyrics
    client = APIClient()
    client.force_login(bob)
    for tail in ("", "cover/", "lyrics/", "separations/"):
        assert client.get(f"/api/remixes/{f['fork']['id']}/{tail}").status_code == 404
    assert client.get("/api/remixes/?kind=fork").json()["results"] == []
    bobs_page = page_client(bob.username)
    assert bobs_page.get(f"/remixes/{f['fork']['id']}/karaoke/").status_code == 404
    assert f["fork"]["id"] not in bobs_page.get("/library/").content.decode()


def test_a_cut_off_fork_keeps_its_row_but_loses_cover_lyrics_and_stems(with_lyrics):
    f = with_lyrics
    Remix.objects.get(pk=f["remix"]["id"]).delete()
    fork_id = f["fork"]["id"]
    shown = f["carol"].get("/api/remixes/?kind=fork").json()["results"][0]
    assert (shown["available"], shown["cover_url"], shown["lyrics_url"]) == (False, None, None)
    for tail in ("cover/", "lyrics/", "separations/"):
        response = f["carol"].get(f"/api/remixes/{fork_id}/{tail}")
        assert response.status_code == 404
        assert response.json()["detail"] == REMOVED
    library = page_client("carol").get("/library/").content.decode()
    assert "No longer plays" in library and REMOVED in library
    assert f"/api/remixes/{fork_id}/cover/" not in library
    karaoke = page_client("carol").get(f"/remixes/{fork_id}/karaoke/")
    assert karaoke.status_code == 200
    text = karaoke.content.decode()
    assert REMOVED in text and 'id="karaoke"' not in text


def test_the_library_page_shows_the_fork_as_a_playable_song(with_lyrics):
    f = with_lyrics
    fork_id = f["fork"]["id"]
    page = page_client("carol").get("/library/")
    text = page.content.decode()
    assert 'id="forks"' in text
    assert f'data-remix="{fork_id}"' in text
    assert f'href="/remixes/{fork_id}/karaoke/"' in text
    assert f'src="/api/remixes/{fork_id}/cover/"' in text
    assert "from alice" in text
    # The empty-library notice is not shown to someone whose library holds only forks.
    assert "Your library is empty" not in text
    karaoke = page_client("carol").get(f"/remixes/{fork_id}/karaoke/").content.decode()
    assert f'data-lyrics="/api/remixes/{fork_id}/lyrics/"' in karaoke
    assert f'data-separations="/api/remixes/{fork_id}/separations/"' in karaoke
    assert "read-only" in karaoke
