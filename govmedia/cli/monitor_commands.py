"""Monitoring commands: the quarter's sample, inspection runs and the daemon."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from govmedia.cli.common import Env, common, emit_json, run, settings_checked, whoami
from monitor.inspect_account import INCOMPLETE_LABELS
from monitor.quarter import Quarter
from monitor.run import Context, RunRequest, RunSummary, run_inspection
from monitor.samples import DrawRequest, draw_sample, show_sample
from monitor.sampling import SamplingSettings
from registry.db import Database
from registry.times import SHANGHAI, parse_time

PROBLEM_HINT = "govmedia ledger list --quarter {quarter}"


def _quarter(value: str) -> Quarter:
    try:
        return Quarter.parse(value)
    except ValueError as exc:
        raise click.BadParameter(
            f"季度应写作 2026Q4 这样的形式 (年份加 Q1-Q4): {value}", param_hint="--quarter"
        ) from exc


@click.group()
def sample() -> None:
    """季度抽样."""


@sample.command("draw")
@click.option("--quarter", required=True, help="季度, 如 2026Q4")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="随机种子 (默认随机生成并记录)")
@click.option("--ratio", type=float, help="抽查比例 (默认配置中的 [sampling] ratio)")
@click.option("--allow-below-minimum", is_flag=True, help="允许低于最低比例")
@click.option("--redraw", is_flag=True, help="重新抽样 (原样本留档)")
@click.option("--json", "as_json", is_flag=True)
@common
def sample_draw(
    env: Env,
    quarter: str,
    seed: int | None,
    ratio: float | None,
    allow_below_minimum: bool,
    redraw: bool,
    as_json: bool,
) -> None:
    """Draw and persist the quarter's sample."""
    request = DrawRequest(
        _quarter(quarter),
        whoami(),
        datetime.now(SHANGHAI),
        seed,
        ratio,
        allow_below_minimum,
        redraw,
    )
    with settings_checked():
        settings = SamplingSettings.from_config(env.settings["sampling"])
    sample_id, drawn = run(env, lambda db: draw_sample(db, settings, request))
    if as_json:
        emit_json({"sample_id": sample_id, **drawn.to_dict()})
        return
    click.echo(
        f"{quarter} 抽样完成(样本 #{sample_id}): 总体 {drawn.population_size} 个正常账号,抽取 {drawn.size} 个"
        f"(比例 {drawn.ratio:.0%},分层 {len(drawn.strata)} 个,种子 {drawn.seed})"
    )


@sample.command("show")
@click.option("--quarter", required=True)
@click.option("--json", "as_json", is_flag=True)
@common
def sample_show(env: Env, quarter: str, as_json: bool) -> None:
    """The drawn sample, with why each account is in it."""
    shown = run(env, lambda db: show_sample(db, _quarter(quarter)))
    if as_json:
        emit_json(shown)
        return
    click.echo(
        f"样本 #{shown['sample_id']} {shown['quarter']}: 抽取 {shown['size']} / 总体 {shown['population']},"
        f"比例 {shown['ratio']:.0%},种子 {shown['seed']},算法 {shown['algorithm']}"
    )
    click.echo(
        f"总体摘要 {shown['population_digest']};抽样 {shown['drawn_at']:%Y-%m-%d %H:%M} 由 {shown['drawn_by']}"
    )
    if shown["replaces"]:
        click.echo(f"(重新抽样,替代样本 #{shown['replaces']})")
    click.echo(
        "\t".join(("id", "platform", "account_id", "name", "region_code", "stratum", "reason"))
    )
    for m in shown["members"]:
        click.echo(
            "\t".join(
                str(m[k])
                for k in (
                    "id",
                    "platform",
                    "account_id",
                    "name",
                    "region_code",
                    "stratum",
                    "reason_label",
                )
            )
        )


@click.group()
def monitor() -> None:
    """监测: 抽查运行与守护进程."""


