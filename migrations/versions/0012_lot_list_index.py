"""lot list index: one index that covers the open-lot filters and the ranking

The lot list filters the open lots (status, kilograms left, dates, donor, storage,
category, FSE+, wave) and ranks them by distance from their pickup coordinates. This
index holds every column those filters and the ranking read, so the database answers
from the index alone without reading the lots' rows (titles, descriptions, allergens).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 09:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

COLUMNS = [
    'status',
    'wave',
    'storage',
    'category',
    'fse_plus',
    'remaining_g',
    'pickup_until',
    'expires_at',
    'donor_id',
    'pickup_lat',
    'pickup_lon',
]


def upgrade():
    with op.batch_alter_table('lot', schema=None) as batch_op:
        batch_op.create_index('ix_lot_open_list', COLUMNS, unique=False)


def downgrade():
    with op.batch_alter_table('lot', schema=None) as batch_op:
        batch_op.drop_index('ix_lot_open_list')
