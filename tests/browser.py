"""Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Test modules import the fixtures, which pytest then knows as ``browser`` and ``page``:
``from tests.browser import browser_fixture, page_fixture  # noqa: F401``.
Screenshots land in ``var/test-artifacts/`` (git-ignored), also one for every failed test.

Every page runs under the site's Content-Security-Policy, which forbids eval: give
``page.wait_for_function`` a function (``"() => ..."``), since Playwright evaluates a bare
expression with eval inside the page, and the policy refuses that.
"""

import json
import os
import re
import subprocess
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "var" / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--autoplay-policy=no-user-gesture-required",
]
EXPECTED_FAILED_LOAD = re.compile(r"Failed to load resource: the server responded with a status of (400|404|410|415)")
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 375, "height": 812}
# The two widths every page is looked at (issue 11): a laptop and a phone.
WIDTHS = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}

# Fraction of the visualizer canvas lit brighter than its dark background.
LIT_PIXELS_JS = """(id) => {
  const canvas = document.getElementById(id);
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let lit = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] + data[i + 1] + data[i + 2] > 180) lit += 1;
  return lit / (data.length / 4);
}"""

# Pairs of visible controls (buttons, links, inputs, lyric lines, hints) whose boxes intersect.
# Elements inside one another (a label's input) are not overlaps; fixed full-screen layers are skipped.
OVERLAPS_JS = """() => {
  const picks = [...document.querySelectorAll(
    "main button, main a, main input, main select, main textarea, main .viz-hint, main .play-hint, main .lyrics .line, main canvas, main h1, main progress"
  )].filter((el) => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.opacity !== "0" && !el.closest("[hidden]");
  });
  // Lyric lines and the hint sit on the visualizer canvas by design: compare them with everything but it.
  const layered = (a, b) => a.tagName === "CANVAS" || b.tagName === "CANVAS";
  const clip = (el) => {
    // What the user sees of el: its box (a text overlay's: its text's) cut by every clipping ancestor.
    let r = el.getBoundingClientRect();
    if (el.matches(".viz-hint, .lyrics .line")) {
      const range = document.createRange();
      range.selectNodeContents(el);
      r = range.getBoundingClientRect();
    }
    let box = { l: r.left, t: r.top, r: r.right, b: r.bottom };
    for (let p = el.parentElement; p; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (s.overflow !== "visible" || s.overflowY !== "visible") {
        const q = p.getBoundingClientRect();
        box = { l: Math.max(box.l, q.left), t: Math.max(box.t, q.top), r: Math.min(box.r, q.right), b: Math.min(box.b, q.bottom) };
      }
    }
    return box;
  };
  const boxes = picks.map(clip);
  const found = [];
  for (let i = 0; i < picks.length; i += 1) {
    for (let j = i + 1; j < picks.length; j += 1) {
      const a = picks[i], b = picks[j], p = boxes[i], q = boxes[j];
      if (a.contains(b) || b.contains(a) || layered(a, b)) continue;
      const w = Math.min(p.r, q.r) - Math.max(p.l, q.l), h = Math.min(p.b, q.b) - Math.max(p.t, q.t);
      if (w > 2 && h > 2) found.push(`${a.id || a.className || a.tagName} / ${b.id || b.className || b.tagName}`);
    }
  }
  return found;
}"""


@contextmanager
def launch_chromium(*extra_args):
    """Debian's Chromium under Playwright, launched with CHROMIUM_ARGS and ``extra_args``."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run make test, which installs it")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; Django
    # would otherwise refuse the test's own ORM calls as "async unsafe".
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra_args]
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module", name="browser")
def browser_fixture():
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture(name="page")
def page_fixture(browser, live_server, request):
    """A fresh browser context (no cookies) whose page fails the test on any JavaScript error."""
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.on("console", lambda msg: errors.append(f"{page.url}: {msg.text}") if console_error(msg) else None)
    failed_before = request.session.testsfailed
    yield page
    # The call phase's report is counted before teardown: keep a picture of what went wrong.
    if request.session.testsfailed > failed_before:
        screenshot(page, f"FAILED-{request.node.name}")
    context.close()
    assert not errors, "JavaScript errors:\n" + "\n".join(errors)


def console_error(message):
    """A console error, except the browser's note on an answer the page expects (no lyrics yet: 404; bad LRC: 400;
    a dead share link's page: 410; a queued file that is not audio: 415)."""
    if message.type != "error":
        return False
    return not EXPECTED_FAILED_LOAD.search(message.text)


def screenshot(page, name, full_page=True):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def sign_in(page, live_server, user):
    """Give the browser a session for ``user`` without going through the sign-in form."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])


def lit_fraction(page, canvas_id="viz"):
    return page.evaluate(LIT_PIXELS_JS, canvas_id)


def peaks_of(samples, rate, per_minute=1000):
    """Max-abs peaks of a (frames, channels) array, as the worker computes them (~1000 per minute)."""
    mono = np.abs(samples).max(axis=1)
    count = max(1, round(len(mono) / rate / 60 * per_minute))
    return [round(float(chunk.max()), 4) for chunk in np.array_split(mono, count)]


def finished_stems(track, song_dir):
    """A succeeded 2stems job for ``track`` whose stems are the song's TRUE vocals and accompaniment.

    Stands in for the worker in UI tests that are about the pages, not the separation
    (the worker-backed browser test covers the real path). The files are encoded the way
    the worker stores them: FLAC to keep, MP3 for browsers, JSON peaks.
    """
    from separation.models import SeparationJob, SeparationRequest, Stem

    job = SeparationJob.objects.create(
        sha256=track.sha256, source=track.original.name, model="2stems", status="succeeded", progress=100
    )
    SeparationRequest.objects.create(user=track.owner, job=job)
    prefix = job.storage_prefix
    song_dir = Path(song_dir)
    for name in ("vocals", "accompaniment"):
        wav = song_dir / f"{name}.wav"
        samples, rate = sf.read(str(wav), always_2d=True)
        stem = Stem(job=job, name=name, duration=len(samples) / rate)
        size = 0
        for field, suffix, codec in (("lossless", "flac", ["-c:a", "flac"]), ("compressed", "mp3", ["-b:a", "128k"])):
            out = song_dir / f"{name}.{suffix}"
            if not out.exists():
                subprocess.run(
                    ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav), *codec, str(out)], check=True
                )
            size += out.stat().st_size
            getattr(stem, field).name = default_storage.save(f"{prefix}/{name}.{suffix}", ContentFile(out.read_bytes()))
        peaks = json.dumps(peaks_of(samples, rate)).encode()
        stem.peaks.name = default_storage.save(f"{prefix}/{name}.peaks.json", ContentFile(peaks))
        stem.size = size
        stem.save()
    samples, rate = sf.read(str(song_dir / "mixture.wav"), always_2d=True)
    job.mixture_peaks.name = default_storage.save(
        f"{prefix}/mixture.peaks.json", ContentFile(json.dumps(peaks_of(samples, rate)).encode())
    )
    job.duration = len(samples) / rate
    job.realtime_factor = 40.0
    job.save()
    return job


def shared_remix(track, job, remix_name="Late mix"):
    """A remix of ``track``'s stems (accompaniment muted: vocals only) and a live share link to it."""
    from library.models import Remix, ShareLink

    mix = {
        stem: {"gain_db": 0.0, "mute": stem == "accompaniment", "solo": False, "pan": 0.0} for stem in job.stem_names
    }
    remix = Remix.objects.create(owner=track.owner, job=job, track=track, stems=mix, title=track.title, name=remix_name)
    return remix, ShareLink.objects.create(remix=remix)
