"""The policies side by side: a text table with the targets, a CSV of daily figures and
an SVG chart of the weekly ones (hand-written SVG, no plotting dependency)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from .metrics import EXPIRY_REASONS


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    ok: Callable[[float], bool]
    better: Callable[[float, float], bool]  # (maillon, baseline) -> maillon is better
    ceiling: str | None = None  # the figure saying how far the run could have gone


TARGETS = (
    Target(
        "placed_share",
        ">= 98 % placed",
        lambda v: v >= 0.98,
        lambda a, b: a > b,
        ceiling="placed_ceiling",
    ),
    Target(
        "booking_wait_median_min",
        "median <= 30 min to booking",
        lambda v: v <= 30,
        lambda a, b: a < b,
    ),
    Target("km_per_kg", "<= 0.1 km added per kg", lambda v: v <= 0.1, lambda a, b: a < b),
    Target(
        "jain_mean", "Jain (mean 4-week window) >= 0.95", lambda v: v >= 0.95, lambda a, b: a > b
    ),
)


def _fmt(value: Any, kind: str = "") -> str:
    if value is None:
        return "-"
    if kind == "pct":
        return f"{100 * value:.1f} %"
    if kind == "min":
        return f"{value:.0f} min" if value < 600 else f"{value / 60:.1f} h"
    if kind == "kg":
        return f"{value:,.0f} kg".replace(",", " ")
    if kind == "f3":
        return f"{value:.3f}"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _expired(reason: str) -> Callable[[dict], Any]:
    return lambda m: m["expired_kg"][reason]


ROWS: tuple[tuple[str, str, Callable[[dict], Any], str], ...] = (
    ("lots posted", "", lambda m: m["lots"], ""),
    ("kg posted", "", lambda m: m["posted_kg"], "kg"),
    ("kg no rule lets anyone receive", "", lambda m: m["unplaceable_kg"], "kg"),
    ("placeable kg delivered before date", "", lambda m: m["placeable_delivered_kg"], "kg"),
    ("share of placeable kg placed (settled)", "*", lambda m: m["placed_share"], "pct"),
    (
        "  at most: no round or fetcher near, withdrawn",
        "",
        lambda m: m.get("placed_ceiling"),
        "pct",
    ),
    ("kg delivered (all)", "", lambda m: m["delivered_kg"], "kg"),
    ("  of which fetched by the beneficiary", "", lambda m: m["self_collected_kg"], "kg"),
    (
        "kg back at a depot after a missed drop-off, offered again",
        "",
        lambda m: m.get("offered_again_kg"),
        "kg",
    ),
    *((f"kg expired: {reason}", "", _expired(reason), "kg") for reason in EXPIRY_REASONS),
    (
        "  placeable, expired, no round or fetcher near",
        "",
        lambda m: m.get("lost_beyond_transport_kg"),
        "kg",
    ),
    ("kg withdrawn by donors", "", lambda m: m["withdrawn_kg"], "kg"),
    (
        "kg open / in transit at the end",
        "",
        lambda m: f"{m['open_kg']:.0f} / {m['in_transit_kg']:.0f}",
        "",
    ),
    ("conservation error (kg)", "", lambda m: m["conservation_error_kg"], ""),
    ("time to booking, median", "*", lambda m: m["booking_wait_median_min"], "min"),
    ("time to booking, p90", "", lambda m: m["booking_wait_p90_min"], "min"),
    (
        "lots never booked (kg)",
        "",
        lambda m: f"{m['lots_never_booked']} ({m['never_booked_kg']:.0f})",
        "",
    ),
    ("km added", "", lambda m: m["added_km"], ""),
    ("km added per kg delivered", "*", lambda m: m["km_per_kg"], "f3"),
    ("km driven by beneficiaries fetching (round trips)", "", lambda m: m["self_collect_km"], ""),
    ("all km (runs + fetching) per kg delivered", "", lambda m: m["all_km_per_kg"], "f3"),
    ("Jain need met, 4-week mean", "*", lambda m: m["jain_mean"], "f3"),
    ("Jain need met, worst 4 weeks", "", lambda m: m["jain_worst"], "f3"),
    ("orgs with nothing in a month", "", lambda m: m["nothing_in_month_share"], "pct"),
    ("claims made", "", lambda m: m["claims"], ""),
)


def table(results: dict[str, dict[str, Any]]) -> str:
    names = list(results)
    width = max(len(r[0]) for r in ROWS) + 2
    lines = [f"{'':{width}}" + "".join(f"{n:>18}" for n in names)]
    for label, star, get, kind in ROWS:
        cells = "".join(f"{_fmt(get(results[n]), kind):>18}" for n in names)
        lines.append(f"{(label + (' *' if star else '')):{width}}{cells}")
    return "\n".join(lines)


def verdicts(results: dict[str, dict[str, Any]], policy: str = "maillon") -> list[str]:
    """PASS/FAIL for each target of ``policy``, and whether it beats each other policy."""
    if policy not in results:
        return []
    mine = results[policy]
    lines = []
    for target in TARGETS:
        value = mine.get(target.key)
        ok = value is not None and target.ok(value)
        beats = []
        for other, figures in results.items():
            if other == policy:
                continue
            theirs = figures.get(target.key)
            if value is None or theirs is None:
                beats.append(f"vs {other}: n/a")
            else:
                beats.append(
                    f"vs {other}: {'better' if target.better(value, theirs) else 'NOT better'}"
                )
        line = f"{'PASS' if ok else 'FAIL'}  {target.label}  [{'; '.join(beats)}]"
        most = mine.get(target.ceiling) if target.ceiling else None
        if most is not None:
            line += f"  (within reach and not withdrawn: {_fmt(most, 'pct')})"
        lines.append(line)
    return lines


def jobs_table(title: str, timings: dict[str, dict[str, float]]) -> str:
    lines = [
        title,
        f"  {'job':<18}{'calls':>8}{'skipped':>9}{'total s':>10}{'mean ms':>10}{'max ms':>10}",
    ]
    for name, t in timings.items():
        lines.append(
            f"  {name:<18}{t['calls']:>8}{t['skipped']:>9}{t['total_s']:>10.2f}"
            f"{t['mean_ms']:>10.1f}{t['max_ms']:>10.1f}"
        )
    return "\n".join(lines)


def write_csv(path: Path, results: dict[str, dict[str, Any]], snapshots: dict[str, list]) -> None:
    columns = [
        "posted_kg",
        "delivered_kg",
        "expired_kg",
        "withdrawn_kg",
        "open_kg_at_midnight",
        "claimed_unbooked_kg_at_midnight",
        "booked_or_on_board_kg_at_midnight",
    ]
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["policy", "date", *columns])
        for policy, figures in results.items():
            shots = {s["date"]: s for s in snapshots.get(policy, [])}
            days = sorted(set(figures["daily"]) | set(shots))
            for day in days:
                row = {**figures["daily"].get(day, {}), **shots.get(day, {})}
                writer.writerow([policy, day, *(round(row.get(c, 0.0), 3) for c in columns)])


def write_orgs_csv(path: Path, results: dict[str, dict[str, Any]]) -> None:
    """Per policy and beneficiary, what it received over the period and what may explain
    it (metrics._per_org): where Jain's index and "nothing in a month" come from."""
    with path.open("w", newline="") as out:
        writer = None
        for policy, figures in results.items():
            for row in figures.get("orgs", []):
                if writer is None:
                    writer = csv.DictWriter(out, fieldnames=["policy", *row])
                    writer.writeheader()
                writer.writerow({"policy": policy, **row})


