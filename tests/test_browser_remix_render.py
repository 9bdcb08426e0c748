"""A server mixdown equals the browser's preview of the same mix, sample for sample (within 16-bit rounding).

The mix is set through the track page's mixer, saved and rendered from the page; the
server side is library.tasks.render_mixdown (what the worker runs), the browser side is
the page's own preview graph (StemPlayer strips: gain -> StereoPannerNode, set by
applyMix) rendered in an OfflineAudioContext from the lossless stems, so codec noise
cannot hide a difference. The stems are a generated song's true vocals and accompaniment
stored as a finished job (tests.browser.finished_stems): no TensorFlow.
"""

import base64

import numpy as np
import pytest
import soundfile as sf
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from library.ingest import ingest
from library.models import Mixdown, Remix
from library.tasks import render_mixdown
from tests.browser import browser_fixture, finished_stems, page_fixture, screenshot, sign_in  # noqa: F401 (fixtures)
from tests.eval_songs import generate_song, read, sdr

pytestmark = pytest.mark.browser

# The preview rendered offline, each channel's float32 samples as base64 (JSON would be 10x larger).
RENDER_PREVIEW_JS = """async () => {
  const buffer = await window.stemroom.renderPreview("flac");
  const channels = [];
  for (let c = 0; c < buffer.numberOfChannels; c += 1) {
    const bytes = new Uint8Array(buffer.getChannelData(c).buffer);
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    channels.push(btoa(text));
  }
  return { rate: buffer.sampleRate, channels };
}"""


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return generate_song(tmp_path_factory.mktemp("remix-render-song"), seconds=8, seed=5)


@pytest.fixture
def ready_track(live_server, alice, song):
    upload = SimpleUploadedFile("song.wav", (song / "mixture.wav").read_bytes())
    track = ingest(alice, upload, title="Render Song", artist="The Testers").track
    finished_stems(track, song)
    return track


def set_strip(page, name, *, gain_db=None, pan=None, mute=None, solo=None):
    """Move one stem's controls the way a person would: sliders and toggle buttons."""
    if gain_db is not None:
        page.fill(f"#mix-{name}-gain", str(gain_db))
    if pan is not None:
        page.fill(f"#mix-{name}-pan", str(pan))
    for flag, wanted in (("mute", mute), ("solo", solo)):
        button = page.locator(f"#mix-{name}-{flag}")
        if wanted is not None and (button.get_attribute("aria-pressed") == "true") != wanted:
            button.click()
        if wanted is not None:
            expect(button).to_have_attribute("aria-pressed", str(wanted).lower())


def browser_preview(page):
    rendered = page.evaluate(RENDER_PREVIEW_JS)
    assert rendered["rate"] == 44100
    channels = [np.frombuffer(base64.b64decode(text), dtype=np.float32) for text in rendered["channels"]]
    return np.stack(channels, axis=1)


def render_on_the_server(page, remix):
    """Press Render, run the worker's task, and wait for the page to offer the downloads."""
    page.click("#remix-render")
    expect(page.locator("#mixdown-status")).to_have_text("Waiting for a worker…")
    mixdown = Mixdown.objects.get(remix=remix, stems=remix.stems)
    render_mixdown(str(mixdown.pk))
    mixdown.refresh_from_db()
    assert mixdown.status == Mixdown.Status.SUCCEEDED, mixdown.error
    # The page was polling: the links appear without a reload.
    expect(page.locator("#mixdown-flac")).to_be_visible()
    flac = page.request.get(page.locator("#mixdown-flac").get_attribute("href"))
    assert flac.ok and flac.body()[:4] == b"fLaC"
    assert page.request.get(page.locator("#mixdown-mp3").get_attribute("href")).ok
    samples, rate = sf.read(mixdown.flac.path, dtype="float32", always_2d=True)
    assert rate == 44100
    return samples


def assert_render_matches_preview(render, preview):
    assert render.shape == preview.shape, (render.shape, preview.shape)
    # Loud enough to mean something, and unclipped (clipping would differ for another reason).
    assert 0.1 < np.abs(render).max() < 0.99
    difference = np.abs(render - preview).max()
    assert difference < 1e-3, f"largest difference {difference:.2e}"
    # The rest is the mixdown's 16-bit rounding, ~90 dB down.
    assert sdr(preview, render) > 50


def test_the_server_render_equals_the_browser_preview(page, live_server, alice, ready_track, song):
    sign_in(page, live_server, alice)
    page.goto(f"/tracks/{ready_track.pk}/")
    expect(page.locator("#mix-strips .mix-strip")).to_have_count(2)
    vocals, accompaniment = read(song / "vocals.wav"), read(song / "accompaniment.wav")

    # Solo wins over mute: both stems are soloed, so the muted accompaniment still sounds.
    set_strip(page, "vocals", gain_db=-4.5, pan=-0.6, solo=True)
    set_strip(page, "accompaniment", gain_db=-2, pan=0.35, mute=True, solo=True)
    page.fill("#remix-name", "Both soloed")
    page.click("#remix-save")
    expect(page.locator("#remix-status")).to_have_text("Saved “Both soloed”.")
    remix = Remix.objects.get(owner=alice)
    assert remix.stems == {
        "vocals": {"gain_db": -4.5, "mute": False, "solo": True, "pan": -0.6},
        "accompaniment": {"gain_db": -2.0, "mute": True, "solo": True, "pan": 0.35},
    }
    preview = browser_preview(page)
    render = render_on_the_server(page, remix)
    screenshot(page, "remix-mixer-rendered")
    assert_render_matches_preview(render, preview)
    # The settings matter: this is far from the plain mixture of the stems.
    assert sdr(preview, vocals + accompaniment) < 10

    # A muted stem is silent when nothing is soloed.
    set_strip(page, "vocals", mute=True, solo=False)
    set_strip(page, "accompaniment", mute=False, solo=False)
    expect(page.locator('.mix-strip[data-stem="vocals"]')).to_have_class("mix-strip silent")
    page.click("#remix-save")
    expect(page.locator("#remix-status")).to_have_text("Saved the changes to “Both soloed”.")
    remix.refresh_from_db()
    assert remix.stems["vocals"] == {"gain_db": -4.5, "mute": True, "solo": False, "pan": -0.6}
    preview = browser_preview(page)
    render = render_on_the_server(page, remix)
    assert_render_matches_preview(render, preview)
    # Only the accompaniment, at -2 dB and 35% right: its left side is only attenuated.
    left = accompaniment[: len(preview), 0] * 10 ** (-2 / 20) * np.cos(0.35 * np.pi / 2)
    assert np.abs(preview[:, 0] - left).max() < 1e-3
