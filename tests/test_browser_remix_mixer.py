"""The track page's mixer in a real Chromium: live changes glide the playing strips without restarting
anything, saved remixes reopen from "My remixes", update and delete, and it all fits a phone.

The stems are a generated song's true vocals and accompaniment stored as a finished job
(tests.browser.finished_stems), so these tests need no TensorFlow.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from library import mixing
from library.ingest import ingest
from library.models import Remix
from separation.models import SeparationJob
from tests.browser import PHONE, browser_fixture, finished_stems, page_fixture, screenshot, sign_in  # noqa: F401 (fixtures)
from tests.eval_songs import generate_song

pytestmark = pytest.mark.browser

# Before the page's scripts: record every source start() and every way an AudioParam is
# moved, so the test sees whether a change restarted playback or jumped a value.
RECORD_AUDIO = """
window.starts = [];
const start = AudioBufferSourceNode.prototype.start;
AudioBufferSourceNode.prototype.start = function (when, offset) {
  window.starts.push({ when, offset });
  return start.apply(this, arguments);
};
window.paramMoves = [];
const value = Object.getOwnPropertyDescriptor(AudioParam.prototype, "value");
Object.defineProperty(AudioParam.prototype, "value", {
  configurable: true,
  get: value.get,
  set(v) {
    window.paramMoves.push({ how: "value", to: v });
    value.set.call(this, v);
  },
});
for (const how of ["setValueAtTime", "setTargetAtTime", "linearRampToValueAtTime", "exponentialRampToValueAtTime", "setValueCurveAtTime"]) {
  const original = AudioParam.prototype[how];
  AudioParam.prototype[how] = function (...args) {
    window.paramMoves.push({ how, to: args[0] });
    return original.apply(this, args);
  };
}
"""


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return generate_song(tmp_path_factory.mktemp("remix-mixer-song"), seconds=12, seed=8)


@pytest.fixture
def ready_track(live_server, alice, song):
    upload = SimpleUploadedFile("song.wav", (song / "mixture.wav").read_bytes())
    track = ingest(alice, upload, title="Mixer Song", artist="The Testers").track
    finished_stems(track, song)
    return track


def open_track(page, live_server, user, track, query=""):
    sign_in(page, live_server, user)
    page.goto(f"/tracks/{track.pk}/{query}")
    expect(page.locator("#mix-strips .mix-strip")).to_have_count(2)


def play_the_mix(page):
    """The track page's one player: pick the mix, then Play."""
    page.check("#source-mix")
    page.click("#play")


def wait_for_param(page, stem, param, expected):
    node = "gain" if param == "gain" else "panner"
    page.wait_for_function(
        f"() => Math.abs(window.stemroom.player.{node}('{stem}').{param}.value - {expected}) < 1e-3", timeout=5_000
    )


def test_mixer_changes_glide_the_playing_strips_without_restarting_them(page, live_server, alice, ready_track):
    page.add_init_script(RECORD_AUDIO)
    open_track(page, live_server, alice, ready_track)
    play_the_mix(page)
    page.wait_for_function("() => window.stemroom.playing() && window.stemroom.currentTime() > 0.3")
    assert len(page.evaluate("window.starts")) == 2
    page.evaluate(
        """() => {
          const p = window.stemroom.player;
          window.before = { sources: p.sources.slice(), gain: p.gain("vocals"), pan: p.panner("vocals") };
          window.paramMoves = [];
        }"""
    )

    page.fill("#mix-vocals-gain", "-12")
    wait_for_param(page, "vocals", "gain", 10 ** (-12 / 20))
    expect(page.locator('label[for="mix-vocals-gain"] output')).to_have_text("−12 dB")
    # The keyboard works the sliders: four steps right is 20% right.
    page.focus("#mix-vocals-pan")
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    wait_for_param(page, "vocals", "pan", 0.2)
    expect(page.locator('label[for="mix-vocals-pan"] output')).to_have_text("R 20")

    # Mute silences the accompaniment; soloing it too brings it back (solo wins) and silences the vocals.
    page.click("#mix-accompaniment-mute")
    wait_for_param(page, "accompaniment", "gain", 0)
    page.focus("#mix-accompaniment-solo")
    page.keyboard.press("Enter")
    wait_for_param(page, "accompaniment", "gain", 1)
    wait_for_param(page, "vocals", "gain", 0)
    expect(page.locator('.mix-strip[data-stem="vocals"]')).to_have_class("mix-strip silent")

    # Still the very same sources and strips, playing on: nothing was restarted or rebuilt...
    assert len(page.evaluate("window.starts")) == 2
    assert page.evaluate(
        """() => {
          const p = window.stemroom.player;
          return p.playing && p.sources.length === 2 && p.sources.every((s, i) => s === window.before.sources[i])
            && p.gain("vocals") === window.before.gain && p.panner("vocals") === window.before.pan;
        }"""
    )
    # ...and every change glided (setTargetAtTime); no value jumped while playing.
    moves = page.evaluate("window.paramMoves")
    assert moves and {move["how"] for move in moves} == {"setTargetAtTime"}
    at = page.evaluate("window.stemroom.currentTime()")
    page.wait_for_function(f"() => window.stemroom.currentTime() > {at + 0.3}")
    # Space pauses the mix (the last player used), not the track's own player.
    page.focus("#mix-vocals-gain")
    page.keyboard.press("Space")
    assert not page.evaluate("window.stemroom.playing()")
    assert page.evaluate("document.getElementById('player').paused")


