"""The JSON API: every endpoint's success, bad input and scope refusal, one user per role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from webfixtures import UNIT, USERS, Site, make_site

from registry import users
from registry.db import Database

OPENAPI = Path(__file__).resolve().parents[1] / "govmedia" / "web" / "openapi.yaml"


@pytest.fixture
async def site(db: Database, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Site]:
    async for value in make_site(db, monkeypatch):
        yield value


async def get(site: Site, who: str, path: str) -> tuple[int, Any]:
    async with site.api(who) as client, client.get(path) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


async def post(site: Site, who: str, path: str, document: Any) -> tuple[int, Any]:
    async with site.api(who) as client, client.post(path, json=document) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


OPENING = {
    "name": "锦江发布新号",
    "platform": "小红书",
    "account_id": "jj-new-1",
    "sponsor": UNIT,
    "region_code": "510104",
    "opened_on": "2026-11-01",
}


async def test_unauthenticated_and_bad_tokens_are_refused(site: Site) -> None:
    for path in ("/api/accounts", "/api/me", "/api/ledger", "/api/dashboard"):
        async with site.browser() as client, client.get(path) as response:
            assert response.status == 401
            assert "error" in await response.json()
    site.tokens["nobody"] = "gm_forged"
    status, body = await get(site, "nobody", "/api/me")
    assert status == 401 and "令牌" in body["error"]


async def test_accounts_are_scoped_for_every_role(site: Site) -> None:
    expected = {
        "prov": len(site.accounts),
        "reviewer": len(site.accounts),
        "chengdu": len(site.in_region("5101")),
        "jinjiang": len(site.in_region("510104")),
        "qingyang": len(site.in_region("510105")),
        "unit": len([a for a in site.accounts if a["sponsor"] == UNIT]),
    }
    for who, total in expected.items():
        status, body = await get(site, who, "/api/accounts?per_page=200")
        assert status == 200 and body["total"] == total, who
        assert len(body["items"]) == total
        _role, scope = USERS[who]
        for item in body["items"]:
            if who == "unit":
                assert item["sponsor"] == UNIT
            elif who not in ("prov", "reviewer"):
                assert item["region_code"].startswith(
                    scope.rstrip("0")[:6] if who != "chengdu" else "5101"
                )
    # search and filters never leak: another county's name finds nothing for a county user
    other = site.in_region("510105")[0]
    status, body = await get(site, "jinjiang", f"/api/accounts?q={other['account_id']}")
    assert status == 200 and body["total"] == 0
    status, body = await get(site, "jinjiang", "/api/accounts?region=510105")
    assert body["total"] == 0
    status, body = await get(site, "prov", f"/api/accounts?q={other['account_id']}")
    assert body["total"] == 1


async def test_accounts_pagination_and_bad_parameters(site: Site) -> None:
    status, body = await get(site, "prov", "/api/accounts?per_page=7&page=2")
    assert status == 200 and body["page"] == 2 and len(body["items"]) == 7
    assert body["pages"] == -(-len(site.accounts) // 7)
    for query in (
        "per_page=0",
        "per_page=500",
        "page=x",
        "platform=脸书",
        "status=坏",
        "region=ab",
        "page=%C2%B2",  # a superscript two: str.isdigit() says yes, int() no
        "per_page=%C2%B2",
        "page=" + "1" * 5000,  # beyond int()'s digit limit
        "region=5%C2%B9",
    ):
        status, body = await get(site, "prov", f"/api/accounts?{query}")
        assert status == 400 and body["error"], query
    for path in ("/api/ledger/%C2%B2", "/api/ledger/99999999999999999999"):
        status, body = await get(site, "prov", path)
        assert status == 400 and body["error"], path
    for path in ("/api/accounts/%C2%B2", "/api/accounts/99999999999999999999"):
        status, body = await get(site, "prov", path)
        assert status == 404 and body["error"], path
    for document in ('{"x": 1' + "0" * 5000 + "}", "[" * 100_000 + "]" * 100_000):
        async with (
            site.api("prov") as client,
            client.post(
                "/api/filings", data=document, headers={"Content-Type": "application/json"}
            ) as response,
        ):
            assert response.status == 400, document[:20]


async def test_account_detail_scope(site: Site) -> None:
    mine = site.in_region("510104")[0]
    theirs = site.in_region("510105")[0]
    status, body = await get(site, "jinjiang", f"/api/accounts/{mine['pk']}")
    assert status == 200 and body["account"]["name"] == mine["name"]
    assert body["filings"][0]["kind"] == "开设"
    status, body = await get(site, "jinjiang", f"/api/accounts/{theirs['pk']}")
    assert status == 404
    status, _ = await get(
        site, "jinjiang", f"/api/accounts/{theirs['platform']}:{theirs['account_id']}"
    )
    assert status == 404
    status, _ = await get(site, "prov", "/api/accounts/999999")
    assert status == 404


async def test_filing_open_change_close_with_scope(site: Site) -> None:
    status, body = await post(site, "jinjiang", "/api/filings", {"kind": "开设", "fields": OPENING})
    assert status == 201, body
    pk = body["account"]
    # the other county neither sees nor changes it
    status, _ = await get(site, "qingyang", f"/api/accounts/{pk}")
    assert status == 404
    status, _ = await post(site, "qingyang", "/api/filings", {"kind": "close", "account": str(pk)})
    assert status == 404
    # opening in another county is refused, nothing written
    status, body = await post(
        site,
        "jinjiang",
        "/api/filings",
        {"kind": "open", "fields": {**OPENING, "account_id": "x2", "region_code": "510105"}},
    )
    assert status == 403
    status, body = await get(site, "prov", "/api/accounts?q=x2")
    assert body["total"] == 0
    # a change moving the account out of scope is refused
    status, body = await post(
        site,
        "jinjiang",
        "/api/filings",
        {"kind": "change", "account": str(pk), "fields": {"region_code": "510105"}},
    )
    assert status == 403
    status, body = await post(
        site,
        "jinjiang",
        "/api/filings",
        {
            "kind": "change",
            "account": str(pk),
            "fields": {"name": "锦江发布二号"},
            "doc_no": "锦办〔2026〕1号",
        },
    )
    assert status == 201 and body["changes"]["name"]["new"] == "锦江发布二号"
    status, body = await post(
        site, "chengdu", "/api/filings", {"kind": "close", "account": str(pk)}
    )
    assert status == 201 and body["kind"] == "关停"
    # the lifecycle's rules apply as on the command line
    status, body = await post(
        site, "chengdu", "/api/filings", {"kind": "close", "account": str(pk)}
    )
    assert status == 400 and "关停" in body["error"]
    # the audit log names who did what
    audit = await users.audit_entries(site.db)
    assert {
        ("jinjiang", "filing.open"),
        ("jinjiang", "filing.change"),
        ("chengdu", "filing.close"),
    } <= {(a["actor"], a["action"]) for a in audit}


async def test_filing_bad_input_and_roles(site: Site) -> None:
    cases = [
        {"kind": "开设", "fields": {**OPENING, "region_code": "51"}},
        {"kind": "开设", "fields": {**OPENING, "platform": "脸书"}},
        {"kind": "开设", "fields": {k: v for k, v in OPENING.items() if k != "name"}},
        {"kind": "开设", "fields": {**OPENING, "unknown": "x"}},
        {"kind": "合并", "fields": OPENING},
        {"kind": "开设", "fields": "not an object"},
        {"kind": "change", "account": str(site.in_region("510104")[0]["pk"]), "fields": {}},
    ]
    for document in cases:
        status, body = await post(site, "prov", "/api/filings", document)
        assert status == 400 and body["error"], document
    async with site.api("prov") as client:
        async with client.post("/api/filings", data="{broken") as response:
            assert response.status == 400
        async with client.post(
            "/api/filings", data="{broken", headers={"Content-Type": "application/json"}
        ) as response:
            assert response.status == 400 and "JSON" in (await response.json())["error"]
    status, _ = await post(site, "reviewer", "/api/filings", {"kind": "开设", "fields": OPENING})
    assert status == 403
    # a unit opens only for itself
    status, _ = await post(
        site, "unit", "/api/filings", {"kind": "开设", "fields": {**OPENING, "sponsor": "别的单位"}}
    )
    assert status == 403
    status, body = await post(site, "unit", "/api/filings", {"kind": "开设", "fields": OPENING})
    assert status == 201
    status, body = await get(site, "prov", "/api/accounts?q=jj-new-1")
    assert body["total"] == 1


async def test_review_submission(site: Site) -> None:
    mine = next(a for a in site.accounts if a["sponsor"] == UNIT)
    theirs = site.in_region("510105")[0]
    record = {
        "platform": mine["platform"],
        "account_id": mine["account_id"],
        "title": "关于<script>alert(1)</script>的通知",
        "url": "https://example.gov.cn/p/9",
        "first_reviewer": "张三",
        "first_reviewed_at": "2026-11-20 09:00",
        "final_reviewer": "李四",
        "final_reviewed_at": "2026-11-20T10:00:00+08:00",
    }
    status, body = await post(site, "unit", "/api/reviews", record)
    assert status == 201 and body["added"] is True
    status, body = await post(site, "unit", "/api/reviews", record)
    assert status == 200 and body["added"] is False
    status, _ = await post(
        site,
        "unit",
        "/api/reviews",
        {**record, "platform": theirs["platform"], "account_id": theirs["account_id"]},
    )
    assert status == 404
    for bad in (
        {**record, "first_reviewed_at": "昨天"},
        {**record, "title": "", "url": ""},
        {**record, "extra": 1},
        {**record, "final_reviewed_at": "2099-01-01 08:00"},
        {**record, "platform": 123},
        {**record, "platform": "WeChat"},
        {**record, "account_id": 7},
    ):
        status, body = await post(site, "unit", "/api/reviews", bad)
        assert status == 400 and body["error"]
    status, body = await post(
        site, "unit", "/api/reviews", {**record, "url": "", "final_reviewed_at": "2099-01-01 08:00"}
    )
    assert "晚于现在" in body["error"]
    status, _ = await post(site, "reviewer", "/api/reviews", record)
    assert status == 403


async def test_ledger_queries_and_feedback(site: Site) -> None:
    mine, theirs = site.entries["510104"], site.entries["510105"]
    status, body = await get(site, "jinjiang", "/api/ledger?quarter=2026Q4")
    assert status == 200 and [e["entry_id"] for e in body["items"]] == [mine]
    status, body = await get(site, "prov", "/api/ledger?per_page=2")
    assert body["total"] == 3 and len(body["items"]) == 2
    status, body = await get(site, "unit", f"/api/ledger/{mine}")
    assert status == 200 and body["status"] == "待整改"
    status, _ = await get(site, "jinjiang", f"/api/ledger/{theirs}")
    assert status == 404
    for query in ("quarter=2026Q9", "status=完成了", "page=0"):
        status, body = await get(site, "prov", f"/api/ledger?{query}")
        assert status == 400, query
    status, body = await post(
        site, "unit", f"/api/ledger/{mine}/feedback", {"status": "整改中", "note": "已安排专人更新"}
    )
    assert status == 200 and body["to"] == "整改中"
    status, body = await post(site, "unit", f"/api/ledger/{mine}/feedback", {"status": "已销号"})
    assert status == 400 and "复核" in body["error"]
    status, _ = await post(site, "unit", f"/api/ledger/{theirs}/feedback", {"status": "整改中"})
    assert status == 404
    status, _ = await post(site, "reviewer", f"/api/ledger/{mine}/feedback", {"status": "待复核"})
    assert status == 403
    status, body = await get(site, "unit", f"/api/ledger/{mine}")
    assert body["history"][-1]["note"] == "已安排专人更新"


async def test_sample_dashboard_me_and_openapi(site: Site) -> None:
    status, body = await get(site, "prov", "/api/sample?quarter=2026Q4")
    assert status == 404 and "尚未抽样" in body["error"]
    status, _ = await get(site, "prov", "/api/sample?quarter=bad")
    assert status == 400
    status, body = await get(site, "jinjiang", "/api/dashboard")
    assert status == 200 and body["population_total"] == len(site.in_region("510104"))
    assert body["problems"] == [
        {"code": "dormant", "label": body["problems"][0]["label"], "count": 1}
    ]
    status, body = await get(site, "unit", "/api/me")
    assert status == 200 and body["role"] == "unit" and body["scope"] == UNIT
    async with site.api("prov") as client, client.get("/api/openapi.yaml") as response:
        assert response.status == 200 and "openapi" in await response.text()
    async with site.api("prov") as client, client.get("/api/nothing") as response:
        assert response.status == 404 and (await response.json())["error"]


async def test_every_api_route_is_in_the_openapi_file(site: Site) -> None:
    document = yaml.safe_load(OPENAPI.read_text("utf-8"))
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    routes = {
        (route.resource.canonical, route.method)
        for route in site.server.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/")
        and route.method != "HEAD"
    }
    assert routes and routes <= documented, routes - documented


async def test_a_unit_cannot_move_its_accounts_out_of_its_offices_sight(site: Site) -> None:
    """A unit's scope is its own accounts: a change of region code, or an opening in another
    region, would hide them (and their ledger entries) from every office. Both are refused."""
    status, body = await post(site, "unit", "/api/filings", {"kind": "open", "fields": OPENING})
    assert status == 201, body
    pk = body["account"]
    status, body = await post(
        site,
        "unit",
        "/api/filings",
        {"kind": "open", "fields": {**OPENING, "account_id": "far", "region_code": "513401"}},
    )
    assert status == 403 and "行政区划以外" in body["error"]
    status, body = await post(
        site,
        "unit",
        "/api/filings",
        {"kind": "change", "account": str(pk), "fields": {"region_code": "110101"}},
    )
    assert status == 403 and "行政区划以外" in body["error"]
    status, body = await get(site, "jinjiang", f"/api/accounts/{pk}")
    assert status == 200 and body["account"]["region_code"] == "510104"


async def test_a_change_can_clear_an_optional_field_but_not_a_required_one(site: Site) -> None:
    status, body = await post(
        site, "jinjiang", "/api/filings",
        {"kind": "open", "fields": {**OPENING, "account_id": "clear-1", "admin": "王五"}},
    )  # fmt: skip
    assert status == 201, body
    pk = body["account"]
    change = {"kind": "change", "account": str(pk)}
    status, body = await post(site, "jinjiang", "/api/filings", {**change, "fields": {"admin": ""}})
    assert status == 201 and body["changes"]["admin"] == {"old": "王五", "new": ""}
    status, body = await post(site, "jinjiang", "/api/filings", {**change, "fields": {"name": ""}})
    assert status == 400 and "必填项为空" in body["error"]


async def test_an_opening_that_gives_a_status_is_refused(site: Site) -> None:
    fields = {**OPENING, "account_id": "st-1", "status": "注销"}
    status, body = await post(site, "jinjiang", "/api/filings", {"kind": "open", "fields": fields})
    assert status == 400 and "开设备案不能指定状态" in body["error"]
    status, body = await get(site, "prov", "/api/accounts?q=st-1")
    assert body["total"] == 0
