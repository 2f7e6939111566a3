"""Forms of two-step verification (views/mfa.py): they render and carry CSRF; whether a
code is right is the service's answer (services/mfa.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import Length

from .forms import Form, required


def _code_field(label, numeric: bool) -> StringField:
    kw = {"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}
    if numeric:
        kw |= {"inputmode": "numeric", "pattern": "[0-9 ]*"}
    return StringField(label, validators=[required(), Length(max=40)], render_kw=kw)


class ChallengeForm(Form):
    """Sign-in, second step: a code of the app or a recovery code."""

    code = _code_field(_l("Code from your app, or a recovery code"), numeric=False)
    remember = BooleanField(_l("Remember this device"))


class ConfirmForm(Form):
    """Enrolment: the first code the app shows."""

    code = _code_field(_l("Six-digit code from your app"), numeric=True)


class RenewForm(Form):
    code = _code_field(_l("Code from your app, or a recovery code"), numeric=False)


class DisableForm(Form):
    proof = PasswordField(
        _l("A code from your app, a recovery code or your password"),
        validators=[required(), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


class BeginForm(Form):
    """A button: start (or start over) the set-up."""
