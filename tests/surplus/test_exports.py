"""CSV exports: no cell a spreadsheet would run as a formula."""

import csv
import io
from datetime import date

import pytest

from surplus.services.exports import BOM, csv_response, csv_text, safe_cell


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("http://evil.example","x")',
        "+32 61 00 00 00",
        "-1+1",
        "@SUM(A1)",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_text_that_starts_a_formula_is_prefixed(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize(
    "value, cell",
    [
        ("CPAS de Libramont", "CPAS de Libramont"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (-3, "-3"),
        (12.5, "12.5"),
        (0.0, "0"),
        (True, "yes"),
        (False, "no"),
        (date(2026, 5, 4), "2026-05-04"),
        (" =1", " =1"),
    ],
)
def test_other_cells_are_kept(value, cell):
    assert safe_cell(value) == cell


def test_csv_text_has_a_bom_and_safe_cells_everywhere():
    text = csv_text(["name", "=header"], [["=1+1", 5], ["Épicerie; sociale", None]])
    assert text.startswith(BOM)
    rows = list(csv.reader(io.StringIO(text.removeprefix(BOM)), delimiter=";"))
    assert rows == [["name", "'=header"], ["'=1+1", "5"], ["Épicerie; sociale", ""]]


def test_csv_response_is_a_download():
    response = csv_response("network.csv", ["a"], [["@x"]])
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "attachment; filename=network.csv"
    assert response.get_data(as_text=True) == BOM + "a\r\n'@x\r\n"
