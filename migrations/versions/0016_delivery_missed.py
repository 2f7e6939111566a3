"""nobody there at a drop-off: the stop missed, the claim returned to its platform

A driver who finds nobody to receive the food records it; the stop ends ``missed``, the
claim ``returned`` (the food goes back with the van and its platform receives it at a
depot), and the people concerned get a ``delivery_missed`` notification. A claim's food
arrives at a depot once: the stock receipts' claim index becomes unique (the upgrade fails
on a database holding two receipts of one claim, which only a race could have made).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 04:10:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

CLAIM_STATUSES = ("active", "collected", "delivered", "cancelled", "withdrawn", "refused")
STOP_STATUSES = ("planned", "done", "rejected")
NOTIFICATION_KINDS = (
    "new_lot",
    "lot_claimed",
    "booking",
    "convention_decision",
    "lot_withdrawn",
    "expiring_approval",
    "transport_agreement",
    "handover_refused",
    "recall",
    "stock_expiring",
    "receipt_refused",
    "claim_allocated",
    "lot_changed",
)


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _recheck(table, name, column, values):
    """Replace the CHECK of an enum column (VARCHAR + CHECK, models.base.enum_column)."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
        batch_op.create_check_constraint(name, _in(column, values))


def upgrade():
    # A claim's food arrives at a depot once: one receipt per claim.
    with op.batch_alter_table("stock_receipt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_receipt_claim_id"))
        batch_op.create_index(batch_op.f("ix_stock_receipt_claim_id"), ["claim_id"], unique=True)
    _recheck("claim", "claim_status", "status", CLAIM_STATUSES + ("returned",))
    _recheck("stop", "stop_status", "status", STOP_STATUSES + ("missed",))
    _recheck("notification", "notification_kind", "kind", NOTIFICATION_KINDS + ("delivery_missed",))
    _recheck(
        "notification_preference",
        "preference_kind",
        "kind",
        NOTIFICATION_KINDS + ("delivery_missed",),
    )


def downgrade():
    for table in ("notification", "notification_preference"):
        op.execute(f"DELETE FROM {table} WHERE kind = 'delivery_missed'")
    # What the schema before knew of a delivery nobody took: a refused hand-over.
    op.execute("UPDATE claim SET status = 'refused' WHERE status = 'returned'")
    op.execute("UPDATE stop SET status = 'rejected' WHERE status = 'missed'")
    _recheck("notification_preference", "preference_kind", "kind", NOTIFICATION_KINDS)
    _recheck("notification", "notification_kind", "kind", NOTIFICATION_KINDS)
    _recheck("stop", "stop_status", "status", STOP_STATUSES)
    _recheck("claim", "claim_status", "status", CLAIM_STATUSES)
    with op.batch_alter_table("stock_receipt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_receipt_claim_id"))
        batch_op.create_index(batch_op.f("ix_stock_receipt_claim_id"), ["claim_id"], unique=False)
