"""NUL characters in query parameters get a clear 400 (PostgreSQL would fail on them with a 500)."""

import pytest


@pytest.mark.parametrize("url", ["/api/tracks/?search=%00", "/api/tracks/?ordering=ti%00tle", "/library/?q=a%00b"])
def test_a_nul_in_a_query_parameter_is_a_400(client, alice, url):
    client.force_login(alice)
    response = client.get(url)
    assert response.status_code == 400
    assert response.json()["code"] == "nul_character"
    assert "contains a NUL character" in response.json()["detail"]
