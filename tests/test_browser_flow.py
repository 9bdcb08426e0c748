"""The whole way through in a real Chromium with a real worker: sign up, upload, split, sing along.

One separation by the real Spleeter worker; screenshots of every page go to var/test-artifacts/.
"""

import pytest
from playwright.sync_api import expect

from tests.browser import LIT_PIXELS_JS, PHONE, browser_fixture, lit_fraction, page_fixture, screenshot  # noqa: F401 (fixtures)
from tests.eval_songs import generate_song

pytestmark = [pytest.mark.browser, pytest.mark.worker]

LRC = "[00:00.20]Here comes the first line\n[00:01.50]Second line, sung at one and a half\n[00:05.00]Third line\n"


def test_sign_up_upload_split_and_sing_along(page, live_server, worker_cluster, tmp_path):
    song = generate_song(tmp_path / "song", seconds=15, seed=21)

    # Sign up through the page.
    page.goto("/accounts/signup/")
    page.fill("#id_username", "carol")
    page.fill("#id_password1", "a long and unusual passphrase")
    page.fill("#id_password2", "a long and unusual passphrase")
    page.click("button:has-text('Sign up')")
    page.wait_for_url("**/library/")
    expect(page.locator(".empty")).to_contain_text("Your library is empty")

    # Upload through the library's queue: the song appears as a row on the library; open it.
    page.set_input_files("#upload-form input[type=file]", str(song / "mixture.wav"))
    page.locator("#tracks .track-link").click()
    page.wait_for_url("**/tracks/*/")
    track_url = page.url
    expect(page.locator("h1")).to_have_text("mixture")

    # Split into stems; the real worker does it and the page follows the job live.
    page.click("#separate")
    expect(page.locator("#job-progress, #job-status").first).to_be_visible()
    screenshot(page, "track-splitting")
    # The page follows the job to its end: the mixer lists each stem once.
    page.locator("#mix-strips .mix-strip").first.wait_for(timeout=300_000)
    expect(page.locator("#mix-strips .mix-strip")).to_have_count(2)
    expect(page.locator("#job-status")).to_contain_text("real time")
    # The original's waveform, measured at upload, to seek on.
    expect(page.locator("#wave")).to_have_attribute("role", "slider")
    expect(page.locator(".wave-loading")).to_have_count(0)
    page.reload()  # the downloads list is drawn by the server
    flac = page.locator('.download-row[data-stem="vocals"] a', has_text="FLAC").get_attribute("href")
    assert page.request.get(flac).body()[:4] == b"fLaC"

    # Solo the vocals: the one player switches to the stems; clicking the waveform seeks.
    expect(page.locator("#mix-strips .mix-strip")).to_have_count(2)
    page.click("#mix-vocals-solo")
    expect(page.locator("#source-mix")).to_be_checked()
    page.click("#play")
    page.wait_for_function("() => window.stemroom.playing() && window.stemroom.currentTime() > 0.3")
    assert page.evaluate("window.stemroom.player.gain('accompaniment').gain.value") == 0
    box = page.locator("#wave").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] / 2)
    page.wait_for_function("() => window.stemroom.currentTime() > 6")
    page.wait_for_function(f"() => ({LIT_PIXELS_JS})('viz') > 0.005")
    screenshot(page, "track")
    page.click("#play")  # pause

    # The library shows the finished stems and leads to karaoke.
    page.goto("/library/")
    card = page.locator(".track").first
    expect(card.locator(".track-status")).to_contain_text("Stems ready")
    screenshot(page, "library")
    card.get_by_role("link", name="Karaoke").click()
    page.wait_for_url("**/karaoke/")
    page.wait_for_function("() => window.stemroom && window.stemroom.ready()", timeout=60_000)

    # Paste LRC through the editor.
    page.fill("#lrc-text", LRC)
    page.click("#lrc-save")
    expect(page.locator("#lyrics .line")).to_have_count(3)
    expect(page.locator("#lyrics-saved")).to_contain_text("3 lines")
    assert lit_fraction(page) == 0, "the visualizer is dark before anything plays"

    # Play: the AudioContext's clock runs and the song position with it.
    page.click("#play")
    context_start = page.evaluate("window.stemroom.audioContext.currentTime")
    page.wait_for_function("() => window.stemroom.currentTime() > 0.3")
    first = page.evaluate("[window.stemroom.currentLineIndex(), window.stemroom.currentTime()]")
    assert first[0] == 0 and first[1] < 1.5, first
    page.wait_for_function("() => window.stemroom.currentLineIndex() === 1")
    assert page.evaluate("window.stemroom.currentTime()") >= 1.5
    second = page.locator('#lyrics .line[data-index="1"]')
    expect(second).to_have_class("line current")
    expect(page.locator("#next-text")).to_have_text("Third line")
    assert page.evaluate("window.stemroom.audioContext.currentTime") > context_start + 1

    # The vocal guide slider sets the vocals stem's gain.
    assert page.evaluate("window.stemroom.vocalsGain.gain.value") == pytest.approx(0, abs=0.01)
    page.locator("#vocal-guide").fill("80")
    page.wait_for_function("() => Math.abs(window.stemroom.vocalsGain.gain.value - 0.8) < 0.01")
    expect(page.locator("#vocal-guide-value")).to_have_text("80%")
    assert page.evaluate("window.stemroom.accompanimentGain.gain.value") == 1

    # The visualizer draws what plays.
    assert lit_fraction(page) > 0.01
    screenshot(page, "karaoke")

    # Stage mode: full-screen lyrics over the visualizer.
    page.click("#stage-toggle")
    page.wait_for_function("() => window.stemroom.stageMode()")
    stage = page.locator("#stage").bounding_box()
    assert stage["width"] == pytest.approx(1280, abs=2) and stage["height"] == pytest.approx(860, abs=2)
    page.wait_for_timeout(300)
    screenshot(page, "karaoke-stage", full_page=False)
    page.keyboard.press("Escape")
    page.wait_for_function("() => !window.stemroom.stageMode()")

    # Phone width: everything still fits.
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    screenshot(page, "karaoke-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.goto(track_url)
    expect(page.locator("#mix-strips .mix-strip")).to_have_count(2)
    screenshot(page, "track-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
