"""Account inputs, shared by the API and the pages (whose Flask-WTF forms only render the
fields and carry CSRF): a token request, a token's name, a password change, a reset."""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from .base import InputSchema
from .fields import BAD_TEXT, Text

# Enough to refuse what cannot be an address; whether one exists is never told.
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class Password(Text):
    """A password as typed: never stripped (spaces count), at most ``max_length``
    characters, no control character."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        if BAD_TEXT.search(value):
            raise self.make_error("control")
        if len(value) > self.max_length:
            raise self.make_error("too_long", max=self.max_length)
        if not value.strip() and not self.allow_blank:
            raise self.make_error("blank")
        return value


class TokenRequestSchema(InputSchema):
    email = Text(254, required=True, allow_blank=False)
    password = Password(200, required=True, allow_blank=False, load_only=True)
    name = Text(100, metadata={"description": "What the token is for, shown in its list."})
    otp = Text(
        40,
        load_only=True,
        metadata={
            "description": "Two-step verification on: the app's current six-digit code, "
            "or a recovery code."
        },
    )


class TokenNameSchema(InputSchema):
    """A token made on the security page: its name says what it is for."""

    name = Text(100, required=True, allow_blank=False)


class PasswordChangeSchema(InputSchema):
    """A password change: the current password proves it is the owner."""

    current_password = Password(200, required=True, allow_blank=False, load_only=True)
    new_password = Password(
        200,
        required=True,
        allow_blank=False,
        load_only=True,
        metadata={"description": "At least 10 characters, not only digits."},
    )


def _same(data: dict[str, Any]) -> None:
    if "new_password" in data and "confirmation" in data:
        if data["new_password"] != data["confirmation"]:
            raise ma.ValidationError({"confirmation": [str(_l("The two new passwords differ."))]})


class PasswordChangeFormSchema(PasswordChangeSchema):
    """The page's change: the new password typed twice."""

    confirmation = Password(200, required=True, allow_blank=False, load_only=True)

    @ma.validates_schema
    def _confirmed(self, data: dict[str, Any], **kwargs: Any) -> None:
        _same(data)


class PasswordResetSchema(InputSchema):
    """A new password chosen from a reset link, typed twice."""

    new_password = Password(200, required=True, allow_blank=False, load_only=True)
    confirmation = Password(200, required=True, allow_blank=False, load_only=True)

    @ma.validates_schema
    def _confirmed(self, data: dict[str, Any], **kwargs: Any) -> None:
        _same(data)


def _email(value: str) -> None:
    if not EMAIL.fullmatch(value):
        raise ma.ValidationError(str(_l("Not a valid e-mail address.")))


class PasswordForgotSchema(InputSchema):
    """The address to send a reset link to (if an account uses it)."""

    email = Text(254, required=True, allow_blank=False, validate=_email)
