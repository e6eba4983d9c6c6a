"""Registry commands: the schema, the inventory, filings and review records."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import make_url

from govmedia.cli.common import (
    Env,
    common,
    echo_table,
    emit_json,
    output_folder,
    region_option,
    run,
    whoami,
)
from registry import filing, inventory, migrate, queries
from registry.db import Database, database_url
from registry.errors import Refused
from registry.fields import FIELD_BY_KEY, HEADER_TO_KEY, PLATFORMS, FieldError, Status, parse_date
from registry.filings_import import import_filings
from registry.lifecycle import Kind
from registry.reviews import import_reviews
from registry.times import SHANGHAI
from registry.writer import FilingMeta

LIST_COLUMNS = ("id", "platform", "account_id", "name", "sponsor", "region_code", "status")


def _now() -> datetime:
    return datetime.now(SHANGHAI)


def _print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        click.echo(f"提示: {warning}", err=True)


@click.group()
def db() -> None:
    """数据库结构 (schema)."""


@db.command("upgrade")
@common
def db_upgrade(env: Env) -> None:
    """Create or migrate the schema (idempotent)."""
    run(env, migrate.upgrade, check_schema=False)
    click.echo(f"数据库已是最新结构: {make_url(env.db_url).render_as_string()}")  # no password


@db.command("copy")
@click.option("--to", "to_url", required=True, help="目标数据库 URL (如 postgresql+asyncpg://...)")
@click.option("--json", "as_json", is_flag=True)
@common
def db_copy(env: Env, to_url: str, as_json: bool) -> None:
    """Copy the whole registry (--db) into an empty database (--to), ids preserved."""
    from registry import ledger
    from registry.copy import copy_database

    try:
        target_url = database_url(to_url)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--to") from exc

    async def work(source: Database) -> tuple[Any, Any]:
        target = Database(target_url, busy_timeout_s=env.settings["database"]["busy_timeout_s"])
        try:
            copied = await copy_database(source, target)
            return copied, await ledger.verify(target)
        finally:
            await target.close()

    copied, verified = run(env, work)
    if as_json:
        emit_json(
            {
                "tables": copied.counts,
                "ledger_ok": verified.ok,
                "ledger_records": verified.records,
                "chain_head": verified.head,
            }
        )
    else:
        for table, count in copied.counts.items():
            click.echo(f"  {table}: {count}")
        click.echo(
            f"已复制 {sum(copied.counts.values())} 行到 {to_url};台账校验"
            f"{'通过' if verified.ok else '未通过'}: {verified.records} 条记录,链头 {verified.head}"
        )
    if not verified.ok:
        sys.exit(1)


@click.group()
def accounts() -> None:
    """账号清单 (the inventory)."""


@accounts.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="只校验,不写入")
@click.option("--by", "filed_by", default=None, help="报备人 (默认当前用户)")
@common
def accounts_import(env: Env, file: Path, dry_run: bool, filed_by: str | None) -> None:
    """Load an inventory (CSV or XLSX): all rows or none."""
    now = _now()
    meta = FilingMeta(filed_by=filed_by or whoami(), filed_at=now, reason="清单导入")
    summary = run(
        env, lambda db: inventory.import_inventory(db, file, meta, now.date(), dry_run=dry_run)
    )
    _print_warnings(summary.warnings)
    verb = "校验通过(未写入)" if dry_run else "导入完成"
    click.echo(
        f"{verb}: 共 {summary.rows} 行;新开设 {summary.opened} 个,变更 {summary.changed} 个"
        f"(已记为变更备案),状态变化 {summary.status_changed} 个,无变化 {summary.unchanged} 个;"
        f"提示 {len(summary.warnings)} 条"
    )


@accounts.command("export")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json"]), default=None)
@common
def accounts_export(env: Env, output: Path, fmt: str | None) -> None:
    """The inventory, with the same columns as the import."""
    fmt = fmt or output.suffix.lstrip(".").lower() or "csv"
    if fmt not in ("csv", "xlsx", "json"):
        raise click.UsageError(f"无法从文件名判断导出格式: {output}")
    output_folder(output)
    count = run(env, lambda db: inventory.export_inventory(db, output, fmt))
    click.echo(f"已导出 {count} 个账号到 {output}")


@accounts.command("list")
@click.option("--region", help="行政区划代码 (含下级区划)")
@click.option("--platform", type=click.Choice(PLATFORMS))
@click.option("--status", type=click.Choice([s.value for s in Status]))
@click.option("--json", "as_json", is_flag=True)
@common
def accounts_list(
    env: Env, region: str | None, platform: str | None, status: str | None, as_json: bool
) -> None:
    """Query the inventory."""
    region = region_option(region)
    rows = run(
        env, lambda db: queries.list_accounts(db, region=region, platform=platform, status=status)
    )
    if as_json:
        emit_json(rows)
        return
    table = ([row[c] for c in LIST_COLUMNS] for row in rows)
    echo_table(LIST_COLUMNS, table, f"共 {len(rows)} 个账号")


@accounts.command("show")
@click.argument("account")
@click.option("--as-of", "as_of", help="显示该日期的登记状态 (YYYY-MM-DD)")
@click.option("--json", "as_json", is_flag=True)
@common
def accounts_show(env: Env, account: str, as_of: str | None, as_json: bool) -> None:
    """One account with its full filing history (ACCOUNT = id or PLATFORM:ACCOUNT_ID)."""
    day = _date_option(as_of, "--as-of") if as_of else None
    record = run(env, lambda db: _get(db, account))
    fields: dict[str, str] | None = record.fields
    if day is not None:
        state = record.state_as_of(day)
        fields = dict(state.fields) if state else None
    if as_json:
        emit_json(
            {
                "id": record.pk,
                "as_of": day,
                "account": fields,
                "filings": [f.as_json() for f in record.filings],
            }
        )
        return
    click.echo(f"账号 #{record.pk}" + (f"(截至 {day})" if day else ""))
    if fields is None:
        click.echo("  该日期尚未开设")
    else:
        for key, value in fields.items():
            click.echo(f"  {FIELD_BY_KEY[key].header}: {value}")
    click.echo("备案记录:")
    for f in record.filings:
        changed = ";".join(
            f"{FIELD_BY_KEY[k].header}: {old or '-'} → {new}" for k, (old, new) in f.changes.items()
        )
        click.echo(
            f"  {f.seq}. {f.kind.value} 生效 {f.effective_on} 报备 {f.filed_by} 文号 {f.doc_no or '-'} {f.reason}"
        )
        click.echo(f"     {changed}")
        for warning in f.warnings:
            click.echo(f"     提示: {warning}")


async def _get(db: Database, ref: str) -> queries.AccountRecord:
    record = await queries.get_account(db, ref)
    if record is None:
        raise Refused(f"找不到账号 {ref}")
    return record


def _date_option(value: str, name: str) -> date:
    try:
        return parse_date(value)
    except FieldError as exc:
        raise click.BadParameter(str(exc), param_hint=name) from exc


def filing_options(command: Any) -> Any:
    for option in reversed(
        [
            click.option("--effective", help="生效日期 (默认今天)"),
            click.option("--reason", default="", help="原因"),
            click.option("--doc-no", "doc_no", default="", help="文号"),
            click.option("--by", "filed_by", default=None, help="报备人 (默认当前用户)"),
        ]
    ):
        command = option(command)
    return command


def _meta(filed_by: str | None, doc_no: str, reason: str) -> FilingMeta:
    return FilingMeta(filed_by=filed_by or whoami(), filed_at=_now(), doc_no=doc_no, reason=reason)


def _report(receipt: filing.Receipt) -> None:
    _print_warnings(receipt.warnings)
    changed = ";".join(
        f"{FIELD_BY_KEY[k].header}: {old or '-'} → {new}"
        for k, (old, new) in receipt.changes.items()
    )
    click.echo(f"已备案: 账号 #{receipt.account_pk} {receipt.kind.value}({changed})")


@click.group("file")
def file_group() -> None:
    """备案: 开设、变更、关停、注销、重新开设."""


@file_group.command("open")
@click.option("--platform", required=True, type=click.Choice(PLATFORMS))
@click.option("--account-id", required=True)
@click.option("--name", required=True)
@click.option("--sponsor", required=True)
@click.option("--region-code", required=True)
@click.option("--home-url")
@click.option("--feed-url")
@click.option("--sponsor-code")
@click.option("--supervisor")
@click.option("--opened-on", help="开设日期 (默认生效日期或今天)")
@click.option("--interaction", type=click.Choice(["有", "无"]))
@click.option("--admin")
@click.option("--phone")
@filing_options
@common
def file_open(
    env: Env, effective: str | None, reason: str, doc_no: str, filed_by: str | None, **values: Any
) -> None:
    """File an opening (开设)."""
    day = _date_option(effective, "--effective") if effective else None
    values = {k: v for k, v in values.items() if v is not None}
    values.setdefault("opened_on", (day or _now().date()).isoformat())
    meta = _meta(filed_by, doc_no, reason)
    _report(run(env, lambda db: filing.file_open(db, values, meta, day)))


@file_group.command("change")
@click.argument("account")
@click.option("--set", "assignments", multiple=True, required=True, metavar="FIELD=VALUE")
@filing_options
@common
def file_change(
    env: Env,
    account: str,
    assignments: tuple[str, ...],
    effective: str | None,
    reason: str,
    doc_no: str,
    filed_by: str | None,
) -> None:
    """File a change (变更) of one or more fields."""
    values: dict[str, str] = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        key = HEADER_TO_KEY.get(name.strip()) or name.strip().replace("-", "_")
        if not sep or key not in FIELD_BY_KEY:
            fields = "、".join(f"{f.key}({f.header})" for f in FIELD_BY_KEY.values())
            raise click.BadParameter(
                f"应为 字段=值,字段为 {fields}: {assignment}", param_hint="--set"
            )
        values[key] = value
    _status_filing(env, account, Kind.CHANGE, effective, reason, doc_no, filed_by, values)


def _status_filing(
    env: Env,
    account: str,
    kind: Kind,
    effective: str | None,
    reason: str,
    doc_no: str,
    filed_by: str | None,
    values: dict[str, str] | None = None,
) -> None:
    day = _date_option(effective, "--effective") if effective else _now().date()
    meta = _meta(filed_by, doc_no, reason)
    _report(run(env, lambda db: filing.file_on_account(db, account, kind, meta, day, values)))


def _lifecycle_command(name: str, kind: Kind) -> None:
    @file_group.command(name, help=f"File a {name} ({kind.value}).")
    @click.argument("account")
    @filing_options
    @common
    def command(
        env: Env,
        account: str,
        effective: str | None,
        reason: str,
        doc_no: str,
        filed_by: str | None,
    ) -> None:
        _status_filing(env, account, kind, effective, reason, doc_no, filed_by)


_lifecycle_command("close", Kind.CLOSE)
_lifecycle_command("deregister", Kind.DEREGISTER)
_lifecycle_command("reopen", Kind.REOPEN)


@click.group()
def filings() -> None:
    """批量备案."""


@filings.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="只校验,不写入")
@click.option("--by", "filed_by", default=None, help="报备人 (文件中未填时)")
@common
def filings_import(env: Env, file: Path, dry_run: bool, filed_by: str | None) -> None:
    """Batch filings, applied in file order: all rows or none."""
    now = _now()
    summary = run(
        env,
        lambda db: import_filings(db, file, filed_by or whoami(), now, now.date(), dry_run=dry_run),
    )
    _print_warnings(summary.warnings)
    kinds = ",".join(f"{k} {n} 条" for k, n in summary.by_kind.items()) or "无"
    click.echo(f"{'校验通过(未写入)' if dry_run else '备案完成'}: 共 {summary.rows} 行;{kinds}")


@click.group()
def reviews() -> None:
    """审核记录."""


@reviews.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="只校验,不写入")
@common
def reviews_import(env: Env, file: Path, dry_run: bool) -> None:
    """Load review records (审核记录): all rows or none."""
    summary = run(env, lambda db: import_reviews(db, file, _now(), dry_run=dry_run))
    _print_warnings(summary.warnings)
    click.echo(
        f"{'校验通过(未写入)' if dry_run else '导入完成'}: 共 {summary.rows} 行;新增 {summary.added} 条,更新 {summary.updated} 条"
    )
