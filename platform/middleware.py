from django.http import JsonResponse


class RejectNullBytesMiddleware:
    """Refuse query parameters containing a NUL character with a clear 400.

    PostgreSQL cannot store or even compare text holding NUL, so a search for
    "%00" would otherwise end in a 500 there (SQLite shrugs). Path parameters are
    checked by their own views (UUID converters, share-token format).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                return JsonResponse(
                    {
                        "detail": f"The query parameter {name.strip(chr(0))!r} contains a NUL character.",
                        "code": "nul_character",
                    },
                    status=400,
                )
        return self.get_response(request)
