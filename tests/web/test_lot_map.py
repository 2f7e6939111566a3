"""The lot map: the list's lots for the same filters as GeoJSON, its page, who sees it."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from surplus.extensions import db
from surplus.models import Role
from surplus.schemas.base import load
from surplus.schemas.lot import LotFilterSchema
from surplus.services.browse import Filters, browse
from tests import factories
from tests.factories import translated

HX = {"HX-Request": "true"}


@pytest.fixture
def lots(w):
    """Lots of several kinds offered around Libramont (one of them FSE+, from the
    platform: the CPAS may receive it, the association may not)."""
    made = {
        "yoghurt": factories.lot(w.donor, title="Yaourts", storage="chilled"),
        "pasta": factories.lot(
            w.donor,
            title="Pâtes",
            storage="ambient",
            category="dry_goods",
            date_kind="best_before",
            days=90,
        ),
        "soon": factories.lot(w.donor, title="Fromage", storage="chilled", days=1),
        "fse": factories.lot(
            w.platform,
            title="Conserves FSE+",
            storage="ambient",
            category="dry_goods",
            date_kind="best_before",
            days=60,
            fse_plus=True,
        ),
        "namur": factories.lot(w.other_donor, title="Pommes", storage="ambient", days=20),
    }
    db.session.commit()
    return made


def _listed(org, query: dict) -> list[int]:
    """The ids the list service shows ``org`` for the query, all pages, in its order."""
    values = load(LotFilterSchema(), query)
    page = browse(db.session, org, Filters.of(values), per_page=10_000)
    return [card.lot.id for card in page.cards]


def _map_ids(client, query: dict) -> list[int]:
    response = client.get("/lots/map.json", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["type"] == "FeatureCollection" and body["total"] == len(body["features"])
    return [feature["properties"]["id"] for feature in body["features"]]


COMBOS = [
    {},
    {"storage": "chilled"},
    {"fse_only": "1", "category": "dry_goods"},
    {"q": "pâtes", "max_km": "40"},
    {"expiring_days": "3"},
    {"max_km": "1"},
]


def test_the_map_shows_the_lists_lots_for_the_same_filters(w, lots, login_as):
    cpas = login_as(w.cpas_user)
    for query in COMBOS:
        assert _map_ids(cpas, query) == _listed(w.cpas, query), query
    assert set(_map_ids(cpas, {})) >= {lots["yoghurt"].id, lots["pasta"].id, lots["fse"].id}
    assert _map_ids(cpas, {"storage": "chilled"}) and _map_ids(cpas, {"fse_only": "1"}) == [
        lots["fse"].id
    ]
    # … and exactly the cards the list page itself shows for a filter.
    page = cpas.get("/lots", query_string={"storage": "chilled"}, headers=HX)
    cards = [int(i) for i in re.findall(r'id="lot-(\d+)"', page.get_data(as_text=True))]
    assert cards == _map_ids(cpas, {"storage": "chilled"})


def test_another_organisations_lots_are_absent(w, lots, login_as):
    asbl = _map_ids(login_as(w.asbl_user), {})
    assert lots["fse"].id not in asbl  # FSE+: the association holds no FSE+ approval
    assert lots["yoghurt"].id in asbl and asbl == _listed(w.asbl, {})
    # A lot claimed whole by the CPAS leaves the association's map too.
    login_as(w.cpas_user).post(f"/lots/{lots['pasta'].id}/claim", data={"kg": "100"})
    db.session.rollback()
    assert lots["pasta"].id not in _map_ids(login_as(w.asbl_user), {})


def test_an_unverified_organisation_sees_what_its_list_shows(w, lots, login_as):
    newcomer = factories.org("association", name="ASBL Nouvelle", verified=False)
    factories.convention(w.platform, newcomer)
    person = factories.user(newcomer, Role.MEMBER)
    db.session.commit()
    client = login_as(person)
    for query in COMBOS[:3]:
        assert _map_ids(client, query) == _listed(newcomer, query), query


def test_features_carry_formatted_facts_and_the_lot_link(w, lots, login_as):
    body = login_as(w.cpas_user).get("/lots/map.json", headers={"Accept-Language": "fr"})
    feature = next(
        f for f in body.get_json()["features"] if f["properties"]["id"] == lots["yoghurt"].id
    )
    lot = lots["yoghurt"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [lot.pickup_lon, lot.pickup_lat]}
    props = feature["properties"]
    assert props["title"] == "Yaourts" and props["kg_left"] == "100 kg"
    assert props["url"] == f"/lots/{lot.id}" and props["fse_plus"] is False
    assert props["storage"] == translated("fr", "Chilled")
    assert re.fullmatch(r"\d+(,\d)?\u00a0km", props["distance"])
    assert props["best_date"].startswith(translated("fr", "Use by"))


def test_donors_and_platforms_get_what_the_list_gives_them(w, lots, login_as):
    for person in (w.donor_user, w.coordinator):
        client = login_as(person)
        assert client.get("/lots").status_code == 403
        assert client.get("/lots/map").status_code == 403
        answer = client.get("/lots/map.json")
        assert answer.status_code == 403 and answer.get_json()["error"]


BAD = [
    ({"max_km": "abc"}, "max_km"),
    ({"max_km": "0"}, "max_km"),
    ({"expiring_days": "-2"}, "expiring_days"),
    ({"category": "gravel"}, "category"),
    ({"storage": "x" * 300}, "storage"),
    ({"q": "y" * 500}, "q"),
]


def test_bad_filters_answer_400_json(w, login_as):
    client = login_as(w.cpas_user)
    for query, field in BAD:
        response = client.get("/lots/map.json", query_string=query)
        assert response.status_code == 400, query
        body = response.get_json()
        assert body["error"] and field in body["fields"], body
    # A NUL, a lone surrogate (its raw bytes, invalid UTF-8), a page beyond any count:
    # refused or read harmlessly by the page and the JSON alike, never a server error.
    for raw in ("q=Pommes%00bio", "q=Pommes%ED%A0%80bio", f"page={2**63}", "page=abc"):
        for path in ("/lots/map.json", "/lots/map"):
            assert client.get(f"{path}?{raw}").status_code in (200, 400), (path, raw)


def test_a_bad_filter_on_the_page_comes_back_marked(w, login_as):
    response = login_as(w.cpas_user).get(
        "/lots/map?max_km=abc&q=lait", headers={"Accept-Language": "fr"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="abc"' in html and 'value="lait"' in html and 'aria-invalid="true"' in html
    assert translated("fr", "Check the search filters.") in html
    assert "data-lotmap" not in html


def test_the_page_keeps_the_filters_and_lists_the_lots(w, lots, login_as):
    query = "q=yaourts&storage=chilled&max_km=30&fse_only=1&expiring_days=10"
    html = login_as(w.cpas_user).get(f"/lots/map?{query}&page=3").get_data(as_text=True)
    assert 'value="yaourts"' in html and 'value="30"' in html and 'value="10"' in html
    assert re.search(r'<option value="chilled"\s+selected>', html)
    assert re.search(r'name="fse_only" value="1"\s+checked', html)
    expected = {"q": ["yaourts"], "storage": ["chilled"], "max_km": ["30"]} | {
        "fse_only": ["1"],
        "expiring_days": ["10"],
    }
    data_url = re.search(r'data-features="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert urlsplit(data_url).path == "/lots/map.json"
    assert parse_qs(urlsplit(data_url).query) == expected  # the list's page left out
    list_link = re.search(r'href="(/lots\?[^"]+)"', html).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(list_link).query) == expected
    assert 'aria-label="' in re.search(r'<div id="lot-map"[^>]*>', html).group(0)
    # The text alternative lists the same lots.
    plain = login_as(w.cpas_user).get("/lots/map").get_data(as_text=True)
    listed = [int(i) for i in re.findall(r'id="map-lot-(\d+)"', plain)]
    assert listed == _listed(w.cpas, {})[: len(listed)] and lots["yoghurt"].id in listed


def test_the_map_says_when_it_shows_only_the_best_placed(app, w, lots, login_as):
    app.config["LOT_MAP_LIMIT"] = 2
    client = login_as(w.cpas_user)
    body = client.get("/lots/map.json").get_json()
    assert len(body["features"]) == 2 and body["total"] > 2 and body["limit"] == 2
    assert [f["id"] for f in body["features"]] == _listed(w.cpas, {})[:2]
    html = client.get("/lots/map", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert 'id="map-capped"' in html
    assert client.get("/lots/map?storage=chilled").get_data(as_text=True).count("map-capped") == 0


def test_switching_between_list_and_map_keeps_the_filters(w, lots, login_as):
    client = login_as(w.cpas_user)
    listing = client.get("/lots?storage=chilled&q=yaourts").get_data(as_text=True)
    assert 'href="/lots/map?storage=chilled&amp;q=yaourts"' in listing
    # Through htmx the link sends the filters as they are now, and the browser goes there.
    moved = client.get("/lots/map?storage=frozen&q=", headers=HX)
    assert moved.status_code == 204 and moved.headers["HX-Redirect"] == "/lots/map?storage=frozen"
