"""FSE+ register pages (being built in this change)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("fse_register", __name__)
