"""Coordinator pages: the platform's dashboard, review queue and network."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import access, labels
from ..extensions import db
from ..forms import ConventionDecisionForm
from ..models import IN_TRANSIT_CLAIM_STATUSES, Claim, Lot, Stop
from ..services import claim_facts, platform_board
from ..services.exports import csv_response

bp = Blueprint("platform", __name__, url_prefix="/platform")


@bp.get("/")
@login_required
def platform_dashboard():
    """Pending requests, lots at risk in the area, today's and tomorrow's runs with their
    load, FSE+ stock on hand, and the network on a map (coordinators only, else 403)."""
    board = platform_board.build(db.session, access.coordinated_platform(current_user))
    points = [
        {
            "lat": board.platform.lat,
            "lon": board.platform.lon,
            "kind": "platform",
            "label": board.platform.name,
        }
    ]
    points += [
        {
            "lat": c.beneficiary.lat,
            "lon": c.beneficiary.lon,
            "kind": c.beneficiary.kind.value,
            "label": c.beneficiary.name,
        }
        for c in board.network
    ]
    points += [
        {"lat": lot.pickup_lat, "lon": lot.pickup_lon, "kind": "lot", "label": lot.title}
        for lot in board.at_risk
    ]
    return render_template(
        "platform/dashboard.html",
        board=board,
        points=points,
        tiles=current_app.config["MAP_TILE_URL"],
        attribution=current_app.config["MAP_TILE_ATTRIBUTION"],
    )


@bp.get("/conventions")
@login_required
def review_queue():
    """Requests and pending figure changes to decide, with htmx actions (coordinators
    only, else 403)."""
    board = platform_board.build(db.session, access.coordinated_platform(current_user))
    return render_template("platform/queue.html", board=board, decision=ConventionDecisionForm())


@bp.get("/claims")
@login_required
def claim_list():
    """Live claims through this platform, to book on runs (coordinators only, else 403)."""
    platform = access.coordinated_platform(current_user)
    rows = db.session.scalars(
        select(Claim)
        .options(joinedload(Claim.lot).joinedload(Lot.donor), joinedload(Claim.beneficiary))
        .where(
            Claim.platform_id == platform.id,
            Claim.status.in_(IN_TRANSIT_CLAIM_STATUSES),
        )
        .order_by(Claim.id.desc())
        .limit(300)
    ).all()
    booked = set(
        db.session.scalars(select(Stop.claim_id).where(Stop.claim_id.in_([c.id for c in rows])))
    )
    allocators = claim_facts.allocated_by(db.session, [c.id for c in rows])
    return render_template(
        "platform/claims.html", claims=rows, booked=booked, allocators=allocators
    )


@bp.get("/network")
@login_required
def network_list():
    """Every beneficiary under convention with its figures (coordinators only, else 403)."""
    rows = platform_board.network(db.session, access.coordinated_platform(current_user))
    return render_template("platform/network.html", conventions=rows)


NETWORK_COLUMNS = [
    "beneficiary",
    "kind",
    "postcode",
    "locality",
    "status",
    "valid_from",
    "valid_until",
    "persons_per_week",
    "chilled_capacity_kg",
    "frozen_capacity_kg",
    "fse_plus_allowed",
    "fse_plus_approval_number",
    "fse_plus_approval_expires",
    "accepted_categories",
    "distribution_mode",
    "contact_name",
    "contact_phone",
]


@bp.get("/network.csv")
@login_required
def network_csv():
    """The network as CSV, one beneficiary a row (coordinators only, else 403)."""
    rows = platform_board.network(db.session, access.coordinated_platform(current_user))
    return csv_response(
        "network.csv",
        NETWORK_COLUMNS,
        (
            [
                c.beneficiary.name,
                labels.label("org_kind", c.beneficiary.kind),
                c.beneficiary.postcode,
                c.beneficiary.locality,
                c.status.value,
                c.valid_from,
                c.valid_until,
                c.persons_per_week,
                c.chilled_capacity_kg,
                c.frozen_capacity_kg,
                c.fse_plus_allowed,
                c.fse_plus_approval_number,
                c.fse_plus_approval_expires,
                " ".join(c.accepted_categories or []),
                c.beneficiary.distribution_mode.value if c.beneficiary.distribution_mode else "",
                c.contact_name,
                c.contact_phone,
            ]
            for c in rows
        ),
    )
