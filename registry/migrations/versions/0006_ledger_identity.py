"""ledger identity: the account ID, name and region code an entry was detected under

Revision ID: 0006
Revises: 0005

Entries made before this revision take their detected account ID from their 'created' chain
record (which has always held it) and the name and region code the inventory holds now.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_COLUMNS = ("account_id", "account_name", "region_code")
_PAGE = 2000


def upgrade() -> None:
    op.add_column("ledger_entries", sa.Column("account_id", sa.String(length=200), nullable=True))
    op.add_column("ledger_entries", sa.Column("account_name", sa.String(length=200), nullable=True))
    op.add_column("ledger_entries", sa.Column("region_code", sa.String(length=6), nullable=True))
    entries = sa.table(
        "ledger_entries",
        sa.column("id", sa.Integer),
        sa.column("account_pk", sa.Integer),
        *(sa.column(name, sa.String) for name in _COLUMNS),
    )
    accounts = sa.table(
        "accounts",
        sa.column("id", sa.Integer),
        sa.column("account_id", sa.String),
        sa.column("name", sa.String),
        sa.column("region_code", sa.String),
    )
    events = sa.table(
        "ledger_events",
        sa.column("id", sa.Integer),
        sa.column("entry_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("content", sa.JSON),
    )

    def of_account(column: str) -> sa.ScalarSelect:
        return (
            sa.select(accounts.c[column])
            .where(accounts.c.id == entries.c.account_pk)
            .scalar_subquery()
        )

    op.execute(
        entries.update().values(
            account_id=of_account("account_id"),
            account_name=of_account("name"),
            region_code=of_account("region_code"),
        )
    )
    bind = op.get_bind()
    after = 0
    while True:  # a page of created records at a time: each holds the entry's evidence
        page = bind.execute(
            sa.select(events.c.id, events.c.entry_id, events.c.content)
            .where(events.c.kind == "created", events.c.id > after)
            .order_by(events.c.id)
            .limit(_PAGE)
        ).all()
        if not page:
            break
        after = page[-1][0]
        detected = [
            {"entry": entry_id, "detected": content["account_id"]}
            for _, entry_id, content in page
            if isinstance(content, dict) and isinstance(content.get("account_id"), str)
        ]
        if detected:
            bind.execute(
                entries.update()
                .where(entries.c.id == sa.bindparam("entry"))
                .values(account_id=sa.bindparam("detected")),
                detected,
            )


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        for name in reversed(_COLUMNS):
            batch_op.drop_column(name)
