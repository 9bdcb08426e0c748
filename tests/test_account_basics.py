"""Account basics: password reset by e-mail (rate-limited), change password and e-mail, delete the account,
the landing page, and the token's copy button."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core import mail
from django.core.management.utils import get_random_secret_key
from django.test import Client
from rest_framework.authtoken.models import Token

from library.models import Remix, RemovedShareLink, ShareLink, Track
from separation.models import SeparationJob, Stem
from tests.separated import separated_track

PASSWORD = "correct horse battery"


def reset_link(message):
    return re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", message.body).group(1)


def media_files():
    return sorted(p for p in Path(django_settings.MEDIA_ROOT).rglob("*") if p.is_file())


# --- Password reset ---


def test_a_forgotten_password_is_reset_through_the_emailed_link(client, alice):
    response = client.post("/accounts/password/reset/", {"email": "ALICE@example.com"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    assert message.subject == "Reset your Stemroom password"
    assert "alice" in message.body

    link = reset_link(message)
    form = client.get(link, follow=True)
    assert form.status_code == 200
    assert "Choose a new password" in form.content.decode()
    set_url = form.redirect_chain[-1][0]
    weak = client.post(set_url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert weak.status_code == 400
    assert "This password is too common." in weak.content.decode()
    done = client.post(set_url, {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"})
    assert done["Location"] == "/accounts/password/reset/done/"
    signed_in = Client().post("/accounts/login/", {"username": "alice", "password": "a brand new passphrase"})
    assert signed_in.status_code == 302
    # The link works once.
    again = Client().get(link, follow=True)
    assert "This link does not work any more" in again.content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, alice):
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/sent/"
    assert mail.outbox == []


def test_a_malformed_address_is_a_clear_400_that_keeps_what_was_typed(client, db):
    response = client.post("/accounts/password/reset/", {"email": "not-an-address"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Enter a valid email address." in page
    assert 'value="not-an-address"' in page


def test_reset_requests_are_rate_limited_per_client_and_per_address(client, alice, bob, settings):
    settings.STEMROOM_PASSWORD_RESET_RATE = "3/hour"
    statuses = [
        client.post(
            "/accounts/password/reset/", {"email": "alice@example.com"}, REMOTE_ADDR=f"198.51.100.{i}"
        ).status_code
        for i in range(5)
    ]
    # Three mails to alice from three addresses, then her address is paused, whoever asks.
    assert statuses == [302, 302, 302, 429, 429]
    assert len(mail.outbox) == 3
    refused = client.post("/accounts/password/reset/", {"email": "alice@example.com"}, REMOTE_ADDR="198.51.100.77")
    assert "Too many password-reset requests" in refused.content.decode()
    assert 0 < int(refused["Retry-After"]) <= 3600
    # One client address asking for many accounts is paused too.
    for i in range(3):
        client.post("/accounts/password/reset/", {"email": f"x{i}@example.com"}, REMOTE_ADDR="203.0.113.9")
    assert (
        client.post("/accounts/password/reset/", {"email": "bob@example.com"}, REMOTE_ADDR="203.0.113.9").status_code
        == 429
    )
    assert len(mail.outbox) == 3  # bob got nothing from that address
    assert (
        client.post("/accounts/password/reset/", {"email": "bob@example.com"}, REMOTE_ADDR="192.0.2.1").status_code
        == 302
    )


def test_the_sign_in_page_offers_the_reset(client, db):
    assert 'href="/accounts/password/reset/"' in client.get("/accounts/login/").content.decode()


MAIL_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS]))"
)


def mail_settings(tmp_path, **env):
    """Settings are read once per process: each case runs in its own (tests/test_production_settings.py)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("EMAIL_") and k not in {"DEBUG", "SECRET_KEY"}}
    environ.update(DJANGO_SETTINGS_MODULE="platform.settings", STEMROOM_VAR_DIR=str(tmp_path), **env)
    environ.pop("DATABASE_URL", None)
    repo = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", MAIL_SETTINGS], cwd=repo, env=environ, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_development_prints_mail_on_the_console_and_production_uses_smtp(tmp_path):
    assert mail_settings(tmp_path)[0] == "django.core.mail.backends.console.EmailBackend"
    production = {"STEMROOM_ENV": "production", "SECRET_KEY": get_random_secret_key(), "ALLOWED_HOSTS": "x.example"}
    smtp = {"EMAIL_HOST": "smtp.example.org", "EMAIL_PORT": "587", "EMAIL_USE_TLS": "1"}
    assert mail_settings(tmp_path, **production, **smtp) == [
        "django.core.mail.backends.smtp.EmailBackend",
        "smtp.example.org",
        587,
        True,
    ]


# --- Change password, change e-mail ---


def test_change_password_keeps_this_session_and_needs_the_old_one(client, alice):
    client.force_login(alice)
    wrong = client.post(
        "/accounts/password/change/",
        {"old_password": "nope", "new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"},
    )
    assert wrong.status_code == 400
    assert "Your old password was entered incorrectly" in wrong.content.decode()
    other_device = Client()
    other_device.force_login(alice)
    response = client.post(
        "/accounts/password/change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a brand new passphrase",
            "new_password2": "a brand new passphrase",
        },
    )
    assert response["Location"] == "/accounts/profile/"
    assert client.get("/accounts/profile/").status_code == 200  # still signed in here
    assert other_device.get("/accounts/profile/").status_code == 302  # signed out elsewhere
    alice.refresh_from_db()
    assert alice.check_password("a brand new passphrase")


