from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from library.models import Track
from platform.client_ip import client_ip
from platform.throttling import SIGNUPS

from .forms import SignUpForm
from .quotas import quota_for
from .redirects import safe_next


def too_many(request, message, wait):
    """The page for every refused-because-too-often form: 429, and when to come back."""
    minutes = max(1, round(wait / 60))
    context = {"message": message, "minutes": minutes, "next": safe_next(request)}
    response = render(request, "accounts/too_many.html", context, status=429)
    response["Retry-After"] = str(int(wait))
    return response


def locked_out(request, original_response=None, credentials=None):
    """django-axes' lockout answer (settings.AXES_LOCKOUT_CALLABLE), for the sign-in page and the admin's."""
    return too_many(
        request,
        "Too many failed sign-ins for this account or from your network, so signing in is paused.",
        settings.AXES_COOLOFF_TIME.total_seconds(),
    )


class LoginView(auth_views.LoginView):
    """Django's sign-in, keeping only a same-site path as the destination (accounts.redirects)."""

    redirect_authenticated_user = True

    def get_redirect_url(self):
        return safe_next(self.request)


def signup(request):
    # Where an invite was going (a share link): kept through the form and used after sign-up.
    destination = safe_next(request)
    if request.user.is_authenticated:
        return redirect(destination or "library")
    if request.method == "POST":
        wait = SIGNUPS.wait(client_ip(request))
        if wait is not None:
            return too_many(request, "Too many accounts were created from your network recently.", wait)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        SIGNUPS.count(client_ip(request))
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        if destination:
            messages.success(request, f"Welcome, {user.username}!")
            return redirect(destination)
        messages.success(request, f"Welcome, {user.username}! Upload your first song to get started.")
        return redirect("library")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/signup.html", {"form": form, "next": destination}, status=status)


@login_required
def profile(request):
    quota = quota_for(request.user)
    used = Track.objects.storage_used_by(request.user)
    context = {
        "quota": quota,
        "used": used,
        "used_percent": min(100, round(100 * used / quota.storage_bytes, 1)) if quota.storage_bytes else 100,
        "track_count": Track.objects.owned_by(request.user).count(),
        "token": Token.objects.filter(user=request.user).first(),
        # The key is shown once, right after it is made.
        "new_token": request.session.pop("new_token", None),
    }
    return render(request, "accounts/profile.html", context)


@login_required
@require_POST
def create_token(request):
    # One token per user (DRF's model): creating again replaces the old one.
    Token.objects.filter(user=request.user).delete()
    token = Token.objects.create(user=request.user)
    messages.success(request, "New API token created. Copy it now; treat it like a password.")
    request.session["new_token"] = token.key
    return redirect("profile")


@login_required
@require_POST
def revoke_token(request):
    deleted, _ = Token.objects.filter(user=request.user).delete()
    messages.info(request, "API token revoked." if deleted else "You had no API token.")
    return redirect("profile")
