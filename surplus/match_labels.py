"""Translated sentences for the matcher's reason keys (``matching.REASONS``, ``matching.WHY``).

``matching`` is pure and speaks English keys; this module gives each key a sentence in
the user's language, filled with the explanation's figures.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

UNALLOCATED = {
    "past_use_by": _l("Past its date."),
    "fse_plus_not_approved": _l(
        "FSE+ stock, and no organisation within reach holds an FSE+ approval through this platform."
    ),
    "no_ambient_storage": _l("No organisation within reach takes ambient goods."),
    "no_chilled_storage": _l("No organisation within reach has chilled storage."),
    "no_freezer_storage": _l("No organisation within reach has freezer storage."),
    "category_not_accepted": _l("No organisation within reach accepts this category."),
    "too_far": _l("Every organisation that could take it is too far."),
    "no_capacity": _l("No organisation within reach has room left in that storage class."),
    "no_eligible_beneficiary": _l("No organisation of the network may receive this lot."),
    "capacity_exhausted": _l("Every organisation that may receive this lot is full."),
    "no_room_for_whole_lot": _l("Indivisible, and no organisation has room for all of it."),
    "below_min_part": _l("What is left is smaller than the donor's minimum part."),
    "empty_lot": _l("Nothing left on this lot."),
    "no_run_in_time": _l("No planned run leaves while it can be picked up and before its date."),
    "no_cold_run": _l(
        "The planned runs before its date have no refrigerated van or freezer for it."
    ),
    "no_run_nearby": _l(
        "No planned run before its date passes near enough its donor and an organisation "
        "that may receive it."
    ),
    "no_run_reaches": _l(
        "No planned run can carry it to an organisation that may receive it before its date."
    ),
}

# The same reasons as a beneficiary's list card and claim answer say them (services/carriage.py).
CARRIAGE = {
    "no_run_in_time": _l("No planned run leaves while it can be picked up and before its date."),
    "no_cold_run": _l(
        "No planned run before its date has the refrigerated van or freezer it needs."
    ),
    "no_run_nearby": _l("No planned run before its date passes near enough the donor and you."),
}
CARRIAGE_DEFAULT = _l("No planned run can bring it to you before its date.")

WHY = {
    "only_candidate": _l("No other organisation within reach may receive this lot."),
    "shared": _l("Every organisation within reach received part of this lot."),
    "runner_up_full": _l("%(runner_up)s could also receive it but has no room left."),
    "closer_and_needier": _l(
        "Closer than %(runner_up)s (%(km)s vs %(runner_up_km)s) "
        "and more of its need unmet (%(unmet)s vs %(runner_up_unmet)s)."
    ),
    "greater_need": _l(
        "More of its need unmet than %(runner_up)s (%(unmet)s vs "
        "%(runner_up_unmet)s), which outweighs the longer trip (%(km)s vs "
        "%(runner_up_km)s)."
    ),
    "on_the_way": _l(
        "A van already passes near it: delivering it there adds %(detour)s to a run, "
        "against %(runner_up_detour)s for %(runner_up)s."
    ),
    "closer": _l(
        "Closer than %(runner_up)s (%(km)s vs %(runner_up_km)s), which outweighs "
        "its greater unmet need (%(runner_up_unmet)s vs %(unmet)s)."
    ),
    "better_overall": _l(
        "%(runner_up)s is closer and needier here, but the plan as a whole "
        "places more food or serves needs better by sending it other lots."
    ),
}

# When a compared figure reads the same for both (after rounding to what is shown), the
# sentence says so instead of "12 km vs 12 km". Keys: (reason, km equal, unmet equal).
WHY_EQUAL = {
    ("closer_and_needier", True, False): _l(
        "As close as %(runner_up)s (%(km)s) and more of its need unmet "
        "(%(unmet)s vs %(runner_up_unmet)s)."
    ),
    ("closer_and_needier", False, True): _l(
        "Closer than %(runner_up)s (%(km)s vs %(runner_up_km)s), with as much of its "
        "need unmet (%(unmet)s)."
    ),
    ("closer_and_needier", True, True): _l(
        "As close as %(runner_up)s (%(km)s) and with as much of its need unmet "
        "(%(unmet)s); either would do."
    ),
    ("greater_need", True, False): _l(
        "More of its need unmet than %(runner_up)s (%(unmet)s vs %(runner_up_unmet)s), "
        "at the same distance (%(km)s)."
    ),
    ("greater_need", False, True): _l(
        "Slightly more of its need unmet than %(runner_up)s (both about %(unmet)s), "
        "which outweighs the longer trip (%(km)s vs %(runner_up_km)s)."
    ),
    ("greater_need", True, True): _l(
        "Slightly more of its need unmet than %(runner_up)s, at about the same "
        "distance (%(km)s, %(unmet)s unmet)."
    ),
    ("closer", True, False): _l(
        "Slightly closer than %(runner_up)s (both about %(km)s), which outweighs its "
        "greater unmet need (%(runner_up_unmet)s vs %(unmet)s)."
    ),
    ("closer", False, True): _l(
        "Closer than %(runner_up)s (%(km)s vs %(runner_up_km)s), with as much of its "
        "need unmet (%(unmet)s)."
    ),
    ("closer", True, True): _l(
        "Slightly closer than %(runner_up)s, with about as much of its need unmet "
        "(%(km)s, %(unmet)s unmet)."
    ),
}


def unallocated(reason: str) -> str:
    return str(UNALLOCATED.get(reason, reason))


def why(explanation: dict[str, Any], names: dict[int, str]) -> str:
    """The sentence for an assignment's explanation (stored as a dict); figures in the
    page's style, and never "the same vs the same"."""
    from .templating import km, percent

    reason = explanation.get("reason", "")
    template = WHY.get(reason)
    if template is None:
        return ""
    runner = explanation.get("runner_up_id")
    values = {
        "runner_up": names.get(runner, f"#{runner}") if runner is not None else "",
        "km": km(explanation.get("km") or 0),
        "runner_up_km": km(explanation.get("runner_up_km") or 0),
        "unmet": percent(explanation.get("unmet_before") or 0),
        "runner_up_unmet": percent(explanation.get("runner_up_unmet") or 0),
        "detour": km(explanation.get("detour_km") or 0),
        "runner_up_detour": km(explanation.get("runner_up_detour_km") or 0),
    }
    same_km = values["km"] == values["runner_up_km"]
    same_unmet = values["unmet"] == values["runner_up_unmet"]
    template = WHY_EQUAL.get((reason, same_km, same_unmet), template)
    return str(template) % values
