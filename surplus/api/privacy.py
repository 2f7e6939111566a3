"""GET /api/v1/me/export: everything Maillon holds about the token's user (the twin of
the "download my data" page)."""

from __future__ import annotations

from flask import g

from ..database import read_only_transactions
from ..extensions import db
from ..schemas.answers import ErrorSchema
from ..schemas.privacy import ExportSchema
from ..services import personal_data
from .auth import token_required
from .blueprint import Blueprint

blp = Blueprint("api_privacy", __name__, url_prefix="/api/v1", description="Personal data (GDPR)")


@blp.get("/me/export")
@blp.response(200, ExportSchema)
@blp.alt_response(401, schema=ErrorSchema)
@token_required
def me_export():
    """The user's data as JSON (their account, tokens, security log, events, claims,
    lots, runs; an administrator's organisation too). No secret is ever included."""
    # A write on a GET (the security log's line): on SQLite, take the write lock at BEGIN.
    db.session.rollback()
    read_only_transactions(False)
    data = personal_data.export(db.session, g.api_user)
    db.session.commit()
    return data
