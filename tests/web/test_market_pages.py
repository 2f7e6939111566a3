"""Marketplace pages: forms that keep what was typed, htmx fragments, claims, query counts."""

from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import event, select

from surplus.extensions import db
from surplus.models import Lot
from surplus.services.lot_dates import BRUSSELS, local_today
from tests import factories
from tests.factories import translated

HX = {"HX-Request": "true"}


def _form(**overrides):
    start = datetime.now(BRUSSELS).replace(second=0, microsecond=0) + timedelta(hours=1)
    data = {
        "title": "Fromage de Herve",
        "category": "dairy",
        "weight_kg": "35",
        "units": "70",
        "date_kind": "use_by",
        "date": (local_today() + timedelta(days=8)).isoformat(),
        "storage": "chilled",
        "allergens": ["milk"],
        "divisible": "y",
        "min_part_kg": "5",
        "pickup_from": start.strftime("%Y-%m-%dT%H:%M"),
        "pickup_until": (start + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M"),
    }
    data.update(overrides)
    return data


def test_post_a_lot_through_the_page(w, login_as):
    client = login_as(w.donor_user)
    response = client.post("/lots/new", data=_form())
    assert response.status_code == 302
    db.session.rollback()
    lot = db.session.scalar(select(Lot).where(Lot.title == "Fromage de Herve"))
    assert lot.weight_g == 35_000 and lot.allergens == ["milk"] and lot.min_part_g == 5000


def test_bad_lot_form_comes_back_with_values_and_messages(w, login_as):
    client = login_as(w.donor_user)
    response = client.post(
        "/lots/new",
        data=_form(weight_kg="0", postcode="9999"),
        headers={**HX, "Accept-Language": "fr"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="Fromage de Herve"' in html and 'value="9999"' in html
    assert translated("fr", "The weight must be more than 0 kg.") in html
    assert translated("fr", "Unknown Belgian postcode.") in html
    assert (
        'value="milk" checked' in html
        or 'checked value="milk"' in html
        or ('id="allergens-6"' in html and "checked" in html)
    )


def test_browse_filters_return_the_fragment(w, login_as):
    chilled = factories.lot(w.donor, title="Yaourts", storage="chilled")
    dry = factories.lot(
        w.donor,
        title="Pâtes",
        storage="ambient",
        category="dry_goods",
        date_kind="best_before",
        days=90,
    )
    db.session.commit()
    client = login_as(w.cpas_user)
    page = client.get("/lots").get_data(as_text=True)
    assert "<html" in page and f'id="lot-{chilled.id}"' in page and f'id="lot-{dry.id}"' in page
    fragment = client.get("/lots?storage=chilled", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment
    assert f'id="lot-{chilled.id}"' in fragment and f'id="lot-{dry.id}"' not in fragment
    text = client.get("/lots?q=p%C3%A2tes", headers=HX).get_data(as_text=True)
    assert f'id="lot-{dry.id}"' in text and f'id="lot-{chilled.id}"' not in text
    near = client.get("/lots?max_km=1", headers=HX).get_data(as_text=True)
    assert f'id="lot-{chilled.id}"' not in near  # the donor is ~8 km away


def test_claim_from_a_card_and_lose_the_race(w, login_as):
    lot = factories.lot(w.donor, kg=30)
    db.session.commit()
    first = login_as(w.cpas_user).post(f"/lots/{lot.id}/claim", data={"kg": "25"}, headers=HX)
    assert first.status_code == 201
    second = login_as(w.asbl_user).post(
        f"/lots/{lot.id}/claim", data={"kg": "10", "remaining_g": "30000"}, headers=HX
    )
    left = translated(
        "fr", "Someone claimed part of this lot meanwhile: %(left)s are left now.", left="5 kg"
    )
    assert second.status_code == 409 and left in second.get_data(as_text=True)


def test_ineligible_lot_page_says_why(w, login_as):
    lot = factories.lot(
        w.platform,
        fse_plus=True,
        storage="ambient",
        category="dry_goods",
        date_kind="best_before",
        days=60,
    )
    db.session.commit()
    response = login_as(w.asbl_user).get(f"/lots/{lot.id}")
    assert response.status_code == 403
    reason = translated("fr", "FSE+ stock: your organisation has no FSE+ approval in force.")
    assert reason in response.get_data(as_text=True)


def test_my_lots_shows_claims_and_withdrawal_reaches_the_claimant(w, login_as):
    lot = factories.lot(w.donor, kg=40)
    db.session.commit()
    cpas = login_as(w.cpas_user)
    cpas.post(f"/lots/{lot.id}/claim", data={"kg": "15"})
    donor = login_as(w.donor_user)
    mine = donor.get("/lots/mine").get_data(as_text=True)
    assert w.cpas.name in mine and "15 kg" in mine
    donor.post(f"/lots/{lot.id}/withdraw", data={"reason": "Rupture de la chaîne du froid"})
    assert "Rupture de la chaîne du froid" in cpas.get("/claims/").get_data(as_text=True)


def test_csv_upload_page_lists_bad_rows(w, login_as):
    from io import BytesIO

    from surplus.services import lots as lot_service

    header = ",".join(lot_service.CSV_COLUMNS)
    row = _form(weight_kg="-2")
    row["allergens"] = "milk"
    line = ",".join(str(row.get(c, "")) for c in lot_service.CSV_COLUMNS)
    response = login_as(w.donor_user).post(
        "/lots/bulk",
        data={"file": (BytesIO(f"{header}\n{line}\n".encode()), "lots.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "<code>weight_kg</code>" in response.get_data(as_text=True)


@contextmanager
def count_queries(app):
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_lot_list_query_count_does_not_grow_with_page_size(app, w, login_as):
    """Neither computed afresh (an empty cache) nor served from what is kept."""
    for i in range(30):
        factories.lot(w.donor if i % 2 else w.other_donor, title=f"Lot {i}")
    db.session.commit()
    client = login_as(w.cpas_user)
    cold, warm = {}, {}
    for per_page in (5, 25):
        app.config["LOTS_PER_PAGE"] = per_page
        app.extensions.pop("maillon_list_cache", None)
        for counts in (cold, warm):
            with count_queries(app) as statements:
                response = client.get("/lots", headers=HX)
            assert response.get_data(as_text=True).count('class="lot-card"') == per_page
            counts[per_page] = len(statements)
    assert cold[5] == cold[25] and warm[5] == warm[25], (cold, warm)
    assert cold[5] <= 9 and warm[5] < cold[5], (cold, warm)
