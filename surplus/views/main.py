"""Dashboard, language choice and the health check."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, redirect, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from ..extensions import db
from ..services import accounts, dashboard
from .helpers import safe_next

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def index():
    """The signed-in user's dashboard, by the role of its organisation."""
    from flask import render_template

    return render_template(
        "main/dashboard.html", board=dashboard.build(db.session, current_user._get_current_object())
    )


@bp.post("/language")
def language_set():
    """Store the chosen language (on the account when signed in) and go back."""
    language = request.form.get("language", "")
    if language not in current_app.config["LANGUAGES"]:
        abort(400)
    session["language"] = language
    if current_user.is_authenticated:
        accounts.set_language(db.session, current_user, language, current_app.config["LANGUAGES"])
        db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("main.index"))


@bp.get("/healthz")
def healthz():
    """Liveness and database check, as JSON."""
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page says: the icon, cached a day."""
    from flask import send_from_directory

    return send_from_directory(
        current_app.static_folder, "favicon.ico", mimetype="image/x-icon", max_age=86400
    )
