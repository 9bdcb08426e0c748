"""The karaoke coach in a real Chromium whose microphone is a file (Chromium's fake capture device).

Singing a generated song's true vocals must score at least 90 % of 10,000; the same vocals
3 semitones sharp at most 40 %; silence 0; a denied microphone says so and leaves the player
working. Each case launches its own Chromium: the fake microphone's file is a launch flag.

Alignment: the fake device starts its file when the page opens the microphone, and "Sing"
starts the song at the position the microphone has been open for (coach.js), so file time
and song time agree; the test checks that the page measured them within 30 ms.
"""

import subprocess
from contextlib import contextmanager

import numpy as np
import pytest
import soundfile as sf
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from library.ingest import ingest
from library.models import Lyrics, Score
from separation.analysis import analyse
from separation.models import Analysis
from tests.browser import (
    OVERLAPS_JS,
    WIDTHS,
    console_error,
    finished_stems,
    launch_chromium,
    screenshot,
    sign_in,
)
from tests.eval_songs import generate_song

pytestmark = pytest.mark.browser

SECONDS = 20
FAKE_MIC = ["--use-fake-device-for-media-stream"]


def microphone_playing(wav):
    """Chromium flags: a microphone that plays ``wav`` from when the page opens it, allowed without asking."""
    return ["--use-fake-ui-for-media-stream", *FAKE_MIC, f"--use-file-for-fake-audio-capture={wav}"]


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    folder = generate_song(tmp_path_factory.mktemp("coach-song"), seconds=SECONDS, seed=21)
    vocals, rate = sf.read(str(folder / "vocals.wav"), always_2d=True)
    sf.write(str(folder / "silence.wav"), np.zeros_like(vocals), rate, subtype="PCM_16")
    # A click every 0.7 s (the calibration's own spacing), so each click the page plays is followed by one heard.
    clicks = np.zeros((rate * 6, 1))
    for start in np.arange(0.35, 6, 0.7):
        clicks[int(start * rate) : int(start * rate) + 200] = 0.8
    sf.write(str(folder / "clicks.wav"), clicks, rate, subtype="PCM_16")
    # Rubber Band keeps the timing and moves every pitch up 3 semitones.
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(folder / "vocals.wav")]
        + ["-af", f"rubberband=pitch={2 ** (3 / 12):.6f}", str(folder / "sharp.wav")],
        check=True,
    )
    return folder


@pytest.fixture(scope="module")
def melody(song):
    """The real analysis (separation.analysis) of the song's stems, run once for the module (~10 s)."""
    return analyse(song / "vocals.wav", song / "accompaniment.wav")


@pytest.fixture
def track(live_server, alice, song, melody):
    """A split track with lyrics and a finished analysis: its notes are what the coach scores against."""
    upload = SimpleUploadedFile("song.wav", (song / "mixture.wav").read_bytes())
    track = ingest(alice, upload, title="Coached Song", artist="The Testers").track
    job = finished_stems(track, song)
    Lyrics.objects.create(track=track, lrc=(song / "lyrics.lrc").read_text())
    Analysis.objects.create(job=job, status=Analysis.Status.SUCCEEDED, progress=100, **melody)
    return track, job


@contextmanager
def chromium(live_server, *args):
    """A page in its own Chromium launched with ``args``; it fails the test on any JavaScript error."""
    errors = []
    with launch_chromium(*args) as browser:
        context = browser.new_context(viewport=WIDTHS["1366"], base_url=live_server.url)
        context.set_default_timeout(20_000)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if console_error(msg) else None)
        yield page
    assert not errors, "JavaScript errors:\n" + "\n".join(errors)


def open_coach(page, live_server, alice, track, song):
    sign_in(page, live_server, alice)
    page.goto(f"/tracks/{track.pk}/karaoke/")
    page.wait_for_function("() => window.stemroom && window.stemroom.ready()")
    page.wait_for_function("() => window.stemroom.coach.notes().length > 0")


def sing_to_the_end(page, *, seek_to_end=False, photograph=False):
    page.click("#coach-sing")
    page.wait_for_function("() => window.stemroom.coach.running()")
    alignment = page.evaluate("window.stemroom.coach.alignment()")
    assert alignment is not None and abs(alignment) < 0.03, alignment
    if photograph:
        page.wait_for_function("() => window.stemroom.currentTime() > 10")
        photograph_the_coach(page)
    if seek_to_end:
        page.wait_for_function("() => window.stemroom.currentTime() > 4")
        page.evaluate(f"window.stemroom.player.seek({SECONDS - 1})")
    page.wait_for_function("() => window.stemroom.coach.final() !== null", timeout=(SECONDS + 15) * 1000)
    page.wait_for_function("() => window.stemroom.coach.saved() !== null")
    final = page.evaluate("window.stemroom.coach.final()")
    print(f"final score {final}, lines {page.evaluate('window.stemroom.coach.lineScores()')}")
    return final


