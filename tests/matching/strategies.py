"""Hypothesis strategies for the matcher's property tests: small, varied instances.

Points lie within about 40 km of Namur so that every rule (including ``too_far``) is
exercised; kilograms have two decimals, like the application's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from matching import STORAGE_CLASSES, Beneficiary, Lot, Params

NOW = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
CATEGORIES = ("bakery", "dairy", "fruit_veg")

kilograms = st.integers(0, 60_000).map(lambda cents: cents / 100)
latitudes = st.floats(50.2, 50.7)
longitudes = st.floats(4.5, 5.2)


@st.composite
def lots(draw: st.DrawFn, ident: int) -> Lot:
    divisible = draw(st.booleans())
    return Lot(
        id=f"l{ident}",
        kg=draw(st.one_of(kilograms, st.sampled_from([0.0, 1.0, 10.0, 100.0]))),
        lat=draw(latitudes),
        lon=draw(longitudes),
        storage=draw(st.sampled_from(STORAGE_CLASSES)),
        category=draw(st.sampled_from(CATEGORIES)),
        fse_plus=draw(st.booleans()),
        use_by=draw(st.none() | st.integers(-48, 240).map(lambda h: NOW + timedelta(hours=h))),
        divisible=divisible,
        min_part_kg=draw(st.sampled_from([0.0, 0.0, 5.0, 20.0, 150.0])) if divisible else 0.0,
    )


@st.composite
def beneficiaries(draw: st.DrawFn, ident: int) -> Beneficiary:
    classes = draw(st.sets(st.sampled_from(STORAGE_CLASSES)))
    return Beneficiary(
        id=f"b{ident}",
        lat=draw(latitudes),
        lon=draw(longitudes),
        persons_per_week=draw(st.integers(0, 300)),
        received_kg=draw(st.integers(0, 800)),
        capacity_kg={c: draw(kilograms) for c in sorted(classes)},
        categories=draw(st.none() | st.frozensets(st.sampled_from(CATEGORIES))),
        fse_plus=draw(st.booleans()),
        max_km=draw(st.sampled_from([5.0, 15.0, 30.0, 60.0])),
    )


params = st.builds(
    Params,
    now=st.just(NOW),
    km_cost=st.sampled_from([0.0, 0.01, 0.2]),
    fairness_alpha=st.sampled_from([0.0, 0.5, 0.9]),
    candidates_per_lot=st.sampled_from([1, 3, 25]),
    reserve_candidates=st.sampled_from([0, 4, 75]),
    extra_candidates=st.sampled_from([0, 2, 200]),
    resolve=st.booleans(),
)


@st.composite
def instances(
    draw: st.DrawFn, max_lots: int = 12, max_bens: int = 8
) -> tuple[list[Lot], list[Beneficiary], Params]:
    """(lots, beneficiaries, params) with unique ids."""
    n_lots = draw(st.integers(0, max_lots))
    n_bens = draw(st.integers(0, max_bens))
    return (
        [draw(lots(i)) for i in range(n_lots)],
        [draw(beneficiaries(i)) for i in range(n_bens)],
        draw(params),
    )


def realistic_instance(n_lots: int, n_bens: int, seed: int = 0):
    """A seeded instance like the benchmark's, on a 60 × 60 km square around Namur."""
    import numpy as np

    rng = np.random.default_rng(seed)
    bens = [
        Beneficiary(
            f"b{i}",
            50.2 + 0.55 * rng.random(),
            4.5 + 0.85 * rng.random(),
            persons_per_week=float(rng.integers(10, 200)),
            received_kg=float(rng.integers(0, 100)),
            capacity_kg={"ambient": 400.0, "chilled": 100.0},
            fse_plus=bool(rng.random() < 0.2),
            max_km=float(rng.choice([20.0, 40.0])),
        )
        for i in range(n_bens)
    ]
    lots = [
        Lot(
            f"l{i}",
            float(round(rng.lognormal(3.5, 1.0), 1)) + 0.1,
            50.2 + 0.55 * rng.random(),
            4.5 + 0.85 * rng.random(),
            storage=str(rng.choice(["ambient", "chilled"])),
            category=str(rng.choice(CATEGORIES)),
            fse_plus=bool(rng.random() < 0.05),
            divisible=bool(rng.random() > 0.15),
            min_part_kg=float(rng.choice([0.0, 5.0])),
        )
        for i in range(n_lots)
    ]
    return lots, bens, Params(now=NOW)