def weekly(figures: dict[str, Any], start: date, days: int, column: str) -> list[float]:
    weeks = [0.0] * ((days + 6) // 7)
    for day, row in figures["daily"].items():
        index = (date.fromisoformat(day) - start).days // 7
        if 0 <= index < len(weeks):
            weeks[index] += row.get(column, 0.0)
    return weeks


COLOURS = {"fcfs": "#d95f02", "greedy": "#7570b3", "maillon": "#1b9e77"}


def write_svg(
    path: Path, results: dict[str, dict[str, Any]], start: date, days: int, title: str
) -> None:
    """Two panels, kilograms delivered and expired per week, a line per policy."""
    width, panel_h, left, top = 860, 230, 70, 40
    panels = [("delivered_kg", "kg delivered per week"), ("expired_kg", "kg expired per week")]
    height = top + len(panels) * (panel_h + 60) + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f'<text x="{left}" y="22" font-size="15">{escape(title)}</text>',
    ]
    n_weeks = (days + 6) // 7
    plot_w = width - left - 150
    for p, (column, label) in enumerate(panels):
        y0 = top + p * (panel_h + 60) + 20
        series = {name: weekly(f, start, days, column) for name, f in results.items()}
        peak = max([v for s in series.values() for v in s] + [1.0])
        parts.append(f'<text x="{left}" y="{y0 - 6}">{escape(label)}</text>')
        parts.append(
            f'<rect x="{left}" y="{y0}" width="{plot_w}" height="{panel_h}" '
            'fill="none" stroke="#999"/>'
        )
        for tick in range(5):
            value = peak * tick / 4
            y = y0 + panel_h - panel_h * tick / 4
            parts.append(
                f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value:,.0f}</text>'
            )
            parts.append(
                f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
            )
        step = max(1, n_weeks // 13)
        for w in range(0, n_weeks, step):
            x = left + plot_w * (w + 0.5) / n_weeks
            day = start + timedelta(days=7 * w)
            parts.append(
                f'<text x="{x:.1f}" y="{y0 + panel_h + 16}" text-anchor="middle">{day:%d/%m}</text>'
            )
        for i, (name, values) in enumerate(series.items()):
            points = " ".join(
                f"{left + plot_w * (w + 0.5) / n_weeks:.1f},{y0 + panel_h - panel_h * v / peak:.1f}"
                for w, v in enumerate(values)
            )
            colour = COLOURS.get(name, "#333")
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'
            )
            parts.append(
                f'<text x="{left + plot_w + 12}" y="{y0 + 16 + 16 * i}" '
                f'fill="{colour}">{escape(name)}</text>'
            )
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n")


def growth(province: dict[str, dict[str, float]], national: dict[str, dict[str, float]]) -> str:
    """How each job's mean and total time grow from a province month to the country's."""
    lines = ["growth, province month -> national month:"]
    for name in sorted(set(province) | set(national)):
        a, b = province.get(name), national.get(name)
        if not a or not b:
            continue
        mean = b["mean_ms"] / a["mean_ms"] if a["mean_ms"] else float("nan")
        total = b["total_s"] / a["total_s"] if a["total_s"] else float("nan")
        lines.append(f"  {name:<18} mean x{mean:.1f}, total x{total:.1f}")
    return "\n".join(lines)
