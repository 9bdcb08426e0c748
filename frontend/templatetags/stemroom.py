from django import template
from django.utils.http import urlencode

from accounts.redirects import is_safe_next, safe_next

register = template.Library()


@register.filter
def duration(seconds):
    """182.4 -> '3:02'; an hour or more -> '1:02:03'."""
    try:
        total = int(round(float(seconds)))
    except (TypeError, ValueError):
        return ""
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.simple_tag(takes_context=True)
def next_query(context):
    """``?next=<where you are>`` for the header's Sign in / Sign up links, so a visitor comes back here.

    On the sign-in and sign-up pages themselves the destination they already carry is kept;
    the landing page needs none (signing in goes to the library).
    """
    request = context.get("request")
    if request is None:
        return ""
    if request.path.startswith("/accounts/"):
        destination = safe_next(request)
    elif request.path == "/":
        destination = ""
    else:
        destination = request.get_full_path()
    return "?" + urlencode({"next": destination}) if destination and is_safe_next(destination, request) else ""
