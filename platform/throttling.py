"""Counters that say "too many, wait N seconds": sign-ups, bad API tokens, uploads.

Each ``RateLimit`` counts events per identity (a client address, a user id) in fixed
windows aligned to the clock, in the ``throttles`` cache (settings.CACHES: a table of the
database every process already shares, so the counts hold across gunicorn workers and
machines, on SQLite and PostgreSQL alike). A fixed window gives an exact Retry-After:
the seconds until the window ends. Sign-in failures are counted by django-axes in the
same cache.

Rates are written as ``N/period``: ``5/hour``, ``10/15m``, ``60/min``; ``off`` disables one.
They are read from settings on each use, so tests and operators can change them.
"""

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache

CACHE = "throttles"
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    limit: int
    window: int  # seconds


def parse_rate(text):
    """``"10/15m"`` -> Rate(10, 900); ``"off"`` -> None. Raises ValueError on anything else."""
    text = (text or "").strip().lower()
    if text in {"off", "none", "0"}:
        return None
    count, sep, period = text.partition("/")
    digits = period.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = period[len(digits) : len(digits) + 1]
    try:
        limit = int(count)
        multiple = int(digits) if digits else 1
    except ValueError:
        limit = multiple = 0
    if not sep or unit not in UNITS or limit < 1 or multiple < 1:
        raise ValueError(f"a rate is N/period such as 5/hour, 10/15m or 60/min, or off; got {text!r}")
    return Rate(limit, multiple * UNITS[unit])


class CounterCache(DatabaseCache):
    """Django's database cache, with an ``incr`` that survives its counter expiring under it.

    ``add`` judges expiry to the whole second and ``get`` (which ``incr`` uses) to the
    microsecond, so for up to a second after a counter expires ``add`` says it is still
    there and ``incr`` raises ValueError for want of it: a 500 for the sign-in that hits
    that moment (django-axes calls add, then incr). Such a counter starts again at ``delta``.
    """

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except ValueError:
            # The caller sets the timeout it wants next (axes touches the key after incr).
            self.set(key, delta, version=version)
            return delta


class RateLimit:
    """At most ``rate.limit`` events per identity in each window of ``rate.window`` seconds."""

    def __init__(self, scope, setting):
        self.scope = scope
        self.setting = setting

    @property
    def rate(self):
        return parse_rate(getattr(settings, self.setting))

    def _window(self, rate, now):
        index = int(now // rate.window)
        seconds_left = max(1, math.ceil((index + 1) * rate.window - now))
        return index, seconds_left

    def _key(self, ident, index):
        return f"rate:{self.scope}:{index}:{ident}"

    def wait(self, ident):
        """Seconds until ``ident`` may go on, or None when it is under the limit."""
        rate = self.rate
        if rate is None:
            return None
        index, seconds_left = self._window(rate, time.time())
        if caches[CACHE].get(self._key(ident, index), 0) >= rate.limit:
            return seconds_left
        return None

    def count(self, ident):
        """Record one event for ``ident``."""
        rate = self.rate
        if rate is None:
            return
        index, seconds_left = self._window(rate, time.time())
        cache, key = caches[CACHE], self._key(ident, index)
        # The key outlives its window a little, so it never expires between add and incr.
        if not cache.add(key, 1, timeout=seconds_left + 60):
            cache.incr(key)

    def spend(self, ident):
        """Count one event unless ``ident`` is over the limit; returns ``wait()``'s answer."""
        waiting = self.wait(ident)
        if waiting is None:
            self.count(ident)
        return waiting


SIGNUPS = RateLimit("signups", "STEMROOM_SIGNUP_RATE")
TOKEN_FAILURES = RateLimit("token-failures", "STEMROOM_TOKEN_FAILURE_RATE")
UPLOADS = RateLimit("uploads", "STEMROOM_UPLOAD_RATE")
PASSWORD_RESETS = RateLimit("password-resets", "STEMROOM_PASSWORD_RESET_RATE")
PASSWORD_RESET_ADDRESSES = RateLimit("password-reset-addresses", "STEMROOM_PASSWORD_RESET_RATE")
