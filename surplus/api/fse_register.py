"""The FSE+ register through the API: what each beneficiary received of FSE+ stock."""

from __future__ import annotations

from flask import g

from .. import access
from ..extensions import db
from ..schemas.answers import ErrorSchema
from ..schemas.fse_register import (
    FseRegisterQuerySchema,
    FseRegisterRowSchema,
    FseStockSchema,
)
from ..schemas.report import period_of
from ..services.reports import fse_register
from .auth import token_required
from .blueprint import Blueprint

blp = Blueprint("api_fse_register", __name__, url_prefix="/api/v1", description="FSE+ register")


@blp.get("/fse-register")
@blp.arguments(FseRegisterQuerySchema, location="query")
@blp.response(200, FseRegisterRowSchema(many=True))
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@token_required
def fse_register_rows(query: dict):
    """The FSE+ products delivered between ``from`` and ``to`` (Brussels days, both
    included), one row per delivered claim, by received day then organisation. A site
    admin reads every platform's; a coordinator, the claims through its platform; a
    beneficiary organisation, its own. 403 for donors and a platform's other members;
    404 for an ``organisation_id`` the caller may not read."""
    scope = access.fse_register_claims(g.api_user, query.get("organisation_id"))
    return fse_register.register_rows(db.session, scope, period_of(query))


@blp.get("/fse-register/stock")
@blp.arguments(FseRegisterQuerySchema, location="query")
@blp.response(200, FseStockSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@token_required
def fse_register_stock(query: dict):
    """FSE+ stock at depots: the receipts accepted between ``from`` and ``to`` and what is
    on hand now. A coordinator reads its platform's depots, a site admin every depot; a
    beneficiary organisation's lists are empty (it keeps no depot), as are they when
    narrowed to one ``organisation_id``. 403 and 404 as for the register's rows."""
    organisation_id = query.get("organisation_id")
    access.fse_register_claims(g.api_user, organisation_id)  # 403 / 404 as for the rows
    depots = access.fse_register_depots(g.api_user, organisation_id)
    return {
        "received": fse_register.stock_received(db.session, depots, period_of(query)),
        "on_hand": fse_register.stock_on_hand(db.session, depots),
    }
