from django.conf import settings
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


class ContentSecurityPolicyMiddleware:
    """Send settings.CONTENT_SECURITY_POLICY with every response that has none yet.

    A view that needs a looser policy sets its own header first. One setting, no
    nonces: every page's scripts are static files.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


def policy_with(policy, directive, *sources):
    """``policy`` with ``sources`` added to one directive: for the one page that needs more."""
    directives = [part.strip() for part in policy.split(";") if part.strip()]
    for index, part in enumerate(directives):
        if part.split()[0] == directive:
            directives[index] = " ".join([part, *sources])
            break
    else:
        directives.append(" ".join([directive, *sources]))
    return "; ".join(directives)
