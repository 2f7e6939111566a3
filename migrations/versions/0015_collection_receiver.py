"""who took a self-collected claim at the donor's, and the note

A self-collection's hand-over asks who received the food and an optional note, as a
drop-off does; they are kept on the claim (a stop keeps its own), and blanked by the
retention job with the stops' ones.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 08:20:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('collected_by', sa.String(length=200), nullable=False, server_default='')
        )
        batch_op.add_column(
            sa.Column('collection_note', sa.Text(), nullable=False, server_default='')
        )


def downgrade():
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.drop_column('collection_note')
        batch_op.drop_column('collected_by')
