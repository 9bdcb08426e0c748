"""The share page's layout in a real Chromium, at 1366 and 390 px: the play hint never covers the
lyrics, the lyrics never cover the visualizer's view buttons, the last line scrolls fully into view,
the revoked banner has room, and a read-only mix's M/S buttons do not look clickable.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from playwright.sync_api import expect

from library.ingest import ingest
from library.models import Lyrics, ShareLink
from tests.browser import (  # noqa: F401 (fixtures)
    OVERLAPS_JS,
    WIDTHS,
    browser_fixture,
    finished_stems,
    page_fixture,
    shared_remix,
    sign_in,
)
from tests.eval_songs import generate_song

pytestmark = pytest.mark.browser

LRC = "[00:00.20]First line\n[00:01.00]Second line\n[00:03.00]Third line\n[00:05.00]The last line\n"


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return generate_song(tmp_path_factory.mktemp("share-layout-song"), seconds=8, seed=22)


@pytest.fixture
def link(alice, song):
    upload = SimpleUploadedFile("song.wav", (song / "mixture.wav").read_bytes())
    track = ingest(alice, upload, title="Night Drive", artist="The Testers").track
    job = finished_stems(track, song)
    Lyrics.objects.create(track=track, lrc=LRC)
    return shared_remix(track, job)[1]


@pytest.mark.parametrize("viewport", list(WIDTHS.values()), ids=list(WIDTHS))
def test_nothing_on_the_share_page_is_drawn_over_anything_else(page, link, viewport):
    page.set_viewport_size(viewport)
    page.goto(f"/s/{link.token}/")
    expect(page.locator("#lyrics .line")).to_have_count(4)
    assert page.evaluate(OVERLAPS_JS) == []
    # The hint sits beside Play, outside the visualizer and its lyrics.
    assert page.locator("#viz-panel #viz-hint").count() == 0
    expect(page.locator("#viz-hint")).to_be_visible()


@pytest.mark.parametrize("viewport", list(WIDTHS.values()), ids=list(WIDTHS))
def test_the_last_lyric_line_scrolls_fully_into_view(page, link, viewport):
    page.set_viewport_size(viewport)
    page.goto(f"/s/{link.token}/")
    page.click("#play")
    page.wait_for_function("() => window.stemroom.playing()")
    page.keyboard.press("ArrowRight")  # 5 s on: the last line's time
    page.wait_for_function("() => window.stemroom.currentLineIndex() === 3")
    page.wait_for_timeout(700)  # the smooth scroll
    line = page.locator('#lyrics .line[data-index="3"]').bounding_box()
    box = page.locator("#lyrics-box").bounding_box()
    middle = box["y"] + box["height"] / 2
    assert box["y"] <= line["y"] and line["y"] + line["height"] <= box["y"] + box["height"]
    assert abs(line["y"] + line["height"] / 2 - middle) < 20, "the last line is not brought to the middle"
    assert page.evaluate(OVERLAPS_JS) == []


def test_a_read_only_mix_does_not_look_clickable(page, link):
    page.goto(f"/s/{link.token}/")
    mute = page.locator("#mix-accompaniment-mute")
    expect(mute).to_be_disabled()
    expect(mute).to_have_attribute("aria-disabled", "true")
    expect(page.locator("#mix-strips")).to_have_attribute("aria-readonly", "true")
    style = mute.evaluate(
        "(b) => { const s = getComputedStyle(b); return [s.cursor, s.borderStyle, s.backgroundColor]; }"
    )
    assert style == ["default", "dashed", "rgba(0, 0, 0, 0)"]
    mute.hover()
    assert mute.evaluate("(b) => getComputedStyle(b).backgroundColor") == "rgba(0, 0, 0, 0)"


def test_the_revoked_banner_has_room(page, live_server, alice, link):
    ShareLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())
    sign_in(page, live_server, alice)
    page.goto(f"/s/{link.token}/")
    banner = page.locator(".revoked-banner")
    expect(banner).to_contain_text("This link is revoked")
    padding = banner.evaluate("(p) => [getComputedStyle(p).paddingTop, getComputedStyle(p).paddingLeft]")
    assert all(float(value.removesuffix("px")) >= 8 for value in padding)
