"""The database schema (SQLAlchemy Core). Migrations under ``registry/migrations`` create it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored as UTC on every engine and read back aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

units = Table(
    "units",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("region_code", String(6), nullable=False),
    Column("credit_code", String(18), nullable=True),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("platform", String(20), nullable=False),
    Column("account_id", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("home_url", Text, nullable=False, default=""),
    Column("feed_url", Text, nullable=False, default=""),
    Column("sponsor_id", ForeignKey("units.id"), nullable=False, index=True),
    Column("sponsor_code", String(18), nullable=False, default=""),
    Column("supervisor_id", ForeignKey("units.id"), nullable=True),
    Column("region_code", String(6), nullable=False, index=True),
    Column("opened_on", Date, nullable=False),
    Column("status", String(10), nullable=False, index=True),
    Column("status_since", Date, nullable=False),
    Column("last_effective", Date, nullable=False),
    Column("interaction", Boolean, nullable=False),
    Column("admin", String(100), nullable=False, default=""),
    Column("phone", String(50), nullable=False, default=""),
    UniqueConstraint("platform", "account_id"),
    Index("ix_accounts_platform_region", "platform", "region_code"),
)

filings = Table(
    "filings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_pk", ForeignKey("accounts.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(10), nullable=False),
    Column("effective_on", Date, nullable=False),
    Column("filed_at", UTCDateTime, nullable=False),
    Column("filed_by", String(100), nullable=False),
    Column("doc_no", String(200), nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("changes", JSON, nullable=False),
    Column("warnings", JSON, nullable=False),
    UniqueConstraint("account_pk", "seq"),
)

review_records = Table(
    "review_records",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_pk", ForeignKey("accounts.id"), nullable=False, index=True),
    Column("title", Text, nullable=False, default=""),
    Column("url", Text, nullable=False, default=""),
    Column("first_reviewer", String(100), nullable=False, default=""),
    Column("first_reviewed_at", UTCDateTime, nullable=True),
    Column("second_reviewer", String(100), nullable=False, default=""),
    Column("second_reviewed_at", UTCDateTime, nullable=True),
    Column("final_reviewer", String(100), nullable=False, default=""),
    Column("final_reviewed_at", UTCDateTime, nullable=True),
    Column("imported_at", UTCDateTime, nullable=False),
    UniqueConstraint("account_pk", "url", "title"),
)
