"""Notifications: the bell's count, the list, marking read, mail preferences, and the
one-click unsubscribe links of mails."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..database import read_only_transactions
from ..errors import DomainError
from ..extensions import csrf, db, htmx
from ..forms import notification_preferences_form
from ..models import MailMode, Notification
from ..services import notifications
from ..services.notifications import prefs
from ..services.notifications import text as notification_text
from .helpers import apply_errors, render_form

bp = Blueprint("notifications", __name__)
PER_PAGE = 20


def _list_context(page: int) -> dict:
    user = current_user._get_current_object()
    total = (
        db.session.scalar(
            select(func.count(Notification.id)).where(Notification.user_id == user.id)
        )
        or 0
    )
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(1, page), pages)
    items = db.session.scalars(
        notifications.list_for(user).offset((page - 1) * PER_PAGE).limit(PER_PAGE)
    ).all()
    return {
        "items": items,
        "page": page,
        "pages": pages,
        "unread": notifications.unread_count(db.session, user),
        "text": notification_text.text,
        "link": notification_text.link,
    }


@bp.get("/notifications")
@login_required
def notification_list():
    """The signed-in user's notifications, newest first, 20 a page (the list fragment
    alone for htmx)."""
    context = _list_context(request.args.get("page", 1, type=int))
    template = (
        "notifications/_list.html" if htmx and not htmx.boosted else "notifications/list.html"
    )
    return render_template(template, **context)


@bp.get("/notifications/count")
def unread_count():
    """The bell's badge. 204 when signed out, so a poll after the session ended swaps
    nothing instead of the sign-in page."""
    if not current_user.is_authenticated:
        return "", 204
    return render_template(
        "notifications/_count.html", count=notifications.unread_count(db.session, current_user)
    )


def _changed(response):
    """Tell the bell to refresh its count now rather than at its next poll."""
    response.headers["HX-Trigger"] = "notifications-changed"
    return response


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int):
    """Mark one of the user's notifications read (404 for anyone else's); the item
    fragment for htmx, else back to the list."""
    row = notifications.mark_read(db.session, current_user, notification_id)
    if row is None:
        abort(404)
    db.session.commit()
    if htmx:
        return _changed(
            current_app.make_response(
                render_template(
                    "notifications/_item.html",
                    n=row,
                    text=notification_text.text,
                    link=notification_text.link,
                )
            )
        )
    return redirect(url_for("notifications.notification_list"))


@bp.post("/notifications/read")
@login_required
def mark_all_read():
    """Mark all the user's notifications read; the list fragment for htmx."""
    notifications.mark_all_read(db.session, current_user)
    db.session.commit()
    if htmx:
        return _changed(
            current_app.make_response(
                render_template("notifications/_list.html", **_list_context(1))
            )
        )
    return redirect(url_for("notifications.notification_list"))


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def preferences():
    """Per kind: no mail, a mail each time, or (new lots) a daily digest. Invalid
    choices come back with the user's entries and a message per field (422)."""
    current = {k.value: m.value for k, m in prefs.preferences(db.session, current_user).items()}
    form = notification_preferences_form(current)
    if request.method == "GET":
        return render_template("notifications/preferences.html", form=form)
    if not form.validate_on_submit():
        return render_form("notifications/preferences.html", 422, form=form)
    try:
        prefs.set_preferences(db.session, current_user, form.data)
    except DomainError as error:
        db.session.rollback()
        apply_errors(form, error)
        return render_form("notifications/preferences.html", 422, form=form)
    db.session.commit()
    flash(_("Your e-mail choices are saved."), "success")
    return redirect(url_for("notifications.preferences"))


def _token_page(token: str, mode: MailMode | None):
    """Set the token's kind to ``mode`` (None: back to its default) and say so, in the
    recipient's language; a forged or damaged token is a 400 page."""
    # A write on a GET: on SQLite take the write lock at BEGIN, not halfway.
    read_only_transactions(False)
    try:
        user, kind = prefs.read_unsubscribe_token(db.session, token)
    except DomainError as error:
        return render_template("error.html", code=400, message=error.message), 400
    prefs.set_mode(db.session, user.id, kind, mode or prefs.DEFAULT_MODE[kind])
    db.session.commit()
    with force_locale(user.language or current_app.config["BABEL_DEFAULT_LOCALE"]):
        return render_template(
            "notifications/unsubscribed.html",
            token=token,
            kind_label=notification_text.KIND_LABELS[kind],
            subscribed=mode is None,
        )


@bp.route("/notifications/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" without a session
def unsubscribe(token: str):
    """One-click unsubscribe from a mail: the kind is off at once (GET from the link,
    POST from the mail client's button); the page offers to resubscribe."""
    return _token_page(token, MailMode.OFF)


@bp.post("/notifications/resubscribe/<token>")
def resubscribe(token: str):
    """Undo an unsubscribe: the kind is back to its default mail mode."""
    return _token_page(token, None)
