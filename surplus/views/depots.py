"""Depot pages for a platform's team, phone first: the depots and their zones, the stock
(first expired first out), receipts at the door, an item's sources, movements and work
(split, merge, adjust, count, offer), and the zones (coordinators)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from .. import access
from ..errors import DomainError, Invalid
from ..extensions import db
from ..forms_depot import (
    MOVEMENTS,
    SOURCES,
    SPLIT_INPUTS,
    AdjustForm,
    CountForm,
    GoodsReceiptForm,
    MergeForm,
    OfferForm,
    SplitForm,
    ZoneForm,
    reason_text,
)
from ..models import (
    Depot,
    DepotZone,
    MovementKind,
    Organisation,
    OrgKind,
    StockItem,
    StockMovement,
    User,
    Verification,
)
from ..schemas.base import form_values, load
from ..schemas.depot import (
    AdjustmentSchema,
    ClaimReceiptSchema,
    CountSchema,
    GoodsReceiptSchema,
    MergeSchema,
    OfferSchema,
    SplitSchema,
    StockQuerySchema,
    ZoneInSchema,
)
from ..services.depots import receipts, stock
from ..services.depots import zones as zone_service
from ..services.depots.present import days_left, item_view, zones_of
from .helpers import apply_errors, render_form

bp = Blueprint("depots", __name__)

ONLY_PLATFORMS = _l("Only a logistics platform's team has depots.")
ITEM_FORMS = {
    "split": (SplitForm, SplitSchema),
    "merge": (MergeForm, MergeSchema),
    "adjust": (AdjustForm, AdjustmentSchema),
    "count": (CountForm, CountSchema),
    "offer": (OfferForm, OfferSchema),
}


def _status(error: DomainError) -> int:
    """A refusal keeps its 403/404/409; what was typed wrong comes back as 422."""
    return error.status if error.status in (403, 404, 409) else 422


def _unprefixed(prefix: str) -> MultiDict:
    """The submitted values of the form whose fields are named ``<prefix>-<name>``."""
    start = f"{prefix}-"
    return MultiDict(
        [(k[len(start) :], v) for k, v in request.form.items(multi=True) if k.startswith(start)]
    )


# -- depots and their stock ---------------------------------------------------------------


@bp.get("/depots")
@login_required
def depot_list():
    """The platform's depots with each zone's gauge; with one depot, straight to it."""
    if not current_user.organisation.is_platform:
        access.deny(str(ONLY_PLATFORMS))
    depots = db.session.scalars(access.visible_depots(current_user).order_by(Depot.id)).all()
    if len(depots) == 1 and not request.args.get("all"):
        return redirect(url_for("depots.depot_show", depot_id=depots[0].id))
    return render_template(
        "depots/list.html",
        depots=[(d, zones_of(db.session, d)) for d in depots],
    )


@bp.get("/depots/<int:depot_id>")
@login_required
def depot_show(depot_id: int):
    """The stock by zone, first expired first out, with the zone and product filters."""
    depot = access.get_for(current_user, Depot, depot_id)
    zone_list = zones_of(db.session, depot)
    filters = load(StockQuerySchema(), request.args)
    query = access.depot_stock(current_user, depot)
    if filters.get("zone_id") is not None:
        query = query.where(StockItem.zone_id == filters["zone_id"])
    if filters["q"]:
        query = query.where(
            func.lower(StockItem.product).contains(filters["q"].lower(), autoescape=True)
        )
    items = db.session.scalars(query).all()
    grouped: dict[int, list[tuple[StockItem, int | None]]] = {}
    for item in items:
        grouped.setdefault(item.zone_id, []).append((item, days_left(item)))
    return render_template(
        "depots/show.html",
        depot=depot,
        zones=zone_list,
        grouped=grouped,
        filters=filters,
        count=len(items),
        may_change=access.can(current_user, access.CHANGE, depot),
        depot_count=db.session.scalar(
            select(func.count()).select_from(access.visible_depots(current_user).subquery())
        ),
    )


# -- receipts at the door -----------------------------------------------------------------


def _donors() -> list[Organisation]:
    return list(
        db.session.scalars(
            select(Organisation)
            .where(
                Organisation.verification == Verification.VERIFIED,
                Organisation.kind.in_(
                    [k for k in OrgKind if not k.is_beneficiary and k != OrgKind.PLATFORM]
                ),
            )
            .order_by(Organisation.name)
        )
    )


def _receive_page(
    depot: Depot,
    form: GoodsReceiptForm | None = None,
    status: int = 200,
    **context: Any,
):
    zone_list = zones_of(db.session, depot)
    form = form or GoodsReceiptForm(formdata=None, zones=zone_list, donors=_donors())
    return render_form(
        "depots/receive.html",
        status,
        depot=depot,
        form=form,
        claims=receipts.waiting(db.session, depot),
        claim_errors=context.pop("claim_errors", {}),
        format_decimal=format_decimal,
        **context,
    )


@bp.route("/depots/<int:depot_id>/receive", methods=["GET", "POST"])
@login_required
def receive(depot_id: int):
    """Receive the platform's claims for this depot, or goods at the door. Refused: the
    receipt is recorded and the page says what, why and the limit. Accepted: the item."""
    depot = access.get_for(
        current_user, Depot, depot_id, access.HANDLE, str(_l("Only the depot's team receives."))
    )
    if request.method == "GET":
        return _receive_page(depot)
    if request.form.get("claim_id"):
        return _receive_claim(depot)
    return _receive_goods(depot)


def _receive_claim(depot: Depot):
    claim_id = request.form.get("claim_id", "")
    schema = ClaimReceiptSchema()
    try:
        if not FlaskForm().validate_on_submit():  # CSRF only: the claim forms are plain
            raise Invalid(str(_l("The form has expired; please send it again.")))
        values = load(schema, form_values(schema, request.form))
        got = receipts.receive_claim(db.session, current_user, depot, values["claim_id"], values)
    except DomainError as error:
        db.session.rollback()
        if error.status == 404 or error.status == 403:
            raise
        fields = {k: str(v) for k, v in error.fields.items()}
        return _receive_page(
            depot,
            status=_status(error),
            claim_errors={claim_id: {"message": error.message, **fields}},
            claim_entries={claim_id: request.form},
            problem=error.message if error.status == 409 else None,
        )
    db.session.commit()
    return _received(depot, got)


def _receive_goods(depot: Depot):
    zone_list = zones_of(db.session, depot)
    form = GoodsReceiptForm(zones=zone_list, donors=_donors())
    schema = GoodsReceiptSchema()
    try:
        if not form.validate_on_submit():
            raise Invalid(str(_l("Some fields are invalid.")), dict(form.errors))
        values = load(schema, form_values(schema, request.form))
        got = receipts.receive_goods(db.session, current_user, depot, values)
    except DomainError as error:
        db.session.rollback()
        if error.status in (403, 404):
            raise
        apply_errors(form, error)
        return _receive_page(depot, form=form, status=_status(error), goods_open=True)
    db.session.commit()
    return _received(depot, got, form=form)


def _received(depot: Depot, got: receipts.Received, form: GoodsReceiptForm | None = None):
    receipt = got.receipt
    if receipt.accepted and got.item is not None:
        flash(
            _(
                "Received: %(product)s, %(kg)s kg, in %(zone)s.",
                product=receipt.product,
                kg=format_decimal(receipt.grams / 1000),
                zone=got.item.zone.name,
            ),
            "success",
        )
        return redirect(url_for("depots.item_show", item_id=got.item.id))
    return _receive_page(depot, form=form, refused=got)


# -- one item -----------------------------------------------------------------------------


def _merge_candidates(item: StockItem) -> list[StockItem]:
    others = db.session.scalars(
        select(StockItem)
        .where(
            StockItem.depot_id == item.depot_id,
            StockItem.id != item.id,
            StockItem.grams > 0,
            func.lower(StockItem.product) == item.product.strip().lower(),
        )
        .order_by(StockItem.id)
    ).all()
    return [o for o in others if stock._same_product(item, o)]


def _forms(item: StockItem, candidates: list[StockItem], bound: str | None = None):
    """The item's forms, the one ``bound`` reading what was sent (prefixed names)."""
    forms = {
        name: cls(prefix=name, formdata=None if name != bound else request.form)
        for name, (cls, _schema) in ITEM_FORMS.items()
    }
    forms["merge"].item_ids.choices = [
        (str(o.id), f"#{o.id} — {o.grams / 1000:g} kg — {o.zone.name}") for o in candidates
    ]
    return forms


