"""The karaoke page in a real Chromium: stems in sync, vocal guide, lyrics, tap-to-sync, and who may see it.

The stems here are the test song's true vocals and accompaniment stored as a finished job
(tests.browser.finished_stems), so these tests need no TensorFlow; the worker-backed flow is
test_browser_flow.py.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from library.ingest import ingest
from library.models import Lyrics
from tests.browser import DESKTOP, browser_fixture, finished_stems, lit_fraction, page_fixture, screenshot, sign_in  # noqa: F401 (fixtures)
from tests.eval_songs import generate_song

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return generate_song(tmp_path_factory.mktemp("karaoke-song"), seconds=15, seed=21)


def add_track(user, song, title="Karaoke Song"):
    upload = SimpleUploadedFile("song.wav", (song / "mixture.wav").read_bytes())
    return ingest(user, upload, title=title, artist="The Testers").track


@pytest.fixture
def ready_track(live_server, alice, song):
    track = add_track(alice, song)
    finished_stems(track, song)
    return track


def open_karaoke(page, live_server, user, track):
    sign_in(page, live_server, user)
    page.goto(f"/tracks/{track.pk}/karaoke/")
    page.wait_for_function("() => window.stemroom && window.stemroom.ready()")


def play(page):
    page.click("#play")
    page.wait_for_function("() => window.stemroom.playing() && window.stemroom.currentTime() > 0.2")


def test_the_karaoke_page_of_bobs_track_is_404_for_alice(page, live_server, alice, bob, song):
    bobs = add_track(bob, song, title="Bob's song")
    sign_in(page, live_server, alice)
    response = page.goto(f"/tracks/{bobs.pk}/karaoke/")
    assert response.status == 404
    assert "Bob's song" not in page.content()


def test_the_karaoke_page_asks_for_stems_first_and_links_to_the_track_page(page, live_server, alice, song):
    track = add_track(alice, song)
    sign_in(page, live_server, alice)
    response = page.goto(f"/tracks/{track.pk}/karaoke/")
    assert response.status == 200
    notice = page.locator("#karaoke-unavailable")
    assert "needs the stems first" in notice.inner_text()
    notice.get_by_role("link", name="Go to the track page to split it").click()
    page.wait_for_url(f"**/tracks/{track.pk}/")
    expect(page.locator("#separate")).to_be_visible()


def test_signed_out_visitors_are_sent_to_sign_in(page, live_server, alice, song):
    track = add_track(alice, song)
    page.goto(f"/tracks/{track.pk}/karaoke/")
    assert "/accounts/login/" in page.url


def test_malformed_lrc_shows_the_error_naming_the_line(page, live_server, alice, ready_track):
    open_karaoke(page, live_server, alice, ready_track)
    page.fill("#lrc-text", "[00:01.00]Fine\n[00:02.00]Also fine\n[00:75.00]Broken seconds\n")
    page.click("#lrc-save")
    error = page.locator("#lyrics-error")
    error.wait_for(state="visible")
    assert error.inner_text() == "lrc: Line 3: bad timestamp [00:75.00]: seconds must be 00-59."
    # The editor selects the offending line, so it can be fixed at once.
    selected = page.evaluate(
        "() => { const t = document.getElementById('lrc-text'); return t.value.slice(t.selectionStart, t.selectionEnd); }"
    )
    assert selected == "[00:75.00]Broken seconds"
    assert not Lyrics.objects.filter(track=ready_track).exists()

    # A bad .lrc file is refused the same way.
    page.set_input_files(
        "#lrc-file", files=[{"name": "bad.lrc", "mimeType": "text/plain", "buffer": b"[00:01.00]ok\njust words\n"}]
    )
    page.wait_for_function("() => document.getElementById('lyrics-error').textContent.includes('Line 2')")
    assert "lrc: Line 2: no timestamp: 'just words'" in error.inner_text()


# Records every AudioBufferSourceNode.start() the page makes, before its own scripts run.
RECORD_STARTS = """
window.starts = [];
const start = AudioBufferSourceNode.prototype.start;
AudioBufferSourceNode.prototype.start = function (when, offset) {
  window.starts.push({ when, offset, length: this.buffer.duration, context: this.context.id ??= Math.random() });
  return start.apply(this, arguments);
};
"""


def test_stems_play_in_lock_step_and_the_keyboard_drives_the_player(page, live_server, alice, ready_track):
    page.add_init_script(RECORD_STARTS)
    open_karaoke(page, live_server, alice, ready_track)
    assert page.evaluate("window.stemroom.audioContext.state") in ("running", "suspended")
    assert lit_fraction(page) == 0, "the bars must be dark before anything plays"
    play(page)
    # Both stems are AudioBufferSourceNodes started on one context at one `when`, from one offset.
    first = page.evaluate("window.starts")
    assert len(first) == 2
    assert first[0]["context"] == first[1]["context"]
    assert first[0]["when"] == first[1]["when"] and first[0]["offset"] == first[1]["offset"]
    assert first[0]["length"] == pytest.approx(first[1]["length"], abs=0.1)

    before = page.evaluate("window.stemroom.currentTime()")
    page.keyboard.press("ArrowRight")
    after = page.evaluate("window.stemroom.currentTime()")
    assert after == pytest.approx(before + 5, abs=0.5)
    # Seeking stops both and starts both again, together, at the new place.
    again = page.evaluate("window.starts.slice(2)")
    assert len(again) == 2 and page.evaluate("window.stemroom.player.sources.length") == 2
    assert again[0]["when"] == again[1]["when"] > first[0]["when"]
    assert again[0]["offset"] == again[1]["offset"] == pytest.approx(before + 5, abs=0.5)
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("window.stemroom.currentTime()") == pytest.approx(after - 5, abs=0.5)

    # V toggles the vocal guide between silent and its last level.
    assert page.evaluate("window.stemroom.vocalsGain.gain.value") == pytest.approx(0, abs=0.01)
    page.keyboard.press("v")
    page.wait_for_function("() => Math.abs(window.stemroom.vocalsGain.gain.value - 0.5) < 0.02")
    assert page.input_value("#vocal-guide") == "50"
    page.keyboard.press("v")
    page.wait_for_function("() => window.stemroom.vocalsGain.gain.value < 0.02")

    # Space pauses (the song position then stands still) and plays again.
    page.keyboard.press("Space")
    assert not page.evaluate("window.stemroom.playing()")
    paused_at = page.evaluate("window.stemroom.currentTime()")
    page.wait_for_timeout(400)
    assert page.evaluate("window.stemroom.currentTime()") == paused_at
    page.keyboard.press("Space")
    page.wait_for_function(f"() => window.stemroom.currentTime() > {paused_at + 0.2}")

    # Keys 1-4 switch the visualizer's view.
    page.keyboard.press("3")
    assert page.evaluate("window.stemroom.visualizer.mode") == "scope"
    assert page.get_attribute('.viz-mode[data-mode="scope"]', "aria-pressed") == "true"


def test_word_timed_lyrics_highlight_word_by_word_and_the_offset_is_saved(page, live_server, alice, ready_track):
    Lyrics.objects.create(
        track=ready_track, lrc="[00:00.10]Intro\n[00:00.50]Sing <00:00.60>one <00:02.40>two <00:30.00>never\n"
    )
    open_karaoke(page, live_server, alice, ready_track)
    assert page.locator("#lyrics .line").count() == 2
    play(page)
    page.wait_for_function("() => window.stemroom.currentLineIndex() === 1")
    line = page.locator('#lyrics .line[data-index="1"]')
    assert "current" in line.get_attribute("class")
    page.wait_for_function("() => window.stemroom.currentTime() > 2.6")
    sung = line.locator(".word.sung").all_inner_texts()
    assert sung == ["Sing", "one", "two"]  # "never" is at 30 s

    # A +5 s offset shows every line 5 s later: at ~3 s no line has begun yet.
    page.fill("#offset", "5000")
    page.press("#offset", "Enter")
    assert page.evaluate("[window.stemroom.currentLineIndex(), window.stemroom.currentTime() < 5]") == [-1, True]
    assert page.evaluate("window.stemroom.offsetMs()") == 5000
    page.wait_for_function("() => document.getElementById('lyrics-saved').textContent.includes('Offset saved')")
    assert Lyrics.objects.get(track=ready_track).offset_ms == 5000


def test_the_current_line_scrolls_into_view_with_the_next_one_shown(page, live_server, alice, ready_track):
    lrc = "".join(f"[00:{i // 4:02d}.{i % 4 * 25:02d}]Line number {i}\n" for i in range(56))  # 0.25 s apart
    Lyrics.objects.create(track=ready_track, lrc=lrc)
    open_karaoke(page, live_server, alice, ready_track)
    play(page)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")  # ~10 s in: line ~40, far below the first screenful
    page.wait_for_function("() => window.stemroom.currentLineIndex() >= 40")
    # Paused, so the lines (0.25 s apart) hold still while we read them on a busy machine.
    page.keyboard.press("Space")
    page.wait_for_function("() => !window.stemroom.playing()")
    index = page.evaluate("window.stemroom.currentLineIndex()")
    expect(page.locator("#next-text")).to_have_text(f"Line number {index + 1}")
    # Smooth scrolling settles with the current line in the middle of the lyrics box.
    page.wait_for_function(
        """() => {
          const box = document.getElementById("lyrics-box").getBoundingClientRect();
          const line = document.querySelector("#lyrics .line.current").getBoundingClientRect();
          return line.top > box.top + box.height * 0.25 && line.bottom < box.bottom - box.height * 0.25;
        }"""
    )


def test_tap_to_sync_turns_plain_lyrics_into_saved_lrc(page, live_server, alice, ready_track):
    open_karaoke(page, live_server, alice, ready_track)
    page.fill("#tap-text", "First line\n\nSecond line\nThird line\n")
    page.click("#tap-start")
    page.wait_for_function("() => window.stemroom.playing()")
    assert page.inner_text("#tap-next") == "First line"
    times = []
    for target in (0.5, 1.5, 2.5):
        page.wait_for_function(f"() => window.stemroom.currentTime() >= {target}")
        times.append(page.evaluate("window.stemroom.currentTime()"))
        page.keyboard.press("Enter" if target != 1.5 else "t")
    page.wait_for_function("() => document.getElementById('lyrics-saved').textContent.includes('Tapped lyrics saved')")

    saved = page.evaluate("() => fetch(document.getElementById('karaoke').dataset.lyrics).then((r) => r.json())")
    assert [line["text"] for line in saved["lines"]] == ["First line", "Second line", "Third line"]
    for line, tapped in zip(saved["lines"], times, strict=True):
        assert line["time"] == pytest.approx(tapped, abs=0.15)
    assert Lyrics.objects.get(track=ready_track).lrc.startswith("[00:00.")
    # The new lyrics are on stage at once.
    assert page.locator("#lyrics .line").count() == 3
    screenshot(page, "karaoke-tapped")


SAVED_LRC = "[00:00.10]Old first\n[00:00.90]Old second\n"


def tap_two_lines(page):
    """Tap "New first" and "New second" along the song: the second tap finishes and asks to save."""
    page.fill("#tap-text", "New first\nNew second\n")
    page.click("#tap-start")
    page.wait_for_function("() => window.stemroom.playing()")
    for target in (0.4, 0.8):
        page.wait_for_function(f"() => window.stemroom.currentTime() >= {target}")
        page.keyboard.press("Enter")


def test_tapping_over_saved_lyrics_asks_first_and_keeps_them_on_no(page, live_server, alice, ready_track):
    Lyrics.objects.create(track=ready_track, lrc=SAVED_LRC)
    open_karaoke(page, live_server, alice, ready_track)
    expect(page.locator("#lyrics .line")).to_have_count(2)
    tap_two_lines(page)
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Replace the saved lyrics?")
    expect(dialog).to_contain_text("2 lines")
    # The safe answer has the focus; Escape is "no" too.
    expect(page.locator("#confirm-no")).to_be_focused()
    screenshot(page, "karaoke-tap-confirm", full_page=False)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#lyrics-saved")).to_contain_text("Not saved")
    assert Lyrics.objects.get(track=ready_track).lrc == SAVED_LRC
    # Nothing tapped is lost: it waits in the LRC box.
    assert "]New second" in page.input_value("#lrc-text")


def test_tapping_over_saved_lyrics_replaces_them_on_yes_and_undo_puts_them_back(page, live_server, alice, ready_track):
    Lyrics.objects.create(track=ready_track, lrc=SAVED_LRC, offset_ms=250)
    open_karaoke(page, live_server, alice, ready_track)
    expect(page.locator("#lyrics .line")).to_have_count(2)
    tap_two_lines(page)
    expect(page.locator("#confirm-dialog")).to_be_visible()
    page.keyboard.press("Shift+Tab")  # keyboard only: back to "Replace them"
    expect(page.locator("#confirm-yes")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#lyrics-saved")).to_contain_text("Tapped lyrics saved: 2 lines.")
    assert "New first" in Lyrics.objects.get(track=ready_track).lrc
    expect(page.locator("#lyrics .line").first).to_have_text("New first")

    page.click("#lyrics-undo")
    expect(page.locator("#lyrics-saved")).to_have_text("Undone: the lyrics from before are back.")
    restored = Lyrics.objects.get(track=ready_track)
    assert (restored.lrc, restored.offset_ms) == (SAVED_LRC, 250)
    expect(page.locator("#lyrics .line").first).to_have_text("Old first")
    expect(page.locator("#lyrics-undo")).to_be_hidden()


def test_undo_after_the_first_tapped_lyrics_removes_them(page, live_server, alice, ready_track):
    open_karaoke(page, live_server, alice, ready_track)
    tap_two_lines(page)
    # No saved lyrics to lose: no question.
    expect(page.locator("#lyrics-saved")).to_contain_text("Tapped lyrics saved")
    expect(page.locator("#confirm-dialog")).to_be_hidden()
    page.click("#lyrics-undo")
    expect(page.locator("#lyrics-saved")).to_have_text("Undone: this song has no lyrics again.")
    assert not Lyrics.objects.filter(track=ready_track).exists()
    expect(page.locator("#lyrics-empty")).to_be_visible()


def test_the_visualizer_is_sharp_on_hidpi_screens_and_fills_the_screen(browser, live_server, alice, ready_track):
    context = browser.new_context(viewport=DESKTOP, device_scale_factor=2, base_url=live_server.url)
    try:
        page = context.new_page()
        open_karaoke(page, live_server, alice, ready_track)
        size = "(() => { const c = document.getElementById('viz'); return [c.width, c.height, c.clientWidth, c.clientHeight]; })()"
        width, height, css_width, css_height = page.evaluate(size)
        assert (width, height) == (2 * css_width, 2 * css_height)

        page.keyboard.press("f")  # stage mode
        page.wait_for_function("() => window.stemroom.stageMode()")
        page.wait_for_function(f"() => document.getElementById('viz').width === {2 * DESKTOP['width']}")
        assert page.evaluate(size)[1] == 2 * DESKTOP["height"]

        # Drawn every frame the display shows while it plays (headless Chromium runs at about 60 Hz).
        page.click("#stage-play")
        page.wait_for_function("() => window.stemroom.currentTime() > 0.2")
        frames = page.evaluate(
            "new Promise((done) => { const f = window.stemroom.visualizer.frames;"
            " setTimeout(() => done(window.stemroom.visualizer.frames - f), 1000); })"
        )
        assert frames >= 20
        assert lit_fraction(page) > 0.01

        # The track page's visualizer goes full screen too (F), at the screen's pixel density.
        page.goto(f"/tracks/{ready_track.pk}/")
        page.keyboard.press("f")
        expect(page.locator("#viz-panel")).to_have_class("viz-panel is-fullscreen")
        page.wait_for_function(f"() => document.getElementById('viz').width === {2 * DESKTOP['width']}")
        screenshot(page, "track-visualizer-fullscreen", full_page=False)
    finally:
        context.close()