def test_a_saved_remix_reopens_from_my_remixes_updates_and_deletes(page, live_server, alice, ready_track):
    job = SeparationJob.objects.get(sha256=ready_track.sha256)
    remix = Remix.objects.create(
        owner=alice,
        track=ready_track,
        job=job,
        name="Quiet vocals",
        stems=mixing.normalize(
            {"vocals": {"gain_db": -9, "pan": 0.5}, "accompaniment": {"mute": True}}, job.stem_names
        ),
        title=ready_track.title,
        artist=ready_track.artist,
    )
    sign_in(page, live_server, alice)
    page.goto("/remixes/")
    card = page.locator(f'.remix-card[data-remix="{remix.pk}"]')
    expect(card).to_contain_text("Quiet vocals")
    expect(card).to_contain_text("Mixer Song · The Testers")
    card.get_by_role("link").click()
    page.wait_for_url(f"**/tracks/{ready_track.pk}/?remix={remix.pk}")
    expect(page.locator("#mixer-editing")).to_have_text("Editing “Quiet vocals”")
    expect(page.locator("#mix-vocals-gain")).to_have_value("-9")
    expect(page.locator("#mix-vocals-pan")).to_have_value("0.5")
    expect(page.locator("#mix-accompaniment-mute")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(f'#remix-list li[data-remix="{remix.pk}"]')).to_have_attribute("aria-current", "true")
    expect(page.locator("#mixdown-status")).to_have_text("Not rendered yet.")

    # Playing it sounds as saved: opening a remix points the one player at the mix.
    expect(page.locator("#source-mix")).to_be_checked()
    page.click("#play")
    page.wait_for_function("() => window.stemroom.playing()")
    wait_for_param(page, "vocals", "gain", 10 ** (-9 / 20))
    wait_for_param(page, "accompaniment", "gain", 0)

    # Edit and save: the changes are marked until saved, then stored.
    expect(page.locator("#remix-save")).to_be_disabled()
    page.fill("#mix-vocals-gain", "3")
    expect(page.locator("#mixer-editing")).to_have_text("Editing “Quiet vocals” · unsaved changes")
    page.fill("#remix-name", "Loud vocals")
    page.press("#remix-name", "Enter")
    expect(page.locator("#remix-status")).to_have_text("Saved the changes to “Loud vocals”.")
    remix.refresh_from_db()
    assert (remix.name, remix.stems["vocals"]["gain_db"]) == ("Loud vocals", 3.0)
    assert Remix.objects.count() == 1

    # Save as new makes a second remix of this song; the list shows both.
    page.fill("#remix-name", "Copy")
    page.click("#remix-save-new")
    expect(page.locator("#remix-status")).to_have_text("Saved “Copy”.")
    expect(page.locator("#remix-list li")).to_have_count(2)
    copy = Remix.objects.get(name="Copy")
    assert copy.stems == remix.stems and copy.track == ready_track

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#remix-delete")
    expect(page.locator("#remix-status")).to_have_text("Deleted “Copy”.")
    expect(page.locator("#remix-list li")).to_have_count(1)
    assert list(Remix.objects.values_list("name", flat=True)) == ["Loud vocals"]
    assert "remix=" not in page.url


def test_the_mixer_fits_a_phone(browser, live_server, alice, ready_track):
    context = browser.new_context(viewport=PHONE, base_url=live_server.url)
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        open_track(page, live_server, alice, ready_track)
        page.locator("#mixer").scroll_into_view_if_needed()
        screenshot(page, "remix-mixer-phone")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        # Each slider keeps a usable width beside its label and value.
        for slider in ("#mix-vocals-gain", "#mix-vocals-pan", "#mix-accompaniment-gain"):
            box = page.locator(slider).bounding_box()
            assert box["width"] > 0.45 * PHONE["width"] and box["height"] > 10, slider
        assert not errors
    finally:
        context.close()
