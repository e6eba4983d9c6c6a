"""The console's audit log page (操作日志): who reads it, filters, paging, escaping."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import pytest
from conftest import NOW
from webfixtures import Site, login, make_site

from govmedia.web import pages_audit
from registry import users
from registry.db import Database


@pytest.fixture
async def site(db: Database, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Site]:
    async for value in make_site(db, monkeypatch):
        yield value


def rows_of(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


async def test_whole_registry_users_read_the_log_others_do_not(site: Site) -> None:
    async with site.browser() as client:
        await login(client, "chengdu")
        async with client.get("/") as response:
            assert "操作日志" not in await response.text()  # no link for a city office
        async with client.get("/audit") as response:
            assert response.status == 403
            assert "覆盖全部账号" in await response.text()
    for who in ("prov", "reviewer"):
        async with site.browser() as client:
            await login(client, who)
            async with client.get("/audit") as response:
                page = await response.text()
            assert response.status == 200 and '<a href="/audit"' in page
            first = rows_of(page)[0]  # newest first: this very login
            assert "登录" in first and who in first and "127.0.0.1" in first


async def test_filters_escaping_and_links(site: Site) -> None:
    account = site.accounts[0]
    await users.record(
        site.db, NOW, "<b>mallory</b>", "login.failed", "<b>mallory</b>", {}, remote="10.0.0.9"
    )
    await users.record(
        site.db,
        NOW,
        "prov",
        "filing.change",
        f"account:{account['pk']}",
        {"doc_no": "川网〔2026〕1号"},
    )
    async with site.browser() as client:
        await login(client, "prov")
        async with client.get("/audit", params={"action": "login.failed"}) as response:
            page = await response.text()
        rows = rows_of(page)
        assert len(rows) == 1 and "登录失败" in rows[0] and "10.0.0.9" in rows[0]
        assert "<b>mallory</b>" not in page and html.escape("<b>mallory</b>") in page
        async with client.get("/audit", params={"actor": "prov"}) as response:
            rows = rows_of(await response.text())
        assert rows and all(">prov<" in row for row in rows)
        change = next(row for row in rows if "变更备案" in row)
        assert f'href="/accounts/{account["pk"]}"' in change and "川网〔2026〕1号" in change
        async with client.get("/audit", params={"action": "drop.table"}) as response:
            assert response.status == 400


async def test_older_records_page_by_page(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages_audit, "PAGE_SIZE", 3)
    for index in range(7):
        await users.record(site.db, NOW, "bot", "ledger.update", f"entry:{index}", {})
    seen: list[str] = []
    pages = 0
    async with site.browser() as client:
        await login(client, "prov")
        url: str | None = "/audit?actor=bot"
        while url:
            async with client.get(url) as response:
                page = await response.text()
            pages += 1
            assert ("最新记录" in page) == (pages > 1)
            seen += [re.findall(r"entry:(\d+)", row)[0] for row in rows_of(page)]
            older = re.search(r'href="([^"]+)">更早的记录', page)
            url = html.unescape(older.group(1)) if older else None
            assert url is None or ("actor=bot" in url and "before=" in url)
    assert pages == 3 and seen == [str(i) for i in range(6, -1, -1)]  # each once, newest first
