"""Rule 5 under concurrency: parallel claims never take more than the lot weighs.

Forty threads, each with its own application context and database session, claim
at the same instant (a barrier releases them) against a lot that can satisfy only
some of them, on SQLite and on PostgreSQL.
"""

from sqlalchemy import func, select

from surplus.extensions import db
from surplus.models import Claim, ClaimStatus, Lot, Role
from surplus.services import claims
from tests import factories
from tests.races import race

THREADS = 40
KG_EACH = 7
LOT_KG = 100  # 14 claims of 7 kg fit, 26 must lose


def test_parallel_claims_never_over_allocate(app, backend):
    w = factories.world()
    people = [factories.user(w.cpas if i % 2 else w.asbl, Role.MEMBER) for i in range(THREADS)]
    lot = factories.lot(w.donor, kg=LOT_KG, min_part_kg=1)
    db.session.commit()
    lot_id = lot.id

    def claim(session, actor, _i):
        claims.claim_lot(session, actor, lot_id, KG_EACH)

    outcomes = race(app, [p.id for p in people], claim)
    claimed = db.session.scalar(
        select(func.coalesce(func.sum(Claim.grams), 0)).where(
            Claim.lot_id == lot_id, Claim.status == ClaimStatus.ACTIVE
        )
    )
    remaining = db.session.scalar(select(Lot.remaining_g).where(Lot.id == lot_id))
    won = outcomes.count("won")
    print(
        f"\n[{backend}] {THREADS} parallel claims of {KG_EACH} kg on a {LOT_KG} kg lot: "
        f"{won} won, {outcomes.count('lost')} got 409, claimed {claimed / 1000:g} kg, "
        f"remaining {remaining / 1000:g} kg"
    )
    assert won == LOT_KG // KG_EACH
    assert outcomes.count("lost") == THREADS - won, "every loser got a 409"
    assert claimed == won * KG_EACH * 1000 <= LOT_KG * 1000
    assert claimed + remaining == LOT_KG * 1000
