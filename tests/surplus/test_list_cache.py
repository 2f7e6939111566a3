"""The lot list keeps what it computed only while nothing it reads changes: every write
through the application's sessions shows at once, and so does time (a lot leaving its
pickup window, a date coming near)."""

import re
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import event, update

from surplus.extensions import db
from surplus.models import Lot, Verification
from surplus.models.cache import IGNORED, RUNS
from surplus.services import browse as browse_module
from surplus.services import claims, list_cache
from surplus.services import lots as lot_service
from surplus.services.browse import Filters, browse
from surplus.services.lot_dates import BRUSSELS, local_today
from tests import factories

HX = {"HX-Request": "true"}


def _listed(client, bearer) -> dict[int, dict]:
    answer = client.get("/api/v1/lots", headers=bearer)
    assert answer.status_code == 200, answer.get_json()
    return {item["id"]: item for item in answer.get_json()["items"]}


def test_a_listed_table_moves_the_version_and_an_ignored_one_does_not(app, w):
    before = list_cache.version(db.session)
    factories.lot(w.donor)
    db.session.commit()
    after_lot = list_cache.version(db.session)
    assert after_lot == before + 1
    w.cpas_user.name = "Renamed"  # user_account: the list never reads it
    db.session.commit()
    assert list_cache.version(db.session) == after_lot
    db.session.execute(update(Lot).values(title="Bulk"))  # an ORM bulk statement
    db.session.commit()
    assert list_cache.version(db.session) == after_lot + 1
    db.session.commit()  # nothing written: nothing moves
    assert list_cache.version(db.session) == after_lot + 1


def test_every_write_shows_in_the_api_list_at_once(app, w, client, api_token):
    lot = factories.lot(w.donor, title="Yaourts", kg=100)
    other = factories.lot(w.donor, title="Fromage", kg=40)
    db.session.commit()
    bearer = api_token(w.cpas_user)
    assert _listed(client, bearer)[lot.id]["remaining_kg"] == 100
    assert _listed(client, bearer)[lot.id]["remaining_kg"] == 100  # the kept answer
    claims.claim_lot(db.session, w.asbl_user, lot.id, 30)
    db.session.commit()
    assert _listed(client, bearer)[lot.id]["remaining_kg"] == 70
    db.session.execute(update(Lot).where(Lot.id == other.id).values(title="Comté"))
    db.session.commit()
    assert _listed(client, bearer)[other.id]["title"] == "Comté"
    lot_service.withdraw_lot(db.session, w.donor_user, lot, "Sold", notify=False)
    db.session.commit()
    assert lot.id not in _listed(client, bearer)
    w.donor.verification = Verification.REJECTED  # the donor no longer verified
    db.session.commit()
    assert _listed(client, bearer) == {}


def test_the_cards_show_what_the_organisation_holds_after_its_claim(app, w, login_as):
    lot = factories.lot(w.donor, title="Pommes", kg=50)
    db.session.commit()
    client = login_as(w.cpas_user)
    first = client.get("/lots", headers=HX).get_data(as_text=True)
    assert f'id="held-{lot.id}"' not in first
    claims.claim_lot(db.session, w.cpas_user, lot.id, 20)
    db.session.commit()
    after = client.get("/lots", headers=HX).get_data(as_text=True)
    assert f'id="held-{lot.id}"' in after
    assert "30" in re.search(rf'id="remaining-{lot.id}">(.*?)</span>', after, re.S).group(1)


def test_each_request_gets_its_own_token_and_keys(app, w, login_as):
    factories.lot(w.donor)
    db.session.commit()
    client = login_as(w.cpas_user)
    pages = [client.get("/lots", headers=HX).get_data(as_text=True) for _ in range(2)]
    keys = [re.findall(r'name="idempotency_key" value="([^"]*)"', page) for page in pages]
    assert len(keys[0]) == 1 and keys[0] != keys[1]
    for page in pages:
        assert "maillon:" not in page  # no marker left
        assert re.search(r'name="csrf_token" value="[^"<]+"', page)


def test_a_title_cannot_forge_a_marker(app, w, login_as):
    factories.lot(w.donor, title="<!--maillon:csrf--> <!--maillon:end-->")
    db.session.commit()
    client = login_as(w.cpas_user)
    page = client.get("/lots", headers=HX).get_data(as_text=True)
    assert "&lt;!--maillon:csrf--&gt; &lt;!--maillon:end--&gt;" in page
    assert page.count('class="lot-card"') == 1


def test_time_alone_takes_a_lot_out_and_makes_one_urgent(app, w):
    leaving = factories.lot(w.donor, title="Leaving", hours_open=2)
    staying = factories.lot(w.donor, title="Staying", days=6, hours_open=300)
    # Both moments on one local day, whatever the hour the test runs at (the table is
    # kept for the day): tomorrow at noon, and just after "Leaving"'s window closes.
    now = datetime.combine(local_today() + timedelta(days=1), time(12), BRUSSELS)
    leaving.pickup_until = now + timedelta(hours=1)
    db.session.commit()
    first = browse(db.session, w.cpas, Filters(), now=now)
    assert {c.lot_id for c in first.cards} == {leaving.id, staying.id}
    assert not any(c.urgent for c in first.cards if c.lot_id == staying.id)
    kept = list_cache.cache().get("candidates", first.version, w.cpas.id)
    later = leaving.pickup_until + timedelta(minutes=1)
    page = browse(db.session, w.cpas, Filters(), now=later)
    assert [c.lot_id for c in page.cards] == [staying.id] and page.total == 1
    # The day's table was read again, the lot masked: not made again for one lot.
    assert list_cache.cache().get("candidates", page.version, w.cpas.id) is kept
    assert kept is not None and len(kept.ids) == 2
    near = staying.expires_at - timedelta(days=1)
    assert [c.urgent for c in browse(db.session, w.cpas, Filters(), now=near).cards] == [True]
    # Past its date (its pickup window still open): out of the list too.
    assert staying.pickup_until > staying.expires_at
    gone = browse(db.session, w.cpas, Filters(), now=staying.expires_at + timedelta(minutes=1))
    assert gone.cards == [] and gone.total == 0


