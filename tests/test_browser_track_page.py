"""The track page in a real Chromium: one player at the top (Play within the first screen of a
390 px phone), the original's waveform before any split (peaks measured at upload), and after
the split the same player plays the stems as the Mixer sets them; each stem is listed once.

The stems are a generated song's true vocals and accompaniment stored as a finished job
(tests.browser.finished_stems), so these tests need no TensorFlow.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from library.ingest import ingest
from tests.browser import WIDTHS, browser_fixture, finished_stems, page_fixture, screenshot, sign_in  # noqa: F401 (fixtures)
from tests.eval_songs import generate_song

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return generate_song(tmp_path_factory.mktemp("track-page-song"), seconds=8, seed=31)


@pytest.fixture
def track(alice, song):
    upload = SimpleUploadedFile("song.wav", (song / "mixture.wav").read_bytes())
    return ingest(alice, upload, title="Track Page Song", artist="The Testers").track


def test_before_the_split_play_is_on_the_first_phone_screen_with_the_waveform(page, live_server, alice, track):
    sign_in(page, live_server, alice)
    page.set_viewport_size(WIDTHS["390"])
    page.goto(f"/tracks/{track.pk}/")
    # One player: one Play button on the page.
    expect(page.locator("button.play")).to_have_count(1)
    play = page.locator("#play").bounding_box()
    assert play["y"] + play["height"] < WIDTHS["390"]["height"] / 2, (
        "Play sits in the top half of a phone's first screen"
    )
    # The waveform of the original, from the peaks measured at upload, is there to seek on.
    wave = page.locator("#wave")
    expect(wave).to_have_attribute("role", "slider")
    expect(page.locator("#wave-loading")).to_have_count(0)
    expect(page.locator("#sources")).to_be_hidden()
    expect(page.locator("#separate")).to_be_visible()
    screenshot(page, "track-page-before-split-phone")
    box = wave.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    expect(page.locator("#time-now")).to_have_text("0:04")


def test_after_the_split_one_player_plays_the_original_or_the_mix(page, live_server, alice, track, song):
    finished_stems(track, song)
    sign_in(page, live_server, alice)
    page.goto(f"/tracks/{track.pk}/")
    expect(page.locator("#mix-strips .mix-strip")).to_have_count(2)
    # One player, and each stem listed once: in the mixer (downloads aside).
    expect(page.locator("button.play")).to_have_count(1)
    expect(page.locator("#mix-play")).to_have_count(0)
    expect(page.locator(".stem-list, .source-row")).to_have_count(0)
    expect(page.locator("#source-original")).to_be_checked()

    page.click("#play")
    page.wait_for_function("() => window.stemroom.playing() && window.stemroom.currentTime() > 0.5")
    assert page.evaluate("window.stemroom.player.constructor.name") == "MediaEngine"
    # Touching the mixer while the original plays switches the one player to the mix, in place.
    page.click("#mix-accompaniment-mute")
    expect(page.locator("#source-mix")).to_be_checked()
    page.wait_for_function("() => window.stemroom.player && window.stemroom.player.constructor.name === 'StemPlayer'")
    page.wait_for_function("() => window.stemroom.playing() && window.stemroom.currentTime() > 1.0")
    assert page.evaluate("window.stemroom.player.gain('accompaniment').gain.value") == 0
    assert page.locator("audio#player").evaluate("(a) => a.paused")
    # Reset puts every strip back, and the playing mix follows.
    page.click("#mix-reset")
    expect(page.locator("#mix-accompaniment-mute")).to_have_attribute("aria-pressed", "false")
    page.wait_for_function("() => window.stemroom.player.gain('accompaniment').gain.value > 0.99")
    # Back to the original: the stems stop, the element plays on from about there.
    at = page.evaluate("window.stemroom.currentTime()")
    page.check("#source-original")
    page.wait_for_function(
        "() => window.stemroom.player.constructor.name === 'MediaEngine' && window.stemroom.playing()"
    )
    assert page.evaluate("window.stemroom.currentTime()") >= at - 0.1
    page.click("#play")
    page.wait_for_function("() => !window.stemroom.playing()")
    screenshot(page, "track-page-after-split")