def _item_page(item: StockItem, bound: str | None = None, status: int = 200, error=None):
    candidates = _merge_candidates(item) if item.grams > 0 else []
    forms = _forms(item, candidates, bound)
    conflict = None
    if error is not None and bound is not None:
        if error.status == 409:
            conflict = error.message
        else:
            apply_errors(forms[bound], error)
    movements = db.session.execute(
        select(StockMovement, User.name)
        .outerjoin(User, User.id == StockMovement.actor_id)
        .where(StockMovement.item_id == item.id)
        .order_by(StockMovement.at.desc(), StockMovement.id.desc())
    ).all()
    parts = (_unprefixed("split").getlist("parts") if bound == "split" else []) + [
        ""
    ] * SPLIT_INPUTS
    return render_form(
        "depots/item.html",
        status,
        item=item,
        view=item_view(db.session, item),
        days=days_left(item),
        forms=forms,
        bound=bound,
        conflict=conflict,
        candidates=candidates,
        movements=movements,
        part_values=parts[:SPLIT_INPUTS],
        may_change=access.can(current_user, access.CHANGE, item),
        MOVEMENTS=MOVEMENTS,
        SOURCES=SOURCES,
        reason_text=reason_text,
        MovementKind=MovementKind,
    )


@bp.get("/stock/<int:item_id>")
@login_required
def item_show(item_id: int):
    """An item: its facts, where it came from, what happened to it, and its forms."""
    return _item_page(access.get_for(current_user, StockItem, item_id))


