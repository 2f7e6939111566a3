"""Posting lots: one rule set for forms, CSV and API, one message per field."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from surplus.errors import Forbidden, Invalid
from surplus.extensions import db
from surplus.models import Event, Lot
from surplus.schemas.base import load
from surplus.schemas.lot import LotInSchema
from surplus.services import lots as lot_service
from surplus.services.lot_dates import BRUSSELS, local_today
from tests import factories
from tests.factories import translated


def _data(**overrides):
    start = datetime.now(BRUSSELS) + timedelta(hours=1)
    data = {
        "title": "Yaourts",
        "category": "dairy",
        "weight_kg": "120,5",
        "units": "960",
        "date_kind": "use_by",
        "date": (local_today() + timedelta(days=6)).isoformat(),
        "storage": "chilled",
        "allergens": ["milk"],
        "divisible": True,
        "min_part_kg": "10",
        "pickup_from": start.isoformat(),
        "pickup_until": (start + timedelta(hours=8)).isoformat(),
    }
    data.update(overrides)
    return data


def _post(actor, data):
    """Post as the form, the CSV and the API do: through the schema, then the service."""
    return lot_service.create_lot(db.session, actor, load(LotInSchema(), data))


@pytest.fixture
def donor_user(app):
    person = factories.user(factories.org("producer"))
    db.session.commit()
    return person


def _errors(actor, **overrides):
    with pytest.raises(Invalid) as caught:
        _post(actor, _data(**overrides))
    return caught.value.fields


def test_valid_lot_is_posted_with_an_event(donor_user):
    lot, warnings = _post(donor_user, _data())
    db.session.commit()
    assert lot.weight_g == 120_500 and lot.remaining_g == 120_500
    assert lot.pickup_postcode == donor_user.organisation.postcode
    assert warnings == []
    assert (
        db.session.scalar(
            select(Event).where(Event.subject_type == "lot", Event.action == "posted")
        )
        is not None
    )


@pytest.mark.parametrize("weight", ["0", "-3", "40000.5", "abc"])
def test_weight_must_be_positive_and_at_most_40_tonnes(donor_user, weight):
    assert "weight_kg" in _errors(donor_user, weight_kg=weight)


def test_past_use_by_is_refused(donor_user):
    fields = _errors(donor_user, date=(local_today() - timedelta(days=1)).isoformat())
    assert "date" in fields


def test_window_ending_after_use_by_is_refused_with_a_reason(donor_user):
    start = datetime.now(BRUSSELS) + timedelta(hours=1)
    fields = _errors(
        donor_user,
        date=(local_today() + timedelta(days=1)).isoformat(),
        pickup_from=start.isoformat(),
        pickup_until=(start + timedelta(days=4)).isoformat(),
    )
    assert "pickup_until" in fields
    expected = translated(
        "fr",
        "The pickup window ends after the food may be handed out (%(limit)s): nobody "
        "could receive it in time. End the window by then or correct the date.",
        limit="X",
    )
    assert fields["pickup_until"].startswith(expected.split("(")[0])


def test_best_before_grace_lets_dry_goods_past_their_date(donor_user):
    lot, _ = _post(
        donor_user,
        _data(
            category="dry_goods",
            storage="ambient",
            date_kind="best_before",
            date=(local_today() - timedelta(days=5)).isoformat(),
        ),
    )
    assert lot.expires_at > datetime.now(UTC) + timedelta(days=20)


def test_chilled_needs_a_date(donor_user):
    assert "date" in _errors(donor_user, date="", date_kind="")


def test_window_end_after_start(donor_user):
    start = datetime.now(BRUSSELS) + timedelta(hours=5)
    fields = _errors(
        donor_user,
        pickup_from=start.isoformat(),
        pickup_until=(start - timedelta(hours=1)).isoformat(),
    )
    assert "pickup_until" in fields


def test_unknown_postcode(donor_user):
    assert "postcode" in _errors(donor_user, postcode="9999", locality="Nulle part")


def test_unknown_allergen_and_category(donor_user):
    fields = _errors(donor_user, allergens=["milk", "glitter"], category="caviar")
    assert "allergens" in fields and "category" in fields


def test_only_platforms_post_fse_plus(app, donor_user):
    assert "fse_plus" in _errors(donor_user, fse_plus=True)
    coordinator = factories.user(factories.org("platform"))
    lot, _ = _post(coordinator, _data(fse_plus=True))
    assert lot.fse_plus


def test_beneficiaries_do_not_post(app):
    social_worker = factories.user(factories.org("cpas"))
    with pytest.raises(Forbidden):
        _post(social_worker, _data())


def test_short_use_by_warns_the_donor(donor_user):
    start = datetime.now(BRUSSELS) + timedelta(minutes=10)
    _lot, warnings = _post(
        donor_user,
        _data(
            date=(local_today() + timedelta(days=1)).isoformat(),
            pickup_from=start.isoformat(),
            pickup_until=(start + timedelta(hours=3)).isoformat(),
        ),
    )
    assert warnings and "AFSCA" in warnings[0]


def _csv(rows):
    header = ",".join(lot_service.CSV_COLUMNS)
    return "\n".join([header, *rows]) + "\n"


def _row(**overrides):
    data = _data(**overrides)
    data["allergens"] = ";".join(data["allergens"])
    data["divisible"] = "yes" if data["divisible"] else "no"
    return ",".join(f'"{data.get(c, "")}"' for c in lot_service.CSV_COLUMNS)


def test_csv_all_valid_rows_are_posted(donor_user):
    lots = lot_service.create_lots_from_csv(
        db.session, donor_user, _csv([_row(), _row(title="Lait")])
    )
    db.session.commit()
    assert [lot.title for lot in lots] == ["Yaourts", "Lait"]


def test_csv_with_a_bad_row_posts_nothing_and_lists_every_problem(donor_user):
    before = db.session.scalar(select(func.count(Lot.id)))
    with pytest.raises(Invalid) as caught:
        lot_service.create_lots_from_csv(
            db.session,
            donor_user,
            _csv([_row(), _row(weight_kg="0"), _row(), _row(postcode="9999")]),
        )
    db.session.rollback()
    rows = caught.value.extra["rows"]
    assert [r["line"] for r in rows] == [3, 5]
    assert "weight_kg" in rows[0]["errors"] and "postcode" in rows[1]["errors"]
    assert db.session.scalar(select(func.count(Lot.id))) == before


def test_csv_template_parses_with_the_same_columns(donor_user):
    template = lot_service.csv_template()
    assert template.splitlines()[0].split(",") == lot_service.CSV_COLUMNS
