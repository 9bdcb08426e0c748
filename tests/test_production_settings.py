"""The production shape: `check --deploy` is clean, HTTPS is enforced behind the proxy, weak keys are refused, DEBUG is opt-in.

Settings are read once per process, so each case runs Django in a subprocess with its own environment.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management.utils import get_random_secret_key

REPO = Path(__file__).resolve().parent.parent

# What the script prints for the HTTPS case: a request over plain HTTP, one that
# came through the TLS proxy, and the container's plain-HTTP healthcheck.
REQUESTS = """
import django, json
django.setup()
from django.conf import settings
from django.test import Client
client = Client(HTTP_HOST="stemroom.example", HTTP_ACCEPT="application/json")
plain = client.get("/api/tracks/")
proxied = client.get("/api/tracks/", HTTP_X_FORWARDED_PROTO="https")
health = client.get("/healthz")
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location")],
    "proxied": [proxied.status_code, proxied.get("Strict-Transport-Security")],
    "health": [health.status_code, health.get("Location")],
    "secure_cookies": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE],
}))
"""


def run(tmp_path, *args, **env):
    environ = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}}
    environ.update(DJANGO_SETTINGS_MODULE="platform.settings", STEMROOM_VAR_DIR=str(tmp_path), **env)
    environ.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, *args], cwd=REPO, env=environ, capture_output=True, text=True, timeout=120)


@pytest.fixture
def production():
    return {"STEMROOM_ENV": "production", "SECRET_KEY": get_random_secret_key(), "ALLOWED_HOSTS": "stemroom.example"}


def test_check_deploy_is_clean_in_the_production_shape(tmp_path, production):
    result = run(tmp_path, "manage.py", "check", "--deploy", "--fail-level", "WARNING", **production)
    assert result.returncode == 0, result.stdout + result.stderr


def test_plain_http_is_redirected_unless_the_proxy_says_https(tmp_path, production):
    result = run(tmp_path, "-c", REQUESTS, **production)
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["plain"] == [301, "https://stemroom.example/api/tracks/"]
    # Through the proxy: answered (401: no credentials), with HSTS.
    assert answers["proxied"] == [401, "max-age=31536000; includeSubDomains"]
    assert answers["secure_cookies"] == [True, True]
    # The container healthcheck speaks plain HTTP from inside: never redirected.
    assert answers["health"][0] in (200, 503) and answers["health"][1] is None


@pytest.mark.parametrize(
    "key", ["too-short-for-production", "a" * 64, "django-insecure-" + get_random_secret_key()], ids=str.__len__
)
def test_a_weak_secret_key_is_refused_in_production(tmp_path, production, key):
    result = run(tmp_path, "manage.py", "check", **{**production, "SECRET_KEY": key})
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is too weak for production" in result.stderr
    assert "get_random_secret_key()" in result.stderr


def test_debug_is_off_unless_a_developer_turns_it_on(tmp_path):
    show = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    assert run(tmp_path, "-c", show).stdout.strip() == "False"
    assert run(tmp_path, "-c", show, DEBUG="1").stdout.strip() == "True"


def test_static_files_are_served_with_debug_off_outside_production(client, settings):
    # `make run` serves households with DEBUG off: WhiteNoise finds the apps' files itself.
    assert settings.DEBUG is False
    response = client.get("/static/frontend/stemroom.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
