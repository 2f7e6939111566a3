"""Batch allocation pages: run the matcher, review the proposal, confirm it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..errors import DomainError
from ..extensions import db, htmx
from ..models import AllocationBatch, AllocationLine, Lot, Organisation
from ..services import allocation as service

bp = Blueprint("allocation", __name__, url_prefix="/platform/allocation")


def _coordinator() -> None:
    if not current_user.is_coordinator:
        abort(403)


def _names(lines: list[AllocationLine]) -> dict[int, str]:
    """Names of the beneficiaries and runners-up the explanations mention."""
    ids = {line.beneficiary_id for line in lines}
    ids |= {line.explanation.get("runner_up_id") for line in lines} - {None}
    rows = db.session.execute(select(Organisation.id, Organisation.name)
                              .where(Organisation.id.in_(ids))).all()
    return dict(rows)


def _batch(batch_id: int) -> AllocationBatch:
    _coordinator()
    batch = db.session.get(AllocationBatch, batch_id)
    if batch is None or batch.platform_id != current_user.organisation_id:
        abort(404)
    return batch


@bp.get("/")
@login_required
def batch_list():
    """The platform's recent proposals and unattended runs."""
    _coordinator()
    batches = db.session.scalars(
        select(AllocationBatch).where(AllocationBatch.platform_id == current_user.organisation_id)
        .order_by(AllocationBatch.id.desc()).limit(30)).all()
    return render_template("allocation/list.html", batches=batches)


@bp.post("/")
@login_required
def batch_create():
    """Run the matcher over the platform's open lots; shows the proposal."""
    _coordinator()
    batch = service.propose(db.session, current_user)
    db.session.commit()
    return redirect(url_for("allocation.batch_show", batch_id=batch.id))


@bp.get("/<int:batch_id>")
@login_required
def batch_show(batch_id: int):
    """A proposal: who gets what, how far, need met, why; and what stays unallocated."""
    batch = _batch(batch_id)
    lines = db.session.scalars(
        select(AllocationLine).where(AllocationLine.batch_id == batch.id)
        .options(selectinload(AllocationLine.lot).selectinload(Lot.donor),
                 selectinload(AllocationLine.beneficiary))
        .order_by(AllocationLine.id)).all()
    unallocated = []
    if batch.unallocated:
        ids = [int(i) for i in batch.unallocated]
        lots = {lot.id: lot for lot in db.session.scalars(
            select(Lot).options(selectinload(Lot.donor)).where(Lot.id.in_(ids)))}
        unallocated = [(lots[int(i)], kg, reason) for i, (kg, reason) in
                       batch.unallocated.items() if int(i) in lots]
    return render_template("allocation/show.html", batch=batch, lines=lines,
                           unallocated=unallocated, names=_names(list(lines)))


@bp.post("/<int:batch_id>/lines/<int:line_id>")
@login_required
def line_update(batch_id: int, line_id: int):
    """Remove (or restore) a line, or change its kilograms; answers the row for htmx."""
    batch = _batch(batch_id)
    line = db.session.get(AllocationLine, line_id)
    if line is None or line.batch_id != batch.id:
        abort(404)
    error = None
    try:
        if "kg" in request.form:
            service.adjust_line(db.session, current_user, line, request.form["kg"])
        else:
            service.remove_line(db.session, current_user, line)
    except DomainError as exc:
        db.session.rollback()
        error = exc.message
    else:
        db.session.commit()
    if htmx:
        return render_template("allocation/_line.html", line=line, batch=batch, error=error,
                               names=_names([line])), 422 if error else 200
    if error:
        flash(error, "error")
    return redirect(url_for("allocation.batch_show", batch_id=batch.id))


@bp.post("/<int:batch_id>/confirm")
@login_required
def batch_confirm(batch_id: int):
    """Create the claims; lines claimed meanwhile are skipped and reported."""
    batch = _batch(batch_id)
    try:
        counts = service.confirm(db.session, current_user, batch)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("allocation.batch_show", batch_id=batch.id))
    db.session.commit()
    flash(_("%(claimed)d lines claimed, %(skipped)d skipped.", **counts), "success")
    return redirect(url_for("allocation.batch_show", batch_id=batch.id))
