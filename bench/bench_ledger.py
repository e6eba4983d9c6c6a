"""Ledger benchmark: export 100,000 entries to XLSX; verify the chain over 100,000 records.

Targets (issue #5): `ledger export` to XLSX under 30 s and under 300 MB peak memory;
`ledger verify` over 100,000 records under 10 s. Setup imports an inventory and inserts the
entries in bulk through ``registry.ledger.insert_entries`` (so the hash chain is real), plus a
status change on every tenth entry. Export and verify run as the real CLI in child processes, so
the peak RSS is the child's own.
Usage: python bench/bench_ledger.py [--entries N] [--db URL] [--no-export] [--keep DIR]
[--verify-runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from checks.codes import PROBLEM_LABELS, SEVERITY
from govmedia.synthetic import header_row, inventory
from registry import ledger, migrate
from registry.db import Database
from registry.fields import KEYS
from registry.inventory import import_inventory
from registry.ledger_chain import append, status_content
from registry.schema import accounts, ledger_entries
from registry.writer import FilingMeta

CODES = list(PROBLEM_LABELS)
DETECTED = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def write_inventory(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header_row())
        for row in inventory(count, seed=7):
            writer.writerow([row[k] for k in KEYS])


def entry_row(
    entry_id: int, pk: int, account: tuple[str, str, str], code: str, sponsor: str
) -> dict[str, Any]:
    published = DETECTED - timedelta(days=entry_id % 40 + 1)
    account_id, name, region_code = account
    return {
        "id": entry_id,
        "quarter": "2026Q4",
        "account_pk": pk,
        "account_id": account_id,
        "account_name": name,
        "region_code": region_code,
        "problem_code": code,
        "severity": SEVERITY[code].value,
        "description": f"{PROBLEM_LABELS[code]}:监测时间点前 {entry_id % 40 + 1} 天最近一次更新",
        "evidence": [
            {
                "url": f"https://example.gov.cn/post/{entry_id}",
                "title": f"关于开展第{entry_id % 97}期政务服务便民活动的通知",
                "published_at": published.isoformat(),
                "excerpt": "联系电话138****5678,办理地点为政务服务中心二楼窗口",
            }
        ],
        "last_post_at": published,
        "detected_at": DETECTED,
        "deadline": date(2026, 12, 3),
        "deadline_provisional": False,
        "sponsor": sponsor,
        "run_id": None,
        "status": "待整改",
    }


async def setup(url: str, workdir: Path, entries: int) -> float:
    database = Database(url)
    await migrate.upgrade(database)
    account_count = (entries + len(CODES) - 1) // 4
    inventory_path = workdir / "inventory.csv"
    write_inventory(inventory_path, account_count)
    meta = FilingMeta(filed_by="bench", filed_at=DETECTED, reason="bench")
    await import_inventory(database, inventory_path, meta, DETECTED.date())
    start = time.perf_counter()
    async with database.read() as conn:
        result = await conn.execute(
            select(
                accounts.c.id,
                accounts.c.platform,
                accounts.c.account_id,
                accounts.c.name,
                accounts.c.region_code,
                accounts.c.sponsor_id,
            )
        )
        found = [tuple(r) for r in result]
    rows = []
    platforms = {pk: platform for pk, platform, *_ in found}
    for index in range(entries):
        pk, _, account_id, name, region_code, sponsor_id = found[index // 4]
        rows.append(
            entry_row(
                index + 1,
                pk,
                (account_id, name, region_code),
                CODES[index % 4],
                f"某市某局{sponsor_id}",
            )
        )
    async with database.write() as conn:
        await ledger.insert_entries(conn, rows, platforms=platforms, actor="bench")
        updates = [
            status_content(
                entry_id, "待整改", "整改中", "bench", DETECTED + timedelta(days=1), "整改中"
            )
            for entry_id in range(1, entries + 1, 10)
        ]
        await append(conn, updates)
        for start_id in range(1, entries + 1, 10):
            await conn.execute(
                ledger_entries.update()
                .where(ledger_entries.c.id == start_id)
                .values(status="整改中")
            )
    elapsed = time.perf_counter() - start
    await database.close()
    return elapsed


def run_cli(*args: str) -> tuple[float, float, int, float]:
    """Wall seconds, peak RSS (MB), exit status and CPU seconds of one govmedia command in a
    child (CPU time says more than wall time when other work shares the machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from govmedia.cli import main\n"
            "try:\n    main(sys.argv[1:])\n"
            "except SystemExit as exc:\n"
            "    code = exc.code or 0\n"
            "else:\n    code = 0\n"
            # VmHWM: this process's own peak (ru_maxrss would carry the parent's over fork)
            "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
            "print(peak.split()[1], file=sys.stderr)\n"
            "sys.exit(code)\n",
            *args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    peak_kb = int(child.stderr.strip().splitlines()[-1])
    return elapsed, peak_kb / 1024, child.returncode, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    parser.add_argument(
        "--no-export", action="store_true", help="skip the XLSX export, time only verify"
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep the SQLite database in DIR and reuse it on later runs (same --entries)",
    )
    parser.add_argument("--verify-runs", type=int, default=1, help="time verify this many times")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.keep is not None and not args.db:
            args.keep.mkdir(parents=True, exist_ok=True)
            cached = args.keep / f"bench-{args.entries}.db"
            url = f"sqlite+aiosqlite:///{cached}"
            if cached.exists():
                print(f"setup: reusing {cached}")
            else:
                partial = args.keep / f"bench-{args.entries}.partial.db"
                partial.unlink(missing_ok=True)
                built = asyncio.run(setup(f"sqlite+aiosqlite:///{partial}", workdir, args.entries))
                partial.rename(cached)
                print(f"setup: {args.entries} entries with a real chain in {built:.1f} s")
        else:
            url = args.db or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
            built = asyncio.run(setup(url, workdir, args.entries))
            print(f"setup: {args.entries} entries with a real chain in {built:.1f} s")
        if not args.no_export:
            out = workdir / "ledger.xlsx"
            seconds, peak, code, _ = run_cli(
                "ledger", "export", "--quarter", "2026Q4", "-o", str(out), "--db", url
            )
            size = out.stat().st_size / 1e6
            print(
                f"ledger export xlsx: {seconds:.1f} s, peak RSS {peak:.0f} MB, {size:.1f} MB file "
                f"(target < 30 s, < 300 MB){'' if code == 0 else f' EXIT {code}'}"
            )
        records = args.entries + (args.entries + 9) // 10
        for _ in range(max(1, args.verify_runs)):
            seconds, peak, code, cpu = run_cli("ledger", "verify", "--db", url)
            print(
                f"ledger verify: {records} records in {seconds:.1f} s ({cpu:.1f} s CPU), "
                f"peak RSS {peak:.0f} MB "
                f"(target < 10 s){'' if code == 0 else f' EXIT {code}'}"
            )
    print(
        f"benchmark process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
