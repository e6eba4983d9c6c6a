"""Registry benchmark: import a 100,000-account inventory; query one region.

Targets (issue #2): import under 20 s and under 300 MB peak memory; `accounts list --region`
over 100,000 accounts under 0.5 s. The import runs as the real CLI in a child process, so its
peak RSS is the child's own. Usage: python bench/bench_registry.py [--accounts N] [--keep DIR]
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
from pathlib import Path

from govmedia.synthetic import header_row, inventory
from registry import queries
from registry.db import Database
from registry.fields import KEYS


def write_inventory(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header_row())
        for row in inventory(count, seed=42):
            writer.writerow([row[k] for k in KEYS])


def run_cli(*args: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one govmedia command in a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "govmedia", *args], check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before) / 1024


async def query_times(url: str, region: str, repeat: int = 5) -> tuple[int, list[float]]:
    database = Database(url)
    times = []
    count = 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = len(await queries.list_accounts(database, region=region))
        times.append(time.perf_counter() - start)
    await database.close()
    return count, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "inventory.csv"
        write_inventory(source, args.accounts)
        url = args.db or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        subprocess.run(
            [sys.executable, "-m", "govmedia", "db", "upgrade", "--db", url],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        seconds, peak_mb = run_cli("accounts", "import", str(source), "--db", url)
        print(
            f"import {args.accounts} accounts: {seconds:.1f} s, peak RSS {peak_mb:.0f} MB (target < 20 s, < 300 MB)"
        )
        seconds, peak_mb = run_cli("accounts", "import", str(source), "--db", url)
        print(f"re-import (all unchanged): {seconds:.1f} s, peak RSS {peak_mb:.0f} MB")
        for region in ("510100", "511802"):
            count, times = asyncio.run(query_times(url, region))
            print(
                f"list --region {region}: {count} accounts, best {min(times) * 1000:.0f} ms, worst {max(times) * 1000:.0f} ms (query, target < 500 ms)"
            )
            start = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "govmedia",
                    "accounts",
                    "list",
                    "--region",
                    region,
                    "--db",
                    url,
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            print(
                f"  the whole CLI command, Python start-up included: {(time.perf_counter() - start) * 1000:.0f} ms"
            )


if __name__ == "__main__":
    main()
