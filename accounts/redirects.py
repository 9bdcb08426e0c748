"""Where to send someone after they sign in or sign up: the page that sent them, if it is ours.

An invite (a share link) sends a visitor to sign in with ``?next=/s/<token>/``; the
destination must survive sign-in -> "Create an account" -> back, and sign-up itself.
Only a same-site relative path is kept (``/s/abc/``): an absolute URL, a
scheme-relative ``//evil.example`` or a ``/\\evil.example`` (which browsers read as
``//``) would make our sign-in page an open redirect.
"""

from django.utils.http import url_has_allowed_host_and_scheme

FIELD = "next"


def is_safe_next(url, request):
    if not url or not url.startswith("/") or url.startswith(("//", "/\\")):
        return False
    if any(ord(char) < 32 or char == "\x7f" for char in url):
        return False
    return url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure())


def safe_next(request):
    """The request's ``next`` (form field first, then query string) when it is a same-site path; else ''."""
    url = request.POST.get(FIELD) or request.GET.get(FIELD) or ""
    return url if is_safe_next(url, request) else ""
