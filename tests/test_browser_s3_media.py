"""STORAGE=s3 in a real Chromium: the track page plays and draws media that its views redirect
to signed URLs of moto's S3 server (another origin), under the site's Content-Security-Policy.

What can only break in a browser: the CSP must let audio, fetch() and images reach the
bucket's origin; fetch() and <audio> follow the 302; the <audio> element asks with CORS
(crossorigin="anonymous"), or Web Audio's MediaElementSource would play it as silence,
and the visualizer would stay dark. Any console error (a CSP refusal) fails the test.
"""

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from library.ingest import ingest
from platform.middleware import policy_with
from tests.browser import browser_fixture, finished_stems, lit_fraction, page_fixture, sign_in  # noqa: F401 (fixtures)
from tests.eval_songs import generate_song

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not ON_POSTGRES, reason="STORAGE=s3 runs in the PostgreSQL pass of make test"),
]


@pytest.fixture
def bucket_policy(s3_media, settings):
    """The policy settings.py writes for STORAGE=s3 (tests/test_s3_media.py checks that), for moto's origin."""
    policy = settings.CONTENT_SECURITY_POLICY
    for directive in ("media-src", "connect-src", "img-src"):
        policy = policy_with(policy, directive, s3_media.endpoint)
    settings.CONTENT_SECURITY_POLICY = policy
    return s3_media


def test_s3_the_track_page_plays_and_draws_media_from_signed_bucket_urls(
    page, live_server, alice, bucket_policy, tmp_path
):
    song = generate_song(tmp_path / "song", seconds=6, seed=41)
    track = ingest(
        alice, SimpleUploadedFile("song.wav", (song / "mixture.wav").read_bytes()), title="Bucket Song"
    ).track
    assert track.original.name in bucket_policy.object_keys()
    sign_in(page, live_server, alice)
    bucket_requests = []
    page.on(
        "request", lambda request: request.url.startswith(bucket_policy.endpoint) and bucket_requests.append(request)
    )

    finished_stems(track, song)  # stored in the bucket, like the worker's (tests/test_s3_media.py)

    page.goto(f"/tracks/{track.pk}/")
    expect(page.locator("#mix-strips .mix-strip")).to_have_count(2)
    expect(page.locator("#wave-loading")).to_have_count(0)  # the peaks, fetched through the redirect
    # The original, streamed by the <audio> element from the bucket, heard by the visualizer.
    page.click("#play")
    page.wait_for_function("() => window.stemroom.playing() && window.stemroom.currentTime() > 0.5")
    assert page.evaluate("window.stemroom.player.constructor.name") == "MediaEngine"
    page.wait_for_timeout(300)
    assert lit_fraction(page) > 0.005, "the visualizer hears the original streamed from the bucket"
    assert any(r.headers.get("range") for r in bucket_requests), "the <audio> element asks the bucket for ranges"

    # The mix: the stems are fetched from the bucket and played.
    page.click("#mix-accompaniment-mute")
    page.wait_for_function("() => window.stemroom.player && window.stemroom.player.constructor.name === 'StemPlayer'")
    page.wait_for_function("() => window.stemroom.playing() && window.stemroom.currentTime() > 1.0")
    stem_keys = [key for key in bucket_policy.object_keys() if key.endswith(".mp3") and key.startswith("stems/")]
    assert len(stem_keys) == 2
    for key in stem_keys:
        assert any(r.url.split("?")[0].endswith(key) for r in bucket_requests), key
    page.click("#play")
