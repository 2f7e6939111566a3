"""Tunable parameters shared by the matcher and the booking planner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .distance import DEFAULT_CIRCUITY


@dataclass(frozen=True)
class Params:
    """Weights and constants of the matcher.

    now            -- the moment of matching (timezone-aware); use-by is compared with it.
    kg_per_person  -- weekly kilograms of food aid a served person counts for; a
                      beneficiary's target is ``persons_per_week × kg_per_person``.
    circuity       -- road-circuity factor applied to great-circle km everywhere.
    service_min    -- minutes a new pickup or drop-off stop takes on a run.

    Allocation (see :mod:`matching.allocation` for the objective they enter):

    km_cost        -- λ, objective units lost per kilogram carried one road km. With the
                      defaults, 50 km cost 0.5, about the value gap between a
                      beneficiary at 40 % and one at 60 % of its need met.
    fairness_alpha -- α of the α-fair utility φ(s) = s^(1-α)/(1-α) of the share ``s`` of
                      need met (α = 1 is log, which the allocation cannot use because
                      φ'(0) is infinite and tiers start at 0: keep 0 < α < 1).
                      0 ignores fairness (every needed kg is worth the same); larger α
                      spreads food more evenly at the cost of longer trips.
    need_tiers     -- breakpoints of the piecewise-linear interpolation of φ on [0, 1]
                      (shares of need); more tiers follow φ more closely.
    urgent_within  -- a lot whose ``use_by`` falls within this delay of ``now`` is urgent.
    urgency_value  -- objective units per kilogram of an urgent lot placed; makes scarce
                      capacity go first to lots close to their date (AFSCA prefers
                      donations at least 3 days before the use-by date).
    candidates_per_lot -- how many nearest eligible beneficiaries each lot is offered
                      to in the allocation graph (a spatial-index query).
    reserve_candidates -- further nearest eligible beneficiaries per lot, not in the
                      flow, that the repair may use to place kilograms it frees.
    extra_candidates -- for lots still not fully placed after the repair, this many
                      more nearest eligible beneficiaries with room left in the lot's
                      storage class are searched and filled.
    kg_step        -- kilogram resolution of the flow solver (integer units of this size).
    detour_cost    -- objective units lost per road km that carrying a pair adds to the
                      runs, when the caller gives those km (``allocate(detour_km=...)``:
                      placement gives what inserting the pickup and the drop-off into a
                      planned run adds). A detour is driven once per delivery, whatever its
                      kilograms; the flow, being linear, spreads it over the most the pair
                      can take (the lot's kilograms, or the beneficiary's need when
                      smaller): the linear relaxation of a fixed cost. With the default, a
                      part that adds 0.02 km per kilogram costs about what the last
                      kilogram of a target is worth (the first is worth about 9), so food
                      goes to the organisations a van passes by unless fairness gains
                      more. Chosen on simulated provinces (bench/README.md, Simulation):
                      with fairness counting what each organisation already received,
                      32 let Namur's year add 0.103 km per kg, 64 0.094, as fair.
    resolve        -- after indivisible lots are placed whole, solve again as a flow the
                      divisible lots this disturbed (the default); ``False`` only
                      repairs them locally: faster, for a lower objective (see
                      bench/README).
    """

    now: datetime
    kg_per_person: float = 2.5
    circuity: float = DEFAULT_CIRCUITY
    service_min: float = 10.0
    km_cost: float = 0.01
    fairness_alpha: float = 0.5
    need_tiers: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    urgent_within: timedelta = timedelta(days=3)
    urgency_value: float = 0.5
    candidates_per_lot: int = 25
    reserve_candidates: int = 0
    extra_candidates: int = 50
    kg_step: float = 0.1
    detour_cost: float = 64.0
    resolve: bool = True
