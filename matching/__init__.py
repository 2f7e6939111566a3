"""Pure matching algorithms for Maillon: distances, eligibility, allocation, booking.

Nothing in this package imports Flask, SQLAlchemy or ``surplus``; it works on plain
data classes and returns result objects.

    from matching import Lot, Beneficiary, Params, eligibility, allocate
"""

from .allocation import Allocation, Assignment, Unallocated, allocate, greedy_allocate
from .eligibility import REASONS, Eligibility, eligibility
from .errors import InvalidInputError, MatchingError, SolverError
from .explain import WHY, Explanation
from .metrics import check_feasible, jain_index, need_met_shares, objective_value
from .model import STORAGE_CLASSES, Beneficiary, Lot
from .params import Params

__all__ = [
    "REASONS",
    "STORAGE_CLASSES",
    "WHY",
    "Allocation",
    "Assignment",
    "Beneficiary",
    "Eligibility",
    "Explanation",
    "InvalidInputError",
    "Lot",
    "MatchingError",
    "Params",
    "SolverError",
    "Unallocated",
    "allocate",
    "check_feasible",
    "eligibility",
    "greedy_allocate",
    "jain_index",
    "need_met_shares",
    "objective_value",
]
