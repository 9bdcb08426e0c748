"""What a request that fails outside a view's own handling gets: JSON under /api/, a branded page elsewhere.

Django calls these for the errors it raises itself -- an unknown URL (404), a
request body over DATA_UPLOAD_MAX_MEMORY_SIZE or too many files (400), a
permission refused outside DRF (403), a CSRF failure, and any exception nobody
caught (500). API clients must always get the ``{"detail", "code"}`` body of
platform.api_errors, never Django's HTML.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token


def is_api(request):
    return request.path.startswith("/api/")


def _json(detail, code, status):
    return JsonResponse({"detail": detail, "code": code}, status=status)


@requires_csrf_token
def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        detail, code, status = (
            "The request body is too large (the limit for data other than uploaded files is "
            f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1024**2:g} MB).",
            "request_too_large",
            413,
        )
    elif isinstance(exception, TooManyFilesSent):
        detail, code, status = "Too many files in one request.", "too_many_files", 400
    elif isinstance(exception, TooManyFieldsSent):
        detail, code, status = "Too many fields in one request.", "too_many_fields", 400
    else:
        detail, code, status = "The request could not be understood.", "bad_request", 400
    if is_api(request):
        return _json(detail, code, status)
    return render(request, "400.html", {"detail": detail}, status=status)


@requires_csrf_token
def permission_denied(request, exception=None):
    if is_api(request):
        return _json("You do not have permission to perform this action.", "permission_denied", 403)
    return render(request, "403.html", status=403)


@requires_csrf_token
def page_not_found(request, exception=None):
    if is_api(request):
        return _json("Not found.", "not_found", 404)
    return render(request, "404.html", status=404)


def csrf_failure(request, reason=""):
    if is_api(request):
        return _json(f"CSRF Failed: {reason}", "permission_denied", 403)
    return render(request, "403_csrf.html", status=403)


def server_error(request):
    """500: no database, no context processors, no request context -- any of them may be what failed."""
    if is_api(request):
        return _json("Something went wrong on our side; it has been logged.", "server_error", 500)
    try:
        page = loader.get_template("500.html").render()
    except Exception:
        # Even the template can fail (static files not collected): still answer.
        page = "<!doctype html><title>Server error</title><h1>Something went wrong</h1>"
    return HttpResponse(page, status=500)
