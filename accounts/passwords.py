"""Forgotten and changed passwords, on Django's own auth views with Stemroom's pages.

Reset links go by e-mail (settings.EMAIL_BACKEND: the console under ``make run``, SMTP
in production). The request form answers the same for a known and an unknown address
(Django sends nothing to an unknown one), so it never tells who has an account. Requests
are rate-limited per client address and per address asked for: each is an e-mail sent.

The templates are named explicitly: the admin app, installed first, ships its own
``registration/password_*`` templates, which would otherwise win.
"""

import hashlib

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy

from platform.client_ip import client_ip
from platform.throttling import PASSWORD_RESET_ADDRESSES, PASSWORD_RESETS

from .views import too_many


def _address_key(email):
    # The counter is keyed by a digest: the throttle table never holds anyone's address.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def form_valid(self, form):
        address = _address_key(form.cleaned_data["email"])
        wait = PASSWORD_RESETS.wait(client_ip(self.request))
        if wait is None:
            wait = PASSWORD_RESET_ADDRESSES.wait(address)
        if wait is not None:
            return too_many(self.request, "Too many password-reset requests were made recently.", wait)
        PASSWORD_RESETS.count(client_ip(self.request))
        PASSWORD_RESET_ADDRESSES.count(address)
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change it while signed in; this session stays signed in, every other one is signed out."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("profile")

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password was changed. Other devices were signed out.")
        return response
