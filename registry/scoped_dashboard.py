"""The web console's dashboard figures, for the accounts in a user's scope (in SQL).

Population by status and platform, this quarter's sample and progress, pass rates by platform
and by city, problems by category and overdue rectifications.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import (
    func,
    select,
)

from checks.codes import PROBLEM_LABELS
from registry import monitoring
from registry.db import Database
from registry.ledger_status import LedgerStatus
from registry.schema import (
    accounts,
    ledger_entries,
    sample_members,
    samples,
)
from registry.scope import Scope


async def dashboard(db: Database, scope: Scope, quarter: str) -> dict[str, Any]:
    """The figures of the dashboard for the accounts in scope."""
    clause = scope.clause()
    async with db.read() as conn:
        by_status: dict[str, int] = dict(
            (
                await conn.execute(
                    select(accounts.c.status, func.count())
                    .where(clause)
                    .group_by(accounts.c.status)
                )
            ).all()
        )
        by_platform_population: dict[str, int] = dict(
            (
                await conn.execute(
                    select(accounts.c.platform, func.count())
                    .where(clause, accounts.c.status == "正常")
                    .group_by(accounts.c.platform)
                )
            ).all()
        )
        sample = (
            await conn.execute(
                select(samples.c.id)
                .where(samples.c.quarter == quarter, samples.c.current.is_(True))
                .order_by(samples.c.id.desc())
                .limit(1)
            )
        ).scalar()
        sample_size = 0
        if sample is not None:
            sample_size = int(
                (
                    await conn.execute(
                        select(func.count())
                        .select_from(
                            sample_members.join(
                                accounts, sample_members.c.account_pk == accounts.c.id
                            )
                        )
                        .where(sample_members.c.sample_id == sample, clause)
                    )
                ).scalar_one()
            )
        outcomes = await monitoring.latest_outcomes(conn, quarter, clause)
        latest: dict[int, tuple[str, str, str]] = {}
        sponsors: dict[str, set[str]] = defaultdict(set)
        for pk, (outcome, platform, region, sponsor) in outcomes.items():
            latest[pk] = (outcome, platform, region)
            if len(sponsors[region[:4] + "00"]) < 20:
                sponsors[region[:4] + "00"].add(sponsor)
        problems = (
            await conn.execute(
                select(ledger_entries.c.problem_code, func.count())
                .join(accounts, ledger_entries.c.account_pk == accounts.c.id)
                .where(ledger_entries.c.quarter == quarter, clause)
                .group_by(ledger_entries.c.problem_code)
            )
        ).all()
        overdue = (
            await conn.execute(
                select(
                    ledger_entries.c.id,
                    ledger_entries.c.quarter,
                    ledger_entries.c.problem_code,
                    ledger_entries.c.deadline,
                    ledger_entries.c.sponsor,
                    ledger_entries.c.account_name,
                    accounts.c.platform,
                )
                .join(accounts, ledger_entries.c.account_pk == accounts.c.id)
                .where(ledger_entries.c.status == LedgerStatus.OVERDUE.value, clause)
                .order_by(ledger_entries.c.deadline, ledger_entries.c.id)
                .limit(20)
            )
        ).all()
        overdue_total = int(
            (
                await conn.execute(
                    select(func.count())
                    .select_from(
                        ledger_entries.join(accounts, ledger_entries.c.account_pk == accounts.c.id)
                    )
                    .where(ledger_entries.c.status == LedgerStatus.OVERDUE.value, clause)
                )
            ).scalar_one()
        )
    rates: dict[str, dict[str, Counter[str]]] = {
        "platform": defaultdict(Counter),
        "city": defaultdict(Counter),
    }
    counts: Counter[str] = Counter()
    for outcome, platform, region in latest.values():
        counts[outcome] += 1
        rates["platform"][platform][outcome] += 1
        rates["city"][region[:4] + "00"][outcome] += 1
    return {
        "quarter": quarter,
        "population": {str(k): int(v) for k, v in by_status.items()},
        "population_total": sum(by_status.values()),
        "active_by_platform": {str(k): int(v) for k, v in by_platform_population.items()},
        "sample_size": sample_size,
        "inspected": counts["passed"] + counts["failed"],
        "passed": counts["passed"],
        "failed": counts["failed"],
        "incomplete": counts["incomplete"],
        "pass_rate_by_platform": _rates(rates["platform"]),
        "pass_rate_by_city": _rates(rates["city"]),
        "city_sponsors": {code: sorted(names) for code, names in sponsors.items()},
        "problems": sorted(
            (
                {"code": code, "label": PROBLEM_LABELS.get(code, code), "count": int(n)}
                for code, n in problems
            ),
            key=lambda p: -p["count"],
        ),
        "overdue_total": overdue_total,
        "overdue": [
            {
                "entry_id": r.id,
                "quarter": r.quarter,
                "problem_label": PROBLEM_LABELS.get(r.problem_code, r.problem_code),
                "deadline": r.deadline,
                "sponsor": r.sponsor,
                "account_name": r.account_name,
                "platform": r.platform,
            }
            for r in overdue
        ],
    }


def _rates(table: dict[str, Counter[str]]) -> list[dict[str, Any]]:
    rows = []
    for key in sorted(table):
        passed, failed = table[key]["passed"], table[key]["failed"]
        inspected = passed + failed
        rows.append(
            {
                "key": key,
                "inspected": inspected,
                "passed": passed,
                "failed": failed,
                "rate": passed / inspected if inspected else None,
            }
        )
    return rows
