"""The application's clock: one place every service reads, moved by a simulation."""

from datetime import UTC, datetime, timedelta

import pytest

from surplus import clock
from surplus.models.base import utcnow
from surplus.services.lot_dates import local_today


def test_wall_clock_by_default():
    before = datetime.now(UTC)
    assert before - timedelta(seconds=1) <= clock.now() <= datetime.now(UTC) + timedelta(seconds=1)
    assert not clock.is_simulated()


def test_travel_moves_services_and_column_defaults_then_restores():
    at = datetime(2027, 3, 14, 23, 30, tzinfo=UTC)  # already the 15th in Brussels
    with clock.travel(at):
        assert clock.now() == at
        assert utcnow() == at
        assert clock.today().isoformat() == "2027-03-15"
        assert local_today().isoformat() == "2027-03-15"
        with clock.travel(at + timedelta(days=1)):
            assert clock.now() == at + timedelta(days=1)
        assert clock.now() == at
    assert not clock.is_simulated()


def test_naive_time_refused():
    with pytest.raises(ValueError):
        clock.set_time(datetime(2027, 1, 1))
