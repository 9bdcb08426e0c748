"""Changing the e-mail address and deleting the account, from the profile page.

Both ask for the current password again: a session left open on a shared computer must
not be enough to take over or wipe out an account.
"""

import logging

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render

from .forms import DeleteAccountForm, EmailChangeForm

logger = logging.getLogger(__name__)


@login_required
def change_email(request):
    form = EmailChangeForm(request.user, request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            user = form.save()
            messages.success(
                request,
                f"Your e-mail address is now {user.email}." if user.email else "Your e-mail address was removed.",
            )
            return redirect("profile")
        return render(request, "accounts/email_change.html", {"form": form}, status=400)
    return render(request, "accounts/email_change.html", {"form": form})


@login_required
def delete_account(request):
    """Delete the account and everything in it.

    The user row's cascade takes tracks, lyrics, remixes, share links, mixdowns, API token
    and separation requests; each app's delete signals remove the files (library.signals:
    originals, covers, mixdowns, and the stems no other library still holds). Forks other
    people made of these remixes are cut off, and the share links stop at once.
    """
    form = DeleteAccountForm(request.user, request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "accounts/delete_account.html", {"form": form}, status=400)
        user = request.user
        username = user.get_username()
        # Signed out first: the session must not outlive the row it points at.
        logout(request)
        with transaction.atomic():
            user.delete()
        logger.info("account %s deleted by its owner", username)
        messages.success(request, f"The account {username} and everything in it were deleted.")
        return redirect("home")
    return render(request, "accounts/delete_account.html", {"form": form})
