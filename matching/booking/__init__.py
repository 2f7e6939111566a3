"""Booking: put a lot's pickup and drop-off on a delivery run that already exists.

The public API; the time model and the algorithm are described in
:mod:`matching.booking.insertion`.

- :mod:`~matching.booking.model`: the plain data classes (runs, stops, shipments, insertions);
- :mod:`~matching.booking.insertion`: ``insert``, ``book``, ``book_sequential``,
  ``apply_insertion``;
- :mod:`~matching.booking.explain`: why a shipment fits no run;
- :mod:`~matching.booking.check`: the independent validator;
- :mod:`~matching.booking.arrays`, :mod:`~matching.booking.fleet`,
  :mod:`~matching.booking.kernels`, :mod:`~matching.booking.plan`: the planner's internals.

    from matching.booking import RunPlan, Shipment, StopPlan, insert, book
"""

from .check import validate_booking, validate_route
from .explain import REASONS, Reason, explain_no_insertion
from .insertion import apply_insertion, book, book_sequential, insert
from .model import STORAGE, Insertion, RunPlan, Shipment, StopPlan, Window

__all__ = [
    "REASONS",
    "STORAGE",
    "Insertion",
    "Reason",
    "RunPlan",
    "Shipment",
    "StopPlan",
    "Window",
    "apply_insertion",
    "book",
    "book_sequential",
    "explain_no_insertion",
    "insert",
    "validate_booking",
    "validate_route",
]
