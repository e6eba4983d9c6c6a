"""The console in headless Chromium (Debian's ``chromium``, driven by Playwright): log in, file
an opening, find it in the inventory, send rectification feedback, and check that another
county's user cannot see it. Saves a screenshot of the dashboard to out/screenshots/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from webfixtures import PASSWORD, Site, make_site

from registry import migrate
from registry.db import Database

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]  # fmt: skip
SCREENSHOT = Path(__file__).resolve().parents[1] / "out" / "screenshots" / "dashboard.png"

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="playwright is not installed (pip install playwright)"
)
if not Path(CHROMIUM).exists():
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )


async def test_console_in_chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'web.db'}")
    await migrate.upgrade(db)
    sites = make_site(db, monkeypatch)
    site: Site = await anext(sites)
    try:
        async with playwright_api.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                await run_scenario(browser, site, tmp_path)
            finally:
                await browser.close()
    finally:
        await sites.aclose()
        await db.close()


async def log_in(browser, site: Site, who: str):  # type: ignore[no-untyped-def]
    context = await browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = await context.new_page()
    await page.goto(site.url("/"))
    assert "/login" in page.url
    await page.fill("input[name=username]", who)
    await page.fill("input[name=password]", PASSWORD)
    async with page.expect_navigation():
        await page.click("section.login button[type=submit]")
    assert "工作台" in await page.title(), await page.content()
    return context, page


async def run_scenario(browser, site: Site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    context, page = await log_in(browser, site, "jinjiang")
    # file an opening through the form
    await page.click("text=开设备案")
    await page.fill("input[name=name]", "锦江发布浏览器测试")
    await page.select_option("select[name=platform]", "小红书")
    await page.fill("input[name=account_id]", "browser-open-1")
    await page.fill("input[name=sponsor]", "成都市锦江区人民政府办公室")
    await page.fill("input[name=region_code]", "510104")
    await page.fill("input[name=opened_on]", "2026-11-20")
    await page.fill("input[name=doc_no]", "锦府办〔2026〕9号")
    async with page.expect_navigation():
        await page.click("form.filing button[type=submit]")
    await page.wait_for_load_state()
    assert "已备案" in await page.content(), await page.content()
    assert "开设" in await page.inner_text(".timeline")
    pk = page.url.split("/accounts/")[1].split("?")[0]
    # it is in the inventory
    await page.goto(site.url("/accounts?q=browser-open"))
    assert await page.inner_text("#total") == "1"
    assert "锦江发布浏览器测试" in await page.inner_text("table")
    # rectification feedback on the county's ledger entry
    await page.goto(site.url("/ledger"))
    entry = f"#entry-{site.entries['510104']}"
    await page.select_option(f"{entry} select[name=status]", "整改中")
    await page.fill(f"{entry} input[name=note]", "已安排专人每周更新")
    async with page.expect_navigation():
        await page.click(f"{entry} button[type=submit]")
    assert "待整改 → 整改中" in await page.inner_text(".notice")
    assert "整改中" in await page.inner_text(f"{entry} .status")
    # the dashboard, for review
    await page.goto(site.url("/"))
    await page.wait_for_selector("figure.chart svg")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    shutil.copyfile(tmp_path / "dashboard.png", SCREENSHOT)
    print(f"dashboard screenshot: {SCREENSHOT}")
    await context.close()
    # another county's user sees none of it
    context, page = await log_in(browser, site, "qingyang")
    await page.goto(site.url("/accounts?q=browser-open"))
    assert await page.inner_text("#total") == "0"
    response = await page.goto(site.url(f"/accounts/{pk}"))
    assert response is not None and response.status == 404
    await page.goto(site.url("/ledger"))
    assert f"entry-{site.entries['510104']}" not in await page.content()
    await context.close()