def test_singing_the_true_vocals_scores_at_least_90_percent(live_server, alice, track, song):
    track, job = track
    with chromium(live_server, *microphone_playing(song / "vocals.wav")) as page:
        open_coach(page, live_server, alice, track, song)
        final = sing_to_the_end(page, photograph=True)
        assert final >= 9000
        lines = page.evaluate("window.stemroom.coach.lineScores()")
        assert len(lines) == 4  # the song's four lyric lines within 20 s
        assert all(line["points"] >= 0.8 * line["max"] for line in lines), lines
        expect(page.locator("#coach-line")).to_contain_text(f"Final score: {final:,} of 10,000.")
        expect(page.locator("#coach-best")).to_have_text(f"Personal best: {final:,}")
        assert list(Score.objects.filter(track=track).values_list("score", "difficulty")) == [(final, "medium")]
        screenshot(page, "karaoke-coach-final", full_page=False)


def photograph_the_coach(page):
    """The karaoke page mid-song with the coach on, at both widths: nothing sideways, nothing overlapping."""
    for width, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        page.locator("#coach").scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        assert page.evaluate(OVERLAPS_JS) == []
        screenshot(page, f"karaoke-coach-{width}", full_page=False)
    page.set_viewport_size(WIDTHS["1366"])


def test_singing_3_semitones_sharp_scores_at_most_40_percent(live_server, alice, track, song):
    track, job = track
    with chromium(live_server, *microphone_playing(song / "sharp.wav")) as page:
        open_coach(page, live_server, alice, track, song)
        final = sing_to_the_end(page)
        assert final <= 4000


def test_silence_scores_0(live_server, alice, track, song):
    track, job = track
    with chromium(live_server, *microphone_playing(song / "silence.wav")) as page:
        open_coach(page, live_server, alice, track, song)
        assert sing_to_the_end(page, seek_to_end=True) == 0
        assert Score.objects.get(track=track).score == 0

        # Calibrating in silence hears no click: it says so and keeps the delay it had.
        page.click("#coach-calibrate")
        expect(page.locator("#coach-error")).to_contain_text("The coach did not hear the clicks.", timeout=10_000)
        assert page.evaluate("window.localStorage.getItem('stemroom.coach.latencyMs')") is None
        expect(page.locator("#coach-latency")).to_have_text("Microphone delay: 0 ms (not calibrated).")


def test_the_calibration_measures_the_delay_of_a_click_and_keeps_it_in_this_browser(live_server, alice, track, song):
    track, job = track
    with chromium(live_server, *microphone_playing(song / "clicks.wav")) as page:
        open_coach(page, live_server, alice, track, song)
        page.click("#coach-calibrate")
        status = page.locator("#coach-status")
        expect(status).to_contain_text("saved for this browser", timeout=10_000)
        stored = page.evaluate("window.localStorage.getItem('stemroom.coach.latencyMs')")
        assert 0 <= int(stored) <= 700
        assert f"hears the song {stored} ms late" in status.inner_text()
        page.reload()
        page.wait_for_function("() => window.stemroom && window.stemroom.coach")
        expect(page.locator("#coach-latency")).to_have_text(f"Microphone delay: {stored} ms.")
        assert page.evaluate("window.stemroom.coach.latency()") == int(stored) / 1000


def test_a_denied_microphone_says_so_and_the_player_still_plays(live_server, alice, track, song):
    track, job = track
    # No fake UI: the permission prompt is dismissed, as a "Block" would.
    with chromium(live_server, *FAKE_MIC) as page:
        open_coach(page, live_server, alice, track, song)
        page.click("#coach-sing")
        error = page.locator("#coach-error")
        expect(error).to_be_visible()
        expect(error).to_contain_text("The microphone is blocked for this site")
        assert not page.evaluate("window.stemroom.coach.listening()")
        page.click("#play")
        page.wait_for_function("() => window.stemroom.playing() && window.stemroom.currentTime() > 0.3")
        assert not Score.objects.exists()

        # A key and tempo change (key-tempo.js announces it) moves the bars: 2 semitones up, at half speed.
        before = page.evaluate("window.stemroom.coach.notes()")
        page.evaluate(
            "document.dispatchEvent(new CustomEvent('stemroom:keytempo', {detail: {semitones: 2, tempo: 50}}))"
        )
        after = page.evaluate("window.stemroom.coach.notes()")
        assert [n["midi"] for n in after] == [n["midi"] + 2 for n in before]
        assert [n["start"] for n in after] == pytest.approx([2 * n["start"] for n in before])
        assert [n["end"] for n in after] == pytest.approx([2 * n["end"] for n in before])
