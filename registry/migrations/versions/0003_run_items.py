"""run items: a run's accounts as work items claimed by inspection workers

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import registry.schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_items",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", registry.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_pk"], ["accounts.id"], name=op.f("fk_run_items_account_pk_accounts")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_run_items_run_id_runs")),
        sa.PrimaryKeyConstraint("run_id", "account_pk", name=op.f("pk_run_items")),
    )
    with op.batch_alter_table("run_items", schema=None) as batch_op:
        batch_op.create_index("ix_run_items_run_id_state", ["run_id", "state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("run_items", schema=None) as batch_op:
        batch_op.drop_index("ix_run_items_run_id_state")
    op.drop_table("run_items")
