"""The database schema (SQLAlchemy Core). Migrations under ``registry/migrations`` create it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
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

# --- Monitoring: samples, runs, inspections and the last state of every feed -----------------

samples = Table(
    "samples",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("quarter", String(6), nullable=False, index=True),
    Column("seed", BigInteger, nullable=False),
    Column("algorithm", String(40), nullable=False),
    Column("ratio", Float, nullable=False),
    Column("population_size", Integer, nullable=False),
    Column("population_digest", String(64), nullable=False),
    Column("drawn_at", UTCDateTime, nullable=False),
    Column("drawn_by", String(100), nullable=False),
    Column("strata", JSON, nullable=False),
    Column("replaces", ForeignKey("samples.id"), nullable=True),  # a recorded --redraw
    Column("current", Boolean, nullable=False),
)

sample_members = Table(
    "sample_members",
    metadata,
    Column("sample_id", ForeignKey("samples.id"), primary_key=True),
    Column("account_pk", ForeignKey("accounts.id"), primary_key=True),
    Column("reason", String(10), nullable=False),
    Column("stratum", String(40), nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("quarter", String(6), nullable=False, index=True),
    Column("scope", String(10), nullable=False),  # sample | all
    Column("sample_id", ForeignKey("samples.id"), nullable=True),
    Column("as_of", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("status", String(10), nullable=False),  # running | completed | superseded
    Column("summary", JSON, nullable=True),
)

inspections = Table(
    "inspections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("runs.id"), nullable=False),
    Column("account_pk", ForeignKey("accounts.id"), nullable=False, index=True),
    Column("outcome", String(10), nullable=False),  # passed | failed | incomplete
    Column("incomplete_reason", String(20), nullable=True),
    Column("fetch_status", String(20), nullable=True),
    Column("http_status", Integer, nullable=True),
    Column("problems", JSON, nullable=False),
    Column("last_post_at", UTCDateTime, nullable=True),
    Column("inspected_at", UTCDateTime, nullable=False),
    UniqueConstraint("run_id", "account_pk"),
)

run_items = Table(
    "run_items",
    metadata,
    # A run's accounts as work items for `monitor worker` processes (PostgreSQL): claimed in
    # batches with FOR UPDATE SKIP LOCKED under a lease; done in the transaction that writes
    # the account's inspection. lease_owner is kept once done (who inspected it).
    Column("run_id", ForeignKey("runs.id"), primary_key=True),
    Column("account_pk", ForeignKey("accounts.id"), primary_key=True),
    Column("state", String(10), nullable=False),  # todo | claimed | done
    Column("lease_owner", String(100), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Index("ix_run_items_run_id_state", "run_id", "state"),
)

host_pace = Table(
    "host_pace",
    metadata,
    # A throttled host's next free send time, reserved by `monitor worker` processes so that
    # together they keep its min_interval_s (registry.host_pace; PostgreSQL).
    Column("host", String(255), primary_key=True),
    Column("next_at", UTCDateTime, nullable=False),
)

feed_states = Table(
    "feed_states",
    metadata,
    Column("account_pk", ForeignKey("accounts.id"), primary_key=True),
    Column("url", Text, nullable=False),
    Column("etag", Text, nullable=True),
    Column("last_modified", Text, nullable=True),
    Column("last_status", String(20), nullable=False),
    Column("last_http_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("last_fetched_at", UTCDateTime, nullable=False),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("posts", LargeBinary, nullable=True),  # registry.feed_copy of the last feed, for a 304
)

# --- Rectification ledger: entries and their status changes, one hash chain over both --------

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("quarter", String(6), nullable=False),
    Column("account_pk", ForeignKey("accounts.id"), nullable=False, index=True),
    # The account as detected (0006; entries made before it hold the inventory's values of
    # the day they were upgraded, and their detected ID from the chain): a later change or
    # transfer leaves the entry as it was found.
    Column("account_id", String(200), nullable=True),
    Column("account_name", String(200), nullable=True),
    Column("region_code", String(6), nullable=True),
    Column("problem_code", String(30), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("description", Text, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("last_post_at", UTCDateTime, nullable=True),
    Column("detected_at", UTCDateTime, nullable=False),
    Column("deadline", Date, nullable=False),
    Column("deadline_provisional", Boolean, nullable=False, default=False),
    Column("sponsor", String(200), nullable=False),  # the responsible unit when detected
    Column("run_id", ForeignKey("runs.id"), nullable=True),
    Column("status", String(10), nullable=False, index=True),  # projection of the last event
    UniqueConstraint("quarter", "account_pk", "problem_code"),
)

ledger_events = Table(
    "ledger_events",
    metadata,
    Column("id", Integer, primary_key=True),  # the position in the hash chain
    Column("entry_id", ForeignKey("ledger_entries.id"), nullable=False, index=True),
    Column("kind", String(10), nullable=False),  # created | status
    Column("status", String(10), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("content", JSON, nullable=False),  # what the digest covers, besides the previous one
    Column("prev_digest", String(64), nullable=False),
    Column("digest", String(64), nullable=False, unique=True),
)

# --- Web console and API: users, their sessions and tokens, and the audit log (0004) ----------

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("display_name", String(100), nullable=False, default=""),
    Column("password_hash", Text, nullable=False),
    Column("role", String(10), nullable=False),  # province | city | county | unit | reviewer
    Column("scope", String(200), nullable=False),  # region code, or the unit's name
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False, default=""),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 of the token
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # SHA-256 of the cookie value
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("actor", String(100), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", String(200), nullable=False, default=""),
    Column("detail", JSON, nullable=False),
    Column("remote", String(64), nullable=False, default=""),
)
