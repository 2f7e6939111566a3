"""convention self-collection radius

A beneficiary may declare, in its convention with a platform, that its own people
collect food at the donor's within this many road kilometres (0: they do not).
Placement then gives it lots no run carries but that it can fetch in time.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 17:30:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('convention', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('self_collect_km', sa.Double(), nullable=False, server_default='0')
        )
        batch_op.create_check_constraint(
            op.f('ck_convention_self_collect_nonneg'), 'self_collect_km >= 0'
        )


def downgrade():
    with op.batch_alter_table('convention', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_convention_self_collect_nonneg'), type_='check')
        batch_op.drop_column('self_collect_km')
