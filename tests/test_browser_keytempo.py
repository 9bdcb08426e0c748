"""Key and tempo change on the karaoke page, in a real Chromium with a real django-q2 worker rendering.

Choosing +2 semitones at 80 % while the song plays: the page shows the render's progress,
then switches to the rendered stems without restarting -- the song's position keeps going
through the switch and on at 80 % speed --, the shown key moves up, the lyrics stay on the
original timeline, and the page tells the pitch coach (``stemroom:keytempo``). Going back to the
original and to the rendered version again (reused, not rendered twice) happen while it plays.
The stems are a generated song's true stems stored as a finished job (tests.browser.finished_stems).
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from library.ingest import ingest
from library.models import Lyrics
from separation.models import Analysis, StemVersion
from tests.browser import WIDTHS, browser_fixture, finished_stems, page_fixture, screenshot, sign_in  # noqa: F401 (fixtures)
from tests.eval_songs import generate_song

pytestmark = pytest.mark.browser

SECONDS = 20
NOTES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]

# Every 50 ms: the song position (original timeline), whether it plays, the version in effect, the lyric line.
RECORD_JS = """() => {
  window.ktEvents = [];
  document.addEventListener("stemroom:keytempo", (event) => window.ktEvents.push(event.detail));
  window.ktTrace = [];
  setInterval(() => {
    const s = window.stemroom, kt = s.keyTempo();
    window.ktTrace.push({ wall: performance.now() / 1000, song: s.currentTime() * kt.tempo / 100,
                          playing: s.playing(), tempo: kt.tempo, line: s.currentLineIndex() });
  }, 50);
}"""


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return generate_song(tmp_path_factory.mktemp("keytempo-browser-song"), seconds=SECONDS, seed=21)


@pytest.fixture
def renders_only(monkeypatch):
    """The worker renders key/tempo versions here; loading Spleeter at its start (~25 s on 2 busy cores) is not needed."""
    monkeypatch.setenv("SEPARATION_PRELOAD_MODELS", "")


@pytest.fixture
def ready_track(live_server, alice, song):
    upload = SimpleUploadedFile("song.wav", (song / "mixture.wav").read_bytes())
    track = ingest(alice, upload, title="Key Song", artist="The Testers").track
    finished_stems(track, song)
    # One lyric line every 2 s of the original song.
    Lyrics.objects.create(track=track, lrc="\n".join(f"[00:{2 * i:02d}.00]Line {i}" for i in range(15)))
    return track


def is_in_effect(page, semitones, tempo, timeout=30_000):
    page.wait_for_function(
        "([s, t]) => { const kt = window.stemroom.keyTempo(); return kt.semitones === s && kt.tempo === t; }",
        arg=[semitones, tempo],
        timeout=timeout,
    )


def restart_the_trace(page):
    """Empties the trace and waits for samples of the version now playing, so a switch has a "before"
    (the original is kept in memory: switching back can take effect before the next 50 ms sample)."""
    page.evaluate("() => { window.ktTrace = []; }")
    page.wait_for_function("() => window.ktTrace.length >= 3")


def check_the_switch(trace, tempo):
    """The position went on through the switch to ``tempo``, and on at that speed; returns the samples after it."""
    switch = next(i for i, sample in enumerate(trace) if sample["tempo"] == tempo)
    before, after = trace[:switch], trace[switch:]
    assert before, "no sample of the version before the switch"
    assert all(s["playing"] for s in trace), "it stopped"
    # Never back, never more than a moment ahead (the switch is scheduled 0.15 s ahead).
    steps = [b["song"] - a["song"] for a, b in zip(trace, trace[1:], strict=False)]
    assert min(steps) > -0.02 and max(steps) < 0.3, (min(steps), max(steps))
    settled = [s for s in after if s["wall"] > after[0]["wall"] + 0.3]
    rate = (settled[-1]["song"] - settled[0]["song"]) / (settled[-1]["wall"] - settled[0]["wall"])
    assert rate == pytest.approx(tempo / 100, abs=0.06)
    return after


def test_changing_key_and_tempo_switches_without_restarting(
    page, live_server, renders_only, worker_cluster, alice, ready_track
):
    sign_in(page, live_server, alice)
    page.set_viewport_size(WIDTHS["1366"])
    page.goto(f"/tracks/{ready_track.pk}/karaoke/")
    page.wait_for_function("() => window.stemroom && window.stemroom.ready()")
    page.wait_for_function("() => !document.getElementById('key-tempo').disabled")
    # The song's key comes from its analysis (separation.analysis), which the worker makes on first ask.
    page.wait_for_function("() => document.getElementById('kt-shown').textContent.startsWith('Key:')", timeout=120_000)
    analysis = Analysis.objects.get(job__sha256=ready_track.sha256)
    bpm = analysis.tempo
    assert page.inner_text("#kt-shown") == f"Key: {analysis.key} {analysis.mode} · {round(bpm)} BPM · original tempo"
    page.evaluate(RECORD_JS)
    page.click("#play")
    page.wait_for_function("() => window.stemroom.playing() && window.stemroom.currentTime() > 1")

    # The first time, the worker renders it: its progress shows while the original plays on.
    page.select_option("#kt-key", "2")
    page.select_option("#kt-tempo", "80")
    page.wait_for_selector("#kt-busy", state="visible")
    assert "+2 semitones at 80 %" in page.inner_text("#kt-status")
    assert page.evaluate("() => window.stemroom.playing()")
    screenshot(page, "keytempo-rendering-1366")
    # (a render takes seconds; on a loaded machine the song may be over by then, so the
    # switch while playing is timed below, with the render ready)
    is_in_effect(page, 2, 80, timeout=120_000)
    assert page.evaluate("() => window.ktEvents") == [{"semitones": 2, "tempo": 80}]
    up_two = NOTES[(NOTES.index(analysis.key) + 2) % 12]
    shown = f"Key: {up_two} {analysis.mode} (+2) · {round(bpm * 0.8)} BPM · 80 % tempo"
    assert page.inner_text("#kt-shown") == shown
    assert page.locator("#kt-busy").is_hidden()
    duration = page.evaluate("() => window.stemroom.player.duration")
    assert duration == pytest.approx(SECONDS * 100 / 80, rel=0.01)

    # Playing from 4 s into the +2/80 version: back to the original (kept in memory) ...
    page.fill("#seek", "4")
    if not page.evaluate("() => window.stemroom.playing()"):
        page.click("#play")
    page.wait_for_function("() => window.stemroom.playing() && window.stemroom.currentTime() > 4.5")
    restart_the_trace(page)
    page.click("#kt-reset")
    is_in_effect(page, 0, 100)
    page.wait_for_timeout(1200)
    check_the_switch(page.evaluate("() => window.ktTrace"), 100)
    assert page.inner_text("#kt-shown").endswith("original tempo")

    # ... and to +2/80 again: rendered already, so only downloaded; the song goes on.
    restart_the_trace(page)
    page.select_option("#kt-key", "2")
    page.select_option("#kt-tempo", "80")
    is_in_effect(page, 2, 80)
    page.wait_for_timeout(1500)
    after = check_the_switch(page.evaluate("() => window.ktTrace"), 80)
    # The lyrics follow the original timeline (one line every 2 s of it); a sample may catch
    # the line a frame before the lyrics redraw, so nine in ten must agree.
    on_time = [s["line"] == int(s["song"] // 2) for s in after]
    assert sum(on_time) >= 0.9 * len(on_time), [(round(s["song"], 2), s["line"]) for s in after]
    assert page.evaluate("() => window.ktEvents") == [
        {"semitones": 2, "tempo": 80},
        {"semitones": 0, "tempo": 100},
        {"semitones": 2, "tempo": 80},
    ]
    assert StemVersion.objects.filter(semitones=2, tempo=80, status="succeeded").count() == 1
    assert StemVersion.objects.count() == 1
    screenshot(page, "keytempo-switched-1366")

    page.set_viewport_size(WIDTHS["390"])
    page.locator("#key-tempo").scroll_into_view_if_needed()
    screenshot(page, "keytempo-390")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
