"""The console's pages: scope, escaping, the filing forms, ledger feedback, downloads."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest
from webfixtures import UNIT, Site, login, make_site

from registry.db import Database


@pytest.fixture
async def site(db: Database, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Site]:
    async for value in make_site(db, monkeypatch):
        yield value


async def test_every_page_renders_in_chinese_and_in_scope(site: Site) -> None:
    theirs = site.in_region("510105")[0]
    async with site.browser() as client:
        await login(client, "jinjiang")
        for path, text in (
            ("/", "账号总数"),
            ("/accounts", "账号清单"),
            (f"/accounts/{site.in_region('510104')[0]['pk']}", "备案记录"),
            ("/filings/new?kind=open", "开设备案"),
            ("/sample", "尚未抽样"),
            ("/ledger", "整改台账"),
            ("/exports", "导出"),
        ):
            async with client.get(path) as response:
                assert response.status == 200, path
                assert text in await response.text(), path
        async with client.get("/accounts?per_page=200") as response:
            page = await response.text()
        assert f'<b id="total">{len(site.in_region("510104"))}</b>' in page
        assert theirs["account_id"] not in page
        async with client.get(f"/accounts/{theirs['pk']}") as response:
            assert response.status == 404
        async with client.get(f"/filings/new?kind=close&account={theirs['pk']}") as response:
            assert response.status == 404
        async with client.get(f"/accounts?q={theirs['account_id']}") as response:
            assert '<b id="total">0</b>' in await response.text()
        async with client.get("/accounts?per_page=9999") as response:
            assert response.status == 400 and "per_page" in await response.text()


async def test_opening_form_escapes_markup_and_shows_refusals(site: Site) -> None:
    async with site.browser() as client:
        csrf = await login(client, "jinjiang")
        form = {
            "csrf_token": csrf,
            "kind": "open",
            "name": "锦江<script>alert(1)</script>",
            "platform": "抖音",
            "account_id": "xss-1",
            "sponsor": "成都市锦江区教育局",
            "region_code": "510104",
            "opened_on": "2026-11-02",
        }
        async with client.post("/filings", data=form) as response:
            page = await response.text()
            assert response.status == 200 and "已备案" in page
            assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
        async with client.post(
            "/filings", data={**form, "account_id": "xss-2", "region_code": "5101"}
        ) as response:
            page = await response.text()
            assert response.status == 400 and "行政区划代码" in page
        async with client.post("/filings", data={**form, "account_id": "xss-1"}) as response:
            assert response.status == 400 and "已由账号" in await response.text()
        async with client.post(
            "/filings", data={**form, "account_id": "xss-3", "region_code": "510105"}
        ) as response:
            assert response.status == 403
        async with client.get("/accounts?q=xss") as response:
            assert '<b id="total">1</b>' in await response.text()


async def test_reviewer_reads_but_cannot_write(site: Site) -> None:
    async with site.browser() as client:
        csrf = await login(client, "reviewer")
        async with client.get("/ledger") as response:
            page = await response.text()
            assert "提交反馈" not in page and "整改台账" in page
        async with client.post(
            f"/ledger/{site.entries['510104']}", data={"csrf_token": csrf, "status": "整改中"}
        ) as response:
            assert response.status == 403


async def test_unit_feedback_through_the_ledger_page(site: Site) -> None:
    entry = site.entries["510104"]
    async with site.browser() as client:
        csrf = await login(client, "unit")
        async with client.get("/ledger") as response:
            page = await response.text()
        assert f"entry-{entry}" in page and f"entry-{site.entries['510105']}" not in page
        async with client.post(
            f"/ledger/{entry}",
            data={"csrf_token": csrf, "status": "待复核", "note": "已恢复更新", "back": "/ledger"},
        ) as response:
            page = await response.text()
            assert "待整改 → 待复核" in page
        async with client.post(
            f"/ledger/{entry}", data={"csrf_token": csrf, "status": "已销号", "back": "/ledger"}
        ) as response:
            assert "复核" in await response.text()
        async with client.post(
            f"/ledger/{site.entries['510105']}", data={"csrf_token": csrf, "status": "整改中"}
        ) as response:
            assert response.status == 404
        async with client.get("/accounts") as response:
            page = await response.text()
        assert UNIT in page


async def test_exports_are_scoped(site: Site) -> None:
    async with site.browser() as client:
        await login(client, "jinjiang")
        async with client.get("/exports/accounts?format=csv") as response:
            text = (await response.read()).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        assert len(rows) - 1 == len(site.in_region("510104"))
        assert {r[8] for r in rows[1:]} == {"510104"}
        async with client.get("/exports/ledger?quarter=2026Q4&format=json") as response:
            document = await response.json(content_type=None)
        assert [e["entry_id"] for e in document["entries"]] == [site.entries["510104"]]
        async with client.get("/exports/bulletin?quarter=2026Q4&format=html") as response:
            bulletin = (await response.read()).decode()
        assert response.status == 200 and "关于锦江区2026年第四季度" in bulletin
        named = {prefix: site.in_region(prefix)[0]["name"] for prefix in ("510105", "510302")}
        assert named["510105"] not in bulletin and named["510302"] not in bulletin
        async with client.get("/exports/accounts?format=pdf") as response:
            assert response.status == 400
        async with client.get("/exports/bulletin?quarter=0001Q1") as response:
            assert response.status == 400  # no quarter before it to compare with
    async with site.browser() as client:
        await login(client, "unit")
        async with client.get("/exports/bulletin?quarter=2026Q4") as response:
            assert response.status == 403
    async with site.browser() as client:
        await login(client, "prov")
        async with client.get("/exports/bulletin?quarter=2026Q4&format=html") as response:
            bulletin = (await response.read()).decode()
        assert response.status == 200 and "关于2026年第四季度" in bulletin
        async with client.get("/exports/accounts?format=xlsx") as response:
            assert response.status == 200 and (await response.read())[:2] == b"PK"


async def test_inventory_pages_link_to_their_neighbours_keeping_the_filters(site: Site) -> None:
    async with site.browser() as client:
        await login(client, "prov")
        links = re.compile(r'<a href="([^"]+)">(上一页|下一页)</a>')
        async with client.get("/accounts?status=正常&per_page=5") as response:
            first = dict(
                (label, html.unescape(url)) for url, label in links.findall(await response.text())
            )
        assert list(first) == ["下一页"]
        query = parse_qs(urlsplit(first["下一页"]).query)
        assert query["page"] == ["2"] and query["status"] == ["正常"]
        async with client.get(first["下一页"] + "&per_page=5") as response:
            second = dict(
                (label, html.unescape(url)) for url, label in links.findall(await response.text())
            )
        assert set(second) == {"上一页", "下一页"}
        assert parse_qs(urlsplit(second["上一页"]).query)["page"] == ["1"]


async def test_the_change_form_clears_a_field_left_empty(site: Site) -> None:
    """The form shows every field: one emptied is cleared (it was dropped, and the form
    answered that nothing was changed)."""
    async with site.browser() as client:
        csrf = await login(client, "jinjiang")
        opening = {
            "name": "锦江清空测试", "platform": "抖音", "account_id": "clear-form",
            "sponsor": "成都市锦江区教育局", "region_code": "510104", "opened_on": "2026-11-02",
            "admin": "王五",
        }  # fmt: skip
        data = {"csrf_token": csrf, "kind": "open", **opening}
        async with client.post("/filings", data=data) as response:
            assert response.status == 200 and "已备案" in await response.text()
        async with client.get("/accounts?q=clear-form") as response:
            pk = re.search(r'href="/accounts/(\d+)"', await response.text()).group(1)  # type: ignore[union-attr]
        change = {"csrf_token": csrf, "kind": "change", "account": pk, **opening, "admin": ""}
        async with client.post("/filings", data=change) as response:
            page = await response.text()
            assert response.status == 200 and "已备案" in page, page
        async with client.get(f"/accounts/{pk}") as response:  # the timeline in Chinese
            page = await response.text()
            assert "管理员: 王五 → -" in page and "admin:" not in page
    async with site.api("jinjiang") as api, api.get(f"/api/accounts/{pk}") as response:
        assert (await response.json())["account"]["admin"] == ""
