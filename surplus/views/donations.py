"""Donation documents pages (being built in this change)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("donations", __name__)
