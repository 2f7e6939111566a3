"""Documents as PDF (WeasyPrint): the traceability sheet and the donation documents.

A PDF is built from the rendered page alone, never fetching a URL (no request from the
server on behalf of a user), with its stylesheet from ``static/``. Its identifier is
drawn from the content and fontTools' font timestamps are pinned (``SOURCE_DATE_EPOCH``,
reproducible-builds.org; an operator's own value is kept), so the same page gives the
same bytes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import Response, current_app


def _no_fetch(url: str, *args, **kwargs):
    raise ValueError(f"not fetched: {url[:80]}")


def render(html: str, stylesheet: str) -> bytes:
    """``html`` with ``static/<stylesheet>`` as PDF bytes."""
    from weasyprint import CSS, HTML  # heavy: loaded when a PDF is asked for

    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
    css = Path(current_app.static_folder or "static", stylesheet).read_text(encoding="utf-8")
    identifier = hashlib.sha256(html.encode("utf-8")).hexdigest()[:32].encode("ascii")
    return HTML(string=html, url_fetcher=_no_fetch).write_pdf(
        stylesheets=[CSS(string=css)], pdf_identifier=identifier
    )


def response(html: str, stylesheet: str, filename: str) -> Response:
    """A download of :func:`render` named ``filename``."""
    return Response(
        render(html, stylesheet),
        mimetype="application/pdf",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )
