"""The migrations build the whole schema, and the database guards its invariants."""

import pytest
from flask_migrate import check
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from surplus.extensions import db
from surplus.models import AppendOnlyError, Event
from tests import factories


def test_models_match_migrations(app):
    """`flask db check`: no drift between the models and the migrated schema."""
    check()  # raises when autogenerate would add operations


def test_lot_remaining_cannot_go_negative(app):
    donor = factories.org("producer")
    lot = factories.lot(donor, kg=10)
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE lot SET remaining_g = -1 WHERE id = :id"), {"id": lot.id})
        db.session.flush()
    db.session.rollback()


def test_unknown_enum_value_is_refused(app):
    donor = factories.org("producer")
    lot = factories.lot(donor)
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE lot SET storage = 'tepid' WHERE id = :id"), {"id": lot.id})
    db.session.rollback()


def test_events_are_append_only_in_the_database(app):
    org = factories.org("producer")
    db.session.add(Event(subject_type="organisation", subject_id=org.id, action="x"))
    db.session.commit()
    with pytest.raises(DBAPIError):
        db.session.execute(text("UPDATE event SET action = 'y'"))
    db.session.rollback()
    with pytest.raises(DBAPIError):
        db.session.execute(text("DELETE FROM event"))
    db.session.rollback()


def test_events_are_append_only_in_the_orm(app):
    org = factories.org("producer")
    event = Event(subject_type="organisation", subject_id=org.id, action="x")
    db.session.add(event)
    db.session.commit()
    event.action = "changed"
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
