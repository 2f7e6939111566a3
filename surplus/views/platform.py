"""Coordinator pages: the platform's dashboard, review queue and network."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, current_app, render_template
from flask_login import current_user, login_required

from .. import labels
from ..extensions import db
from ..forms import ConventionDecisionForm
from ..services import platform_board

bp = Blueprint("platform", __name__, url_prefix="/platform")


def _platform():
    if not (current_user.is_coordinator or (current_user.is_site_admin
                                            and current_user.organisation.is_platform)):
        abort(403)
    return current_user.organisation


@bp.get("/")
@login_required
def platform_dashboard():
    """Pending requests, lots at risk in the area, today's and tomorrow's runs with their
    load, FSE+ stock on hand, and the network on a map (coordinators only, else 403)."""
    board = platform_board.build(db.session, _platform())
    points = [{"lat": board.platform.lat, "lon": board.platform.lon, "kind": "platform",
               "label": board.platform.name}]
    points += [{"lat": c.beneficiary.lat, "lon": c.beneficiary.lon,
                "kind": c.beneficiary.kind.value, "label": c.beneficiary.name}
               for c in board.network]
    points += [{"lat": lot.pickup_lat, "lon": lot.pickup_lon, "kind": "lot",
                "label": lot.title} for lot in board.at_risk]
    return render_template("platform/dashboard.html", board=board, points=points,
                           tiles=current_app.config["MAP_TILE_URL"],
                           attribution=current_app.config["MAP_TILE_ATTRIBUTION"])


@bp.get("/conventions")
@login_required
def review_queue():
    """Requests and pending figure changes to decide, with htmx actions."""
    board = platform_board.build(db.session, _platform())
    return render_template("platform/queue.html", board=board,
                           decision=ConventionDecisionForm())


@bp.get("/claims")
@login_required
def claim_list():
    """Live claims through this platform, to book on runs."""
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    from ..models import Claim, ClaimStatus, Lot, Stop

    platform = _platform()
    rows = db.session.scalars(
        select(Claim).options(joinedload(Claim.lot).joinedload(Lot.donor),
                              joinedload(Claim.beneficiary))
        .where(Claim.platform_id == platform.id,
               Claim.status.in_([ClaimStatus.ACTIVE, ClaimStatus.COLLECTED]))
        .order_by(Claim.id.desc()).limit(300)).all()
    booked = set(db.session.scalars(select(Stop.claim_id).where(
        Stop.claim_id.in_([c.id for c in rows]))))
    return render_template("platform/claims.html", claims=rows, booked=booked)


@bp.get("/network")
@login_required
def network_list():
    """Every beneficiary under convention with its figures."""
    rows = platform_board.network(db.session, _platform())
    return render_template("platform/network.html", conventions=rows)


NETWORK_COLUMNS = ["beneficiary", "kind", "postcode", "locality", "status", "valid_from",
                   "valid_until", "persons_per_week", "chilled_capacity_kg",
                   "frozen_capacity_kg", "fse_plus_allowed", "fse_plus_approval_number",
                   "fse_plus_approval_expires", "accepted_categories", "distribution_mode",
                   "contact_name", "contact_phone"]


@bp.get("/network.csv")
@login_required
def network_csv():
    """The network as CSV (UTF-8 with BOM so spreadsheets read the accents)."""
    rows = platform_board.network(db.session, _platform())
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";")
    writer.writerow(NETWORK_COLUMNS)
    for c in rows:
        b = c.beneficiary
        writer.writerow([
            b.name, labels.label("org_kind", b.kind), b.postcode, b.locality, c.status.value,
            c.valid_from or "", c.valid_until or "", c.persons_per_week,
            f"{c.chilled_capacity_kg:g}", f"{c.frozen_capacity_kg:g}",
            "yes" if c.fse_plus_allowed else "no", c.fse_plus_approval_number or "",
            c.fse_plus_approval_expires or "", " ".join(c.accepted_categories or []),
            b.distribution_mode.value if b.distribution_mode else "", c.contact_name,
            c.contact_phone])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=network.csv"})
