"""Sing now: the karaoke page plays a song while the real worker is still splitting it.

A real worker cluster and a real Chromium: Split on the karaoke page starts the job, the
player schedules each progressive chunk on the one AudioContext clock, crosses chunk seams
without a gap, moves to the finished stems, and says so when the job is cancelled or its
worker dies.
"""

import os
import signal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from library.ingest import ingest
from separation.audio import PEAK_BIN_SAMPLES
from separation.chunks import CHUNK_FRAMES
from separation.models import SeparationJob
from tests.browser import PHONE, browser_fixture, page_fixture, screenshot, sign_in  # noqa: F401 (fixtures)
from tests.eval_songs import generate_song
from tests.workers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.worker]

SEAM = CHUNK_FRAMES / 44100  # seconds: where chunk 0 ends and chunk 1 begins
SONG_PEAKS = -(-240 * 44100 // PEAK_BIN_SAMPLES)  # the finished stems' peak count (one per 60 ms)
CHUNK_PEAKS = CHUNK_FRAMES // PEAK_BIN_SAMPLES

# How much of a stem waveform canvas is inked, left and right of a cut: at `split` (a fraction
# of its width), or when `split` is null just past where its drawn peaks reach in the whole song.
WAVE_INK = """([id, split, songPeaks]) => {
  const canvas = document.getElementById(id);
  const { width, height } = canvas;
  const pixels = canvas.getContext("2d").getImageData(0, 0, width, height).data;
  const peaks = Number(canvas.dataset.peaks);
  const cut = split === null ? Math.ceil((peaks / songPeaks) * width) + 6 : Math.round(split * width);
  let left = 0, right = 0;
  for (let i = 3; i < pixels.length; i += 4) {
    if (!pixels[i]) continue;
    if ((i >> 2) % width < cut) left += 1; else right += 1;
  }
  return { peaks, left: left / (cut * height), right: right / ((width - cut) * height) };
}"""

# Every AudioBufferSourceNode.start(), with its buffer's length and the wall clock of the first.
RECORD_STARTS = """
window.starts = [];
const start = AudioBufferSourceNode.prototype.start;
AudioBufferSourceNode.prototype.start = function (when, offset) {
  if (!window.firstStartAt) window.firstStartAt = Date.now();
  window.starts.push({ when, offset: offset || 0, frames: this.buffer.length });
  return start.apply(this, arguments);
};
"""


@pytest.fixture(scope="module")
def long_song(tmp_path_factory):
    # Long enough that the job is still running well after its first chunks play.
    return generate_song(tmp_path_factory.mktemp("progressive-song"), seconds=240, seed=5)


def split_on_karaoke_page(page, live_server, user, song):
    upload = SimpleUploadedFile("song.wav", (song / "mixture.wav").read_bytes())
    track = ingest(user, upload, title="Long Song", artist="The Testers").track
    page.add_init_script(RECORD_STARTS)
    sign_in(page, live_server, user)
    page.goto(f"/tracks/{track.pk}/karaoke/")
    page.click("#sing-now")
    return track


def job_of(track):
    return SeparationJob.objects.get(sha256=track.sha256)


def test_sing_now_plays_chunks_gaplessly_then_the_finished_stems(page, live_server, worker_cluster, alice, long_song):
    track = split_on_karaoke_page(page, live_server, alice, long_song)
    page.wait_for_function("() => window.stemroom.playing() && window.stemroom.currentTime() > 0.3", timeout=120_000)
    assert page.evaluate("window.stemroom.player.final") is False, "it plays chunks while the job runs"
    screenshot(page, "karaoke-progressive")

    # Seek to just before the seam between the second and third chunks once they are in, and play across it.
    seam = 2 * SEAM
    page.wait_for_function(f"() => window.stemroom.player.readyEnd > {seam + 2}", timeout=60_000)

    # The stem waveforms grow from the chunks' peaks while the job runs.
    waves = page.locator("#stem-waves")
    expect(waves).to_be_visible()
    expect(waves).to_have_attribute("data-state", "growing")
    drawn = [int(page.get_attribute(f"#wave-{name}", "data-peaks")) for name in ("accompaniment", "vocals")]
    assert job_of(track).status == "running", "the waveforms must be growing before the job ends"
    assert all(3 * CHUNK_PEAKS <= n < SONG_PEAKS for n in drawn), drawn
    # Drawn where the song has been separated (its first tenth), and nothing past what is separated.
    ink = page.evaluate(WAVE_INK, ["wave-accompaniment", None, SONG_PEAKS])
    assert ink["peaks"] < SONG_PEAKS and ink["right"] == 0, f"the part not separated yet stays empty: {ink}"
    first_tenth = page.evaluate(WAVE_INK, ["wave-accompaniment", 0.1, SONG_PEAKS])
    assert first_tenth["left"] > 0.05, first_tenth
    screenshot(page, "karaoke-progressive-waveforms")
    before_seek = page.evaluate("window.starts.length")
    page.evaluate(f"window.stemroom.player.seek({seam - 1})")
    page.wait_for_function(f"() => window.stemroom.currentTime() > {seam + 0.5}", timeout=10_000)
    crossed = page.evaluate(
        """() => { const p = window.stemroom.player; const c = window.stemroom.audioContext;
          return { final: p.final, stalls: p.stalls, offset: p.offset, startedAt: p.startedAt, now: c.currentTime,
                   position: p.currentTime, rate: c.sampleRate }; }"""
    )
    assert crossed["final"] is False, "the seam must be crossed on the chunks, before the job ended"
    assert crossed["stalls"] == 0
    assert crossed["rate"] == 44100
    # The position still follows the AudioContext clock from the seek on: no gap was inserted at the seam.
    assert crossed["position"] == pytest.approx(crossed["offset"] + crossed["now"] - crossed["startedAt"], abs=0.02)
    assert crossed["position"] > seam + 0.5
    # The sources after the seek: each stem's next chunk starts exactly where the one before it ends.
    starts = page.evaluate("window.starts")
    after_seek = starts[before_seek:]
    mid_chunk = [s for s in after_seek if s["offset"] > 0]  # chunk 1 of each stem, entered at the seek
    assert len(mid_chunk) == 2 and {s["when"] for s in mid_chunk} == {crossed["startedAt"]}
    assert mid_chunk[0]["offset"] == pytest.approx(seam - 1 - SEAM, abs=1e-6)
    at_seam = crossed["startedAt"] + (seam - crossed["offset"])
    followers = [s for s in after_seek if s["offset"] == 0 and abs(s["when"] - at_seam) < 1 / 44100]
    assert len(followers) == 2, "chunk 2 of each stem starts on the very sample chunk 1 ends"
    assert all(s["frames"] == CHUNK_FRAMES for s in after_seek[:4])

    # The job ends while it plays: playback began before that, and moves to the finished stems.
    job = wait_for(lambda: job_of(track).status == "succeeded" and job_of(track), 240, "the job", worker_cluster)
    assert page.evaluate("window.firstStartAt") < job.finished_at.timestamp() * 1000
    page.wait_for_function("() => window.stemroom.player.final", timeout=60_000)
    state = page.evaluate(
        """() => { const p = window.stemroom.player;
          return { playing: window.stemroom.playing(), sources: p.sources.map((s) => s.buffer.length), position: p.currentTime }; }"""
    )
    assert state["playing"]
    assert len(state["sources"]) == 2 and min(state["sources"]) >= 239 * 44100
    page.wait_for_function(f"() => window.stemroom.currentTime() > {state['position'] + 0.3}")
    expect(page.locator("#separating")).to_be_hidden()
    # The finished stems' peaks replaced the chunks': the whole song is drawn.
    expect(waves).to_have_attribute("data-state", "final")
    for name in ("accompaniment", "vocals"):
        expect(page.locator(f"#wave-{name}")).to_have_attribute("data-peaks", str(SONG_PEAKS))
    assert page.evaluate(WAVE_INK, ["wave-accompaniment", 0.5, SONG_PEAKS])["right"] > 0.05, "the whole song is drawn"

    # It ends on the finished stems: play the last seconds.
    page.evaluate("window.stemroom.player.seek(window.stemroom.player.duration - 1)")
    page.wait_for_function("() => !window.stemroom.playing()", timeout=10_000)
    assert page.evaluate("window.stemroom.player.final") is True
    assert page.evaluate("window.stemroom.currentTime()") == pytest.approx(240, abs=0.5)
    page.set_viewport_size(PHONE)
    screenshot(page, "karaoke-progressive-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_cancel_during_progressive_playback_says_so(page, live_server, worker_cluster, alice, alice_api, long_song):
    track = split_on_karaoke_page(page, live_server, alice, long_song)
    page.wait_for_function("() => window.stemroom.playing() && window.stemroom.currentTime() > 0.3", timeout=120_000)
    response = alice_api.post(f"/api/jobs/{job_of(track).pk}/cancel/")
    assert response.status_code == 200, response.content
    expect(page.locator("#separating-text")).to_contain_text("The separation was cancelled", timeout=10_000)
    screenshot(page, "karaoke-progressive-cancelled")


def test_a_worker_killed_during_progressive_playback_is_reported(page, live_server, worker_cluster, alice, long_song):
    track = split_on_karaoke_page(page, live_server, alice, long_song)
    page.wait_for_function("() => window.stemroom.playing() && window.stemroom.currentTime() > 0.3", timeout=120_000)
    job = job_of(track)
    assert job.status == "running"

    # Sing now is offered from the first chunk on: the library and the track page link to karaoke mid-job.
    other = page.context.new_page()
    other.goto("/library/")
    card = other.locator(f'.track[data-track="{track.pk}"]')
    expect(card.get_by_role("link", name="♪ Karaoke")).to_be_visible(timeout=10_000)
    expect(card.locator(".badge.running")).to_be_visible()
    other.goto(f"/tracks/{track.pk}/")
    expect(other.locator("#karaoke-link")).to_be_visible(timeout=10_000)
    expect(other.locator("#job-progress")).to_be_visible()
    screenshot(other, "track-karaoke-link-mid-job")
    other.close()
    # Still running once both offered it: they did so because chunks exist, not because the job ended.
    assert job_of(track).status == "running"
    # SIGKILL the whole cluster: the worker dies mid-job, as on a crash; no worker is left.
    os.killpg(worker_cluster.process.pid, signal.SIGKILL)
    # The stale-job sweep (every few seconds in the cluster's schedule; here run by hand) queues it again.
    from separation.jobs import recover_stale_jobs

    def requeued():
        recover_stale_jobs()
        return job_of(track).status in ("queued", "failed")

    wait_for(requeued, 60, "the dead worker's job to be queued again", interval=1)
    expect(page.locator("#separating-text")).to_contain_text("stopped", timeout=10_000)
    screenshot(page, "karaoke-progressive-worker-died")
