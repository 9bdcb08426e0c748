"""People get branded error pages, never Django's debug or plain ones; API clients get JSON, even for a crash."""

import pytest
from django.test import Client
from django.urls import path

import platform.urls
from platform.error_views import server_error


def crash(request):
    raise RuntimeError("a bug nobody caught")


# This module doubles as a URLconf: the same handler as platform.urls, plus views that crash.
urlpatterns = [path("api/crash/", crash), path("crash/", crash)]
handler500 = platform.urls.handler500


@pytest.fixture
def visitor(settings):
    settings.DEBUG = False
    return Client(raise_request_exception=False)


def test_an_unknown_url_gets_the_branded_404_without_the_url_list(visitor, db):
    response = visitor.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "<title>Not found · Stemroom</title>" in html
    assert 'class="brand"' in html
    assert "URLconf" not in html and "api/" not in html


def test_a_signed_in_user_keeps_the_site_navigation_on_a_404(visitor, alice):
    visitor.force_login(alice)
    html = visitor.get("/tracks/not-a-uuid/").content.decode()
    assert "Not found" in html and "My remixes" in html


def test_a_form_with_a_stale_csrf_token_gets_the_branded_403(db, settings):
    settings.DEBUG = False
    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "a", "password": "b"})
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()


@pytest.mark.urls(__name__)
def test_an_uncaught_exception_is_a_branded_500_page(visitor):
    response = visitor.get("/crash/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html and 'class="brand"' in html
    assert "RuntimeError" not in html


@pytest.mark.urls(__name__)
def test_an_uncaught_exception_in_the_api_is_a_json_500(visitor):
    response = visitor.get("/api/crash/")
    assert response.status_code == 500
    assert response.json() == {
        "detail": "Something went wrong on our side; it has been logged.",
        "code": "server_error",
    }


def test_the_500_page_needs_no_database_or_request_context(rf):
    # No db fixture: any query would raise here. No session or user on the request either.
    response = server_error(rf.get("/library/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