def _progress_bar(total_hint: list[int]) -> tuple[object | None, object]:
    if not sys.stderr.isatty():
        return None, None
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("检查账号"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    )
    task = bar.add_task("inspect", total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return bar, update


@monitor.command("run")
@click.option("--quarter", required=True)
@click.option("--as-of", "as_of", help="监测时间点 (ISO 8601, 默认现在, Asia/Shanghai)")
@click.option("--all", "all_accounts", is_flag=True, help="检查全部账号 (半年检查)")
@click.option("--concurrency", type=click.IntRange(min=1), help="本次运行的全局并发数")
@click.option("--json", "as_json", is_flag=True)
@common
def monitor_run(
    env: Env,
    quarter: str,
    as_of: str | None,
    all_accounts: bool,
    concurrency: int | None,
    as_json: bool,
) -> None:
    """Inspect the quarter's sample now (drawing it if needed); resumable."""
    now = datetime.now(SHANGHAI)
    try:
        point = parse_time(as_of) if as_of else now
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from exc
    if not 2000 <= point.year <= 2099:
        raise click.BadParameter("监测时间点应在 2000 至 2099 年之间", param_hint="--as-of")
    wanted = _quarter(quarter)
    _check_time_point(point, now, wanted)
    request = RunRequest(wanted, point, now, all_accounts, concurrency, whoami())
    with settings_checked():
        context = Context.from_settings(env.settings)
    bar, update = _progress_bar([])

    async def work(db: Database) -> RunSummary:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        import signal

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if bar is not None:
            bar.start()  # type: ignore[attr-defined]
        try:
            return await run_inspection(db, context, request, progress=update, stop=stop)  # type: ignore[arg-type]
        finally:
            if bar is not None:
                bar.stop()  # type: ignore[attr-defined]

    summary = run(env, work)
    if as_json:
        emit_json(summary.as_json())
        return
    print_summary(summary)


def _check_time_point(point: datetime, now: datetime, quarter: Quarter) -> None:
    """A run judges its quarter at a time point inside it, and not yet to come: the ledger
    entries it writes carry both."""
    if point > now + timedelta(minutes=5):
        raise click.BadParameter(
            f"监测时间点 {point:%Y-%m-%d %H:%M} 晚于现在", param_hint="--as-of"
        )
    if Quarter.of(point.astimezone(SHANGHAI).date()) != quarter:
        raise click.BadParameter(
            f"监测时间点 {point.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 不在 {quarter} "
            f"({quarter.start} 至 {quarter.end}) 内: 用 --as-of 给出该季度内的时间点",
            param_hint="--as-of",
        )


def print_summary(summary: RunSummary) -> None:
    state = "完成" if summary.completed else "已中断(再次运行将继续)"
    click.echo(
        f"{summary.quarter} 检查运行 #{summary.run_id} {state}{'(续跑)' if summary.resumed else ''}"
    )
    click.echo(
        f"  本次待检 {summary.targets} 个;本运行累计检查 {summary.passed + summary.failed + sum(summary.incomplete_by_reason.values())} 个"
    )
    click.echo(
        f"  合格 {summary.passed} 个,不合格 {summary.failed} 个,新增整改台账 {summary.new_entries} 条"
    )
    from checks import PROBLEM_LABELS

    if summary.failed_by_problem:
        click.echo("  发现问题(账号数;只有一票否决项计为不合格):")
    for code, count in summary.failed_by_problem.most_common():
        click.echo(f"    {PROBLEM_LABELS.get(code, code)}: {count}")
    incomplete = sum(summary.incomplete_by_reason.values())
    if incomplete:
        click.echo(f"  未完成检查 {incomplete} 个(不计入问题,下次运行重试):")
        for reason, count in summary.incomplete_by_reason.most_common():
            click.echo(f"    {INCOMPLETE_LABELS.get(reason, reason)} ({reason}): {count}")
    click.echo(f"  台账: {PROBLEM_HINT.format(quarter=summary.quarter)}")


@monitor.command("daemon")
@common
def monitor_daemon(env: Env) -> None:
    """The long-running scheduler (quarterly runs, daily sweep, /healthz and /metrics)."""
    from monitor.daemon import Daemon, DaemonSettings
    from monitor.worker import WorkerSettings

    with settings_checked():  # refused now, not when the first job runs
        Context.from_settings(env.settings)
        DaemonSettings.from_config(env.settings["daemon"])
        WorkerSettings.from_config(env.settings["workers"])
    run(env, lambda db: Daemon(db, env.settings).serve())


@monitor.command("worker")
@click.option("--batch", type=click.IntRange(min=1), help="每次领取的账号数 (默认 [workers] batch)")
@click.option(
    "--lease-s", "lease_s", type=click.FloatRange(min=0.1), help="租约秒数 (默认 [workers] lease_s)"
)
@click.option("--concurrency", type=click.IntRange(min=1), help="本进程的全局并发数")
@click.option("--name", help="工作进程名 (默认 主机名:进程号)")
@click.option("--once", is_flag=True, help="没有待检账号时退出 (默认一直等待新的运行)")
@click.option("--json", "as_json", is_flag=True)
@common
def monitor_worker(
    env: Env,
    batch: int | None,
    lease_s: float | None,
    concurrency: int | None,
    name: str | None,
    once: bool,
    as_json: bool,
) -> None:
    """Claim and inspect accounts of the open runs with other workers (PostgreSQL)."""
    from monitor.worker import Worker, WorkerSettings

    with settings_checked():
        settings = WorkerSettings.from_config(env.settings["workers"]).with_options(
            batch=batch, lease_s=lease_s
        )
        context = Context.from_settings(env.settings)

    async def work(db: Database) -> Any:
        import signal

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        worker = Worker(db, context, settings, name=name, concurrency=concurrency, stop=stop)
        return await worker.serve(once=once)

    report = run(env, work)
    figures = report.as_json()
    if as_json:
        emit_json(figures)
        return
    state = "已停止" if report.stopped else "无待检账号,退出"
    click.echo(
        f"工作进程 {report.name} {state}: 检查 {figures['inspected']} 个账号,"
        f"完成运行 {figures['completed_runs'] or '无'}"
    )


@click.command()
@click.option(
    "--workdir", type=click.Path(path_type=Path), default=Path("data/demo"), show_default=True
)
@common
def demo(env: Env, workdir: Path) -> None:
    """Run the whole job end to end on a bundled sample (embedded SQLite, simulated platform).

    The database is WORKDIR/demo.db, made afresh; ``--db`` names another, which must be empty.
    """
    from govmedia import logs
    from govmedia.demo import DemoRefused, run_demo

    logs.configure("error")
    bar, update = _progress_bar([])
    url = env.db_url if env.db_given else None

    async def work() -> Any:
        if bar is not None:
            bar.start()  # type: ignore[attr-defined]
        try:
            return await run_demo(
                workdir,
                progress=update,  # type: ignore[arg-type]
                settings=env.settings,
                database_url=url,
            )
        finally:
            if bar is not None:
                bar.stop()  # type: ignore[attr-defined]

    try:
        result = asyncio.run(work())
    except DemoRefused as exc:
        click.echo(f"错误: {exc}", err=True)
        sys.exit(1)
    for line in result.lines:
        click.echo(line)
    if result.summary is not None:
        print_summary(result.summary)
    click.echo(f"数据库: {result.database}")
    for output in result.outputs:
        click.echo(f"输出文件: {output}")
