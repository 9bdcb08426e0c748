"""An invite (a share link) survives sign-in, "Create an account", back, and sign-up; foreign destinations do not."""

from urllib.parse import quote

import pytest
from django.contrib.auth.models import User

from library.models import Remix, ShareLink
from tests.separated import separated_track

PASSWORD = "a long good passphrase"


@pytest.fixture
def invite(alice, tmp_path):
    track, job = separated_track(alice, tmp_path)
    mix = {name: {"gain_db": 0.0, "mute": False, "solo": False, "pan": 0.0} for name in job.stem_names}
    remix = Remix.objects.create(owner=alice, job=job, track=track, stems=mix, title=track.title, name="Mine")
    return f"/s/{ShareLink.objects.create(remix=remix).token}/"


def sign_up(client, name, next_url):
    data = {"username": name, "email": "", "password1": PASSWORD, "password2": PASSWORD, "next": next_url}
    return client.post("/accounts/signup/", data)


def test_the_whole_loop_keeps_the_destination(client, invite):
    share = client.get(invite).content.decode()
    assert f'id="sign-in-to-fork" href="/accounts/login/?next={quote(invite)}"' in share  # "Sign in to add it"
    sign_in_link = f"/accounts/login/?next={quote(invite, safe='')}"

    login = client.get(sign_in_link).content.decode()
    create = f"/accounts/signup/?next={quote(invite, safe='')}"
    assert f'id="signup-link" href="{create}"' in login

    signup = client.get(create).content.decode()
    assert f'name="next" value="{invite}"' in signup
    assert f'id="login-link" href="{sign_in_link}"' in signup  # and back again

    response = sign_up(client, "newcomer", invite)
    assert response.status_code == 302
    assert response["Location"] == invite
    assert client.get(invite).status_code == 200
    assert User.objects.filter(username="newcomer").exists()


def test_sign_in_goes_to_the_destination(client, alice, invite):
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "correct horse battery", "next": invite}
    )
    assert response.status_code == 302
    assert response["Location"] == invite


def test_a_failed_sign_up_keeps_the_destination_and_what_was_typed(client, invite):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "newcomer",
            "email": "n@example.com",
            "password1": "12345678",
            "password2": "12345678",
            "next": invite,
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "This password is too common." in page
    assert f'name="next" value="{invite}"' in page
    assert 'value="newcomer"' in page and 'value="n@example.com"' in page


def test_without_a_destination_sign_up_opens_the_library(client, db):
    assert sign_up(client, "newcomer", "")["Location"] == "/library/"


@pytest.mark.parametrize(
    "evil",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http://testserver/library/",  # our own host, but absolute: only relative paths are kept
        "/\tlibrary/",
        "library/",
    ],
)
def test_only_same_site_paths_are_followed(client, alice, evil):
    response = sign_up(client, "newcomer", evil)
    assert response["Location"] == "/library/"
    client.logout()
    response = client.post("/accounts/login/", {"username": "alice", "password": "correct horse battery", "next": evil})
    assert response["Location"] == "/library/"
    page = client.get(f"/accounts/signup/?next={quote(evil, safe='')}").content.decode()
    assert "evil.example" not in page and "javascript" not in page


def test_a_signed_in_visitor_of_the_invite_sign_up_goes_straight_there(client, alice, invite):
    client.force_login(alice)
    assert client.get(f"/accounts/signup/?next={quote(invite)}")["Location"] == invite
    assert client.get(f"/accounts/login/?next={quote(invite)}")["Location"] == invite


def test_the_header_links_bring_a_visitor_back_to_the_page(client, invite):
    page = client.get(invite).content.decode()
    assert f'href="/accounts/login/?next={quote(invite, safe="")}" id="nav-login"' in page
    assert f'href="/accounts/signup/?next={quote(invite, safe="")}" id="nav-signup"' in page
    landing = client.get("/").content.decode()
    assert 'href="/accounts/login/" id="nav-login"' in landing
