"""indexes for tables that grow with history: a subject's notifications, and the newest
unattended allocation batch of a platform

Posting a lot read who had been told of it, and giving back a claim deleted its notices,
by scanning the whole notification table (a row per beneficiary user and lot offered:
about 480 a day in a simulated province); continuous placement read its last state by
walking every batch of the platform. Both grew with the months.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 00:40:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_subject", ["subject_type", "subject_id"], unique=False
        )
    with op.batch_alter_table("allocation_batch", schema=None) as batch_op:
        batch_op.create_index(
            "ix_allocation_batch_platform_unattended",
            ["platform_id", "unattended", "id"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("allocation_batch", schema=None) as batch_op:
        batch_op.drop_index("ix_allocation_batch_platform_unattended")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_subject")
