"""Batch allocation pages: run the matcher, review the proposal, confirm it.

The forms are plain HTML with a CSRF token (a line's form is one per row, swapped by
htmx); their input is loaded by the schemas in ``schemas.allocation``."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import access
from ..errors import DomainError, Invalid
from ..extensions import db, htmx
from ..models import AllocationBatch, AllocationLine, LineStatus, Lot, Organisation
from ..schemas.allocation import BatchInSchema, LineInSchema
from ..schemas.base import form_values, load
from ..services import allocation as service
from .helpers import render_form

bp = Blueprint("allocation", __name__, url_prefix="/platform/allocation")


def _require_coordinator() -> None:
    access.require_coordinator(current_user, message=str(service.MATCHER_MESSAGE))


def _names(lines: list[AllocationLine]) -> dict[int, str]:
    """Names of the beneficiaries and runners-up the explanations mention."""
    ids = {line.beneficiary_id for line in lines}
    ids |= {line.explanation.get("runner_up_id") for line in lines} - {None}
    rows = db.session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))
    ).all()
    return dict(rows)


@dataclass
class Group:
    """A beneficiary's lines in a proposal, with what they add up to."""

    beneficiary: Organisation
    lines: list[AllocationLine] = field(default_factory=list)

    @property
    def kept(self) -> list[AllocationLine]:
        return [line for line in self.lines if line.status != LineStatus.REMOVED]

    @property
    def kg(self) -> float:
        return sum(line.kg for line in self.kept)

    @property
    def lots(self) -> int:
        return len({line.lot_id for line in self.kept})

    @property
    def noted(self) -> bool:
        return any(line.note for line in self.lines)


def _groups(lines: list[AllocationLine]) -> list[Group]:
    """Lines by beneficiary (most kilograms first), each group's lines in their order."""
    groups: dict[int, Group] = {}
    for line in lines:
        groups.setdefault(line.beneficiary_id, Group(line.beneficiary)).lines.append(line)
    return sorted(groups.values(), key=lambda g: (-g.kg, g.beneficiary.name))


def _group_of(batch: AllocationBatch, line: AllocationLine) -> Group:
    lines = db.session.scalars(
        select(AllocationLine)
        .where(
            AllocationLine.batch_id == batch.id,
            AllocationLine.beneficiary_id == line.beneficiary_id,
        )
        .order_by(AllocationLine.id)
    ).all()
    return Group(line.beneficiary, list(lines))


def _batch(batch_id: int) -> AllocationBatch:
    _require_coordinator()
    return access.get_for(current_user, AllocationBatch, batch_id)


def _list_page(status: int = 200, error: Invalid | None = None):
    batches = db.session.scalars(
        access.visible_batches(current_user).order_by(AllocationBatch.id.desc()).limit(30)
    ).all()
    return render_form(
        "allocation/list.html",
        status,
        batches=batches,
        values=request.form if error else {},
        errors=error.fields if error else {},
    )


@bp.get("/")
@login_required
def batch_list():
    """The platform's recent proposals and unattended runs."""
    _require_coordinator()
    return _list_page()


@bp.post("/")
@login_required
def batch_create():
    """Run the matcher over the platform's open lots (or those whose date is within
    ``within_hours``); shows the proposal."""
    _require_coordinator()
    schema = BatchInSchema()
    try:
        values = load(schema, form_values(schema, request.form))
    except Invalid as error:
        return _list_page(422, error)
    batch = service.propose(db.session, current_user, **values)
    db.session.commit()
    return redirect(url_for("allocation.batch_show", batch_id=batch.id))


@bp.get("/<int:batch_id>")
@login_required
def batch_show(batch_id: int):
    """A proposal: who gets what, how far, need met, why; and what stays unallocated."""
    batch = _batch(batch_id)
    lines = db.session.scalars(
        select(AllocationLine)
        .where(AllocationLine.batch_id == batch.id)
        .options(
            selectinload(AllocationLine.lot).selectinload(Lot.donor),
            selectinload(AllocationLine.beneficiary),
        )
        .order_by(AllocationLine.id)
    ).all()
    unallocated = []
    if batch.unallocated:
        ids = [int(i) for i in batch.unallocated]
        lots = {
            lot.id: lot
            for lot in db.session.scalars(
                select(Lot).options(selectinload(Lot.donor)).where(Lot.id.in_(ids))
            )
        }
        unallocated = [
            (lots[int(i)], kg, reason)
            for i, (kg, reason) in batch.unallocated.items()
            if int(i) in lots
        ]
    return render_template(
        "allocation/show.html",
        batch=batch,
        lines=lines,
        groups=_groups(list(lines)),
        unallocated=unallocated,
        names=_names(list(lines)),
    )


@bp.post("/<int:batch_id>/lines/<int:line_id>")
@login_required
def line_update(batch_id: int, line_id: int):
    """Remove (or restore) a line, or change its kilograms; answers the row for htmx
    (422 with the message and the value typed when refused)."""
    batch = _batch(batch_id)
    line = access.get_for(current_user, AllocationLine, line_id, access.CHANGE)
    if line.batch_id != batch.id:
        abort(404)
    error, typed = None, None
    try:
        if "kg" in request.form:
            typed = request.form["kg"]
            schema = LineInSchema()
            kg = load(schema, form_values(schema, request.form))["kg"]
            service.adjust_line(db.session, current_user, line, kg)
        else:
            service.remove_line(db.session, current_user, line)
    except DomainError as exc:
        db.session.rollback()
        error = exc.fields.get("kg") or exc.message
    else:
        db.session.commit()
        typed = None
    if htmx:
        return render_template(
            "allocation/_line.html",
            line=line,
            batch=batch,
            error=error,
            typed=typed,
            names=_names([line]),
            group=_group_of(batch, line),
            oob=True,
        ), 422 if error else 200
    if error:
        flash(error, "error")
    return redirect(url_for("allocation.batch_show", batch_id=batch.id))


@bp.post("/<int:batch_id>/confirm")
@login_required
def batch_confirm(batch_id: int):
    """Create the claims; lines claimed meanwhile are skipped and reported."""
    batch = _batch(batch_id)
    try:
        service.confirm(db.session, current_user, batch)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("allocation.batch_show", batch_id=batch.id))
    db.session.commit()
    # The page says what came of it (#batch-result, from the batch's summary): no flash,
    # which would say it a second time.
    return redirect(url_for("allocation.batch_show", batch_id=batch.id))
