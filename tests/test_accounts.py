"""Sign-up, sign-in/out, the profile's storage figures and API tokens."""

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from library.ingest import ingest


def test_sign_up_creates_the_account_and_signs_in(client, db):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "carol",
            "email": "",
            "password1": "a long good passphrase",
            "password2": "a long good passphrase",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/library/"
    assert User.objects.filter(username="carol").exists()
    page = client.get("/library/")
    assert page.status_code == 200
    assert "Your library is empty" in page.content.decode()


def test_sign_up_enforces_password_validation(client, db):
    response = client.post("/accounts/signup/", {"username": "dave", "password1": "12345678", "password2": "12345678"})
    assert response.status_code == 400
    assert "This password is too common." in response.content.decode()
    assert not User.objects.filter(username="dave").exists()


def test_sign_in_and_out(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "correct horse battery"})
    assert response.status_code == 302
    assert client.get("/library/").status_code == 200
    client.post("/accounts/logout/")
    response = client.get("/library/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_wrong_password_is_refused(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_the_profile_shows_storage_used_and_quota(client, alice, song_wav, settings):
    settings.STEMROOM_QUOTA_STORAGE_BYTES = 10 * 1024**2
    with open(song_wav, "rb") as f:
        track = ingest(alice, SimpleUploadedFile("a.wav", f.read())).track
    client.force_login(alice)
    page = client.get("/accounts/profile/").content.decode()
    assert f'<strong id="storage-used">{filesizeformat(track.size)}</strong>' in page
    assert f"of {filesizeformat(10 * 1024**2)} used" in page
    assert "by 1 track." in page
    assert f"Largest upload: {filesizeformat(200 * 1024**2)}" in page


def test_a_token_authenticates_api_clients_until_revoked(client, alice):
    client.force_login(alice)
    client.post("/accounts/profile/token/")
    token = Token.objects.get(user=alice)
    page = client.get("/accounts/profile/").content.decode()
    assert token.key in page  # shown once, right after creation
    assert token.key not in client.get("/accounts/profile/").content.decode()

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/tracks/").status_code == 200

    client.post("/accounts/profile/token/revoke/")
    assert not Token.objects.filter(user=alice).exists()
    response = api.get("/api/tracks/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token.", "code": "authentication_failed"}


def test_a_deactivated_users_token_no_longer_works(alice):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=alice).key}")
    assert api.get("/api/tracks/").status_code == 200
    alice.is_active = False
    alice.save()
    response = api.get("/api/tracks/")
    assert response.status_code == 401
    assert response.json() == {"detail": "User inactive or deleted.", "code": "authentication_failed"}


def test_replacing_a_token_invalidates_the_old_one(client, alice):
    client.force_login(alice)
    client.post("/accounts/profile/token/")
    old = Token.objects.get(user=alice).key
    client.post("/accounts/profile/token/")
    assert Token.objects.get(user=alice).key != old


def test_session_api_calls_need_the_csrf_token(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    response = browser.post("/api/tracks/", {})
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
