"""registry: units, accounts, filings, review records

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

import registry.schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("name", name=op.f("uq_units_name")),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("home_url", sa.Text(), nullable=False),
        sa.Column("feed_url", sa.Text(), nullable=False),
        sa.Column("sponsor_id", sa.Integer(), nullable=False),
        sa.Column("sponsor_code", sa.String(length=18), nullable=False),
        sa.Column("supervisor_id", sa.Integer(), nullable=True),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("status_since", sa.Date(), nullable=False),
        sa.Column("last_effective", sa.Date(), nullable=False),
        sa.Column("interaction", sa.Boolean(), nullable=False),
        sa.Column("admin", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(
            ["sponsor_id"], ["units.id"], name=op.f("fk_accounts_sponsor_id_units")
        ),
        sa.ForeignKeyConstraint(
            ["supervisor_id"], ["units.id"], name=op.f("fk_accounts_supervisor_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("platform", "account_id", name=op.f("uq_accounts_platform_account_id")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_accounts_platform_region", ["platform", "region_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_accounts_region_code"), ["region_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_accounts_sponsor_id"), ["sponsor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_accounts_status"), ["status"], unique=False)

    op.create_table(
        "filings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("filed_at", registry.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("filed_by", sa.String(length=100), nullable=False),
        sa.Column("doc_no", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_pk"], ["accounts.id"], name=op.f("fk_filings_account_pk_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filings")),
        sa.UniqueConstraint("account_pk", "seq", name=op.f("uq_filings_account_pk_seq")),
    )
    op.create_table(
        "review_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("first_reviewer", sa.String(length=100), nullable=False),
        sa.Column("first_reviewed_at", registry.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("second_reviewer", sa.String(length=100), nullable=False),
        sa.Column("second_reviewed_at", registry.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("final_reviewer", sa.String(length=100), nullable=False),
        sa.Column("final_reviewed_at", registry.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("imported_at", registry.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_pk"], ["accounts.id"], name=op.f("fk_review_records_account_pk_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_records")),
        sa.UniqueConstraint(
            "account_pk", "url", "title", name=op.f("uq_review_records_account_pk_url_title")
        ),
    )
    with op.batch_alter_table("review_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_records_account_pk"), ["account_pk"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("review_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_records_account_pk"))

    op.drop_table("review_records")
    op.drop_table("filings")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_status"))
        batch_op.drop_index(batch_op.f("ix_accounts_sponsor_id"))
        batch_op.drop_index(batch_op.f("ix_accounts_region_code"))
        batch_op.drop_index("ix_accounts_platform_region")

    op.drop_table("accounts")
    op.drop_table("units")
