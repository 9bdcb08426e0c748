"""The newcomer's pages in a real Chromium at 1366 and 390 px: the landing page, the invite loop
(share link -> sign in -> create an account -> back on the share link), the profile's account section
and token copy button, the password and account pages, and the track page's downloads.

Screenshots of each page at both widths go to var/test-artifacts/ (account-*.png).
"""

import re

import pytest
from playwright.sync_api import expect

from library.models import Remix, ShareLink
from tests.browser import WIDTHS, browser_fixture, page_fixture, screenshot, sign_in  # noqa: F401 (fixtures)
from tests.separated import separated_track

pytestmark = pytest.mark.browser

NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"


def shoot_both(page, name):
    """A full-page screenshot at each width, checking nothing sticks out sideways."""
    for width, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{name} scrolls sideways at {width} px"
        screenshot(page, f"account-{name}-{width}")
    page.set_viewport_size(WIDTHS["1366"])


@pytest.fixture
def shared(live_server, alice, tmp_path):
    track, job = separated_track(alice, tmp_path)
    track.title, track.artist = "Night Drive", "The Testers"
    track.save()
    mix = {name: {"gain_db": 0.0, "mute": False, "solo": False, "pan": 0.0} for name in job.stem_names}
    remix = Remix.objects.create(owner=alice, job=job, track=track, stems=mix, title=track.title, name="Late mix")
    return track, ShareLink.objects.create(remix=remix)


def test_the_landing_page_says_what_stemroom_is(page, live_server, db):
    page.goto("/")
    expect(page.locator("h1")).to_have_text("Your songs, split into stems.")
    expect(page.locator(".feature")).to_have_count(4)
    shoot_both(page, "landing")
    page.click("#landing-signup")
    page.wait_for_url("**/accounts/signup/")


def test_an_invited_newcomer_signs_up_and_lands_on_the_shared_remix(page, live_server, shared):
    _, link = shared
    page.goto(f"/s/{link.token}/")
    page.click("#sign-in-to-fork")
    page.wait_for_url(re.compile(r"/accounts/login/\?next=(%2F|/)s(%2F|/)"))
    expect(page.locator("#next-note")).to_be_visible()
    shoot_both(page, "login")
    page.click("#signup-link")
    page.wait_for_url(re.compile(r"/accounts/signup/\?next=(%2F|/)s(%2F|/)"))
    # A first try that fails keeps the destination and what was typed.
    page.fill("#id_username", "newcomer")
    page.fill("#id_password1", "12345678")
    page.fill("#id_password2", "12345678")
    page.click("button:has-text('Sign up')")
    expect(page.locator(".errorlist")).to_contain_text("too common")
    expect(page.locator("#id_username")).to_have_value("newcomer")
    shoot_both(page, "signup-error")
    page.fill("#id_password1", "a long and unusual passphrase")
    page.fill("#id_password2", "a long and unusual passphrase")
    page.click("button:has-text('Sign up')")
    page.wait_for_url(f"**/s/{link.token}/")
    expect(page.locator("#fork")).to_have_text("Add to my library")


def test_back_from_sign_up_to_sign_in_keeps_the_destination(page, live_server, shared, bob):
    _, link = shared
    page.goto(f"/s/{link.token}/")
    page.click("#nav-signup")
    page.click("#login-link")
    page.fill("#id_username", "bob")
    page.fill("#id_password", "another good passphrase")
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"**/s/{link.token}/")
    expect(page.locator("#fork")).to_be_visible()


def test_the_profile_copies_a_new_token_and_links_the_account_pages(page, live_server, alice):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, live_server, alice)
    page.goto("/accounts/profile/")
    expect(page.locator("#account-email")).to_have_text("alice@example.com")
    page.click("button:has-text('Create a token')")
    key = page.locator("#new-token").inner_text()
    assert len(key) == 40
    page.click("#copy-token")
    expect(page.locator("#copy-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("() => navigator.clipboard.readText()") == key
    shoot_both(page, "profile")

    page.click("#change-email")
    page.fill("#id_email", "alice@new.example")
    page.fill("#id_password", "wrong")
    page.click("button:has-text('Save the address')")
    expect(page.locator(".errorlist")).to_contain_text("That is not your current password.")
    expect(page.locator("#id_email")).to_have_value("alice@new.example")
    shoot_both(page, "email-error")
    page.fill("#id_password", "correct horse battery")
    page.click("button:has-text('Save the address')")
    page.wait_for_url("**/accounts/profile/")
    expect(page.locator("#account-email")).to_have_text("alice@new.example")

    page.click("#change-password")
    shoot_both(page, "password-change")
    page.goto("/accounts/profile/")
    page.click("#delete-account-link")
    expect(page.locator("h1")).to_have_text("Delete your account")
    shoot_both(page, "delete")


def test_the_password_reset_pages(page, live_server, alice):
    page.goto("/accounts/login/")
    page.click("#forgot-password")
    shoot_both(page, "reset-form")
    page.fill("#id_email", "alice@example.com")
    page.click("button:has-text('Send the link')")
    expect(page.locator("#reset-sent")).to_be_visible()
    shoot_both(page, "reset-sent")
    page.goto("/accounts/password/reset/MQ/not-a-token/")
    expect(page.locator("#reset-link-invalid")).to_be_visible()
    shoot_both(page, "reset-invalid")


def test_a_deleted_accounts_share_link_says_so(browser, live_server, shared):
    track, link = shared
    track.owner.delete()
    # Its own context: the page fixture counts the browser's console note on the 410 itself as an error.
    context = browser.new_context(viewport=WIDTHS["1366"], base_url=live_server.url)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    response = page.goto(f"/s/{link.token}/")
    assert response.status == 410
    expect(page.locator("#share-removed")).to_contain_text("This remix was removed")
    expect(page.locator("#share-removed-reason")).to_have_text("Its owner removed this remix.")
    shoot_both(page, "share-removed")
    context.close()
    assert not errors


def test_the_track_page_downloads_stems_named_after_the_song(page, live_server, alice, shared):
    track, _ = shared
    sign_in(page, live_server, alice)
    page.goto(f"/tracks/{track.pk}/")
    expect(page.locator("#downloads .download-row")).to_have_count(3)
    with page.expect_download() as download:
        page.click("#zip-flac")
    assert download.value.suggested_filename == "The Testers – Night Drive (stems, FLAC).zip"
    with page.expect_download() as download:
        page.click('[data-stem="vocals"] a:has-text("WAV")')
    assert download.value.suggested_filename == "The Testers – Night Drive (vocals).wav"
    page.locator("#downloads").scroll_into_view_if_needed()
    for width, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        assert page.evaluate(NO_SIDEWAYS_SCROLL), f"the track page scrolls sideways at {width} px"
        page.locator("#downloads").screenshot(path=str(screenshot_path(f"account-track-downloads-{width}")))


def screenshot_path(name):
    from tests.browser import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{name}.png"
