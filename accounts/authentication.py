"""API token authentication that stops guessing: bad tokens are counted per client address.

Once an address has sent ``STEMROOM_TOKEN_FAILURE_RATE`` bad tokens, every token it
sends is refused with 429 and Retry-After until the window ends -- a good one too,
because the count is checked before the token is looked up: otherwise a guesser could
still tell a hit from a miss.
"""

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header

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
