"""Ledger commands: list, export, update and verify the rectification ledger; the bulletin."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import click

from govmedia.cli.common import (
    Env,
    common,
    echo_table,
    emit_json,
    output_folder,
    region_option,
    require_existing,
    run,
    settings_checked,
    whoami,
)
from monitor.ledger_export import FORMATS, export_ledger
from monitor.quarter import Quarter
from monitor.workdays import DeadlineRule
from registry import ledger
from registry.fields import FieldError, parse_date
from registry.ledger_query import list_entries
from registry.ledger_status import LedgerStatus, parse_status
from registry.times import SHANGHAI

LIST_COLUMNS = (
    "entry_id",
    "quarter",
    "platform",
    "account_name",
    "sponsor",
    "problem_label",
    "deadline",
    "status",
)
STATUS_NAMES = [s.value for s in LedgerStatus]


def _now() -> datetime:
    return datetime.now(SHANGHAI)


def _quarter(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(Quarter.parse(value))
    except ValueError as exc:
        raise click.BadParameter(
            f"检查批次应为 2026Q4 这样的形式: {value}", param_hint="--quarter"
        ) from exc


def _status(value: str | None) -> str | None:
    if value is None:
        return None
    status = parse_status(value)
    if status is None:
        raise click.BadParameter(
            f"应为 {'、'.join(STATUS_NAMES)} 之一: {value}", param_hint="--status"
        )
    return status.value


@click.group("ledger")
def ledger_group() -> None:
    """整改台账."""


@ledger_group.command("list")
@click.option("--quarter", help="检查批次, 如 2026Q4")
@click.option("--status", help="整改状态: " + "、".join(STATUS_NAMES))
@click.option("--json", "as_json", is_flag=True)
@common
def ledger_list(env: Env, quarter: str | None, status: str | None, as_json: bool) -> None:
    """Rectification entries, with their history."""
    wanted_quarter, wanted_status = _quarter(quarter), _status(status)
    rows = run(env, lambda db: list_entries(db, quarter=wanted_quarter, status=wanted_status))
    if as_json:
        emit_json(rows)
        return
    table = ([row[c] for c in LIST_COLUMNS] for row in rows)
    echo_table(LIST_COLUMNS, table, f"共 {len(rows)} 条")


@ledger_group.command("export")
@click.option("--quarter", required=True, help="检查批次, 如 2026Q4")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None)
@common
def ledger_export(env: Env, quarter: str, output: Path, fmt: str | None) -> None:
    """The quarter's ledger for accountability review (XLSX, CSV or JSON)."""
    wanted = _quarter(quarter)
    assert wanted is not None
    fmt = fmt or output.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise click.UsageError(f"无法从文件名判断导出格式: {output}(请用 --format)")
    output_folder(output)
    result = run(env, lambda db: export_ledger(db, output, fmt, quarter=wanted, now=_now()))
    click.echo(f"已导出 {result.count} 条台账到 {output};记录链头摘要 {result.chain_head or '-'}")


@ledger_group.command("update")
@click.argument("entry", type=int)
@click.option("--status", required=True, help="新状态: " + "、".join(STATUS_NAMES))
@click.option("--note", default="", help="说明 (整改情况)")
@click.option("--by", "actor", default=None, help="操作人 (默认当前用户)")
@common
def ledger_update(env: Env, entry: int, status: str, note: str, actor: str | None) -> None:
    """Record rectification progress on one entry."""
    done = run(
        env,
        lambda db: ledger.update_status(
            db, entry, status, actor=actor or whoami(), note=note, at=_now()
        ),
    )
    click.echo(
        f"台账条目 #{done.entry_id}: {done.old.value} → {done.new.value}(摘要 {done.digest})"
    )


@ledger_group.command("verify")
@click.option(
    "--expect-head", metavar="DIGEST", help="导出文件所载的记录链头摘要: 该记录须仍在链中"
)
@click.option("--json", "as_json", is_flag=True)
@common
def ledger_verify(env: Env, expect_head: str | None, as_json: bool) -> None:
    """Check that no ledger record was altered or removed (exit 1 naming the first one)."""
    if expect_head is not None:
        expect_head = expect_head.strip().lower()
        if not re.fullmatch("[0-9a-f]{64}", expect_head):
            raise click.BadParameter(
                "应为导出文件所载的 64 位十六进制摘要", param_hint="--expect-head"
            )
    require_existing(env)
    result = run(env, lambda db: ledger.verify(db, expect_head=expect_head))
    if as_json:
        emit_json(
            {
                "ok": result.ok,
                "records": result.records,
                "entries": result.entries,
                "chain_head": result.head,
                "problems": [
                    {"message": p.message, "entry_id": p.entry_id, "record_id": p.event_id}
                    for p in result.problems
                ],
            }
        )
    elif result.ok:
        click.echo(
            f"校验通过: {result.records} 条记录,{result.entries} 个条目;"
            f"记录链头摘要 {result.head or '-'}"
        )
    else:
        first = result.problems[0]
        click.echo(f"校验失败: {first.message}", err=True)
        for problem in result.problems[1:]:
            click.echo(f"  另: {problem.message}", err=True)
    if not result.ok:
        raise SystemExit(1)


@click.command("report")
@click.option("--quarter", required=True, help="检查批次, 如 2026Q4")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@click.option("--issued", help="通报日期 (默认今天),整改报告时限由此按工作日计算")
@click.option("--region", help="只通报这个行政区划的账号 (6 位代码, 如市级 510100),默认全部")
@common
def report(env: Env, quarter: str, output: Path, issued: str | None, region: str | None) -> None:
    """Draft quarterly bulletin (通报), .docx or .html; of one city or county with --region."""
    from monitor.report import FORMATS as REPORT_FORMATS
    from monitor.report import write_report

    wanted = Quarter.parse(_quarter(quarter) or "")
    suffix = output.suffix.lstrip(".").lower()
    if suffix not in REPORT_FORMATS:
        raise click.UsageError(f"通报文件应为 .docx 或 .html: {output}")
    region = region_option(region)
    day = _issued(issued)
    with settings_checked():
        rule = DeadlineRule.from_config(env.settings)
    output_folder(output)
    bulletin = run(
        env, lambda db: write_report(db, output, wanted, issued=day, rule=rule, region=region)
    )
    click.echo(
        f"已生成 {bulletin.area}{wanted.label} 通报: {output}(抽查 {bulletin.inspected} 个,"
        f"合格率 {bulletin.pass_rate_text})"
    )


def _issued(value: str | None) -> date:
    if value is None:
        return _now().date()
    try:
        day = parse_date(value)
    except FieldError as exc:
        raise click.BadParameter(str(exc), param_hint="--issued") from exc
    if not 2000 <= day.year <= 2099:
        raise click.BadParameter("通报日期应在 2000 至 2099 年之间", param_hint="--issued")
    return day
