"""recalls: a lot's recall, each holder's figures and acknowledgement; the recall
notification

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:15:00.000000

"""
from alembic import op
import sqlalchemy as sa

import surplus.models.base


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

NOTIFICATION_KINDS = (
    'new_lot', 'lot_claimed', 'booking', 'convention_decision', 'lot_withdrawn',
    'expiring_approval', 'transport_agreement', 'handover_refused',
)


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _recheck(table, name, column, values):
    """Replace the CHECK of an enum column (VARCHAR + CHECK, models.base.enum_column)."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f'ck_{table}_{name}'), type_='check')
        batch_op.create_check_constraint(name, _in(column, values))


def upgrade():
    op.create_table('recall',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', surplus.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', surplus.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['lot_id'], ['lot.id'], name=op.f('fk_recall_lot_id_lot')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['user_account.id'], name=op.f('fk_recall_opened_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recall')),
    sa.UniqueConstraint('lot_id', name='uq_recall_lot')
    )
    op.create_table('recall_holder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recall_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('delivered_g', sa.Integer(), nullable=False),
    sa.Column('in_transit_g', sa.Integer(), nullable=False),
    sa.Column('cancelled_g', sa.Integer(), nullable=False),
    sa.Column('refused_g', sa.Integer(), nullable=False),
    sa.Column('ack_action', sa.Enum('quarantined', 'destroyed', 'returned', name='recall_action', native_enum=False, create_constraint=True, length=24), nullable=True),
    sa.Column('ack_g', sa.Integer(), nullable=True),
    sa.Column('ack_by_id', sa.Integer(), nullable=True),
    sa.Column('ack_at', surplus.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('delivered_g >= 0 AND in_transit_g >= 0 AND cancelled_g >= 0 AND refused_g >= 0', name=op.f('ck_recall_holder_grams_nonneg')),
    sa.CheckConstraint('ack_g IS NULL OR (ack_g > 0 AND ack_g <= delivered_g + in_transit_g)', name=op.f('ck_recall_holder_ack_within_held')),
    sa.CheckConstraint('(ack_action IS NULL) = (ack_at IS NULL)', name=op.f('ck_recall_holder_ack_pair')),
    sa.ForeignKeyConstraint(['ack_by_id'], ['user_account.id'], name=op.f('fk_recall_holder_ack_by_id_user_account')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_recall_holder_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['recall_id'], ['recall.id'], name=op.f('fk_recall_holder_recall_id_recall'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recall_holder')),
    sa.UniqueConstraint('recall_id', 'organisation_id', name='uq_recall_holder_org')
    )
    _recheck('notification', 'notification_kind', 'kind', NOTIFICATION_KINDS + ('recall',))
    _recheck('notification_preference', 'preference_kind', 'kind', NOTIFICATION_KINDS + ('recall',))


def downgrade():
    op.execute("DELETE FROM notification WHERE kind = 'recall'")
    op.execute("DELETE FROM notification_preference WHERE kind = 'recall'")
    _recheck('notification_preference', 'preference_kind', 'kind', NOTIFICATION_KINDS)
    _recheck('notification', 'notification_kind', 'kind', NOTIFICATION_KINDS)
    op.drop_table('recall_holder')
    op.drop_table('recall')
