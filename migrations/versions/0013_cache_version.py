"""cache version: a counter of the writes that can change the lot list

Every transaction that writes a table the lot list reads adds one to the row
``lots`` as its last statement; the list reuses what it computed while the counter
has not moved (the row is created by the first such write).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 13:10:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'cache_version',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_cache_version')),
    )


def downgrade():
    op.drop_table('cache_version')
