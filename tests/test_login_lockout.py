"""Guessing passwords: sign-in failures lock the account and the address for a cool-off (django-axes)."""

import io
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

WRONG = {"username": "alice", "password": "not her password"}
RIGHT = {"username": "alice", "password": "correct horse battery"}


@pytest.fixture(autouse=True)
def quick_password_checks(settings):
    # Forty real PBKDF2 checks take a minute on a busy small machine; the lockout is what is tested.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_in(client, data, address="203.0.113.5", **headers):
    return client.post("/accounts/login/", data, REMOTE_ADDR=address, **headers)


def is_signed_in(client):
    return client.get("/library/").status_code == 200


def test_forty_wrong_passwords_at_speed_then_the_right_one_is_refused(client, alice, settings):
    statuses = [sign_in(client, WRONG).status_code for _ in range(40)]

    limit = settings.STEMROOM_LOGIN_FAILURE_LIMIT
    assert statuses[: limit - 1] == [200] * (limit - 1)
    assert statuses[limit - 1 :] == [429] * (40 - limit + 1)
    response = sign_in(client, RIGHT)
    assert response.status_code == 429
    assert response["Retry-After"] == str(settings.STEMROOM_LOGIN_COOLOFF_MINUTES * 60)
    assert "Too many failed sign-ins" in response.content.decode()
    assert "Try again in 15 minutes" in response.content.decode()
    assert not is_signed_in(client)


def test_the_account_is_locked_from_every_address(client, alice, bob):
    for _ in range(5):
        sign_in(client, WRONG, address="203.0.113.5")

    # The guesser moved on to another address: alice's account is still closed...
    assert sign_in(client, RIGHT, address="198.51.100.20").status_code == 429
    # ...but that other address is not, for other accounts.
    response = sign_in(client, {"username": "bob", "password": "another good passphrase"}, address="198.51.100.20")
    assert response.status_code == 302
    assert is_signed_in(client)


def test_the_address_is_locked_for_every_account(client, alice, bob):
    for name in ["alice", "bob", "carol", "dave", "erin"]:
        sign_in(client, {"username": name, "password": "guess"})

    response = sign_in(client, {"username": "bob", "password": "another good passphrase"})
    assert response.status_code == 429
    assert not is_signed_in(client)


def test_a_forged_forwarded_for_header_does_not_escape_the_address_lock(client, alice):
    # A client that is not our proxy cannot pick its own address.
    for i in range(5):
        sign_in(client, {"username": f"user{i}", "password": "guess"}, HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")

    assert sign_in(client, RIGHT, HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429


def test_behind_the_proxy_each_client_address_is_locked_on_its_own(client, alice, bob):
    for i in range(5):
        sign_in(client, {"username": f"user{i}", "password": "guess"}, "127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.7")

    bob_signs_in = {"username": "bob", "password": "another good passphrase"}
    assert sign_in(client, bob_signs_in, "127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.7").status_code == 429
    assert sign_in(client, bob_signs_in, "127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.8").status_code == 302


def test_the_admin_sign_in_is_locked_too(client, db):
    User.objects.create_superuser("root", "root@example.com", "a strong admin pass")
    for _ in range(5):
        client.post("/admin/login/?next=/admin/", {"username": "root", "password": "guess"})

    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": "a strong admin pass"})
    assert response.status_code == 429
    assert "Retry-After" in response
    assert client.get("/admin/").status_code == 302


def test_a_successful_sign_in_forgets_earlier_typos(client, alice):
    for _ in range(4):
        assert sign_in(client, WRONG).status_code == 200
    assert sign_in(client, RIGHT).status_code == 302
    client.post("/accounts/logout/")

    for _ in range(4):
        assert sign_in(client, WRONG).status_code == 200
    assert sign_in(client, RIGHT).status_code == 302


def test_signing_in_works_again_after_the_cool_off(client, alice, settings):
    settings.AXES_COOLOFF_TIME = timedelta(seconds=2)
    for _ in range(5):
        sign_in(client, WRONG)
    assert sign_in(client, RIGHT).status_code == 429

    time.sleep(2.2)
    assert sign_in(client, RIGHT).status_code == 302


def test_an_administrator_lifts_a_lockout_from_the_command_line(client, alice):
    for _ in range(5):
        sign_in(client, WRONG, address="203.0.113.5")
    assert sign_in(client, RIGHT, address="198.51.100.20").status_code == 429

    call_command("axes_reset_username", "alice", stdout=io.StringIO())

    assert sign_in(client, RIGHT, address="198.51.100.20").status_code == 302
