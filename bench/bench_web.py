"""Web console and API under load: 100,000 accounts, 20 concurrent clients on loopback.

Imports a synthetic inventory (registry.inventory.import_inventory), adds a province user,
serves the app on a loopback port, and times the inventory page, /api/accounts (paginated,
including a search and a county filter) and the dashboard. Prints p50/p95 per target, and
the process's CPU time per request (server and clients together: steadier than latencies on
a shared machine).
Each target starts cold (a new login; its listing not yet cached), so the first wave of
requests is included. ``--rounds N`` runs the targets N times in the same server (the later
rounds start with warm connections and templates, but every target still logs in anew).

On PostgreSQL the bench runs ANALYZE after the import, as autovacuum would soon after a bulk
load (a server with autovacuum off would otherwise plan on an empty table's statistics).
Give --db a database of its own: the bench imports into it (the schema must be empty).
Usage: .venv/bin/python bench/bench_web.py [--accounts N] [--requests N] [--rounds N] [--db URL]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import text

from govmedia import config
from govmedia.synthetic import header_row, inventory
from govmedia.web import create_app
from registry import migrate, users
from registry.db import Database
from registry.fields import KEYS
from registry.inventory import import_inventory
from registry.scope import Role
from registry.writer import FilingMeta

CLIENTS = 20
TARGETS = {
    "inventory page /accounts": "/accounts?page={page}",
    "/api/accounts (page)": "/api/accounts?page={page}&per_page=50",
    "/api/accounts (county, search)": "/api/accounts?region=510104&q=平安&page=1",
    "dashboard /": "/",
}


async def seed(db: Database, count: int, folder: Path) -> None:
    path = folder / "inventory.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header_row())
        for row in inventory(count):
            writer.writerow([row[k] for k in KEYS])
    now = datetime.now(UTC)
    started = time.perf_counter()
    await import_inventory(db, path, FilingMeta("bench", now), date.today())
    print(f"imported {count} accounts in {time.perf_counter() - started:.1f} s")
    await users.add_user(db, "bench", "bench-password", Role.PROVINCE, "510000", now=now)
    if not db.is_sqlite:
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))


async def login(session: aiohttp.ClientSession, base: str) -> None:
    async with session.get(f"{base}/login") as response:
        text = await response.text()
    token = text.split('name="csrf_token" value="')[1].split('"')[0]
    async with session.post(
        f"{base}/login",
        data={"username": "bench", "password": "bench-password", "csrf_token": token},
    ) as response:
        assert response.status == 200


async def hammer(base: str, path: str, requests: int) -> list[float]:
    timings: list[float] = []
    counter = iter(range(requests))
    jar = aiohttp.CookieJar(unsafe=True)
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(cookie_jar=jar, connector=connector) as session:
        await login(session, base)

        async def client() -> None:
            for index in counter:
                url = base + path.format(page=1 + index % 2000)
                started = time.perf_counter()
                async with session.get(url) as response:
                    await response.read()
                    assert response.status == 200, (url, response.status)
                timings.append(time.perf_counter() - started)

        await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return timings


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.db or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        db = Database(url)
        await migrate.upgrade(db)
        await seed(db, args.accounts, Path(folder))
        settings = config.load_defaults()
        runner = web.AppRunner(create_app(db, settings), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{port}"
        print(
            f"engine {db.url.get_backend_name()}, {CLIENTS} concurrent clients, loadavg {os.getloadavg()}"
        )
        for round_no in range(args.rounds):
            if args.rounds > 1:
                print(f"round {round_no + 1}, loadavg {os.getloadavg()}")
            for name, path in TARGETS.items():
                cpu = time.process_time()
                timings = await hammer(base, path, args.requests)
                cpu_ms = (time.process_time() - cpu) * 1000 / len(timings)
                q = statistics.quantiles(timings, n=100)
                print(
                    f"{name:34s} n={len(timings)} p50={q[49] * 1000:6.1f} ms "
                    f"p95={q[94] * 1000:6.1f} ms cpu={cpu_ms:4.1f} ms/request"
                )
        print(f"loadavg after {os.getloadavg()}")
        await runner.cleanup()
        await db.close()


if __name__ == "__main__":
    asyncio.run(main())
