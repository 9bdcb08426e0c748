"""The library's upload queue in a real Chromium: many files at once, progress and errors per file,
two uploads at a time, new rows on the library without leaving it, and "split on arrival"."""

import pytest
from playwright.sync_api import expect

from library.models import Track
from separation.models import SeparationJob
from tests.audio_files import make_audio
from tests.browser import browser_fixture, page_fixture, screenshot, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 900}
PHONE_390 = {"width": 390, "height": 844}

# Counts the uploads in flight at once, before the page's own scripts run.
COUNT_UPLOADS = """
window.uploads = { active: 0, most: 0, total: 0 };
const send = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.send = function (body) {
  if (body instanceof FormData) {
    window.uploads.active += 1;
    window.uploads.total += 1;
    window.uploads.most = Math.max(window.uploads.most, window.uploads.active);
    this.addEventListener("loadend", () => (window.uploads.active -= 1));
  }
  return send.apply(this, arguments);
};
"""


def test_the_dropzone_shows_a_styled_button_and_no_native_file_control(page, live_server, alice):
    sign_in(page, live_server, alice)
    page.set_viewport_size(LAPTOP)
    page.goto("/library/")
    file_input = page.locator("#upload-form input[type=file]")
    box = file_input.bounding_box()
    assert box["width"] <= 1 and box["height"] <= 1, "the native 'Choose File' control must not show"
    assert file_input.get_attribute("multiple") is not None
    expect(page.locator("label.choose")).to_be_visible()
    expect(page.locator("label.choose")).to_have_text("Choose files…")
    # The queue replaces the one-file form's Title/Artist/Upload, which would mislead next to many files.
    expect(page.locator("#upload-fallback")).to_be_hidden()
    expect(page.get_by_label("Split each song into stems when it arrives")).to_be_visible()
    # Keyboard: the hidden input is still in the tab order, and its label shows the focus ring.
    page.locator("body").focus()
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.type === 'file'"):
            break
    else:
        pytest.fail("Tab never reaches the file input")
    ring = page.evaluate("() => getComputedStyle(document.querySelector('label.choose')).outlineStyle")
    assert ring == "solid"
    screenshot(page, "library-upload-1366")


def test_a_queue_of_three_files_one_bad_adds_two_rows_and_splits_them(
    page, live_server, alice, audio_dir, spleeter_2stems
):
    first = make_audio(audio_dir / "First Song.wav", seconds=4, freq=330)
    second = make_audio(audio_dir / "Second Song.flac", seconds=3, freq=550)
    bad = audio_dir / "notes.mp3"
    bad.write_bytes(b"these are my notes, not a song\n" * 40)
    page.add_init_script(COUNT_UPLOADS)
    sign_in(page, live_server, alice)
    page.set_viewport_size(LAPTOP)
    page.goto("/library/")
    page.evaluate("window.notReloaded = true")
    expect(page.locator("#library-empty")).to_be_visible()

    page.get_by_label("Split each song into stems when it arrives").check()
    page.set_input_files(
        "#upload-form input[type=file]",
        files=[str(first), str(bad), str(second)],
    )
    # A row per file, in the order chosen, each with its own progress bar.
    rows = page.locator("#upload-queue .queue-item")
    expect(rows).to_have_count(3)
    expect(rows.locator(".queue-name")).to_have_text(["First Song.wav", "notes.mp3", "Second Song.flac"])
    expect(rows.locator("progress")).to_have_count(3)
    expect(rows.nth(0)).to_have_class("queue-item done", timeout=30_000)
    expect(rows.nth(2)).to_have_class("queue-item done", timeout=30_000)
    expect(rows.nth(1)).to_have_class("queue-item failed")
    # The API's own sentence, on the bad file's row only.
    expect(rows.nth(1).locator(".queue-text")).to_have_text("The file is not an audio file we can read.")
    expect(rows.nth(0).locator(".queue-text")).to_have_text("Added; splitting into stems.")
    assert page.evaluate("() => [...document.querySelectorAll('#upload-queue progress')].map((p) => p.value)") == [
        100,
        0,
        100,
    ]
    expect(page.locator("#queue-summary")).to_have_text("2 added · 1 failed")
    # The picker keeps no file name, the failed one least of all.
    assert page.evaluate("() => document.querySelector('#upload-form input[type=file]').files.length") == 0

    # Still on the library, not reloaded: the two songs are rows now, and their splits are queued.
    assert page.url.endswith("/library/")
    assert page.evaluate("window.notReloaded") is True
    tracks = {t.title: t for t in Track.objects.filter(owner=alice)}
    assert set(tracks) == {"First Song", "Second Song"}
    for track in tracks.values():
        card = page.locator(f'.track[data-track="{track.pk}"]')
        expect(card.locator(".title")).to_have_text(track.title)
        expect(card.locator(".track-status")).to_contain_text("Queued")
        assert SeparationJob.objects.filter(sha256=track.sha256, model="2stems").count() == 1
    expect(page.locator("#library-empty")).to_have_count(0)
    uploads = page.evaluate("window.uploads")
    assert uploads["total"] == 3
    assert uploads["most"] <= 2, f"at most two uploads at a time, saw {uploads['most']}"
    screenshot(page, "library-upload-queue-1366")
    page.set_viewport_size(PHONE_390)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_390["width"], f"the page scrolls sideways at 390 px ({width} px)"
    screenshot(page, "library-upload-queue-390")


def test_dropping_several_files_queues_each_and_a_duplicate_adds_no_second_row(page, live_server, alice, audio_dir):
    song = make_audio(audio_dir / "Dropped.mp3", seconds=2, freq=440)
    page.add_init_script(COUNT_UPLOADS)
    sign_in(page, live_server, alice)
    page.goto("/library/")
    # A drop of several files: each is queued.
    payload = list(song.read_bytes())
    page.evaluate(
        """([name, bytes]) => {
          const transfer = new DataTransfer();
          transfer.items.add(new File([new Uint8Array(bytes)], name, { type: "audio/mpeg" }));
          transfer.items.add(new File([new Uint8Array(bytes)], "Copy of " + name, { type: "audio/mpeg" }));
          const zone = document.getElementById("dropzone");
          zone.dispatchEvent(new DragEvent("dragenter", { dataTransfer: transfer, bubbles: true, cancelable: true }));
          zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
        }""",
        [song.name, payload],
    )
    rows = page.locator("#upload-queue .queue-item")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_class("queue-item done", timeout=30_000)
    expect(rows.nth(1)).to_have_class("queue-item done", timeout=30_000)
    # The same bytes twice: one track, and the second row says so instead of adding another.
    texts = sorted(rows.locator(".queue-text").all_inner_texts())
    assert texts == ["Added.", "Already in your library."]
    expect(page.locator(".track")).to_have_count(1)
    assert Track.objects.filter(owner=alice).count() == 1
    assert page.url.endswith("/library/")
