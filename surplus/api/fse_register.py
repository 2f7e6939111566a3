"""FSE+ register through the API (being built in this change)."""

from __future__ import annotations

from .blueprint import Blueprint

blp = Blueprint("api_fse_register", __name__, url_prefix="/api/v1", description="FSE+ register")
