"""Reports through the API (being built in this change)."""

from __future__ import annotations

from .blueprint import Blueprint

blp = Blueprint("api_reports", __name__, url_prefix="/api/v1", description="Reports")
