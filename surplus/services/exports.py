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
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"  # so spreadsheets read the file as UTF-8 (accents)
# Characters XML 1.0 cannot hold (openpyxl refuses them): never in our texts, but a
# workbook must not fail on one.
BAD_CELL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


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


Sheet = tuple[str, Sequence[str], Iterable[Sequence[Any]]]  # (title, header, rows)


def xlsx_bytes(sheets: Sequence[Sheet]) -> bytes:
    """A workbook with one sheet per table. Text cells are written as text (type ``s``),
    never as formulas, whatever they start with; numbers and dates stay numbers and dates."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import TYPE_STRING

    book = Workbook()
    book.remove(book.active)
    for title, header, rows in sheets:
        # Sheet titles: at most 31 characters, none of []:*?/\
        sheet = book.create_sheet(title=_sheet_title(title))
        for r, row in enumerate([list(header), *rows], start=1):
            for c, value in enumerate(row, start=1):
                cell = sheet.cell(row=r, column=c)
                if isinstance(value, datetime):
                    value = value.replace(tzinfo=None)  # Excel has no time zones
                if value is None or isinstance(value, bool | int | float | Decimal | date):
                    cell.value = value
                else:
                    cell.value = None
                    cell._value = BAD_CELL.sub("?", str(value))
                    cell.data_type = TYPE_STRING
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_title(title: str) -> str:
    return "".join("-" if ch in "[]:*?/\\" else ch for ch in title)[:31] or "Sheet"


def xlsx_response(filename: str, sheets: Sequence[Sheet]) -> Response:
    """A download of :func:`xlsx_bytes` named ``filename``."""
    return Response(
        xlsx_bytes(sheets),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )
