"""Every page of the site in a real Chromium at 1366 and 390 px, saved to var/test-artifacts/.

Other browser tests photograph the pages they exercise; this one walks all of them in one
place (landing, sign-in, sign-up, library empty and full, a track before and after its
split, karaoke, the remix studio, My remixes, the share page, a revoked and a removed
link, the admin pages and the error pages), so a layout change shows up in one folder.
On each page it also checks what a screenshot would show wrong: nothing wider than the
window, and no two of the page's controls drawn on top of each other.
"""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from library.ingest import ingest
from library.models import Lyrics, ShareLink
from separation.models import Analysis
from tests.browser import (  # noqa: F401 (fixtures)
    OVERLAPS_JS,
    WIDTHS,
    browser_fixture,
    finished_stems,
    page_fixture,
    screenshot,
    shared_remix,
    sign_in,
)
from tests.eval_songs import generate_song

pytestmark = pytest.mark.browser

LRC = "[00:00.20]First line\n[00:01.00]Second line\n[00:03.00]Third line\n[00:05.00]The last line\n"

NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"


def shoot(page, name, overlaps=True):
    """Screenshot ``page`` at both widths as sweep-NAME-WIDTH.png; what looks wrong there, as text."""
    problems = []
    for width, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        page.wait_for_timeout(150)  # a resize redraws the canvases on the next frame
        if not page.evaluate(NO_SIDEWAYS_SCROLL):
            problems.append(f"{name} scrolls sideways at {width} px")
        if overlaps:
            problems += [f"{name} at {width} px: {pair}" for pair in page.evaluate(OVERLAPS_JS)]
        screenshot(page, f"sweep-{name}-{width}")
    page.set_viewport_size(WIDTHS["1366"])
    return problems


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return generate_song(tmp_path_factory.mktemp("sweep-song"), seconds=8, seed=21)


@pytest.fixture
def tracks(alice, song):
    """One track split (lyrics, a remix, a share link) and one only uploaded."""
    upload = SimpleUploadedFile("song.wav", (song / "mixture.wav").read_bytes())
    split = ingest(alice, upload, title="Night Drive", artist="The Testers").track
    job = finished_stems(split, song)
    Analysis.objects.create(job=job, status="succeeded", key="A", mode="minor", tempo=124.2)
    Lyrics.objects.create(track=split, lrc=LRC)
    remix, link = shared_remix(split, job)
    # A different recording (the same file would share the split one's stems).
    other = SimpleUploadedFile("other.wav", (song / "vocals.wav").read_bytes())
    unsplit = ingest(alice, other, title="Unsplit Demo", artist="The Testers").track
    return split, unsplit, remix, link


def test_the_signed_out_pages(page):
    problems = []
    for name, url in (("landing", "/"), ("login", "/accounts/login/"), ("signup", "/accounts/signup/")):
        page.goto(url)
        problems += shoot(page, name)
    assert page.goto("/no-such-page/").status == 404
    problems += shoot(page, "error-404")
    assert problems == [], "\n".join(problems)


def test_an_empty_library(page, live_server, alice):
    problems = []
    sign_in(page, live_server, alice)
    page.goto("/library/")
    problems += shoot(page, "library-empty")
    assert problems == [], "\n".join(problems)


def test_the_signed_in_pages(page, live_server, alice, tracks):
    problems = []
    split, unsplit, remix, link = tracks
    sign_in(page, live_server, alice)
    page.goto("/library/")
    page.wait_for_selector(".track")
    problems += shoot(page, "library-full")
    page.goto(f"/tracks/{unsplit.pk}/")
    problems += shoot(page, "track-before-split")
    page.goto(f"/tracks/{split.pk}/")
    page.wait_for_selector("#mix-strips .mix-strip")
    assert page.inner_text("#song-key") == "A minor · 124 BPM"
    problems += shoot(page, "track-after-split")
    page.goto(f"/tracks/{split.pk}/karaoke/")
    page.wait_for_selector("#lyrics .line")
    problems += shoot(page, "karaoke")
    page.goto(f"/remixes/{remix.pk}/")
    page.wait_for_selector("#mix-strips .mix-strip")
    problems += shoot(page, "remix-studio")
    page.goto("/remixes/")
    problems += shoot(page, "remixes")
    page.goto("/accounts/profile/")
    problems += shoot(page, "profile")
    # The owner still opens a revoked link, under a banner.
    ShareLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())
    page.goto(f"/s/{link.token}/")
    page.wait_for_selector("#lyrics .line")
    problems += shoot(page, "share-revoked-owner")
    assert problems == [], "\n".join(problems)


def test_the_share_pages(page, tracks):
    problems = []
    split, unsplit, remix, link = tracks
    page.goto(f"/s/{link.token}/")
    page.wait_for_selector("#lyrics .line")
    problems += shoot(page, "share")
    ShareLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())
    assert page.goto(f"/s/{link.token}/").status == 410
    assert page.inner_text("#share-removed h1") == "This link was revoked"
    problems += shoot(page, "share-revoked")
    remix.delete()
    assert page.goto(f"/s/{link.token}/").status == 410
    assert page.inner_text("#share-removed h1") == "This remix was removed"
    problems += shoot(page, "share-removed")
    assert problems == [], "\n".join(problems)


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("sam", password="x" * 12, is_staff=True, is_superuser=True)


def test_the_staff_pages(page, live_server, staff, tracks):
    problems = []
    sign_in(page, live_server, staff)
    for name, url in (
        ("admin-index", "/admin/"),
        ("admin-monitoring", "/admin/monitoring/"),
        ("admin-jobs", "/admin/separation/separationjob/"),
    ):
        assert page.goto(url).status == 200
        # Django's own admin lays out its changelists; only check it fits and take the picture.
        problems += shoot(page, name, overlaps=False)
    assert problems == [], "\n".join(problems)


def test_the_admin_index_fits_a_phone(page, live_server, staff):
    sign_in(page, live_server, staff)
    page.set_viewport_size(WIDTHS["390"])
    page.goto("/admin/")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
