"""The numbers of a quarterly bulletin (通报), read from samples, runs, inspections and the ledger."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from checks.codes import PROBLEM_LABELS
from monitor.cities import city_code, city_name, county_name
from monitor.quarter import Quarter
from monitor.workdays import Deadline, DeadlineRule
from registry import monitoring
from registry.db import Database
from registry.fields import Status
from registry.ledger_chain import chain_head
from registry.ledger_status import LedgerStatus
from registry.queries import region_prefix
from registry.schema import (
    accounts,
    ledger_entries,
    sample_members,
    samples,
    units,
)
from registry.scope import prefix_clause

VETO, SERIOUS = "veto", "serious"


@dataclass(slots=True)
class Rate:
    """Inspected accounts of one platform or city: passed, failed, and the pass rate."""

    label: str
    passed: int = 0
    failed: int = 0

    @property
    def inspected(self) -> int:
        return self.passed + self.failed

    @property
    def rate(self) -> float | None:
        return self.passed / self.inspected if self.inspected else None


@dataclass(frozen=True, slots=True)
class NamedEntry:
    entry_id: int
    quarter: str
    account_name: str
    platform: str
    sponsor: str
    problem_code: str
    problem_label: str
    severity: str
    deadline: date
    status: str


@dataclass(slots=True)
class ProblemGroup:
    code: str
    label: str
    severity: str
    entries: list[NamedEntry] = field(default_factory=list)


@dataclass(slots=True)
class Bulletin:
    quarter: Quarter
    issued: date
    report_deadline: Deadline
    population: int
    sample_size: int
    inspected: int
    passed: int
    failed: int
    incomplete: int
    by_platform: list[Rate]
    by_area: list[Rate]  # by city; by county in a city's or a county's bulletin
    problems: list[ProblemGroup]
    carried_over: list[NamedEntry]
    chain_head: str | None
    area: str = ""  # the name of the region a bulletin for part of the registry covers
    by_county: bool = False
    previous_problems: int = 0  # ledger entries of the quarter before, closed or not

    @property
    def area_unit(self) -> str:
        """What ``by_area`` counts: 市(州) or 县(市、区)."""
        return "县(市、区)" if self.by_county else "市(州)"

    @property
    def sample_ratio(self) -> float | None:
        return self.sample_size / self.population if self.population else None

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.inspected if self.inspected else None

    @property
    def pass_rate_text(self) -> str:
        return percent(self.pass_rate)

    @property
    def entries(self) -> list[NamedEntry]:
        return [entry for group in self.problems for entry in group.entries]

    def problem_counts(self) -> list[tuple[str, int]]:
        """(label, accounts) per problem category, largest first: the second chart."""
        counts = [
            (g.label, len({(e.platform, e.account_name) for e in g.entries})) for g in self.problems
        ]
        return sorted(counts, key=lambda item: -item[1])


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


async def gather(
    db: Database,
    quarter: Quarter,
    *,
    issued: date,
    rule: DeadlineRule,
    region: str | None = None,
) -> Bulletin:
    """The quarter's figures for the whole registry, or for the accounts of ``region`` (an
    office's region code: a city's bulletin counts its counties, a province's its cities)."""
    prefix = region_prefix(region) if region else ""
    where = prefix_clause(prefix) if prefix else None
    by_county = len(prefix) >= 4
    async with db.read() as conn:
        population, sample_size = await _sample(conn, str(quarter), where)
        outcomes = list((await monitoring.latest_outcomes(conn, str(quarter), where)).values())
        problems = _group(await _entries(conn, str(quarter), where))
        previous = await _entries(conn, str(quarter.previous()), where)
        carried = [entry for entry in previous if entry.status != LedgerStatus.CLOSED]
        head = await chain_head(conn)
        area = await _area_name(conn, region, prefix) if len(prefix) >= 4 else ""
    by_platform: dict[str, Rate] = {}
    by_area: dict[str, Rate] = {}
    sponsors: dict[str, set[str]] = defaultdict(set)
    counts = {"passed": 0, "failed": 0, "incomplete": 0}
    for outcome, platform, account_region, sponsor in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome not in ("passed", "failed"):
            continue
        key = account_region if by_county else city_code(account_region)
        sponsors[key].add(sponsor)
        for table, group in ((by_platform, platform), (by_area, key)):
            rate = table.setdefault(group, Rate(group))
            if outcome == "passed":
                rate.passed += 1
            else:
                rate.failed += 1
    name_of = county_name if by_county else city_name
    for code, rate in by_area.items():
        rate.label = name_of(code, sponsors[code])
    return Bulletin(
        quarter=quarter,
        issued=issued,
        report_deadline=rule.deadline(issued),
        population=population,
        sample_size=sample_size,
        inspected=counts["passed"] + counts["failed"],
        passed=counts["passed"],
        failed=counts["failed"],
        incomplete=counts["incomplete"],
        by_platform=sorted(by_platform.values(), key=lambda r: (-r.inspected, r.label)),
        by_area=[by_area[c] for c in sorted(by_area)],
        problems=problems,
        carried_over=carried,
        previous_problems=len(previous),
        chain_head=head,
        area=area,
        by_county=by_county,
    )


async def _area_name(conn: AsyncConnection, region: str | None, prefix: str) -> str:
    """A city's or county's name, read from the names of the units sponsoring accounts there."""
    assert region is not None
    result = await conn.execute(
        select(units.c.name)
        .join(accounts, accounts.c.sponsor_id == units.c.id)
        .where(prefix_clause(prefix))
        .distinct()
        .limit(200)
    )
    sponsors = [name for (name,) in result]
    if len(prefix) == 4:
        return city_name(region, sponsors)
    name = county_name(region, sponsors)
    return "" if name == region else name


