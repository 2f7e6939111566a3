"""Forms of the "close my account" page: they render and carry CSRF; the rules (the
password, the last administrator) are the service's (services/personal_data.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField

from .forms import Form, required


class DeactivateForm(Form):
    """Switch the account off (no field: the button and its CSRF token)."""


class DeleteForm(Form):
    password = PasswordField(
        _l("Your password"),
        validators=[required()],
        render_kw={"autocomplete": "current-password"},
    )


class ReactivateForm(Form):
    """An administrator switches a member's account back on (CSRF only)."""
