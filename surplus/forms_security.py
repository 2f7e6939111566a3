"""The forms of the security and password pages: they render the fields and carry CSRF;
the inputs are read by schemas/account.py and the rules live in services/passwords.py
and services/api_tokens.py. (Buttons without fields post only ``csrf_token()``.)"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, StringField

from .forms import Form


def _password(label, autocomplete: str) -> PasswordField:
    return PasswordField(label, render_kw={"autocomplete": autocomplete})


class TokenForm(Form):
    name = StringField(_l("Name of the token (what it is for)"), render_kw={"maxlength": 100})


class PasswordChangeForm(Form):
    current_password = _password(_l("Current password"), "current-password")
    new_password = _password(_l("New password (at least 10 characters)"), "new-password")
    confirmation = _password(_l("New password again"), "new-password")


class PasswordForgotForm(Form):
    email = EmailField(_l("E-mail address"), render_kw={"autocomplete": "email"})


class PasswordResetForm(Form):
    new_password = _password(_l("New password (at least 10 characters)"), "new-password")
    confirmation = _password(_l("New password again"), "new-password")
