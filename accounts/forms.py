from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=False, help_text="Optional; only used to reset your password.")

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ["username", "email"]


class CurrentPasswordForm(forms.Form):
    """A form that changes something about an account: the person must prove it is theirs again."""

    password = forms.CharField(
        label="Your current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your current password.", code="password_incorrect")
        return password


class EmailChangeForm(CurrentPasswordForm):
    email = forms.EmailField(
        label="New e-mail address",
        required=False,
        help_text="Where password-reset links go. Leave it empty to have none.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    field_order = ["email", "password"]

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"])
        if email and email.lower() == (self.user.email or "").lower():
            raise forms.ValidationError("That is already your e-mail address.", code="unchanged")
        return email

    def save(self):
        self.user.email = self.cleaned_data["email"]
        self.user.save(update_fields=["email"])
        return self.user


class DeleteAccountForm(CurrentPasswordForm):
    confirm = forms.CharField(
        label="Type your username to confirm",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}),
    )
    field_order = ["confirm", "password"]

    def clean_confirm(self):
        typed = self.cleaned_data["confirm"].strip()
        if typed != self.user.get_username():
            raise forms.ValidationError(
                f"Type {self.user.get_username()} exactly to confirm.", code="confirmation_mismatch"
            )
        return typed
