"""Guessing API tokens and flooding uploads: both end in 429 with Retry-After and the usual JSON error."""

from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.helpers import files_under, upload


def with_token(key, address="203.0.113.5"):
    return {"HTTP_AUTHORIZATION": f"Token {key}", "REMOTE_ADDR": address}


def test_forty_bad_tokens_are_throttled_and_then_even_a_good_one_is_refused(client, alice, settings):
    good = Token.objects.create(user=alice).key
    responses = [client.get("/api/tracks/", **with_token(f"{i:040x}")) for i in range(40)]

    assert [r.status_code for r in responses[:10]] == [401] * 10
    assert {r.status_code for r in responses[10:]} == {429}
    refused = responses[-1]
    assert refused.json() == {
        "detail": refused.json()["detail"],
        "code": "throttled",
    }
    assert refused.json()["detail"].startswith("Too many invalid API tokens from your address.")
    assert 0 < int(refused["Retry-After"]) <= 15 * 60
    # Checked before the lookup, or a guesser could still tell a hit from a miss.
    assert client.get("/api/tracks/", **with_token(good)).status_code == 429
    # Other addresses are not affected.
    assert client.get("/api/tracks/", **with_token(good, "198.51.100.20")).status_code == 200


def test_good_tokens_are_never_counted(client, alice):
    good = Token.objects.create(user=alice).key
    statuses = {client.get("/api/tracks/", **with_token(good)).status_code for _ in range(30)}
    assert statuses == {200}


def test_a_user_who_uploads_too_often_gets_429_on_the_api_and_the_library_page(alice, bob, song_wav, settings):
    settings.STEMROOM_UPLOAD_RATE = "3/hour"
    api = APIClient()
    api.force_authenticate(alice)

    statuses = [upload(api, song_wav).status_code for _ in range(3)]
    refused = upload(api, song_wav)

    assert statuses == [201, 200, 200]  # duplicates count: each one was read, hashed and probed
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert refused.json()["detail"].startswith("Too many uploads")
    assert 0 < int(refused["Retry-After"]) <= 3600

    # The library page shares the count, and refuses before storing anything.
    api.force_login(alice)
    page = api.post("/library/", {"file": SimpleUploadedFile("x.wav", song_wav.read_bytes())}, format="multipart")
    assert page.status_code == 429
    assert "Too many uploads" in page.content.decode()
    assert files_under(settings.FILE_UPLOAD_TEMP_DIR) == []

    # bob has his own count.
    bob_api = APIClient()
    bob_api.force_authenticate(bob)
    assert upload(bob_api, song_wav).status_code == 201


def test_reading_the_library_is_not_throttled(alice_api, settings):
    settings.STEMROOM_UPLOAD_RATE = "1/hour"
    assert {alice_api.get("/api/tracks/").status_code for _ in range(10)} == {200}
