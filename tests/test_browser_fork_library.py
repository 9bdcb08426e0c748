"""In a real Chromium: "Add to my library" puts a shared remix in the library as a playable song --
the owner's cover, karaoke with the owner's lyrics (read-only), the remix's mix -- and a cut-off
copy says the original was removed."""

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from playwright.sync_api import expect

from library import mixing
from library.ingest import ingest
from library.models import Lyrics, Remix, ShareLink
from separation.models import SeparationJob
from tests.browser import browser_fixture, finished_stems, page_fixture, screenshot, sign_in  # noqa: F401 (fixtures)
from tests.eval_songs import generate_song

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 900}
PHONE_390 = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return generate_song(tmp_path_factory.mktemp("fork-song"), seconds=12, seed=7)


@pytest.fixture
def shared(live_server, alice, song):
    """alice's song with a cover and lyrics, split, and a remix of it shared by link."""
    upload = SimpleUploadedFile("song.wav", (song / "mixture.wav").read_bytes())
    track = ingest(alice, upload, title="Fork Song", artist="The Testers").track
    picture = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 60, 140)).save(picture, "JPEG")
    track.cover.save("cover.jpg", ContentFile(picture.getvalue()))
    Lyrics.objects.create(track=track, lrc="[00:00.20]Alice sings this line\n[00:06.00]And then this one\n")
    job = finished_stems(track, song)
    remix = Remix.objects.create(
        owner=alice,
        track=track,
        job=job,
        name="Quiet vocals",
        stems=mixing.normalize({"vocals": {"gain_db": -6}}, job.stem_names),
        title=track.title,
        artist=track.artist,
    )
    return {"track": track, "remix": remix, "token": ShareLink.objects.create(remix=remix).token}


def test_an_added_remix_is_a_song_in_the_library_with_karaoke(page, live_server, bob, shared):
    page.set_viewport_size(LAPTOP)
    sign_in(page, live_server, bob)
    page.goto(f"/s/{shared['token']}/")
    page.get_by_role("button", name="Add to my library").click()
    expect(page.locator("#fork-status")).to_contain_text("Added to your library.")
    fork = Remix.objects.get(owner=bob)

    page.goto("/library/")
    card = page.locator(f'#forks .track[data-remix="{fork.pk}"]')
    expect(card.locator(".title")).to_have_text("Fork Song")
    expect(card).to_contain_text("Quiet vocals · from alice")
    # The owner's cover, read through the fork: it loads (a broken image has no natural width).
    cover = card.locator("img.cover")
    expect(cover).to_have_attribute("src", f"/api/remixes/{fork.pk}/cover/")
    page.wait_for_function(
        "(id) => document.querySelector(`[data-remix='${id}'] img.cover`).naturalWidth === 64", arg=str(fork.pk)
    )
    expect(page.locator("#library-empty")).to_have_count(0)
    screenshot(page, "library-forks-1366")
    page.set_viewport_size(PHONE_390)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_390["width"]
    screenshot(page, "library-forks-390")
    page.set_viewport_size(LAPTOP)

    # Karaoke over the fork's stems, with alice's lyrics, which bob cannot edit.
    card.get_by_role("link", name="Karaoke: Fork Song").click()
    page.wait_for_url(f"**/remixes/{fork.pk}/karaoke/")
    page.wait_for_function("() => window.stemroom && window.stemroom.ready()")
    expect(page.locator("#lyrics")).to_contain_text("Alice sings this line")
    expect(page.locator(".lyrics-editor")).to_be_hidden()
    expect(page.locator("#lyrics-read-only")).to_contain_text("alice’s, read-only")
    page.click("#play")
    page.wait_for_function("() => window.stemroom.playing() && window.stemroom.currentTime() > 0.3")
    screenshot(page, "fork-karaoke-1366")
    page.set_viewport_size(PHONE_390)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_390["width"]
    screenshot(page, "fork-karaoke-390")

    # Its own page: the cover, the mix, and the way to karaoke.
    page.set_viewport_size(LAPTOP)
    page.goto(f"/remixes/{fork.pk}/")
    expect(page.locator(".karaoke-head img.cover")).to_be_visible()
    expect(page.get_by_role("link", name="♪ Karaoke")).to_have_attribute("href", f"/remixes/{fork.pk}/karaoke/")
    screenshot(page, "fork-page-1366")


def test_a_cut_off_copy_says_the_original_was_removed(page, live_server, bob, shared):
    sign_in(page, live_server, bob)
    page.goto(f"/s/{shared['token']}/")
    page.get_by_role("button", name="Add to my library").click()
    expect(page.locator("#fork-status")).to_contain_text("Added to your library.")
    fork = Remix.objects.get(owner=bob)
    shared["remix"].delete()  # alice removes the original

    page.set_viewport_size(LAPTOP)
    page.goto("/library/")
    card = page.locator(f'#forks .track[data-remix="{fork.pk}"]')
    expect(card).to_contain_text("No longer plays")
    expect(card).to_contain_text("The original was removed by its owner.")
    expect(card.locator("img")).to_have_count(0)
    screenshot(page, "library-fork-cut-off-1366")
    page.goto(f"/remixes/{fork.pk}/karaoke/")
    expect(page.locator("#karaoke-unavailable")).to_contain_text("The original was removed by its owner.")
    expect(page.locator("#karaoke")).to_have_count(0)
    assert SeparationJob.objects.filter(pk=shared["remix"].job_id).exists()  # alice's own track keeps its stems