async def _sample(
    conn: AsyncConnection, quarter: str, where: ColumnElement[bool] | None = None
) -> tuple[int, int]:
    """(population, sample size) of the quarter's current sample; without a sample, the active
    accounts and zero. For part of the registry (``where``): its active accounts now and its
    members of the sample."""
    sample = (
        await conn.execute(
            select(samples.c.id, samples.c.population_size)
            .where(samples.c.quarter == quarter, samples.c.current.is_(True))
            .order_by(samples.c.id.desc())
            .limit(1)
        )
    ).first()
    active = (
        select(func.count()).select_from(accounts).where(accounts.c.status == Status.ACTIVE.value)
    )
    if where is not None:
        active = active.where(where)
    if sample is None:
        return int((await conn.execute(active)).scalar_one()), 0
    size = (
        select(func.count())
        .select_from(sample_members)
        .where(sample_members.c.sample_id == sample.id)
    )
    if where is not None:
        size = size.join(accounts, sample_members.c.account_pk == accounts.c.id).where(where)
    members = int((await conn.execute(size)).scalar_one())
    if where is None:
        return int(sample.population_size), members
    return int((await conn.execute(active)).scalar_one()), members


async def _entries(
    conn: AsyncConnection, quarter: str, where: ColumnElement[bool] | None = None
) -> list[NamedEntry]:
    query = (
        select(
            ledger_entries.c.id,
            ledger_entries.c.quarter,
            ledger_entries.c.account_name,
            accounts.c.platform,
            ledger_entries.c.sponsor,
            ledger_entries.c.problem_code,
            ledger_entries.c.severity,
            ledger_entries.c.deadline,
            ledger_entries.c.status,
        )
        .join(accounts, ledger_entries.c.account_pk == accounts.c.id)
        .where(ledger_entries.c.quarter == quarter)
        .order_by(ledger_entries.c.id)
    )
    if where is not None:
        query = query.where(where)
    result = await conn.execute(query)
    return [
        NamedEntry(
            entry_id=row.id,
            quarter=row.quarter,
            account_name=row.account_name,
            platform=row.platform,
            sponsor=row.sponsor,
            problem_code=row.problem_code,
            problem_label=PROBLEM_LABELS.get(row.problem_code, row.problem_code),
            severity=row.severity,
            deadline=row.deadline,
            status=row.status,
        )
        for row in result
    ]


def _group(entries: Iterable[NamedEntry]) -> list[ProblemGroup]:
    """Problems by category: veto items first, each in the interface's order of codes."""
    groups: dict[str, ProblemGroup] = {}
    for entry in entries:
        group = groups.setdefault(
            entry.problem_code,
            ProblemGroup(entry.problem_code, entry.problem_label, entry.severity),
        )
        group.entries.append(entry)
    order = list(PROBLEM_LABELS)

    def rank(group: ProblemGroup) -> tuple[int, int, str]:
        index = order.index(group.code) if group.code in order else len(order)
        return (0 if group.severity == VETO else 1, index, group.code)

    return sorted(groups.values(), key=rank)


def summary_sentence(bulletin: Bulletin) -> str:
    ratio = percent(bulletin.sample_ratio)
    text = (
        f"本季度检查底数为 {bulletin.population} 个政务新媒体账号,抽查 {bulletin.sample_size} 个,"
        f"抽查比例 {ratio};实际完成检查 {bulletin.inspected} 个,其中合格 {bulletin.passed} 个、"
        f"不合格 {bulletin.failed} 个,总体合格率 {bulletin.pass_rate_text}。"
    )
    if bulletin.incomplete:
        text += f"另有 {bulletin.incomplete} 个账号因平台或网络原因未能完成检查,将另行复查,不计入合格率。"
    return text


def no_problems_sentence(bulletin: Bulletin) -> str:
    """What section 二 says when no problem was found: none, or no inspection yet."""
    if bulletin.inspected + bulletin.incomplete == 0:
        return "本季度尚未开展抽查,暂无检查结果。"
    return "本季度抽查未发现问题。"


def nothing_carried_sentence(bulletin: Bulletin) -> str:
    """What section 三 says when no problem of the quarter before is still open."""
    previous = bulletin.quarter.previous().label
    if bulletin.previous_problems:
        return f"{previous}通报的问题均已整改销号。"
    return f"{previous}未发现需要整改的问题。"


def deadline_sentence(bulletin: Bulletin) -> str:
    deadline = bulletin.report_deadline
    text = (
        f"请各责任单位对照问题清单立即整改,于 {deadline.date.year} 年 {deadline.date.month} 月 "
        f"{deadline.date.day} 日前将整改情况报告报送,逾期未整改的将在下一季度通报中再次点名。"
    )
    if deadline.provisional:
        text += "(该时限所在年份的法定节假日安排尚未配置,按周一至周五推算,请核对。)"
    return text


def as_json(bulletin: Bulletin) -> dict[str, Any]:
    """For tests and scripts: the figures without presentation."""
    return {
        "quarter": str(bulletin.quarter),
        "population": bulletin.population,
        "sample_size": bulletin.sample_size,
        "inspected": bulletin.inspected,
        "passed": bulletin.passed,
        "failed": bulletin.failed,
        "incomplete": bulletin.incomplete,
        "report_deadline": bulletin.report_deadline.date.isoformat(),
    }
