"""Sharing a remix in a real Chromium: the owner makes a link from the mixer, an anonymous visitor's
read-only player plays it (mixer positions, lyrics, visualizer) until the owner revokes it, and a
signed-in visitor adds it to their own library.

The stems are a generated song's true vocals and accompaniment stored as a finished job
(tests.browser.finished_stems), so these tests need no TensorFlow.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from library import mixing
from library.ingest import ingest
from library.models import Lyrics, Remix, ShareLink
from separation.models import SeparationJob
from tests.browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    LIT_PIXELS_JS,
    browser_fixture,
    console_error,
    finished_stems,
    lit_fraction,
    page_fixture,
    screenshot,
    sign_in,
)
from tests.eval_songs import generate_song

pytestmark = pytest.mark.browser

LRC = "[00:00.20]First line\n[00:01.00]Second line\n[00:30.00]Much later\n"


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return generate_song(tmp_path_factory.mktemp("remix-share-song"), seconds=10, seed=13)


@pytest.fixture
def ready_track(live_server, alice, song):
    upload = SimpleUploadedFile("song.wav", (song / "mixture.wav").read_bytes())
    track = ingest(alice, upload, title="Share Song", artist="The Testers").track
    finished_stems(track, song)
    Lyrics.objects.create(track=track, lrc=LRC)
    return track


@pytest.fixture
def anonymous_page(browser, live_server):
    """A second browser with no cookies at all, failing the test on any JavaScript error."""
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.on("console", lambda msg: errors.append(f"{page.url}: {msg.text}") if console_error(msg) else None)
    yield page
    context.close()
    assert not errors, "JavaScript errors:\n" + "\n".join(errors)


def test_a_shared_remix_plays_for_anyone_until_it_is_revoked(page, anonymous_page, live_server, alice, ready_track):
    sign_in(page, live_server, alice)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"/tracks/{ready_track.pk}/")
    expect(page.locator("#mix-strips .mix-strip")).to_have_count(2)
    page.fill("#mix-vocals-gain", "-6")
    page.fill("#mix-vocals-pan", "-0.5")
    page.click("#mix-accompaniment-mute")
    page.fill("#remix-name", "Vocals only")
    # A mix is shared as a saved remix: the share button comes with saving.
    expect(page.locator("#remix-share")).to_be_hidden()
    page.click("#remix-save")
    expect(page.locator("#remix-status")).to_have_text("Saved “Vocals only”.")
    page.click("#remix-share")
    link = page.locator("#share-links li")
    expect(link).to_have_count(1)
    url = link.locator(".share-url").input_value()
    token = ShareLink.objects.get(remix__name="Vocals only", revoked_at=None).token
    assert url == f"{live_server.url}/s/{token}/"
    link.get_by_role("button", name="Copy").click()
    expect(page.locator("#share-status")).to_have_text("Link copied.")
    assert page.evaluate("navigator.clipboard.readText()") == url
    screenshot(page, "remix-mixer-shared")

    # Someone with the link and no account.
    visitor = anonymous_page
    assert visitor.goto(url).status == 200
    assert (
        visitor.locator('meta[property="og:title"]').get_attribute("content")
        == "Vocals only — Share Song (The Testers)"
    )
    # The remix's mixer positions, shown but not changeable.
    expect(visitor.locator("#mix-vocals-gain")).to_have_value("-6")
    expect(visitor.locator("#mix-vocals-gain")).to_be_disabled()
    expect(visitor.locator("#mix-vocals-pan")).to_have_value("-0.5")
    expect(visitor.locator("#mix-accompaniment-mute")).to_have_attribute("aria-pressed", "true")
    expect(visitor.locator("#mix-accompaniment-mute")).to_be_disabled()
    expect(visitor.locator("#lyrics .line")).to_have_count(3)
    expect(visitor.locator("#wave")).to_have_attribute("role", "slider")
    expect(visitor.locator("#sign-in-to-fork")).to_have_attribute("href", f"/accounts/login/?next=/s/{token}/")
    expect(visitor.locator("#fork")).to_have_count(0)
    expect(visitor.locator("#mixdown-link")).to_have_count(0)
    assert lit_fraction(visitor) == 0, "the visualizer is dark before anything plays"

    visitor.click("#play")
    visitor.wait_for_function("() => window.stemroom.playing() && window.stemroom.currentTime() > 1.2")
    clock = visitor.evaluate("window.stemroom.audioContext.currentTime")
    visitor.wait_for_function(f"() => window.stemroom.audioContext.currentTime > {clock + 0.3}")
    # It plays the remix as mixed: the strips hold the saved levels.
    levels = visitor.evaluate(
        """() => { const p = window.stemroom.player;
          return [p.gain("vocals").gain.value, p.panner("vocals").pan.value, p.gain("accompaniment").gain.value]; }"""
    )
    assert levels == pytest.approx([10 ** (-6 / 20), -0.5, 0], abs=1e-4)
    visitor.wait_for_function("() => window.stemroom.currentLineIndex() === 1")
    expect(visitor.locator('#lyrics .line[data-index="1"]')).to_have_class("line current")
    visitor.wait_for_function("() => document.getElementById('wave').getAttribute('aria-valuenow') !== '0'")
    # The visualizer lights up once the vocals come in (this song's start ~3 s; the accompaniment is muted).
    visitor.wait_for_function(f"() => ({LIT_PIXELS_JS})('viz') > 0.005", timeout=10_000)
    screenshot(visitor, "share-page")

    # A click on the waveform seeks there.
    box = visitor.locator("#wave").bounding_box()
    visitor.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
    visitor.wait_for_function("() => window.stemroom.currentTime() > 7")

    # The owner revokes the link: from then on the page says so, and its audio is not found.
    page.once("dialog", lambda dialog: dialog.accept())
    link.get_by_role("button", name="Revoke").click()
    expect(page.locator("#share-links li")).to_have_count(0)
    expect(page.locator("#share-status")).to_have_text("Link revoked.")
    assert ShareLink.objects.get(token=token).revoked_at is not None
    assert visitor.goto(url).status == 410
    expect(visitor.locator("#share-removed h1")).to_have_text("This link was revoked")
    assert visitor.request.get(f"/s/{token}/stems/vocals/audio/").status == 404


def test_a_signed_in_visitor_adds_a_shared_remix_to_their_library(page, live_server, alice, bob, ready_track):
    job = SeparationJob.objects.get(sha256=ready_track.sha256)
    remix = Remix.objects.create(
        owner=alice,
        track=ready_track,
        job=job,
        name="Party mix",
        stems=mixing.normalize(
            {"vocals": {"gain_db": 4, "pan": 0.3}, "accompaniment": {"gain_db": -10}}, job.stem_names
        ),
        title=ready_track.title,
        artist=ready_track.artist,
    )
    token = ShareLink.objects.create(remix=remix).token

    sign_in(page, live_server, bob)
    page.goto(f"/s/{token}/")
    page.get_by_role("button", name="Add to my library").click()
    expect(page.locator("#fork-status")).to_contain_text("Added to your library.")
    fork = Remix.objects.get(owner=bob)
    assert (fork.forked_from, fork.track, fork.stems) == (remix, None, remix.stems)

    page.click("#my-remixes")
    page.wait_for_url("**/remixes/")
    card = page.locator(f'.remix-card[data-remix="{fork.pk}"]')
    expect(card).to_contain_text("Party mix")
    expect(card).to_contain_text("Added from alice’s share")
    expect(page.locator(".remix-card")).to_have_count(1)
    screenshot(page, "my-remixes")

    # The fork opens in its own player (bob has no track of it) and plays its stems.
    card.get_by_role("link").click()
    page.wait_for_url(f"**/remixes/{fork.pk}/")
    expect(page.locator("#mixer-editing")).to_have_text("Editing “Party mix”")
    expect(page.locator("#mix-vocals-gain")).to_have_value("4")
    expect(page.locator("#remix-save-new")).to_be_hidden()
    page.click("#mix-play")
    page.wait_for_function("() => window.stemroom.playing() && window.stemroom.currentTime() > 0.5")
    page.wait_for_function(
        f"() => Math.abs(window.stemroom.player.gain('vocals').gain.value - {10 ** (4 / 20)}) < 1e-3"
    )
    assert lit_fraction(page) > 0.005
    screenshot(page, "fork-page")
    # Alice's own list does not change, and bob's fork is his alone.
    assert Remix.objects.filter(owner=alice).count() == 1
    sign_in(page, live_server, alice)
    assert page.goto(f"/remixes/{fork.pk}/").status == 404
    page.goto("/remixes/")
    expect(page.locator(".remix-card")).to_have_count(1)
    expect(page.locator(f'.remix-card[data-remix="{remix.pk}"]')).to_contain_text("Your track")


def test_the_owner_sees_who_added_the_remix_and_revokes_that_copy(page, live_server, alice, bob, ready_track):
    job = SeparationJob.objects.get(sha256=ready_track.sha256)
    remix = Remix.objects.create(
        owner=alice,
        track=ready_track,
        job=job,
        name="Party mix",
        stems=mixing.normalize({}, job.stem_names),
        title=ready_track.title,
        artist=ready_track.artist,
    )
    fork = Remix.objects.create(
        owner=bob, job=job, name="Party mix", stems=remix.stems, title=remix.title, forked_from=remix
    )
    ShareLink.objects.create(remix=fork)

    sign_in(page, live_server, alice)
    page.goto(f"/tracks/{ready_track.pk}/?remix={remix.pk}")
    item = page.locator(f'#fork-list [data-fork="{fork.pk}"]')
    expect(item).to_contain_text("bob")
    expect(item).to_contain_text("shared on")
    page.on("dialog", lambda dialog: dialog.accept())
    item.get_by_role("button", name="Revoke").click()
    expect(page.locator("#share-status")).to_have_text("bob’s copy revoked.")
    expect(item).to_contain_text("revoked")
    expect(item.get_by_role("button", name="Revoke")).to_have_count(0)
    screenshot(page, "forks-revoked")

    # bob's copy says why it stopped, plays nothing, and can only be deleted.
    sign_in(page, live_server, bob)
    page.goto(f"/remixes/{fork.pk}/")
    expect(page.locator("#remix-unavailable")).to_contain_text("The owner of the original revoked this copy.")
    expect(page.locator("#mixer")).to_have_count(0)
    page.get_by_role("button", name="Delete this copy").click()
    page.wait_for_url("**/remixes/")
    assert not Remix.objects.filter(pk=fork.pk).exists()
