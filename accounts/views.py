from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from library.models import Track

from .forms import SignUpForm
from .quotas import quota_for


def signup(request):
    if request.user.is_authenticated:
        return redirect("library")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}! Upload your first song to get started.")
        return redirect("library")
    return render(request, "accounts/signup.html", {"form": form})


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
