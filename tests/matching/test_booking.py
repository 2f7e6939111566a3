"""Examples of the booking planner: the time model, each constraint, reasons, book."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from matching.booking import (
    REASONS,
    RunPlan,
    Shipment,
    StopPlan,
    apply_insertion,
    book,
    book_sequential,
    explain_no_insertion,
    insert,
    validate_booking,
)
from matching.distance import EARTH_RADIUS_KM
from matching.errors import InvalidInputError
from matching.params import Params

T0 = datetime(2025, 6, 3, 8, 0, tzinfo=UTC)
# Circuity 1 and 60 km/h: one km of road is one minute.
PARAMS = Params(now=T0 - timedelta(hours=2), circuity=1.0, service_min=10.0)
KM_PER_DEGREE = EARTH_RADIUS_KM * 3.141592653589793 / 180


def at(km: float) -> tuple[float, float]:
    """A point ``km`` north of the depot, on its meridian."""
    return 50.0 + km / KM_PER_DEGREE, 4.0


def minutes(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def stop(
    km: float,
    delta: float = 0.0,
    opens: float | None = None,
    closes: float | None = None,
    service: float = 10.0,
) -> StopPlan:
    lat, lon = at(km)
    return StopPlan(lat, lon, delta, opens and minutes(opens), closes and minutes(closes), service)


def run(
    *stops: StopPlan,
    rid: str = "r",
    capacity: float = 1000.0,
    cold: str = "",
    duration: float | None = None,
    load: float | None = None,
) -> RunPlan:
    lat, lon = at(0.0)
    return RunPlan(
        rid,
        capacity,
        "fridge" in cold or "freezer" in cold,
        "freezer" in cold,
        lat,
        lon,
        T0,
        stops,
        60.0,
        duration,
        load,
    )


def ship(
    pick: float,
    drop: float,
    kg: float = 10.0,
    storage: str = "ambient",
    sid: str = "s",
    pw: tuple[float, float] | None = None,
    dw: tuple[float, float] | None = None,
    deadline: float | None = None,
) -> Shipment:
    window = lambda w: w and (minutes(w[0]), minutes(w[1]))  # noqa: E731
    return Shipment(
        sid,
        kg,
        storage,
        *at(pick),
        *at(drop),
        window(pw),
        window(dw),
        deadline is not None and minutes(deadline) or None,
    )


def test_insert_on_a_leg_follows_the_time_model():
    r = run(stop(10.0, -50.0))
    found = insert([r], ship(2.0, 5.0), PARAMS)
    assert found is not None
    assert (found.pickup_index, found.drop_index) == (0, 1)
    assert found.added_km == pytest.approx(0.0, abs=1e-9)  # on the way out
    assert found.pickup_eta == minutes(2.0)
    assert found.drop_eta == minutes(2.0 + 10.0 + 3.0)
    assert validate_booking([r], [ship(2.0, 5.0)], [found], PARAMS) == []


def test_van_waits_for_a_window_and_later_stops_move():
    r = run(stop(10.0, -50.0, closes=60.0))
    found = insert([r], ship(2.0, 5.0, pw=(30.0, 90.0)), PARAMS)
    assert found is not None
    assert found.pickup_eta == minutes(30.0)
    assert found.drop_eta == minutes(43.0)
    # The regular stop, now at 43 + 10 + 5 = 58 min, still meets its window (60); with
    # a window closing at 55 the drop-off goes after it (30 + 10 + 8 = 48 there).
    late = run(stop(10.0, -50.0, closes=55.0))
    found = insert([late], ship(2.0, 5.0, pw=(30.0, 90.0)), PARAMS)
    assert found is not None and (found.pickup_index, found.drop_index) == (0, 2)
    assert found.added_km == pytest.approx(0.0, abs=1e-9)  # 5 km is on the way back
    assert found.drop_eta == minutes(30.0 + 10.0 + 8.0 + 10.0 + 5.0)


def test_capacity_holds_on_every_leg():
    # Leaves with 90 kg for the stop at 10 km; 20 kg fit only once it is delivered.
    r = run(stop(10.0, -90.0), stop(20.0), capacity=100.0)
    found = insert([r], ship(5.0, 15.0, kg=20.0), PARAMS)
    assert found is not None and found.pickup_index >= 1
    assert insert([r], ship(5.0, 15.0, kg=120.0), PARAMS) is None
    keys = {x.key for x in explain_no_insertion([r], ship(5.0, 15.0, kg=120.0), PARAMS)}
    assert keys == {"too_heavy"}


def test_cold_chain():
    ambient, fridge, freezer = (
        run(rid="a"),
        run(rid="c", cold="fridge"),
        run(rid="f", cold="freezer"),
    )
    assert insert([ambient], ship(1.0, 2.0, storage="chilled"), PARAMS) is None
    assert insert([ambient, fridge], ship(1.0, 2.0, storage="chilled"), PARAMS).run_id == "c"
    assert insert([fridge, freezer], ship(1.0, 2.0, storage="frozen"), PARAMS).run_id == "f"
    reasons = explain_no_insertion([ambient, fridge], ship(1.0, 2.0, storage="frozen"), PARAMS)
    assert [(x.key, x.run_id) for x in reasons] == [("storage", "a"), ("storage", "c")]


def test_deadline_and_expiry():
    r = run(stop(10.0, -5.0))
    # Drop-off at 5 km: earliest start 2 + 10 + 3 = 15 min, it ends at 25.
    assert insert([r], ship(2.0, 5.0, deadline=25.0), PARAMS) is not None
    assert insert([r], ship(2.0, 5.0, deadline=24.0), PARAMS) is None
    assert [x.key for x in explain_no_insertion([r], ship(2.0, 5.0, deadline=24.0), PARAMS)] == [
        "drop_deadline"
    ]
    expired = ship(2.0, 5.0, deadline=-200.0)
    assert insert([r], expired, PARAMS) is None
    assert [x.key for x in explain_no_insertion([r], expired, PARAMS)] == ["expired"]


def test_maximum_duration_and_broken_runs():
    r = run(stop(10.0), duration=20.0 + 10.0)  # out and back, 10 min of service
    assert insert([r], ship(2.0, 5.0), PARAMS) is None
    assert [x.key for x in explain_no_insertion([r], ship(2.0, 5.0), PARAMS)] == ["schedule"]
    longer = run(stop(10.0), duration=20.0 + 30.0)
    assert insert([longer], ship(2.0, 5.0), PARAMS) is not None
    broken = run(stop(10.0, closes=5.0))  # reached at 10 min, closes at 5
    assert [x.key for x in explain_no_insertion([broken], ship(2.0, 5.0), PARAMS)] == [
        "run_infeasible"
    ]


def test_least_km_over_all_runs_and_the_first_run_on_ties():
    near, far = run(stop(10.0), rid="near"), run(stop(-10.0), rid="far")
    found = insert([far, near], ship(3.0, 4.0), PARAMS)
    assert found is not None and found.run_id == "near"
    twin = run(stop(10.0), rid="twin")
    assert insert([twin, near], ship(3.0, 4.0), PARAMS).run_id == "twin"


def test_reasons_have_stable_keys_and_sentences():
    reasons = explain_no_insertion([], ship(1.0, 2.0), PARAMS)
    assert [x.key for x in reasons] == ["no_runs"]
    assert reasons[0].message == REASONS["no_runs"]
    empty = ship(1.0, 2.0, pw=(50.0, 40.0))
    assert "empty_window" in {x.key for x in explain_no_insertion([run()], empty, PARAMS)}
    assert explain_no_insertion([run(stop(10.0))], ship(1.0, 2.0), PARAMS) == []


def test_book_returns_final_positions():
    r = run(stop(10.0, -20.0), stop(20.0, -20.0), capacity=100.0)
    ships = [ship(2.0 + i, 12.0 + i, kg=15.0, sid=f"s{i}") for i in range(6)]
    result = book([r], ships, PARAMS)
    assert len(result) == 6  # room enough once the regular deliveries are made
    assert [i.shipment_id for i in result] == [s.id for s in ships]  # input order
    positions = sorted(p for i in result for p in (i.pickup_index, i.drop_index))
    size = len(r.stops) + 2 * len(result)
    assert len(set(positions)) == len(positions) and positions[-1] < size
    assert all(i.pickup_index < i.drop_index for i in result)
    assert validate_booking([r], ships, result, PARAMS) == []


def test_apply_insertion_carries_every_constraint():
    r = run(stop(10.0, -5.0))
    s = ship(2.0, 5.0, deadline=30.0, dw=(0.0, 100.0))
    ins = insert([r], s, PARAMS)
    new = apply_insertion(r, s, ins, PARAMS)
    assert len(new.stops) == 3 and new.initial_load_kg == r.initial_load_kg
    assert new.stops[ins.drop_index].window_end == minutes(20.0)  # deadline - service
    assert validate_booking([r], [s], [ins], PARAMS) == []


def test_book_and_sequential_on_empty_inputs():
    assert book([], [ship(1.0, 2.0)], PARAMS) == []
    assert book([run()], [], PARAMS) == []
    assert book_sequential([run()], [ship(1.0, 2.0)], PARAMS)[0].added_km == pytest.approx(4.0)


@pytest.mark.parametrize(
    "build",
    [
        lambda: StopPlan(50.0, 4.0, 0.0, datetime(2025, 6, 3, 8)),
        lambda: RunPlan("r", 10.0, False, False, 50.0, 4.0, datetime(2025, 6, 3), ()),
        lambda: ship(1.0, 2.0, kg=0.0),
        lambda: ship(1.0, 2.0, storage="warm"),
        lambda: Shipment("s", 1.0, "ambient", 50.0, 4.0, 50.0, 4.0, (T0, None)),
        lambda: RunPlan("r", 10.0, False, False, 50.0, 4.0, T0, (), speed_kmh=0.0),
    ],
)
def test_invalid_inputs_raise(build):
    with pytest.raises(InvalidInputError):
        build()


def test_duplicate_shipment_ids_raise():
    with pytest.raises(InvalidInputError):
        book([run()], [ship(1.0, 2.0), ship(2.0, 3.0)], PARAMS)


def test_many_shipments_on_one_run_grow_its_row():
    r = run(stop(50.0), capacity=1000.0, duration=600.0)
    ships = [ship(1.0 + i, 2.0 + i, kg=5.0, sid=f"s{i}") for i in range(12)]
    result = book([r, run(stop(-30.0), rid="other")], ships, PARAMS)
    assert len(result) == 12
    assert validate_booking([r], ships, result, PARAMS) == []


def test_times_are_real_minutes_across_a_dst_change():
    brussels = ZoneInfo("Europe/Brussels")
    start = datetime(2025, 3, 30, 1, 30, tzinfo=brussels)  # clocks jump 02:00 -> 03:00
    lat, lon = at(0.0)
    r = RunPlan("r", 100.0, False, False, lat, lon, start, (), 60.0, 60.0)  # back at 53
    opens = datetime(2025, 3, 30, 3, 0, tzinfo=brussels)  # 30 real minutes after start
    s = Shipment("s", 5.0, "ambient", *at(1.0), *at(2.0), (opens, opens + timedelta(hours=1)))
    found = insert([r], s, PARAMS)
    assert found is not None and found.pickup_eta == opens  # waits 29 min, not 89
    assert validate_booking([r], [s], [found], PARAMS) == []
