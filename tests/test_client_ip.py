"""The client address every throttle counts by: forwarded headers count only from a trusted proxy."""

import pytest
from django.test import RequestFactory

from platform.client_ip import client_ip


def request_from(peer, forwarded_for=None, real_ip=None):
    headers = {}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    if real_ip is not None:
        headers["HTTP_X_REAL_IP"] = real_ip
    return RequestFactory().get("/", REMOTE_ADDR=peer, **headers)


def test_a_direct_client_is_its_socket_address_whatever_it_claims():
    assert client_ip(request_from("203.0.113.5")) == "203.0.113.5"
    assert client_ip(request_from("203.0.113.5", "192.0.2.1", "192.0.2.2")) == "203.0.113.5"


def test_behind_the_local_proxy_the_forwarded_address_counts():
    assert client_ip(request_from("127.0.0.1", "192.0.2.1")) == "192.0.2.1"
    assert client_ip(request_from("::1", real_ip="2001:db8::7")) == "2001:db8::7"


def test_only_the_hop_our_proxy_saw_counts_not_what_the_client_prepended():
    # nginx appends the peer it saw; whatever the client sent itself stands to the left.
    assert client_ip(request_from("127.0.0.1", "6.6.6.6, 192.0.2.1")) == "192.0.2.1"


def test_a_chain_of_trusted_proxies_is_walked_from_the_right(settings):
    settings.STEMROOM_TRUSTED_PROXIES = ["127.0.0.1", "172.16.0.0/12"]
    assert client_ip(request_from("172.18.0.3", "6.6.6.6, 192.0.2.1, 172.18.0.9")) == "192.0.2.1"


@pytest.mark.parametrize("garbage", ["not-an-ip", "", " , ", "192.0.2.1, <script>"])
def test_a_garbled_header_falls_back_to_the_last_trusted_hop(garbage):
    assert client_ip(request_from("127.0.0.1", garbage)) == "127.0.0.1"


def test_no_trusted_proxies_means_headers_never_count(settings):
    settings.STEMROOM_TRUSTED_PROXIES = []
    assert client_ip(request_from("127.0.0.1", "192.0.2.1")) == "127.0.0.1"


def test_an_untrusted_proxy_on_a_private_network_is_reported_once(caplog):
    for _ in range(3):
        assert client_ip(request_from("172.18.0.4", "192.0.2.1")) == "172.18.0.4"
    warnings = [r for r in caplog.records if "STEMROOM_TRUSTED_PROXIES" in r.getMessage()]
    assert len(warnings) == 1
    assert "172.18.0.4" in warnings[0].getMessage()
