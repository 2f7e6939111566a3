"""The security log, read: "your recent activity" for everyone, everyone's for site
admins (routes on the ``privacy`` blueprint of views/privacy.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from .. import access
from ..errors import Invalid
from ..extensions import db, htmx
from ..models import SecurityEvent, SecurityEventKind, User
from ..schemas.base import load
from ..schemas.privacy import ActivityPageSchema, SecurityLogFilterSchema
from .privacy import bp

PER_PAGE = 30

# What each line of the log says, in words.
KINDS = {
    SecurityEventKind.SIGNED_IN: _l("Signed in"),
    SecurityEventKind.SIGNED_OUT: _l("Signed out"),
    SecurityEventKind.SIGNED_OUT_EVERYWHERE: _l("Signed out everywhere"),
    SecurityEventKind.SIGN_IN_FAILED: _l("Failed sign-in"),
    SecurityEventKind.SESSION_EXPIRED: _l("Session expired"),
    SecurityEventKind.PASSWORD_CHANGED: _l("Password changed"),
    SecurityEventKind.PASSWORD_RESET_REQUESTED: _l("Password reset asked"),
    SecurityEventKind.PASSWORD_RESET: _l("Password reset"),
    SecurityEventKind.MFA_ENABLED: _l("Two-step verification turned on"),
    SecurityEventKind.MFA_DISABLED: _l("Two-step verification turned off"),
    SecurityEventKind.MFA_PASSED: _l("Two-step verification passed"),
    SecurityEventKind.MFA_FAILED: _l("Wrong two-step verification code"),
    SecurityEventKind.RECOVERY_CODE_USED: _l("Recovery code used"),
    SecurityEventKind.RECOVERY_CODES_RENEWED: _l("New recovery codes"),
    SecurityEventKind.TOKEN_CREATED: _l("API token created"),
    SecurityEventKind.TOKEN_REVOKED: _l("API token revoked"),
    SecurityEventKind.TOKEN_REFUSED: _l("API token refused"),
    SecurityEventKind.EMAIL_CONFIRMED: _l("E-mail address confirmed"),
    SecurityEventKind.SIGN_UP_ATTEMPT_KNOWN: _l("Sign-up tried with this address"),
    SecurityEventKind.THROTTLED: _l("Too many attempts: slowed down"),
    SecurityEventKind.DATA_EXPORTED: _l("Data downloaded"),
    SecurityEventKind.DEACTIVATED: _l("Account deactivated"),
    SecurityEventKind.DELETED: _l("Account deleted"),
}
# Worrying lines stand out.
ALERTS = {
    SecurityEventKind.SIGN_IN_FAILED,
    SecurityEventKind.MFA_FAILED,
    SecurityEventKind.TOKEN_REFUSED,
    SecurityEventKind.THROTTLED,
    SecurityEventKind.SIGN_UP_ATTEMPT_KNOWN,
}

# The words of the details others log (views/auth.py's sign-in ways, services/mfa.py).
HOW = {
    "password": _l("with the password"),
    "password, remembered device": _l("with the password, on a remembered device"),
    "password, two-step code": _l("with the password and a two-step code"),
    "invitation accepted": _l("on accepting an invitation"),
}
_CODES_LEFT = re.compile(r"^(\d+) left$")
# Details that are the user's own words (a token's name): shown as they are.
_NAMED = {SecurityEventKind.TOKEN_CREATED, SecurityEventKind.TOKEN_REVOKED}


def detail(event: SecurityEvent, technical: bool = False) -> str:
    """A line's detail in words: how one signed in, codes left, a token's name; other
    details are technical (a code's time step, a throttled endpoint), shown only to site
    admins (``technical``)."""
    text = event.detail or ""
    if not text:
        return ""
    if text in HOW:
        return str(HOW[text])
    left = _CODES_LEFT.match(text)
    if left:
        return ngettext("%(num)d code left", "%(num)d codes left", int(left.group(1)))
    if event.kind in _NAMED or technical:
        return text
    return ""


_BROWSERS = (  # the first that matches names it (Edge and Opera also say "Chrome")
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("python-requests", "Python"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def browser(agent: str) -> str:
    """A user agent in short: "Firefox on Linux", else its first words."""
    if not agent:
        return ""
    name = next((n for mark, n in _BROWSERS if mark in agent), "")
    system = next((s for mark, s in _SYSTEMS if mark in agent), "")
    if name and system:
        return _("%(browser)s on %(system)s", browser=name, system=system)
    if name or system:
        return name or system
    return re.split(r"[\s(]", agent.strip(), maxsplit=1)[0][:40]


bp.add_app_template_filter(browser, "browser")
bp.add_app_template_global(detail, "security_detail")


@dataclass
class Page:
    rows: list[Any] = field(default_factory=list)
    total: int = 0
    page: int = 1
    pages: int = 1


def _page(session: Session, query: Select, page: int) -> Page:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(page, 1), pages)
    rows = list(session.execute(query.offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all())
    return Page(rows=rows, total=total, page=page, pages=pages)


def _newest_first(query: Select) -> Select:
    return query.order_by(SecurityEvent.at.desc(), SecurityEvent.id.desc())


def _render(whole: str, fragment: str, status: int = 200, **context: Any):
    template = fragment if htmx and not htmx.boosted else whole
    return render_template(template, kinds=KINDS, alerts=ALERTS, **context), status


@bp.get("/account/activity")
@login_required
def activity():
    """The signed-in user's own security log, newest first, a page at a time."""
    try:
        values = load(ActivityPageSchema(), request.args)
    except Invalid:
        values = {"page": 1}
    query = _newest_first(
        select(SecurityEvent, User)
        .outerjoin(User, User.id == SecurityEvent.user_id)
        .where(SecurityEvent.user_id == current_user.id)
    )
    return _render(
        "activity/mine.html",
        "activity/_rows.html",
        page=_page(db.session, query, values["page"]),
        args=request.args,
        endpoint="privacy.activity",
        show_user=False,
    )


@bp.get("/admin/security")
@login_required
def admin_log():
    """Everyone's security log (site admins, else 403): by e-mail, of one kind."""
    access.require_security_log_reader(current_user)
    try:
        values = load(
            SecurityLogFilterSchema(), request.args, message=_("Check the search filters.")
        )
    except Invalid as error:
        return _render(
            "activity/admin.html",
            "activity/_rows.html",
            422 if htmx else 400,
            page=Page(),
            args=request.args,
            errors=error.fields,
            error=error.message,
            endpoint="privacy.admin_log",
            show_user=True,
        )
    query = select(SecurityEvent, User).outerjoin(User, User.id == SecurityEvent.user_id)
    if values["email"]:
        needle = values["email"].lower().replace("\\", "\\\\").replace("%", "\\%")
        query = query.where(
            func.lower(User.email).like("%" + needle.replace("_", "\\_") + "%", escape="\\")
        )
    if values["kind"] is not None:
        query = query.where(SecurityEvent.kind == values["kind"])
    return _render(
        "activity/admin.html",
        "activity/_rows.html",
        page=_page(db.session, _newest_first(query), values["page"]),
        args=request.args,
        endpoint="privacy.admin_log",
        show_user=True,
    )
