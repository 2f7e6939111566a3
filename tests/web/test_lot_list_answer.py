"""The API's lot list is dumped by a function compiled from LotSchema: the same answer."""

from surplus.extensions import db
from surplus.models import LotPhoto
from surplus.schemas.answers import LotPageSchema, LotSchema
from surplus.schemas.lot_list import lot_items
from tests import factories


def _lots(w):
    made = [
        factories.lot(w.donor, title="Yaourts"),
        factories.lot(
            w.donor, title="Palette", divisible=False, storage="frozen", category="frozen"
        ),
        factories.lot(
            w.platform, title="Conserves", storage="ambient", category="dry_goods", fse_plus=True
        ),
        factories.lot(w.donor, title="Eau", storage="ambient", category="drinks"),
    ]
    made[3].date_kind = made[3].best_date = made[3].expires_at = None
    made[0].units, made[0].max_temperature_c = 24, 3.5
    db.session.add(
        LotPhoto(lot=made[0], key="k1", content_type="image/webp", width=800, height=600, bytes=10)
    )
    db.session.commit()
    return made


def test_the_compiled_dump_equals_the_schemas(app, w):
    lots = _lots(w)
    with app.test_request_context():
        assert lot_items(lots) == LotSchema(many=True).dump(lots)  # without distance_km
        for i, lot in enumerate(lots):
            lot.distance_km = 1.5 * i
        assert lot_items(lots) == LotSchema(many=True).dump(lots)


def test_the_list_answers_what_lot_page_schema_would(app, w, client, api_token):
    lots = _lots(w)
    response = client.get("/api/v1/lots", headers=api_token(w.cpas_user))
    assert response.status_code == 200
    body = response.get_json()
    assert {item["id"] for item in body["items"]} == {lot.id for lot in lots}
    by_id = {lot.id: lot for lot in lots}
    with app.test_request_context():
        for item in body["items"]:
            by_id[item["id"]].distance_km = item["distance_km"]
        expected = LotPageSchema().dump(
            {
                "items": [by_id[item["id"]] for item in body["items"]],
                "total": 4,
                "page": 1,
                "pages": 1,
            }
        )
    assert body == expected
