"""The report's charts as SVG images (pygal), drawn on the server.

The SVG is served as an image of its own (``<img src>``), which never runs a script; we
still drop pygal's configuration ``<script>`` (its tooltips), so the file is inert even
opened directly. Its ``<style>`` stays: the response's own CSP allows that, nothing else.
"""

from __future__ import annotations

from datetime import date

import pygal
from babel.dates import format_date
from babel.numbers import format_decimal
from flask_babel import get_locale
from flask_babel import gettext as _
from pygal.etree import etree
from pygal.style import Style

from ... import labels
from .summary import Summary

CSP = "default-src 'none'; style-src 'unsafe-inline'"
STYLE = Style(
    background="transparent",
    plot_background="transparent",
    font_family="system-ui, sans-serif",
    colors=("#1e88e5", "#43a047", "#fb8c00", "#8e24aa"),
    label_font_size=15,  # drawn 420 wide: about 12 px on a 360 px phone
    major_label_font_size=15,
    legend_font_size=16,
    title_font_size=18,
)
OPTIONS = {
    "js": [],  # no script
    "style": STYLE,
    "width": 420,
    "height": 340,
    "legend_at_bottom": True,
    "x_label_rotation": 45,  # twelve months stay readable on a phone
    "truncate_label": 14,
    "print_values": False,
}


def _kg(value: float) -> str:
    return f"{format_decimal(value, '#,##0', locale=str(get_locale()))} kg"


def _svg(chart: pygal.graph.graph.Graph) -> bytes:
    """The chart's SVG without any ``<script>`` element."""
    tree = chart.render_tree()
    for parent in list(tree.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return etree.tostring(tree, encoding="utf-8")


def month_label(key: str) -> str:
    year, month = (int(part) for part in key.split("-"))
    return format_date(date(year, month, 1), "MMM yy", locale=str(get_locale()))


def monthly(report: Summary) -> bytes:
    """Kilograms posted and delivered per month of posting."""
    chart = pygal.Bar(title=_("Kilograms per month"), value_formatter=_kg, **OPTIONS)
    chart.x_labels = [month_label(g.key) for g in report.by_month]
    chart.add(_("posted"), [g.kg_posted for g in report.by_month])
    chart.add(_("delivered"), [g.kg_delivered for g in report.by_month])
    return _svg(chart)


def by_category(report: Summary) -> bytes:
    """Kilograms posted and delivered per category."""
    chart = pygal.HorizontalBar(title=_("Kilograms by category"), value_formatter=_kg, **OPTIONS)
    rows = report.by_category
    chart.x_labels = [labels.label("category", g.key) for g in rows]
    chart.add(_("posted"), [g.kg_posted for g in rows])
    chart.add(_("delivered"), [g.kg_delivered for g in rows])
    return _svg(chart)


CHARTS = {"monthly": monthly, "categories": by_category}
