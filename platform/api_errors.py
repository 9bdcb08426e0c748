"""One error body for every API failure.

``{"detail": "<first message, for people>", "code": "<machine code>",
"fields": {"<field>": ["<message>", ...]}}`` -- ``fields`` only for validation
errors. Clients can show ``detail`` and branch on ``code``.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, parsers
from rest_framework.views import exception_handler as drf_exception_handler


class APIError(exceptions.APIException):
    """An error with its own status and code, raised by views for domain refusals."""

    def __init__(self, message, *, code, status):
        super().__init__(message, code)
        self.status_code = status


def _first_message(detail):
    if isinstance(detail, dict):
        for value in detail.values():
            return _first_message(value)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def _first_code(codes):
    if isinstance(codes, dict):
        for value in codes.values():
            return _first_code(value)
    if isinstance(codes, list) and codes:
        return _first_code(codes[0])
    return str(codes)


def exception_handler(exc, context):
    # DRF turns Django's 404 and 403 into its own exceptions; do it first so
    # they get the same body as every other error.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = drf_exception_handler(exc, context)
    if response is None:
        return response
    detail = exc.detail
    body = {"detail": _first_message(detail), "code": _first_code(exc.get_codes())}
    if isinstance(exc, exceptions.ValidationError) and isinstance(detail, dict):
        body["fields"] = detail
        field, messages = next(iter(detail.items()), (None, None))
        if field and field != "non_field_errors":
            body["detail"] = f"{field}: {_first_message(messages)}"
    response.data = body
    return response


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a 400 for JSON nested too deeply to parse.

    Python's json module recurses once per bracket: 100,000 ``[`` raise RecursionError,
    which DRF does not catch (it is not a ValueError) and which would end in a 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - the document is nested too deeply.") from None
