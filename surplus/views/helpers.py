"""Small helpers shared by the views."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import render_template
from flask_wtf import FlaskForm

from ..errors import DomainError
from ..extensions import htmx


def apply_errors(form: FlaskForm, error: DomainError) -> None:
    """Attach a service's per-field messages to the form's fields."""
    for name, message in error.fields.items():
        field = getattr(form, name, None)
        messages = message if isinstance(message, list) else [message]
        if field is not None:
            field.errors = list(field.errors) + [str(m) for m in messages]
        else:
            form.form_errors.extend(str(m) for m in messages)
    if not error.fields:
        form.form_errors.append(error.message)


def refusal_page(error: DomainError, back: str):
    """A button's form refused for what was typed (a field at fault): the page says
    which, with a way back; other refusals are flashed where the button was."""
    message = " ".join(dict.fromkeys([error.message, *map(str, error.fields.values())]))
    return render_template(
        "error.html", code=error.status, message=message, back=back
    ), error.status


def render_form(template: str, status: int = 200, **context):
    """Re-render a form; 422 on errors, which our htmx config swaps like a 200."""
    return render_template(template, **context), status


def page_or_fragment(page: str, fragment: str, **context):
    """The whole page, or only the fragment when htmx asks (the page includes it)."""
    return render_template(fragment if htmx and not htmx.boosted else page, **context)


def safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def lot_filter_query(args, page: bool = True) -> dict[str, str]:
    """The lot-list filters of a query string, for links between pages of the list and
    the map: only the schema's own keys reach ``url_for`` (``_scheme`` or ``_anchor``
    would be taken as its options), empty values dropped, the page kept if asked."""
    from ..schemas.lot import LotFilterSchema

    fields = LotFilterSchema().fields
    return {k: v for k, v in args.items() if k in fields and v != "" and (page or k != "page")}