def test_the_list_queries_read_no_ignored_table(app, w, client, api_token, login_as, monkeypatch):
    """What the cache keeps is computed by queries that read only tables whose writes
    move the version."""
    factories.lot(w.donor, title="Yaourts")
    db.session.commit()
    read: list[str] = []
    capturing = {"on": False}

    def record(_conn, _cursor, statement, *_args):
        if capturing["on"]:
            read.extend(re.findall(r'(?:FROM|JOIN)\s+"?(\w+)"?', statement))

    def capture(function):
        def wrapped(*args, **kwargs):
            capturing["on"] = True
            try:
                return function(*args, **kwargs)
            finally:
                capturing["on"] = False

        return wrapped

    monkeypatch.setattr(browse_module, "candidates", capture(browse_module.candidates))
    many = list_cache.ListCache.many
    monkeypatch.setattr(
        list_cache.ListCache,
        "many",
        lambda self, part, at, keys, make: many(self, part, at, keys, capture(make)),
    )
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get("/api/v1/lots", headers=api_token(w.cpas_user)).status_code == 200
        assert login_as(w.asbl_user).get("/lots", headers=HX).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert {"lot", "convention", "organisation"} <= set(read)
    assert not set(read) & IGNORED


def test_a_value_is_filed_only_under_the_newest_version():
    kept = list_cache.ListCache(orgs=2, lots=2)
    kept.put("items", 5, (1,), "five")
    assert kept.get("items", 5, (1,)) == "five"
    kept.put("items", 4, (2,), "stale")  # read before a write that has since committed
    assert kept.get("items", 4, (2,)) is None and kept.get("items", 5, (2,)) is None
    kept.put("items", 6, (3,), "six")  # a newer version drops the older one's values
    assert kept.get("items", 5, (1,)) is None and kept.get("items", 6, (3,)) == "six"
    kept.put("items", 6, (4,), "four")
    kept.put("items", 6, (5,), "five")  # two values at most: the least recent goes
    assert kept.get("items", 6, (3,)) is None


@pytest.mark.parametrize("version", [0, 7])
def test_many_makes_only_what_is_missing(version):
    kept = list_cache.ListCache()
    kept.put("cards", version, (1, "fr"), "one")
    asked: list = []

    def make(missing):
        asked.extend(missing)
        return {key: f"made {key[0]}" for key in missing}

    got = kept.many("cards", version, [(1, "fr"), (2, "fr"), (2, "fr")], make)
    assert got == ["one", "made 2", "made 2"] and asked == [(2, "fr")]


def test_a_transaction_sees_its_own_writes_and_keeps_nothing_of_them(app, w):
    kept = factories.lot(w.donor, title="Committed")
    db.session.commit()
    assert [c.lot_id for c in browse(db.session, w.cpas, Filters()).cards] == [kept.id]
    fresh = factories.lot(w.donor, title="Not yet committed")  # flushed, not committed
    assert {c.lot_id for c in browse(db.session, w.cpas, Filters()).cards} == {kept.id, fresh.id}
    db.session.rollback()
    assert [c.lot_id for c in browse(db.session, w.cpas, Filters()).cards] == [kept.id]


def test_a_savepoint_moves_nothing_until_the_transaction_commits(app, w):
    before = list_cache.version(db.session)
    with db.session.begin_nested():
        factories.lot(w.donor)
    assert list_cache.version(db.session) is None  # its own writes, not committed yet
    db.session.commit()
    assert list_cache.version(db.session) == before + 1


def test_runs_have_their_own_counter(daily_rounds, add_run):
    """A run or a stop moves counter ``runs`` and not the list's; a lot the list's only."""
    w = daily_rounds
    db.session.commit()
    lots_before = list_cache.version(db.session)
    runs_before = list_cache.version(db.session, RUNS)
    run = add_run(w.platform, w.depot, w.van, local_today())
    db.session.commit()
    assert list_cache.version(db.session, RUNS) == runs_before + 1
    assert list_cache.version(db.session) == lots_before
    factories.lot(w.donor)
    db.session.commit()
    assert list_cache.version(db.session, RUNS) == runs_before + 1
    assert list_cache.version(db.session) == lots_before + 1
    run.max_duration_min = 300  # a transaction's own write: nothing may be kept of it
    db.session.flush()
    assert list_cache.version(db.session, RUNS) is None
    assert list_cache.version(db.session) == lots_before + 1
    db.session.commit()
    assert list_cache.version(db.session, RUNS) == runs_before + 2
