"""Recalls through the API: the answer's shape and true figures, who sees a recall
(404), who answers (403), once (409), and bad input (400)."""

import pytest

from surplus.extensions import db
from surplus.models import Recall
from tests.surplus.test_recall import recall_world


@pytest.fixture
def w(app, make_fleet):
    return recall_world(make_fleet)


def _recall(client, headers, lot_id, body):
    return client.post(f"/api/v1/lots/{lot_id}/recall", json=body, headers=headers)


def _ack(client, headers, recall_id, body):
    return client.post(f"/api/v1/recalls/{recall_id}/acknowledgements", json=body, headers=headers)


def test_recall_answers_each_holders_true_kilograms(w, client, api_token):
    donor = api_token(w.donor_user)
    answer = _recall(client, donor, w.lot.id, {"reason": "Listeria monocytogenes"})
    body = answer.get_json()
    assert answer.status_code == 201, body
    assert isinstance(body["recall_id"], int) and body["open"] is True
    holders = {h["organisation_id"]: h for h in body["holders"]}
    assert set(holders) == {w.cpas.id, w.resto.id, w.asbl.id}
    cpas, resto, asbl = holders[w.cpas.id], holders[w.resto.id], holders[w.asbl.id]
    # The association refused its 20 kg at the delivery: it holds none of it.
    assert (asbl["kg_delivered"], asbl["kg_in_transit"], asbl["kg_refused"]) == (0, 0, 20)
    assert asbl["status"] == "refused" and asbl["must_acknowledge"] is False
    assert (cpas["status"], resto["status"]) == ("holds", "cancelled")
    assert (cpas["kg_delivered"], cpas["kg_in_transit"], cpas["kg_cancelled"]) == (30, 0, 0)
    assert (resto["kg_delivered"], resto["kg_in_transit"], resto["kg_cancelled"]) == (0, 0, 10)
    assert cpas["must_acknowledge"] is True and resto["must_acknowledge"] is False
    assert cpas["acknowledgement"] is None
    again = _recall(client, donor, w.lot.id, {"reason": "Encore"})
    assert again.status_code == 409
    shown = client.get(f"/api/v1/recalls/{body['recall_id']}", headers=donor).get_json()
    assert shown["holders"] == body["holders"] and shown["reason"] == "Listeria monocytogenes"


@pytest.mark.parametrize(
    "body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": 12}, {"reason": "x" * 1001}]
)
def test_a_recall_needs_a_reason(w, client, api_token, body):
    answer = _recall(client, api_token(w.donor_user), w.lot.id, body)
    assert answer.status_code == 400 and "reason" in answer.get_json()["fields"]


def test_only_the_donor_recalls(w, client, api_token):
    assert (
        _recall(client, api_token(w.other_donor_user), w.lot.id, {"reason": "x"}).status_code == 404
    )
    assert _recall(client, api_token(w.cpas_user), w.lot.id, {"reason": "x"}).status_code == 403
    assert _recall(client, api_token(w.donor_user), 999_999, {"reason": "x"}).status_code == 404


@pytest.fixture
def recalled(w, client, api_token):
    answer = _recall(client, api_token(w.donor_user), w.lot.id, {"reason": "Listeria"})
    w.recall_id = answer.get_json()["recall_id"]
    return w


def test_who_sees_a_recall(recalled, client, api_token):
    w = recalled
    url = f"/api/v1/recalls/{w.recall_id}"
    for user in (w.donor_user, w.coordinator, w.cpas_user, w.resto_user, w.asbl_user):
        assert client.get(url, headers=api_token(user)).status_code == 200
    for user in (w.other_donor_user, w.other_coordinator):
        assert client.get(url, headers=api_token(user)).status_code == 404
    assert client.get("/api/v1/recalls/999999", headers=api_token(w.donor_user)).status_code == 404


def test_a_holder_acknowledges_once_and_the_recall_closes(recalled, client, api_token):
    w = recalled
    cpas = api_token(w.cpas_user)
    for user in (w.donor_user, w.coordinator, w.resto_user):  # hold none of it
        assert (
            _ack(client, api_token(user), w.recall_id, {"action": "destroyed", "kg": 1}).status_code
            == 403
        )
    outsider = api_token(w.other_donor_user)
    assert _ack(client, outsider, w.recall_id, {"action": "destroyed", "kg": 1}).status_code == 404
    answer = _ack(client, cpas, w.recall_id, {"action": "quarantined", "kg": 30})
    body = answer.get_json()
    assert answer.status_code == 201, body
    [holder] = [h for h in body["holders"] if h["organisation_id"] == w.cpas.id]
    assert holder["acknowledgement"]["action"] == "quarantined"
    assert holder["acknowledgement"]["kg"] == 30 and holder["acknowledgement"]["at"]
    assert body["open"] is False and body["closed_at"]
    again = _ack(client, cpas, w.recall_id, {"action": "destroyed", "kg": 30})
    assert again.status_code == 409
    db.session.rollback()
    assert db.session.get(Recall, w.recall_id).closed_at is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kg": 10}, "action"),
        ({"action": "eaten", "kg": 10}, "action"),
        ({"action": "destroyed"}, "kg"),
        ({"action": "destroyed", "kg": 0}, "kg"),
        ({"action": "destroyed", "kg": -3}, "kg"),
        ({"action": "destroyed", "kg": "NaN"}, "kg"),
        ({"action": "destroyed", "kg": 30.001}, "kg"),
    ],
)
def test_bad_acknowledgements_are_400(recalled, client, api_token, body, field):
    w = recalled
    answer = _ack(client, api_token(w.cpas_user), w.recall_id, body)
    assert answer.status_code == 400, answer.get_json()
    assert field in answer.get_json()["fields"]
