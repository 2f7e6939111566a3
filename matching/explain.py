"""Why each assignment: distance, need before and after, and the runner-up it beat.

The runner-up of a lot is the candidate that received none of it and that would have
valued its next kilogram most at the end of the allocation (marginal need value minus
the pair's cost: distance, and detour when given). The comparison with the winner gives
one of the keys of :data:`WHY`; when the caller gave the km each pair adds to the runs,
a winner whose delivery adds clearly less than the runner-up's is said to be on the way.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .state import EPS, State
from .utility import marginal_value

# A winner is on the way when its delivery adds at least this many road km less than
# the runner-up's (less reads as noise: the detours are estimates).
ON_THE_WAY_KM = 1.0

#: Why the winner got the lot, as stable keys with English source templates.
WHY: dict[str, str] = {
    "only_candidate": "No other organisation within reach may receive this lot.",
    "shared": "Every organisation within reach received part of this lot.",
    "runner_up_full": "{runner_up} could also receive it but has no room left.",
    "closer_and_needier": "Closer than {runner_up} ({km:.0f} km vs {runner_up_km:.0f} km) "
    "and with at least as much of its need unmet ({unmet:.0%} vs {runner_up_unmet:.0%}).",
    "greater_need": "More of its need unmet than {runner_up} ({unmet:.0%} vs "
    "{runner_up_unmet:.0%}), which outweighs the longer trip ({km:.0f} km vs "
    "{runner_up_km:.0f} km).",
    "on_the_way": "A van already passes near it: delivering it there adds {detour_km:.1f} km "
    "to a run, against {runner_up_detour_km:.1f} km for {runner_up}.",
    "closer": "Closer than {runner_up} ({km:.0f} km vs {runner_up_km:.0f} km), which "
    "outweighs {runner_up}'s greater unmet need ({runner_up_unmet:.0%} vs {unmet:.0%}).",
    "better_overall": "{runner_up} is as close or closer and as needy or needier here, "
    "but the plan as a whole places more food or serves needs better by sending it "
    "other lots.",
}


# Not frozen: a frozen dataclass sets each field through object.__setattr__, about six
# times slower to build; allocate builds one per assignment (17,000 on the benchmark).
@dataclass(slots=True)
class Explanation:
    """The facts behind one assignment; ``reason`` is a key of :data:`WHY`.

    need_kg          -- the beneficiary's need when matching started (target − received).
    need_before_kg   -- need still unmet before this assignment (assignments of the same
                        beneficiary are chained in the order of ``Allocation.assignments``).
    need_after_kg    -- need still unmet after it (never below 0).
    unmet_before     -- ``need_before_kg`` over the target (``need_kg`` + what it had
                        already received: matching.utility), 0 when the need is 0.
    runner_up_*      -- the best candidate that received none of this lot, if any:
                        its id, road km, need left unmet after the allocation, share of
                        its target unmet, and room left in this storage class.
    detour_km        -- when the caller gave them: road km carrying this pair adds to the
                        runs, and ``runner_up_detour_km`` the runner-up's.
    """

    km: float
    need_kg: float
    need_before_kg: float
    need_after_kg: float
    unmet_before: float
    reason: str
    runner_up_id: Hashable | None = None
    runner_up_km: float | None = None
    runner_up_need_kg: float | None = None
    runner_up_unmet: float | None = None
    runner_up_room_kg: float | None = None
    detour_km: float | None = None
    runner_up_detour_km: float | None = None

    @property
    def text(self) -> str:
        """English sentence (the UI translates :data:`WHY` keys with these fields)."""
        fields = asdict(self)
        fields["runner_up"] = str(self.runner_up_id)
        fields["unmet"] = self.unmet_before
        return WHY[self.reason].format(**fields)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"text": self.text}


def explain(state: State, edges: NDArray) -> list[Explanation]:
    """Explanations for the assignments on ``edges`` (pair indices, in output order)."""
    g, p = state.graph, state.problem
    x, km, need = state.x, g.km, p.ben_need
    got, recv = state.got_array(), state.recv_array()
    edges = np.asarray(edges, dtype=int)
    lot, ben, part = g.lot[edges], g.ben[edges], x[edges]
    # Need before and after, chaining the assignments of each beneficiary in output order.
    by_ben = np.argsort(ben, kind="stable")
    running = np.cumsum(part[by_ben])
    starts = np.searchsorted(ben[by_ben], ben[by_ben])  # first row of each beneficiary
    given_after = np.empty(len(edges))
    given_after[by_ben] = running - np.concatenate(([0.0], running))[starts]
    before = np.maximum(0.0, need[ben] - (given_after - part))
    after = np.maximum(0.0, need[ben] - given_after)
    # Shares of the target (need + what was already received: matching.utility).
    target = need + p.ben_met
    unmet = np.divide(before, target[ben], out=np.zeros(len(edges)), where=need[ben] > 0)
    # Runner-up: the best-scoring candidate of the lot that received none of it.
    score = marginal_value(got[g.ben], need[g.ben], p.params, p.ben_met[g.ben]) - g.cost
    score = np.where(x > EPS, -np.inf, score)
    first = np.lexsort((-score, g.lot))[g.ptr[lot]]
    has_runner = np.isfinite(score[first])
    r = g.ben[first]
    r_left = np.maximum(0.0, need[r] - got[r])
    r_unmet = np.divide(r_left, target[r], out=np.zeros(len(edges)), where=need[r] > 0)
    cap = np.nan_to_num(p.ben_cap[r, p.lot_class[lot]], nan=0.0)
    r_room = np.maximum(0.0, cap - recv[r, p.lot_class[lot]])
    closer = km[edges] <= km[first]
    as_needy, needier = unmet >= r_unmet - 1e-9, unmet > r_unmet + 1e-9
    detour = p.pair_detour(lot, ben)
    r_detour = p.pair_detour(lot, r)
    on_the_way = p.detour_given & (detour + ON_THE_WAY_KM <= r_detour)
    shared = np.bincount(lot, minlength=len(p.lots))[lot] > 1
    reason = np.select(
        [
            ~has_runner & shared,
            ~has_runner,
            r_room < np.maximum(p.lot_min_part[lot], EPS),
            closer & as_needy,
            needier,
            on_the_way,
            closer,
        ],
        ["shared", "only_candidate", "runner_up_full", "closer_and_needier", "greater_need",
         "on_the_way", "closer"],
        "better_overall",
    )  # fmt: skip
    ids = [b.id for b in p.beneficiaries]
    given = p.detour_given
    rows = zip(
        km[edges].tolist(), need[ben].tolist(), before.tolist(), after.tolist(),
        unmet.tolist(), reason.tolist(), has_runner.tolist(), r.tolist(),
        km[first].tolist(), r_left.tolist(), r_unmet.tolist(), r_room.tolist(),
        detour.tolist(), r_detour.tolist(),
        strict=True,
    )  # fmt: skip
    return [
        Explanation(d, n, bf, af, u, why, ids[rb], rkm, rl, ru, rr,
                    dt if given else None, rdt if given else None)
        if runner
        else Explanation(d, n, bf, af, u, why, detour_km=dt if given else None)
        for d, n, bf, af, u, why, runner, rb, rkm, rl, ru, rr, dt, rdt in rows
    ]  # fmt: skip
