"""The answer to a claim says how the food can reach the beneficiary: a planned run, its
own people, or neither (services/carriage.py), on the page, in htmx and in the API."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from surplus import clock
from surplus.extensions import db
from surplus.models import Claim, ClaimStatus, LotStatus, Run, RunStatus
from surplus.services import booking, carriage, claims, self_collection
from tests import factories

HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _clock():
    clock.set_time(datetime.now(UTC))
    yield
    clock.set_time(None)


def _no_run_reaches(app):
    app.config["PLACEMENT_DETOUR_MIN_KM"] = 0.0
    app.config["PLACEMENT_DETOUR_KM_PER_KG"] = 0.0


def _any_detour(app):
    app.config["PLACEMENT_DETOUR_MIN_KM"] = 10_000.0


def _claim_answer(client, lot):
    """The claim box's answer to a social worker claiming 12 kg of ``lot`` (htmx)."""
    return client.post(f"/lots/{lot.id}/claim", data={"kg": "12"}, headers=HX)


def _claim(w, lot, kg=10.0) -> Claim:
    claim, _created = claims.claim_lot(db.session, w.cpas_user, lot.id, kg)
    db.session.commit()
    return claim


def test_a_run_that_passes_by_can_bring_it(app, daily_rounds):
    w = daily_rounds
    _any_detour(app)
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    how = carriage.for_claim(db.session, _claim(w, lot))
    assert how is not None and how.by_run and how.reachable
    assert how.collect_from is None, "the CPAS does not collect itself"


def test_no_run_and_too_far_to_collect_is_neither(app, daily_rounds):
    w = daily_rounds
    _no_run_reaches(app)
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    w.cpas_convention.self_collect_km = self_collection.road_km(w.cpas_convention, lot) - 1
    how = carriage.for_claim(db.session, _claim(w, lot))
    assert how is not None and not how.by_run and how.collect_from is None
    assert not how.reachable


def test_no_run_but_its_people_collect_that_far(app, daily_rounds):
    w = daily_rounds
    _no_run_reaches(app)
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    w.cpas_convention.self_collect_km = self_collection.road_km(w.cpas_convention, lot) + 2
    how = carriage.for_claim(db.session, _claim(w, lot))
    assert how is not None and not how.by_run
    assert how.collect_from is not None and how.collect_from >= clock.now()
    assert how.collect_from == self_collection.fetch_from(w.cpas_convention, lot, clock.now())
    assert how.reachable


def test_without_any_run_nothing_carries_it(app, w):
    """The plain world has no fleet at all."""
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    how = carriage.for_claim(db.session, _claim(w, lot))
    assert how is not None and not how.reachable


def test_the_question_does_not_arise_once_the_claim_is_cancelled(app, daily_rounds):
    w = daily_rounds
    _any_detour(app)
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    claim = _claim(w, lot)
    claims.cancel_claim(db.session, w.cpas_user, claim, "")
    db.session.commit()
    assert carriage.for_claim(db.session, claim) is None


def test_the_claim_box_warns_and_offers_to_cancel(app, daily_rounds, login_as):
    w = daily_rounds
    _no_run_reaches(app)
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60, title="Pommes")
    db.session.commit()
    client = login_as(w.cpas_user)

    answer = _claim_answer(client, lot)

    assert answer.status_code == 201
    html = answer.get_data(as_text=True)
    assert "claim-carriage" in html and "flash-warning" in html
    assert "Aucun trajet prévu avant sa date ne passe assez près du donateur" in html
    db.session.commit()  # a new snapshot: the request's claim is in it
    claim = db.session.scalars(select(Claim).where(Claim.lot_id == lot.id)).one()
    assert f"/claims/{claim.id}/cancel" in html

    # the button in that box cancels it: the kilograms are offered again
    page = client.post(f"/claims/{claim.id}/cancel", data={"reason": "Trop loin"})
    assert page.status_code == 302
    db.session.commit()
    assert db.session.get(Claim, claim.id).status == ClaimStatus.CANCELLED
    assert lot.remaining_kg == pytest.approx(30)


