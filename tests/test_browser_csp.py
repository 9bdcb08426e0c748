"""Every page works under the Content-Security-Policy: a real Chromium reports no violation on any of them.

The policy (settings.CONTENT_SECURITY_POLICY) is on in development and tests too, so
every browser test runs under it; this one walks each kind of page -- signed out, the
library, track, karaoke, remix and share pages, the profile, the admin and its job
monitoring, the API docs and the error pages -- and fails on any "Refused to ..." the
browser raises. The stems are a generated song's true stems (tests.browser.finished_stems).
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from library import mixing
from library.ingest import ingest
from library.models import Remix, ShareLink, Track
from tests.browser import browser_fixture, finished_stems, page_fixture, sign_in  # noqa: F401 (fixtures)
from tests.eval_songs import generate_song

pytestmark = pytest.mark.browser

# Installed before any page script runs: the browser's own report of each blocked thing.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} (${event.sourceFile}:${event.lineNumber})`);
});
"""


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return generate_song(tmp_path_factory.mktemp("csp-song"), seconds=6, seed=5)


@pytest.fixture
def pages(alice, song):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    upload = SimpleUploadedFile("song.wav", (song / "mixture.wav").read_bytes())
    track = ingest(alice, upload, title="Policy Song", artist="The Testers").track
    job = finished_stems(track, song)
    stems = mixing.normalize({"vocals": {"gain_db": -12}}, job.stem_names)
    remix = Remix.objects.create(owner=alice, track=track, job=job, name="Quiet vocals", stems=stems)
    link = ShareLink.objects.create(remix=remix)
    signed_in = [
        "/library/",
        f"/tracks/{track.pk}/",
        f"/tracks/{track.pk}/karaoke/",
        "/remixes/",
        f"/remixes/{remix.pk}/",
        "/accounts/profile/",
        "/accounts/profile/email/",
        "/accounts/profile/delete/",
        "/accounts/password/change/",
        "/admin/",
        "/admin/monitoring/",
        "/admin/separation/separationjob/",
        f"/admin/separation/separationjob/{job.pk}/change/",
        "/api/docs/",
        "/no-such-page/",
    ]
    signed_out = ["/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/", f"/s/{link.token}/"]
    return signed_out, signed_in, track


def test_no_page_breaks_the_content_security_policy(page, live_server, alice, pages):
    signed_out, signed_in, track = pages
    refused = []
    page.on("console", lambda msg: refused.append(f"{page.url}: {msg.text}") if "Refused to" in msg.text else None)
    page.add_init_script(RECORD_VIOLATIONS)

    def visit(path):
        response = page.goto(path)
        assert "default-src 'self'" in response.headers["content-security-policy"], path
        page.wait_for_load_state("networkidle")
        if path == "/api/docs/":
            # Swagger UI drew the API from the schema: its scripts ran.
            page.locator(".swagger-ui .info .title").wait_for()
        if path == "/admin/monitoring/":
            # Its refresh script (a static file now) replaces the body every 5 s.
            expect(page.locator("#monitoring-status")).to_contain_text("Updated", timeout=10_000)
        refused.extend(f"{path}: {violation}" for violation in page.evaluate("window.cspViolations"))

    for path in signed_out:
        visit(path)
    sign_in(page, live_server, alice)
    for path in signed_in:
        visit(path)
    assert not refused, "Content-Security-Policy violations:\n" + "\n".join(refused)

    # "Delete track" still asks first (its confirm() moved from an inline onsubmit, which the policy blocks).
    page.goto(f"/tracks/{track.pk}/")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete track").click()
    page.wait_for_load_state("networkidle")
    assert Track.objects.filter(pk=track.pk).exists()
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.get_by_role("button", name="Delete track").click()
    assert not Track.objects.filter(pk=track.pk).exists()
