"""Inputs that used to end in a 500 (or Django's HTML 400) now get a 4xx with the API's JSON error body."""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, reverse

from platform.urls import router
from tests.separated import separated_track


@pytest.fixture
def client_of_alice(alice):
    # Unhandled exceptions become responses, as in production, instead of failing the test early.
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    return client


@pytest.fixture
def objects(alice, alice_api, tmp_path):
    """One of each API object, owned by alice: ids keyed by router basename."""
    track, job = separated_track(alice, tmp_path)
    remix = alice_api.post("/api/remixes/", {"track": str(track.pk), "name": "Mix"}, format="json").json()
    link = alice_api.post("/api/shares/", {"remix": remix["id"]}, format="json").json()
    return {
        "track": str(track.pk),
        "job": str(job.pk),
        "stem": str(job.stems.first().pk),
        "remix": remix["id"],
        "share": link["token"],
    }


def assert_json_error(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["detail"] and body["code"], body
    return body


def api_paths(objects):
    """Every route of the API router, filled in with alice's objects."""
    for pattern in router.urls:
        if not isinstance(pattern, URLPattern) or pattern.name in (None, "api-root"):
            continue
        basename = pattern.name.split("-")[0]
        # Besides the object's pk, a route may take a stem name and a chunk index.
        fillers = {"name": "vocals", "index": 0}
        kwargs = {group: fillers.get(group, objects[basename]) for group in pattern.pattern.regex.groupindex}
        yield reverse(pattern.name, kwargs=kwargs)


def test_no_route_answers_500_to_a_format_suffix(client_of_alice, objects):
    suffixed = [re.sub(r"/$", ".json/", path) for path in api_paths(objects)]
    suffixed += [path.rstrip("/") + ".json" for path in api_paths(objects)]
    assert len(suffixed) >= 26
    for path in suffixed:
        for response in (
            client_of_alice.get(path),
            client_of_alice.post(path, "{}", content_type="application/json"),
            client_of_alice.patch(path, "{}", content_type="application/json"),
        ):
            assert response.status_code < 500, (response.request["REQUEST_METHOD"], path, response.content[:200])
            assert response["Content-Type"] == "application/json", path


def test_json_nested_100000_deep_is_a_400(client_of_alice, objects):
    body = "[" * 100_000 + "]" * 100_000
    response = client_of_alice.patch(f"/api/tracks/{objects['track']}/", body, content_type="application/json")
    assert assert_json_error(response, 400)["code"] == "parse_error"
    response = client_of_alice.post("/api/remixes/", body, content_type="application/json")
    assert assert_json_error(response, 400)["code"] == "parse_error"


def test_a_gain_with_400_digits_is_refused_by_field(client_of_alice, objects):
    huge = "1" + "0" * 400
    body = f'{{"stems": {{"vocals": {{"gain_db": {huge}}}, "accompaniment": {{"pan": -{huge}}}}}}}'
    response = client_of_alice.patch(f"/api/remixes/{objects['remix']}/", body, content_type="application/json")
    error = assert_json_error(response, 400)
    assert error["detail"] == "stems: vocals.gain_db: must be between -60 and 12 dB."
    assert error["fields"] == {"stems": ["vocals.gain_db: must be between -60 and 12 dB."]}


def test_a_range_with_5000_digits_is_416(client_of_alice, objects):
    audio = f"/api/tracks/{objects['track']}/audio/"
    response = client_of_alice.get(audio, HTTP_RANGE="bytes=" + "9" * 5000 + "-")
    assert assert_json_error(response, 416)["code"] == "range_not_satisfiable"
    assert response["Content-Range"].startswith("bytes */")
    # A huge end or suffix only means "to the end" / "all of it".
    size = int(response["Content-Range"].split("/")[1])
    response = client_of_alice.get(audio, HTTP_RANGE="bytes=10-" + "9" * 5000)
    assert (response.status_code, response["Content-Range"]) == (206, f"bytes 10-{size - 1}/{size}")
    response = client_of_alice.get(audio, HTTP_RANGE="bytes=-" + "9" * 5000)
    assert (response.status_code, response["Content-Range"]) == (206, f"bytes 0-{size - 1}/{size}")


def test_a_6_mb_json_body_is_a_json_413(client_of_alice, objects):
    body = json.dumps({"name": "x" * (6 * 1024 * 1024)})
    response = client_of_alice.patch(f"/api/remixes/{objects['remix']}/", body, content_type="application/json")
    assert assert_json_error(response, 413)["code"] == "request_too_large"


def test_150_files_in_one_upload_are_a_json_400(client_of_alice):
    files = {f"file{i}": SimpleUploadedFile(f"part{i}.mp3", b"ID3") for i in range(150)}
    response = client_of_alice.post("/api/tracks/", files)
    assert assert_json_error(response, 400)["code"] == "too_many_files"


def test_an_unknown_api_url_is_a_json_404(client_of_alice):
    assert assert_json_error(client_of_alice.get("/api/no-such-thing/"), 404)["code"] == "not_found"