def test_change_email_needs_the_password_and_keeps_what_was_typed(client, alice):
    client.force_login(alice)
    wrong = client.post("/accounts/profile/email/", {"email": "new@example.com", "password": "nope"})
    assert wrong.status_code == 400
    assert "That is not your current password." in wrong.content.decode()
    assert 'value="new@example.com"' in wrong.content.decode()
    bad = client.post("/accounts/profile/email/", {"email": "no-at-sign", "password": PASSWORD})
    assert bad.status_code == 400 and "Enter a valid email address." in bad.content.decode()
    same = client.post("/accounts/profile/email/", {"email": "alice@example.com", "password": PASSWORD})
    assert same.status_code == 400 and "already your e-mail address" in same.content.decode()
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"

    response = client.post("/accounts/profile/email/", {"email": "alice@new.example", "password": PASSWORD})
    assert response["Location"] == "/accounts/profile/"
    alice.refresh_from_db()
    assert alice.email == "alice@new.example"
    assert "alice@new.example" in client.get("/accounts/profile/").content.decode()
    # Reset links now go to the new address.
    Client().post("/accounts/password/reset/", {"email": "alice@new.example"})
    assert mail.outbox[-1].to == ["alice@new.example"]


# --- Delete the account ---


@pytest.fixture
def alices_world(alice, bob, tmp_path):
    """alice's separated song, her shared remix, bob's fork of it, a token; bob's own song too."""
    track, job = separated_track(alice, tmp_path, cover=True)
    mix = {name: {"gain_db": 0.0, "mute": False, "solo": False, "pan": 0.0} for name in job.stem_names}
    remix = Remix.objects.create(owner=alice, job=job, track=track, stems=mix, title=track.title, name="Alices")
    link = ShareLink.objects.create(remix=remix)
    fork = Remix.objects.create(owner=bob, job=job, stems=mix, title=track.title, name="Bobs fork", forked_from=remix)
    Token.objects.create(user=alice)
    (tmp_path / "bob").mkdir()
    bobs_track, _ = separated_track(bob, tmp_path / "bob", seconds=1.0)
    return {"track": track, "job": job, "link": link, "fork": fork, "bobs_track": bobs_track}


def test_deleting_the_account_removes_everything_and_kills_its_share_links(
    client, alice, alices_world, django_capture_on_commit_callbacks
):
    link, fork, bobs_track = alices_world["link"], alices_world["fork"], alices_world["bobs_track"]
    alices_files = [
        Path(alices_world["track"].original.path),
        Path(alices_world["track"].cover.path),
        Path(alices_world["track"].peaks.path),  # the waveform measured at upload
        *[Path(stem.lossless.path) for stem in alices_world["job"].stems.all()],
    ]
    assert all(path.exists() for path in alices_files)
    client.force_login(alice)

    wrong = client.post("/accounts/profile/delete/", {"confirm": "alice", "password": "nope"})
    assert wrong.status_code == 400 and "That is not your current password." in wrong.content.decode()
    typo = client.post("/accounts/profile/delete/", {"confirm": "alcie", "password": PASSWORD})
    assert typo.status_code == 400 and "Type alice exactly to confirm." in typo.content.decode()
    assert 'value="alcie"' in typo.content.decode()
    assert User.objects.filter(username="alice").exists()

    with django_capture_on_commit_callbacks(execute=True):  # files go once the deletion is committed
        response = client.post("/accounts/profile/delete/", {"confirm": "alice", "password": PASSWORD})
    assert response["Location"] == "/"
    assert not User.objects.filter(username="alice").exists()
    assert not Track.objects.filter(owner__username="alice").exists()
    assert not Remix.objects.filter(name="Alices").exists()
    assert not Token.objects.filter(user_id=alice.pk).exists()
    assert not any(path.exists() for path in alices_files), "alice's files must go"
    # Bob's own song and its files stay.
    assert Path(bobs_track.original.path).exists()
    assert Stem.objects.filter(job__sha256=bobs_track.sha256).exists()
    assert not SeparationJob.objects.filter(sha256=alices_world["track"].sha256).exists()

    # The session is gone, and the share link says the remix was removed, to anyone.
    assert client.get("/accounts/profile/").status_code == 302
    page = Client().get(f"/s/{link.token}/")
    assert page.status_code == 410
    assert "This remix was removed" in page.content.decode()
    assert alices_world["track"].title not in page.content.decode()
    data = Client().get(f"/s/{link.token}/data.json")
    assert data.status_code == 410 and data.json()["available"] is False
    assert Client().get(f"/s/{link.token}/stems/vocals/audio/").status_code == 404
    # Only a digest of the token is kept.
    assert not RemovedShareLink.objects.filter(token_digest=link.token).exists()
    # Bob's fork is cut off: it stays, saying why, with no stems.
    fork.refresh_from_db()
    assert fork.cut_off_at is not None and fork.job_id is None


def test_an_unknown_share_token_is_still_404(client, db):
    assert client.get("/s/never-made-this-one/").status_code == 404


# --- Landing page, token copy button ---


def test_anonymous_visitors_get_a_landing_page_and_members_their_library(client, alice):
    page = client.get("/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Your songs, split into stems." in text
    assert 'href="/accounts/signup/"' in text and 'href="/accounts/login/"' in text
    client.force_login(alice)
    assert client.get("/")["Location"] == "/library/"


def test_a_new_token_comes_with_a_copy_button(client, alice):
    client.force_login(alice)
    page = client.post("/accounts/profile/token/", follow=True).content.decode()
    key = Token.objects.get(user=alice).key
    assert f'<code id="new-token" class="token">{key}</code>' in page
    assert 'data-copy="new-token"' in page
    assert "frontend/copy.js" in page
    # Shown once: the next visit has neither the key nor the button.
    later = client.get("/accounts/profile/").content.decode()
    assert key not in later and 'data-copy="new-token"' not in later