def _work(item_id: int, name: str, action: str = access.HANDLE):
    item = access.get_for(
        current_user, StockItem, item_id, action, str(_l("Only the depot's team works its stock."))
    )
    form_cls, schema_cls = ITEM_FORMS[name]
    schema = schema_cls()
    try:
        if not form_cls(prefix=name).validate_on_submit():
            raise Invalid(str(_l("The form has expired; please send it again.")))
        values = load(schema, form_values(schema, _unprefixed(name)))
        done = _do(name, item, values)
    except DomainError as error:
        db.session.rollback()
        if error.status in (403, 404):
            raise
        db.session.refresh(item)
        return _item_page(item, bound=name, status=_status(error), error=error)
    db.session.commit()
    return done


def _do(name: str, item: StockItem, values: dict[str, Any]):
    s, me = db.session, current_user
    if name == "split":
        made = stock.split(s, me, item, values["parts"])
        flash(_("Split into %(n)d new items.", n=len(made)), "success")
    elif name == "merge":
        others = [access.get_for(me, StockItem, i, access.HANDLE) for i in values["item_ids"]]
        stock.merge(s, me, item, others)
        flash(_("Merged."), "success")
    elif name == "adjust":
        stock.adjust(s, me, item, values["kg"], values["reason"], values["note"])
        flash(_("Taken off the stock."), "success")
    elif name == "count":
        difference = stock.count(s, me, item, values["kg"], values["note"])
        shown = format_decimal(difference / 1000)
        flash(
            _(
                "Count recorded: difference %(kg)s kg.",
                kg=f"+{shown}" if difference > 0 else shown,
            ),
            "success",
        )
    else:
        lot = stock.offer(s, me, item, values)
        flash(_("Offered to the network as a lot."), "success")
        return redirect(url_for("lots.lot_show", lot_id=lot.id))
    return redirect(url_for("depots.item_show", item_id=item.id))


@bp.post("/stock/<int:item_id>/split")
@login_required
def item_split(item_id: int):
    return _work(item_id, "split")


@bp.post("/stock/<int:item_id>/merge")
@login_required
def item_merge(item_id: int):
    return _work(item_id, "merge")


@bp.post("/stock/<int:item_id>/adjust")
@login_required
def item_adjust(item_id: int):
    return _work(item_id, "adjust")


@bp.post("/stock/<int:item_id>/count")
@login_required
def item_count(item_id: int):
    return _work(item_id, "count")


@bp.post("/stock/<int:item_id>/offer")
@login_required
def item_offer(item_id: int):
    return _work(item_id, "offer", access.CHANGE)


# -- zones (coordinators) -----------------------------------------------------------------


def _zone_forms(depot: Depot, bound: str | None = None) -> dict[str, ZoneForm]:
    rows = db.session.scalars(
        select(DepotZone).where(DepotZone.depot_id == depot.id).order_by(DepotZone.id)
    ).all()
    forms: dict[str, ZoneForm] = {}
    for zone in rows:
        key = f"z{zone.id}"
        if key == bound:
            forms[key] = ZoneForm(prefix=key)
        else:
            forms[key] = ZoneForm(
                prefix=key,
                formdata=None,
                name=zone.name,
                storage=zone.storage.value,
                capacity_kg=f"{zone.capacity_kg:g}",
            )
    forms["new"] = ZoneForm(prefix="new", formdata=None if bound != "new" else request.form)
    return forms


@bp.route("/depots/<int:depot_id>/zones", methods=["GET", "POST"])
@login_required
def zones(depot_id: int):
    """Add a zone, or rename one and change its capacity (its coordinators; 403 for the
    rest of the team, 404 for others)."""
    depot = access.get_for(
        current_user, Depot, depot_id, access.CHANGE, str(zone_service.ONLY_COORDINATORS)
    )
    zone_list = {z["id"]: z for z in zones_of(db.session, depot)}
    if request.method == "GET":
        return render_template(
            "depots/zones.html", depot=depot, forms=_zone_forms(depot), zones=zone_list
        )
    key = request.form.get("zone", "new")
    forms = _zone_forms(depot, bound=key)
    if key not in forms:
        key = "new"
    form = forms[key]
    schema = ZoneInSchema()
    try:
        if not form.validate_on_submit():
            raise Invalid(str(_l("The form has expired; please send it again.")))
        values = load(schema, form_values(schema, _unprefixed(key)))
        if key == "new":
            zone_service.add_zone(db.session, current_user, depot, values)
        else:
            zone = access.get_for(current_user, DepotZone, int(key[1:]), access.CHANGE)
            zone_service.update_zone(db.session, current_user, zone, values)
    except DomainError as error:
        db.session.rollback()
        if error.status in (403, 404):
            raise
        apply_errors(form, error)
        return render_form(
            "depots/zones.html", _status(error), depot=depot, forms=forms, zones=zone_list
        )
    db.session.commit()
    flash(_("Zone saved."), "success")
    return redirect(url_for("depots.zones", depot_id=depot.id))
