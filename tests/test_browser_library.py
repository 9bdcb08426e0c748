"""The library page in a real Chromium: live stem status, drag-and-drop upload, search and the empty state."""

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from library.ingest import ingest
from library.models import Track
from separation.models import SeparationJob, SeparationRequest
from tests.audio_files import make_audio
from tests.browser import PHONE, browser_fixture, page_fixture, screenshot, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def add_track(user, path, **fields):
    return ingest(user, SimpleUploadedFile(path.name, path.read_bytes()), **fields).track


def test_a_cards_stem_progress_updates_live_without_a_reload(page, live_server, alice, song_mp3, song_wav):
    splitting = add_track(alice, song_mp3)
    idle = add_track(alice, song_wav, title="Not split yet")
    # A job as a worker would leave it mid-way; this test moves it along itself.
    job = SeparationJob.objects.create(
        sha256=splitting.sha256, source=splitting.original.name, model="2stems", status="running", progress=10
    )
    SeparationRequest.objects.create(user=alice, job=job)
    sign_in(page, live_server, alice)
    page.goto("/library/")
    page.evaluate("window.notReloaded = true")
    card = page.locator(f'.track[data-track="{splitting.pk}"]')
    expect(card.locator(".track-status")).to_contain_text("Splitting 10%")
    expect(page.locator(f'.track[data-track="{idle.pk}"] .track-status')).to_contain_text("No stems yet")

    SeparationJob.objects.filter(pk=job.pk).update(progress=55)
    expect(card.locator(".track-status")).to_contain_text("Splitting 55%")
    assert card.locator("progress").get_attribute("value") == "55"

    SeparationJob.objects.filter(pk=job.pk).update(status="succeeded", progress=100)
    expect(card.locator(".track-status")).to_contain_text("Stems ready")
    expect(card.get_by_role("link", name="Karaoke")).to_have_attribute("href", f"/tracks/{splitting.pk}/karaoke/")
    assert page.evaluate("window.notReloaded") is True, "the page must update in place"


def test_split_on_a_card_starts_a_job_and_shows_it_queued(page, live_server, alice, song_wav, spleeter_2stems):
    track = add_track(alice, song_wav)
    sign_in(page, live_server, alice)
    page.goto("/library/")
    page.get_by_role("button", name=f"Split {track.title} into stems").click()
    expect(page.locator(f'.track[data-track="{track.pk}"] .track-status')).to_contain_text("Queued")
    assert SeparationJob.objects.filter(sha256=track.sha256, status="queued").count() == 1


def test_dropping_a_song_on_the_library_uploads_it(page, live_server, alice, song_wav):
    sign_in(page, live_server, alice)
    page.goto("/library/")
    expect(page.locator(".empty")).to_contain_text("Your library is empty")
    payload = base64.b64encode(song_wav.read_bytes()).decode()
    page.evaluate(
        """([name, payload]) => {
          const bytes = Uint8Array.from(atob(payload), (c) => c.charCodeAt(0));
          const transfer = new DataTransfer();
          transfer.items.add(new File([bytes], name, { type: "audio/wav" }));
          const zone = document.getElementById("dropzone");
          zone.dispatchEvent(new DragEvent("dragenter", { dataTransfer: transfer, bubbles: true, cancelable: true }));
          zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
        }""",
        [song_wav.name, payload],
    )
    # The page stays on the library: the song appears as a row there.
    expect(page.locator("#upload-queue .queue-item.done")).to_have_count(1)
    track = Track.objects.get(owner=alice)
    expect(page.locator(f'.track[data-track="{track.pk}"] .title')).to_have_text(track.title)
    assert page.url.endswith("/library/")
    assert track.original_name == song_wav.name


def test_search_sort_and_phone_layout(page, live_server, alice, audio_dir):
    for title, seconds in (("Alpha", 1), ("Bravo", 3), ("Charlie", 2)):
        add_track(alice, make_audio(audio_dir / f"{title}.wav", seconds=seconds, freq=300 + seconds), title=title)
    sign_in(page, live_server, alice)
    page.goto("/library/")
    titles = page.locator(".track .title")
    expect(titles).to_have_text(["Charlie", "Bravo", "Alpha"])  # newest first
    page.select_option("select[name=sort]", "longest")
    page.click("text=Search")
    expect(titles).to_have_text(["Bravo", "Charlie", "Alpha"])
    page.fill("input[name=q]", "rav")
    page.press("input[name=q]", "Enter")
    expect(titles).to_have_text(["Bravo"])
    page.fill("input[name=q]", "nothing like it")
    page.press("input[name=q]", "Enter")
    expect(page.locator(".empty")).to_contain_text("No tracks match")

    page.goto("/library/")
    page.set_viewport_size(PHONE)
    screenshot(page, "library-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways at phone width ({width} px)"
