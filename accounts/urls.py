from django.contrib.auth import views as auth_views
from django.urls import path

from . import account, passwords, views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/reset/", passwords.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", passwords.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        passwords.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password/reset/done/", passwords.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("password/change/", passwords.PasswordChangeView.as_view(), name="password_change"),
    path("profile/", views.profile, name="profile"),
    path("profile/email/", account.change_email, name="email-change"),
    path("profile/delete/", account.delete_account, name="account-delete"),
    path("profile/token/", views.create_token, name="token-create"),
    path("profile/token/revoke/", views.revoke_token, name="token-revoke"),
]
