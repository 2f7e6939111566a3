"""Verification of new organisations through the JSON API: the queue and the verdict,
with the same schema, access rule and service as the page (views/organisations.py)."""

from __future__ import annotations

from flask import g

from .. import access
from ..extensions import db
from ..schemas.answers import ErrorSchema, OrganisationSchema
from ..schemas.verification import Verdict, VerificationSchema
from ..services import accounts
from .auth import token_required
from .blueprint import Blueprint

blp = Blueprint("api_organisations", __name__, url_prefix="/api/v1", description="Organisations")


@blp.get("/organisations/pending")
@blp.response(200, OrganisationSchema(many=True))
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@token_required
def organisation_pending():
    """Organisations awaiting verification that you verify: every one for a site
    admin, the donors and beneficiaries within your platform's service area for a
    coordinator; 403 for anyone else."""
    access.require_coordinator(g.api_user)
    return access.verification_queue(g.api_user)


@blp.post("/organisations/<int:org_id>/verification")
@blp.arguments(VerificationSchema)
@blp.response(200, OrganisationSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@token_required
def organisation_verify(data: dict, org_id: int):
    """Verify (``decision: verify``) or refuse (``reject``, with a ``reason``) an
    organisation awaiting verification; 403 saying why for one you may not verify (a
    coordinator: a platform, or an organisation outside its platform's service area)."""
    access.require_coordinator(g.api_user)
    org = access.organisation_to_verify(g.api_user, org_id)
    accounts.verify(db.session, g.api_user, org, data["decision"] == Verdict.VERIFY, data["reason"])
    db.session.commit()
    return org
