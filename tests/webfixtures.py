"""Helpers for the web tests: a served app over a migrated database with accounts in two
counties of one city (and another city), one user per role, API tokens, ledger entries."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from argon2 import PasswordHasher
from conftest import META, NOW, sample_rows
from ledgerfixtures import dormant, record

from govmedia import config
from govmedia.web import create_app
from registry import users
from registry.db import Database
from registry.filing import file_open
from registry.scope import Role

PASSWORD = "correct-horse-battery"
UNIT = "成都市锦江区公安分局"
# name -> (role, scope)
USERS: dict[str, tuple[Role, str]] = {
    "prov": (Role.PROVINCE, "510000"),
    "chengdu": (Role.CITY, "510100"),
    "jinjiang": (Role.COUNTY, "510104"),
    "qingyang": (Role.COUNTY, "510105"),
    "unit": (Role.UNIT, UNIT),
    "reviewer": (Role.REVIEWER, "510000"),
}


@dataclass
class Site:
    server: TestServer
    db: Database
    tokens: dict[str, str]
    accounts: list[dict[str, Any]]  # the inventory rows with their pk under "pk"
    entries: dict[str, int] = field(default_factory=dict)  # region code -> a ledger entry id

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    def api(self, who: str) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            base_url=self.server.make_url("/"),
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
        )

    def browser(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            base_url=self.server.make_url("/"), cookie_jar=aiohttp.CookieJar(unsafe=True)
        )

    def in_region(self, prefix: str) -> list[dict[str, Any]]:
        return [a for a in self.accounts if a["region_code"].startswith(prefix)]


async def login(session: aiohttp.ClientSession, who: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the CSRF token of the new session's pages."""
    async with session.get("/login") as response:
        token = csrf_of(await response.text())
    async with session.post(
        "/login", data={"username": who, "password": password, "csrf_token": token, "next": "/"}
    ) as response:
        assert response.status == 200, await response.text()
        return csrf_of(await response.text())


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


def fast_hashing(monkeypatch: Any) -> None:
    monkeypatch.setattr(users, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024))


async def make_site(db: Database, monkeypatch: Any, **web: Any) -> AsyncIterator[Site]:
    fast_hashing(monkeypatch)
    rows = sample_rows(60)
    accounts = []
    for values in rows:
        receipt = await file_open(db, values, META)
        accounts.append({**values, "pk": receipt.account_pk})
    tokens = {}
    for name, (role, scope) in USERS.items():
        await users.add_user(db, name, PASSWORD, role, scope, now=NOW, display_name=f"用户{name}")
        tokens[name] = await users.create_token(db, name, "test", now=NOW)
    settings = config.load_defaults()
    settings["web"].update(web)
    app = create_app(db, settings, now=lambda: NOW)
    server = TestServer(app)
    await server.start_server()
    site = Site(server, db, tokens, accounts)
    for prefix in ("510104", "510105", "510302"):
        account = next(
            a for a in site.in_region(prefix) if prefix != "510104" or a["sponsor"] == UNIT
        )
        await record(db, account["pk"], [dormant()], sponsor=account["sponsor"])
    from registry.scope import Scope
    from registry.scoped import ledger_page

    for prefix in ("510104", "510105", "510302"):
        page = await ledger_page(db, Scope(Role.COUNTY, prefix))
        site.entries[prefix] = page.items[0]["entry_id"]
    try:
        yield site
    finally:
        await server.close()
