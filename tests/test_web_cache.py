"""The web console's short-lived caches: inventory listings and who a session or token is.

Writes through the console or the API show at once; writes by another process (the command
line) within the cache's seconds; nothing is shared across scopes; revoking in this process
takes effect at once, revoking from another process within ``auth_cache_s``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import META, NOW, TODAY
from sqlalchemy import delete, update
from webfixtures import UNIT, Site, login, make_site

from govmedia.web.cache import Entries
from registry import scoped, users
from registry.db import Database
from registry.filing import file_on_account, file_open
from registry.lifecycle import Kind
from registry.schema import api_tokens, web_sessions

TTL = 0.5  # seconds, for the listing and the authentication caches alike


@pytest.fixture
async def site(db: Database, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Site]:
    async for value in make_site(db, monkeypatch, list_cache_s=TTL, auth_cache_s=TTL):
        yield value


async def listing(site: Site, who: str, query: str = "") -> dict[str, Any]:
    async with (
        site.api(who) as client,
        client.get(f"/api/accounts?per_page=200&{query}") as response,
    ):
        assert response.status == 200
        document: dict[str, Any] = await response.json()
        return document


async def test_writes_through_the_api_show_at_once(site: Site) -> None:
    before = await listing(site, "jinjiang")
    opening = {
        "name": "锦江缓存测试",
        "platform": "小红书",
        "account_id": "cache-1",
        "sponsor": UNIT,
        "region_code": "510104",
        "opened_on": "2026-11-01",
    }
    async with (
        site.api("jinjiang") as client,
        client.post("/api/filings", json={"kind": "开设", "fields": opening}) as response,
    ):
        assert response.status == 201
        pk = (await response.json())["account"]
    after = await listing(site, "jinjiang")
    assert after["total"] == before["total"] + 1
    assert pk in [a["id"] for a in after["items"]]


async def test_other_processes_writes_show_within_the_cache_seconds(site: Site) -> None:
    before = await listing(site, "prov")
    row = {**site.accounts[0], "account_id": "cli-import-1", "name": "命令行导入"}
    await file_open(site.db, {k: v for k, v in row.items() if k != "pk"}, META)
    await asyncio.sleep(TTL + 0.1)
    after = await listing(site, "prov", "page=1")
    assert after["total"] == before["total"] + 1


async def test_an_account_leaving_the_scope_is_not_shown_from_a_cached_listing(
    site: Site,
) -> None:
    mine = site.in_region("510104")
    first = await listing(site, "jinjiang")
    assert mine[0]["pk"] in [a["id"] for a in first["items"]]
    # moved to another county by another process, while the listing's ids are cached
    await file_on_account(
        site.db, str(mine[0]["pk"]), Kind.CHANGE, META, TODAY, {"region_code": "510105"}
    )
    again = await listing(site, "jinjiang")
    assert mine[0]["pk"] not in [a["id"] for a in again["items"]]
    assert all(a["region_code"] == "510104" for a in again["items"])


async def test_listings_are_never_shared_across_scopes(site: Site) -> None:
    # the same filters, asked by users of different scopes at the same time
    results = await asyncio.gather(
        *(listing(site, who, "q=发布") for who in ("prov", "jinjiang", "qingyang", "unit"))
    )
    prov, jinjiang, qingyang, unit = results
    assert {a["region_code"][:6] for a in jinjiang["items"]} <= {"510104"}
    assert {a["region_code"][:6] for a in qingyang["items"]} <= {"510105"}
    assert {a["sponsor"] for a in unit["items"]} <= {UNIT}
    assert jinjiang["total"] > 0 and qingyang["total"] > 0
    assert jinjiang["total"] == len(jinjiang["items"])
    assert qingyang["total"] == len(qingyang["items"])
    assert prov["total"] >= jinjiang["total"] + qingyang["total"]


async def test_revoked_elsewhere_the_token_stops_within_the_cache_seconds(site: Site) -> None:
    async with site.api("chengdu") as client, client.get("/api/me") as response:
        assert response.status == 200
    # as `govmedia users revoke-token` in another process does: straight in the database
    async with site.db.write() as conn:
        await conn.execute(update(api_tokens).values(revoked_at=NOW))
    await asyncio.sleep(TTL + 0.1)
    async with site.api("chengdu") as client, client.get("/api/me") as response:
        assert response.status == 401


async def test_session_ended_elsewhere_stops_within_the_cache_seconds(site: Site) -> None:
    async with site.browser() as client:
        await login(client, "jinjiang")
        async with client.get("/accounts", allow_redirects=False) as response:
            assert response.status == 200
        async with site.db.write() as conn:
            await conn.execute(delete(web_sessions))
        await asyncio.sleep(TTL + 0.1)
        async with client.get("/accounts", allow_redirects=False) as response:
            assert response.status == 302


async def test_revoking_in_this_process_takes_effect_at_once(site: Site) -> None:
    async with site.api("qingyang") as client, client.get("/api/me") as response:
        assert response.status == 200  # now remembered
    await users.revoke_user(site.db, "qingyang", now=NOW)
    async with site.api("qingyang") as client, client.get("/api/me") as response:
        assert response.status == 401


async def test_a_computation_under_way_at_a_clear_is_not_kept() -> None:
    entries: Entries[str, int] = Entries(10, lambda _value: 1)
    started, release = asyncio.Event(), asyncio.Event()
    calls = 0

    async def slow() -> int:
        nonlocal calls
        calls += 1
        mine = calls
        started.set()
        await release.wait()
        return mine

    first = asyncio.ensure_future(entries.get_or_compute("k", 60, slow))
    await started.wait()
    joined = asyncio.ensure_future(entries.get_or_compute("k", 60, slow))
    await asyncio.sleep(0)
    entries.clear()  # a write: whoever asks from now on must not get what was read before it
    started.clear()
    later = asyncio.ensure_future(entries.get_or_compute("k", 60, slow))
    await started.wait()
    release.set()
    assert await first == 1 and await joined == 1  # asked before the clear
    assert await later == 2
    assert entries.get("k") == 2  # only the computation started after the clear was kept


async def test_a_page_read_falls_back_to_the_pool_when_the_loop_reader_cannot(
    db: Database, tmp_path: Path
) -> None:
    if not db.is_sqlite:
        pytest.skip("the loop reader is for SQLite")
    from conftest import sample_rows

    from registry.scope import Role, Scope

    for values in sample_rows(5):
        await file_open(db, values, META)
    scope, filters = Scope(Role.PROVINCE, "510000"), scoped.AccountFilters()
    ids = list(await scoped.matching_ids(db, scope, filters))
    reader = scoped.LoopReader.for_database(db)
    assert reader is not None
    direct = await scoped.accounts_by_ids(db, scope, filters, ids, reader=reader)
    pooled = await scoped.accounts_by_ids(db, scope, filters, ids)
    assert direct == pooled and [a["id"] for a in direct] == ids
    broken = scoped.LoopReader(str(tmp_path / "not-the-registry.db"))  # no such table
    assert await scoped.accounts_by_ids(db, scope, filters, ids, reader=broken) == pooled
    reader.close()
    broken.close()


def test_entries_keep_within_their_weight_but_always_the_newest() -> None:
    entries: Entries[str, list[int]] = Entries(10, len)
    entries.put("a", [1] * 6, 60)
    entries.put("b", [1] * 4, 60)
    assert entries.get("a") is not None and entries.get("b") is not None
    entries.put("c", [1] * 3, 60)  # 13 > 10: the least recently used ("a") goes
    assert entries.get("a") is None and entries.get("b") is not None
    entries.put("huge", [1] * 50, 60)
    assert entries.get("huge") is not None and entries.get("b") is None
    entries.put("gone", [1], 0)  # expired at once
    assert entries.get("gone") is None


async def test_cached_listing_pages_equal_the_uncached_ones(db: Database) -> None:
    from conftest import sample_rows

    from govmedia.web.cache import ReadCache
    from registry.scope import Role, Scope

    for values in sample_rows(40):
        await file_open(db, values, META)
    cache = ReadCache(30, 5, reader=scoped.LoopReader.for_database(db))
    scopes = [Scope(Role.PROVINCE, "510000"), Scope(Role.COUNTY, "510104"), Scope(Role.UNIT, UNIT)]
    filters = [
        scoped.AccountFilters(),
        scoped.AccountFilters(q="锦江"),
        scoped.AccountFilters(platform="抖音", region="5101"),
        scoped.AccountFilters(status="正常", q="100%_"),
    ]
    for scope in scopes:
        for chosen in filters:
            for page in (1, 2, 9):
                cached = await cache.account_page(db, scope, chosen, page=page, per_page=7)
                direct = await scoped.search_accounts(db, scope, chosen, page=page, per_page=7)
                assert cached == direct, (scope, chosen, page)
    cache.close()
