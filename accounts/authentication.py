"""API token authentication that stops guessing: bad tokens are counted per client address.

Once an address has sent ``STEMROOM_TOKEN_FAILURE_RATE`` bad tokens, every token it
sends is refused with 429 and Retry-After until the window ends -- a good one too,
because the count is checked before the token is looked up: otherwise a guesser could
still tell a hit from a miss.
"""

import functools

from django.contrib.auth import get_user_model
from django.db import connections
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.authtoken.models import Token

from platform.client_ip import client_ip
from platform.throttling import TOKEN_FAILURES


class ThrottledTokenAuthentication(TokenAuthentication):
    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != self.keyword.lower().encode():
            return None  # not a token request: nothing to count
        address = client_ip(request)
        wait = TOKEN_FAILURES.wait(address)
        if wait is not None:
            raise exceptions.Throttled(wait, detail="Too many invalid API tokens from your address.")
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            TOKEN_FAILURES.count(address)
            raise

    def authenticate_credentials(self, key):
        # DRF's own lookup builds and compiles an ORM join for every API request (~0.3 ms,
        # a tenth of a job-status poll); this one is compiled once per database.
        users = get_user_model().objects
        found = list(users.raw(_user_by_token_sql(users.db), [key]))
        if not found:
            raise exceptions.AuthenticationFailed("Invalid token.")
        user = found[0]
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        token = Token(key=key, user=user)
        token._state.adding, token._state.db = False, user._state.db
        return user, token


@functools.cache
def _user_by_token_sql(alias):
    """SELECT the user whose API token is %s, as RawQuerySet wants it (every user column)."""
    quote = connections[alias].ops.quote_name
    user, token = get_user_model()._meta, Token._meta
    columns = ", ".join(f"u.{quote(field.column)}" for field in user.concrete_fields)
    return (
        f"SELECT {columns} FROM {quote(user.db_table)} u"
        f" JOIN {quote(token.db_table)} t ON t.{quote(token.get_field('user').column)} = u.{quote(user.pk.column)}"
        f" WHERE t.{quote(token.pk.column)} = %s"
    )
