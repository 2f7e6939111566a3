"""Bearer tokens (services/api_tokens.py): the API's authentication."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request
from flask_babel import gettext as _

from ..errors import DomainError
from ..extensions import db
from ..services import api_tokens


class Unauthorised(DomainError):
    status = 401


def authenticate() -> None:
    """Set ``g.api_user`` from the bearer token, or answer 401. The API's blueprints run
    it before anything else (so a request without a token is a 401 whatever its body)."""
    if g.get("api_user") is not None:
        return
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    user = api_tokens.user_for(db.session, token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        raise Unauthorised(_("A valid bearer token is required."))
    api_tokens.save_last_use(db.session)  # at most once a minute: no commit per request
    g.api_user = user


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Marks (and guards) a route that needs a bearer token; ``g.api_user`` is the user."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        authenticate()
        return view(*args, **kwargs)

    return wrapper
