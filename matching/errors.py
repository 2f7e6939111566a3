"""Exceptions raised by the matcher.

Callers catch :class:`MatchingError` to handle every matcher failure at once; the
subclasses say whether the input or a solver was at fault.
"""

from __future__ import annotations


class MatchingError(Exception):
    """Base class of every error the matcher raises on purpose."""


class InvalidInputError(MatchingError, ValueError):
    """A lot, beneficiary or parameter breaks an invariant (negative kg, naive datetime...)."""


class SolverError(MatchingError, RuntimeError):
    """A solver returned a status the matcher cannot use (a bug or a resource limit)."""
