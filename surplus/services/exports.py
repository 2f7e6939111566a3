"""CSV exports that spreadsheets open safely.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel and LibreOffice as a formula ("CSV injection"): an organisation named
``=HYPERLINK(...)`` would become a live link in a coordinator's sheet. Every text cell
goes through :func:`safe_cell`, which prefixes such a cell with an apostrophe (shown by
no spreadsheet, and the text stays readable). Numbers we format ourselves are left as
they are, so a negative figure stays a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"  # so spreadsheets read the file as UTF-8 (accents)


def safe_cell(value: Any) -> str:
    """``value`` as a CSV cell that no spreadsheet runs as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]], delimiter: str = ";") -> str:
    """The whole file: a byte-order mark, the header, then the rows, every cell safe."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow([safe_cell(name) for name in header])
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return out.getvalue()


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]], delimiter: str = ";"
) -> Response:
    """A download of :func:`csv_text` named ``filename``."""
    return Response(
        csv_text(header, rows, delimiter),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )
