"""Comparing two answers of the same page: what differs by nature is hidden first."""

from __future__ import annotations

import re

EMAIL = "EMAIL"  # what an address typed in the form reads as in a normalised page


def normalised(html: str, email: str | None = None) -> str:
    """The page without its CSRF tokens (they carry the session and the second they were
    signed in) and, given ``email`` (the address typed), with it as :data:`EMAIL`."""
    html = re.sub(r'(name="csrf_token"[^>]*value=")[^"]*"', r"\1csrf", html)
    html = re.sub(r'("X-CSRFToken": ")[^"]*"', r"\1csrf", html)
    return html.replace(email, EMAIL) if email else html
