"""hand-over checks: a meat or fish lot's kind and a stricter temperature; refused
claims; the handover_refused notification

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

PRODUCT_KINDS = ('fresh_meat', 'poultry', 'offal', 'minced_meat', 'meat_preparation', 'fishery')
CLAIM_STATUSES = ('active', 'collected', 'delivered', 'cancelled', 'withdrawn')
NOTIFICATION_KINDS = (
    'new_lot', 'lot_claimed', 'booking', 'convention_decision', 'lot_withdrawn',
    'expiring_approval', 'transport_agreement',
)


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _recheck(table, name, column, values):
    """Replace the CHECK of an enum column (VARCHAR + CHECK, models.base.enum_column)."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f'ck_{table}_{name}'), type_='check')
        batch_op.create_check_constraint(name, _in(column, values))


def upgrade():
    with op.batch_alter_table('lot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('product_kind', sa.Enum(*PRODUCT_KINDS, name='product_kind', native_enum=False, create_constraint=True, length=24), nullable=True))
        batch_op.add_column(sa.Column('max_temperature_c', sa.Double(), nullable=True))
    _recheck('claim', 'claim_status', 'status', CLAIM_STATUSES + ('refused',))
    _recheck('notification', 'notification_kind', 'kind', NOTIFICATION_KINDS + ('handover_refused',))
    _recheck('notification_preference', 'preference_kind', 'kind', NOTIFICATION_KINDS + ('handover_refused',))


def downgrade():
    op.execute("DELETE FROM notification WHERE kind = 'handover_refused'")
    op.execute("DELETE FROM notification_preference WHERE kind = 'handover_refused'")
    op.execute("UPDATE claim SET status = 'cancelled' WHERE status = 'refused'")
    _recheck('notification_preference', 'preference_kind', 'kind', NOTIFICATION_KINDS)
    _recheck('notification', 'notification_kind', 'kind', NOTIFICATION_KINDS)
    _recheck('claim', 'claim_status', 'status', CLAIM_STATUSES)
    with op.batch_alter_table('lot', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_lot_product_kind'), type_='check')
        batch_op.drop_column('max_temperature_c')
        batch_op.drop_column('product_kind')
