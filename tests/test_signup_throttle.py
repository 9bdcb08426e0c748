"""Mass sign-ups from one address end in a clear 429 page."""

from django.contrib.auth.models import User


def sign_up(client, name, address="203.0.113.5", password="a long good passphrase"):
    data = {"username": name, "email": "", "password1": password, "password2": password}
    return client.post("/accounts/signup/", data, REMOTE_ADDR=address)


def test_ten_quick_sign_ups_from_one_address_stop_after_five(client, db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    statuses = []
    for i in range(10):
        statuses.append(sign_up(client, f"bot{i}").status_code)
        client.logout()

    assert statuses == [302] * 5 + [429] * 5
    assert User.objects.filter(username__startswith="bot").count() == 5
    refused = sign_up(client, "bot99")
    assert "Too many accounts were created from your network recently." in refused.content.decode()
    assert 0 < int(refused["Retry-After"]) <= 3600
    # Someone else, elsewhere, can still join.
    assert sign_up(client, "carol", address="198.51.100.20").status_code == 302


def test_a_sign_up_that_fails_validation_is_not_counted(client, db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    for _ in range(10):
        assert sign_up(client, "dave", password="12345678").status_code == 400
    assert sign_up(client, "dave").status_code == 302
