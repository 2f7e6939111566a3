"""accountability: how a beneficiary distributes, per convention (and 'other'); a
platform may publish its headline figures

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

MODES = ('free_parcels', 'social_restaurant', 'social_grocery')


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _mode_type():
    return sa.Enum(*MODES, 'other', name='distribution_mode', native_enum=False, create_constraint=True, length=24)


def upgrade():
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_organisation_distribution_mode'), type_='check')
        batch_op.create_check_constraint('distribution_mode', _in('distribution_mode', MODES + ('other',)))
        batch_op.add_column(sa.Column('publish_figures', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('convention', schema=None) as batch_op:
        batch_op.add_column(sa.Column('distribution_mode', _mode_type(), nullable=True))
    # A convention distributes as its beneficiary declared; an undeclared one is 'other'
    # (not free distribution: no FSE+ until the beneficiary declares and a coordinator
    # approves).
    op.execute(
        "UPDATE convention SET distribution_mode = COALESCE("
        "(SELECT o.distribution_mode FROM organisation o WHERE o.id = convention.beneficiary_id), 'other')"
    )
    with op.batch_alter_table('convention', schema=None) as batch_op:
        batch_op.alter_column('distribution_mode', existing_type=sa.String(24), nullable=False)


def downgrade():
    with op.batch_alter_table('convention', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_convention_distribution_mode'), type_='check')
        batch_op.drop_column('distribution_mode')
    op.execute("UPDATE organisation SET distribution_mode = NULL WHERE distribution_mode = 'other'")
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('publish_figures')
        batch_op.drop_constraint(op.f('ck_organisation_distribution_mode'), type_='check')
        batch_op.create_check_constraint('distribution_mode', _in('distribution_mode', MODES))
