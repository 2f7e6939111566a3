"""Bearer tokens: signed, expiring, revocable by bumping the user's token version."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, request
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..errors import DomainError
from ..extensions import db
from ..models import User

SALT = "maillon-api-token"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def issue_token(user: User) -> str:
    return _serializer().dumps({"u": user.id, "v": user.token_version})


def user_from_token(token: str) -> User | None:
    try:
        data = _serializer().loads(token, max_age=current_app.config["API_TOKEN_MAX_AGE"])
    except (BadSignature, SignatureExpired):
        return None
    user = db.session.get(User, data.get("u"))
    if user is None or not user.active or user.token_version != data.get("v"):
        return None
    return user


class Unauthorised(DomainError):
    status = 401


def authenticate() -> None:
    """Set ``g.api_user`` from the bearer token, or answer 401. The API's blueprints run
    it before anything else (so a request without a token is a 401 whatever its body)."""
    if g.get("api_user") is not None:
        return
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    user = user_from_token(token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        raise Unauthorised(_("A valid bearer token is required."))
    g.api_user = user


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Marks (and guards) a route that needs a bearer token; ``g.api_user`` is the user."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        authenticate()
        return view(*args, **kwargs)

    return wrapper