def test_the_claim_box_says_a_run_can_bring_it(app, daily_rounds, login_as):
    w = daily_rounds
    _any_detour(app)
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    db.session.commit()
    client = login_as(w.cpas_user)

    answer = _claim_answer(client, lot)

    html = answer.get_data(as_text=True)
    assert answer.status_code == 201 and "claim-carriage" in html
    assert "Un trajet prévu peut vous l’apporter" in html
    assert "/cancel" not in html


def test_without_htmx_the_claims_page_tells_it(app, daily_rounds, login_as):
    w = daily_rounds
    _no_run_reaches(app)
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    w.cpas_convention.self_collect_km = self_collection.road_km(w.cpas_convention, lot) + 2
    db.session.commit()
    client = login_as(w.cpas_user)

    answer = client.post(f"/lots/{lot.id}/claim", data={"kg": "12"}, follow_redirects=True)

    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "vos équipes peuvent venir le chercher" in html


def test_the_api_answer_carries_it(app, daily_rounds, client, api_token):
    w = daily_rounds
    _no_run_reaches(app)
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    w.cpas_convention.self_collect_km = self_collection.road_km(w.cpas_convention, lot) + 2
    db.session.commit()
    headers = api_token(w.cpas_user)

    answer = client.post(f"/api/v1/lots/{lot.id}/claims", json={"kg": 12}, headers=headers)

    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()["carriage"]
    assert body["by_run"] is False
    assert body["why"] == "no_run_nearby", "no budget: no run passes near enough"
    when = datetime.fromisoformat(body["collect_from"])
    assert when >= clock.now() - timedelta(seconds=1)

    # the same answer again (idempotent) still says it
    key = {"kg": 5, "idempotency_key": "k-1"}
    first = client.post(f"/api/v1/lots/{lot.id}/claims", json=key, headers=headers)
    again = client.post(f"/api/v1/lots/{lot.id}/claims", json=key, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["carriage"] == first.get_json()["carriage"]


def test_each_card_of_the_list_says_how_its_lot_can_reach_them(app, daily_rounds, login_as):
    """The list page asks once for its cards' lines (hx-get on load); the answer puts one
    line per card, out of band, and leaves out what the organisation may not see."""
    w = daily_rounds
    _any_detour(app)
    near = factories.lot(w.donor, kg=30, days=5, hours_open=60, title="Pommes")
    hidden = factories.lot(w.donor, kg=30, days=5, hours_open=60, title="Poires")
    hidden.status = LotStatus.WITHDRAWN
    db.session.commit()
    client = login_as(w.cpas_user)

    page = client.get("/lots").get_data(as_text=True)
    assert f'id="carriage-{near.id}"' in page
    assert f"/lots/carriage?lot={near.id}" in page.replace("&amp;", "&")

    answer = client.get(f"/lots/carriage?lot={near.id}&lot={hidden.id}", headers=HX)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert f'id="carriage-{near.id}"' in html and "carriage-run" in html
    assert "Un trajet prévu peut vous l’apporter." in html
    assert f'id="carriage-{hidden.id}"' not in html, "a lot it may not see says nothing"


def test_a_card_no_run_reaches_says_so(app, daily_rounds, login_as):
    w = daily_rounds
    _no_run_reaches(app)
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    db.session.commit()
    client = login_as(w.cpas_user)

    html = client.get(f"/lots/carriage?lot={lot.id}", headers=HX).get_data(as_text=True)

    assert "carriage-none" in html
    assert (
        "Aucun trajet prévu avant sa date ne passe assez près du donateur et de chez vous." in html
    )


def test_a_card_says_when_no_refrigerated_van_runs(app, daily_rounds, login_as):
    w = daily_rounds
    _any_detour(app)
    w.van.refrigerated = False
    chilled = factories.lot(w.donor, kg=30, days=5, hours_open=60, title="Yaourts")
    dry = factories.lot(
        w.donor, kg=30, days=5, hours_open=60, storage="ambient", category="dry_goods"
    )
    db.session.commit()
    client = login_as(w.cpas_user)

    html = client.get(f"/lots/carriage?lot={chilled.id}&lot={dry.id}", headers=HX).get_data(
        as_text=True
    )

    line = html.split(f'id="carriage-{chilled.id}"')[1].split("</p>")[0]
    assert "carriage-none" in line
    assert "Aucun trajet prévu avant sa date n’a la camionnette frigorifique" in line
    assert "carriage-run" in html.split(f'id="carriage-{dry.id}"')[1].split("</p>")[0]


def test_the_claim_answer_says_what_no_run_had(app, daily_rounds, login_as):
    """No run in time, the donor beyond the collection radius: the answer says both."""
    w = daily_rounds
    _any_detour(app)
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    w.cpas_convention.self_collect_km = 0
    for run in db.session.scalars(select(Run)):
        run.status = RunStatus.CANCELLED
    db.session.commit()
    client = login_as(w.cpas_user)

    answer = _claim_answer(client, lot)

    html = answer.get_data(as_text=True)
    assert answer.status_code == 201 and "claim-carriage" in html
    assert "Aucun trajet prévu ne part pendant qu’on peut l’enlever et avant sa date." in html
    assert "au-delà de votre rayon de collecte" in html


def test_another_organisations_view_of_the_lines_is_its_own(app, daily_rounds, login_as):
    """The association collects itself; the CPAS does not: the same lot, two lines."""
    w = daily_rounds
    _no_run_reaches(app)
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    w.asbl_convention.self_collect_km = self_collection.road_km(w.asbl_convention, lot) + 2
    db.session.commit()

    cpas = login_as(w.cpas_user).get(f"/lots/carriage?lot={lot.id}", headers=HX)
    asbl = login_as(w.asbl_user).get(f"/lots/carriage?lot={lot.id}", headers=HX)

    assert "carriage-none" in cpas.get_data(as_text=True)
    assert "carriage-collect" in asbl.get_data(as_text=True)
    assert "vos équipes peuvent venir le chercher" in asbl.get_data(as_text=True)


@pytest.mark.parametrize("query", ["", "?lot=abc", "?lot=0", "?" + "&".join(["lot=1"] * 101)])
def test_a_bad_query_of_the_lines_is_a_400_with_its_message(app, w, login_as, query):
    client = login_as(w.cpas_user)
    answer = client.get(f"/lots/carriage{query}", headers=HX)
    assert answer.status_code == 400
    assert 'role="alert"' in answer.get_data(as_text=True)


def test_only_beneficiaries_ask_for_the_lines(app, w, login_as):
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    db.session.commit()
    answer = login_as(w.donor_user).get(f"/lots/carriage?lot={lot.id}")
    assert answer.status_code == 403


def test_without_the_scheduler_nothing_is_said(app, daily_rounds, login_as):
    """Coordinators book by hand at the detour they choose: no line, no warning."""
    w = daily_rounds
    _no_run_reaches(app)
    app.config["PLACEMENT_ENABLED"] = False
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    db.session.commit()
    client = login_as(w.cpas_user)

    lines = client.get(f"/lots/carriage?lot={lot.id}", headers=HX).get_data(as_text=True)
    box = _claim_answer(client, lot)

    assert "carriage" not in lines
    assert box.status_code == 201 and "claim-carriage" not in box.get_data(as_text=True)


def test_the_question_does_not_arise_once_the_claim_is_on_a_run(app, daily_rounds):
    w = daily_rounds
    _any_detour(app)
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    claim = _claim(w, lot)
    assert carriage.for_claim(db.session, claim) is not None
    booking.book(db.session, w.coordinator, claim)
    db.session.commit()
    assert carriage.for_claim(db.session, claim) is None, "the booking says it now"
