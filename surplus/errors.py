"""Error responses: JSON ``{"error": ..., "fields": {...}}`` under /api, pages elsewhere."""

from __future__ import annotations

from typing import Any

import sqlalchemy.exc
from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("Authentication required."),
    403: _l("You are not allowed to do this."),
    404: _l("Not found."),
    405: _l("Method not allowed."),
    409: _l("This conflicts with the current state."),
    413: _l("The upload is too large."),
    422: _l("Some fields are invalid."),
    429: _l("Too many attempts; please wait."),
}


class DomainError(Exception):
    """A rule refused an action; carries the HTTP status, a message and field errors."""

    status = 400

    def __init__(self, message: str, fields: dict[str, Any] | None = None, **extra: Any):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.extra = extra


class Invalid(DomainError):
    status = 400


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


def wants_json() -> bool:
    return request.path.startswith("/api/")


def json_error(status: int, message: str, fields: dict | None = None, **extra: Any):
    body: dict[str, Any] = {"error": message, "fields": fields or {}}
    body.update(extra)
    return jsonify(body), status


def _message_for(error: HTTPException) -> str:
    data = getattr(error, "data", None) or {}
    if "message" in data:
        return str(data["message"])
    return str(MESSAGES.get(error.code or 500, _("Something went wrong.")))


def _http_error(error: HTTPException):
    code = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("errors") or data.get("messages")
    if code in (400, 422) and messages:  # webargs refused a body or query (its schema)
        from .schemas.base import flatten

        fields = flatten(messages)
        message = next(iter(fields.values())) if len(fields) == 1 else str(MESSAGES[422])
        if wants_json():
            return json_error(400, message, fields)
        return render_template("error.html", code=400, message=message), 400
    if wants_json():
        response, status = json_error(code, _message_for(error), {})
        for name, value in error.get_headers():  # Allow on a 405, Retry-After on a 429
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, status
    if error.response is not None:
        return error.response
    return render_template("error.html", code=code, message=_message_for(error)), code


def _domain_error(error: DomainError):
    if wants_json():
        return json_error(error.status, error.message, error.fields, **error.extra)
    return render_template("error.html", code=error.status, message=error.message), error.status


def _csrf_error(error: CSRFError):
    message = _("Your form expired or was sent from elsewhere. Please try again.")
    if wants_json():
        return json_error(400, message)
    return render_template("error.html", code=400, message=message), 400


def _bad_value(error: Exception):
    """Last line of defence: a value the database cannot store (out of range, a NUL byte)
    that no schema caught is the client's fault, never a server error. The schemas are
    the rule; this only keeps a gap in them from answering 500."""
    from .extensions import db

    db.session.rollback()
    current_app.logger.warning("Refused a value the database cannot store: %s", error)
    message = _("A value is out of range or contains a character that is not allowed.")
    if wants_json():
        return json_error(400, message)
    return render_template("error.html", code=400, message=message), 400


def init_app(app: Flask) -> None:
    app.register_error_handler(sqlalchemy.exc.DataError, _bad_value)
    app.register_error_handler(UnicodeEncodeError, _bad_value)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DomainError, _domain_error)
