"""Who is on the other end: the one client address every throttle and lockout counts by.

``REMOTE_ADDR`` is the peer of the socket. Behind a reverse proxy that peer is the proxy,
and the client's own address is in the ``X-Forwarded-For`` (or ``X-Real-IP``) header the
proxy adds. Anyone can send those headers too, so they count only when the peer is one of
``settings.STEMROOM_TRUSTED_PROXIES``. Then ``X-Forwarded-For`` is read from the right:
each trusted proxy appends the address it received from, so the rightmost address that is
not a trusted proxy is the client; anything to the left of it came from the client and may
be forged.

The default trusts only this machine (127.0.0.1, ::1): nginx in front of a gunicorn that
listens on loopback. That is safe as long as nothing untrusted on this machine talks to
gunicorn directly, which is why gunicorn must not also listen on a public address.
"""

import ipaddress
import logging
from functools import lru_cache

from django.conf import settings

logger = logging.getLogger(__name__)
_warned = set()


@lru_cache(maxsize=8)
def _networks(trusted):
    return tuple(ipaddress.ip_network(item, strict=False) for item in trusted)


def _address(text):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _is_trusted(address, networks):
    return address is not None and any(address in network for network in networks)


def client_ip(request) -> str:
    meta = request.META
    peer = meta.get("REMOTE_ADDR", "") or ""
    networks = _networks(tuple(settings.STEMROOM_TRUSTED_PROXIES))
    if not _is_trusted(_address(peer), networks):
        if "HTTP_X_FORWARDED_FOR" in meta:
            _warn_once_if_a_proxy(peer)
        return peer
    forwarded = [item for item in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if item.strip()]
    if not forwarded and meta.get("HTTP_X_REAL_IP"):
        forwarded = [meta["HTTP_X_REAL_IP"]]
    client = peer
    for hop in reversed(forwarded):
        address = _address(hop)
        if address is None:
            # Garbage from the client's side of the chain: the last address we trust stands.
            break
        client = str(address)
        if not _is_trusted(address, networks):
            break
    return client


def _warn_once_if_a_proxy(peer):
    # A proxy we do not trust makes every client one address: one client's failed sign-ins
    # would then lock everyone out. Say so, once per address and process.
    address = _address(peer)
    if address is not None and address.is_private and peer not in _warned:
        _warned.add(peer)
        logger.warning(
            "X-Forwarded-For from %s ignored: it is not in STEMROOM_TRUSTED_PROXIES. If it is your reverse "
            "proxy, add it (or its network), or every client will share its address for throttles and lockouts.",
            peer,
        )
