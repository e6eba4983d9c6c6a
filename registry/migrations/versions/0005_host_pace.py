"""host pace: the next free send time per throttled host, shared by inspection workers

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import registry.schema

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "host_pace",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("next_at", registry.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("host", name=op.f("pk_host_pace")),
    )


def downgrade() -> None:
    op.drop_table("host_pace")
