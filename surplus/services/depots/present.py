"""Depots and stock items as the API and the pages show them: plain dictionaries with
kilograms, days left and one step back (``sources``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Depot, DepotZone, StockItem
from ..lot_dates import local_today
from .receipts import zone_load
from .stock import origins


def zones_of(session: Session, depot: Depot) -> list[dict[str, Any]]:
    zones = session.scalars(
        select(DepotZone).where(DepotZone.depot_id == depot.id).order_by(DepotZone.id)
    ).all()
    held = zone_load(session, [z.id for z in zones])
    return [
        {
            "id": z.id,
            "name": z.name,
            "storage": z.storage,
            "capacity_kg": z.capacity_kg,
            "held_kg": held.get(z.id, 0) / 1000,
            # Share of the capacity in use (None: no capacity stated).
            "used": (held.get(z.id, 0) / 1000 / z.capacity_kg) if z.capacity_kg else None,
        }
        for z in zones
    ]


def depot_view(session: Session, depot: Depot) -> dict[str, Any]:
    return {
        "id": depot.id,
        "name": depot.name,
        "address": depot.address,
        "postcode": depot.postcode,
        "locality": depot.locality,
        "zones": zones_of(session, depot),
    }


def days_left(item: StockItem) -> int | None:
    """Whole days until the last day it may be handed out (0: today; negative: past)."""
    if item.expires_at is None:
        return None
    from ..reports.period import local_day

    return (local_day(item.expires_at) - local_today()).days


def item_view(session: Session, item: StockItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "product": item.product,
        "category": item.category.value,
        "lot_number": item.lot_number,
        "kg": item.grams / 1000,
        "units": item.units,
        "storage": item.storage.value,
        "date_kind": item.date_kind.value if item.date_kind else None,
        "date": item.best_date.isoformat() if item.best_date else None,
        "days_left": days_left(item),
        "allergens": list(item.allergens or []),
        "fse_plus": item.fse_plus,
        "zone": item.zone.name,
        "zone_id": item.zone_id,
        "sources": [
            {
                "receipt_id": o.receipt.id,
                "source": o.receipt.source.value,
                "claim_id": o.receipt.claim_id,
                "lot_id": o.lot_id,
                "donor_id": o.receipt.donor_id,
                "donor": o.receipt.donor.name if o.receipt.donor else None,
                "supplier": o.receipt.supplier,
                "lot_number": o.receipt.lot_number,
                "kg": o.grams / 1000,
                "received_at": o.receipt.checked_at.isoformat(),
            }
            for o in origins(session, item)
        ],
    }
