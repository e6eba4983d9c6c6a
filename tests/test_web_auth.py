"""Sessions, CSRF, login rate limiting, revocation, cookies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import NOW
from webfixtures import PASSWORD, Site, csrf_of, login, make_site

from govmedia.web.ratelimit import MAX_KEYS, LoginLimiter
from govmedia.web.rendering import safe_next
from registry import users
from registry.db import Database


@pytest.fixture
async def site(db: Database, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Site]:
    async for value in make_site(db, monkeypatch, login_max_attempts=3):
        yield value


async def test_pages_need_a_session(site: Site) -> None:
    async with site.browser() as client:
        for path in ("/", "/accounts", "/ledger", "/exports/accounts"):
            async with client.get(path, allow_redirects=False) as response:
                assert response.status == 302 and response.headers["Location"].startswith("/login")
        async with client.post("/ledger/1", data={"status": "整改中"}) as response:
            assert response.status == 401


async def test_login_sets_a_safe_cookie_and_logout_ends_it(site: Site) -> None:
    async with site.browser() as client:
        async with client.get("/login") as response:
            token = csrf_of(await response.text())
        async with client.post(
            "/login",
            data={
                "username": "jinjiang",
                "password": PASSWORD,
                "csrf_token": token,
                "next": "//evil.example/",
            },
            allow_redirects=False,
        ) as response:
            assert response.status == 303 and response.headers["Location"] == "/"
            cookie = response.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
        async with client.get("/") as response:
            page = await response.text()
            assert response.status == 200 and "工作台" in page
            csrf = csrf_of(page)
        async with client.post(
            "/logout", data={"csrf_token": csrf}, allow_redirects=False
        ) as response:
            assert response.status == 303
        async with client.get("/", allow_redirects=False) as response:
            assert response.status == 302


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "/\t/evil.example/",
        "/\n/evil.example",
        "/\\evil.example/",
        "https://evil.example/",
    ],
)
def test_only_paths_of_this_site_are_followed_after_login(target: str) -> None:
    assert safe_next(target) == "/"
    assert safe_next("/accounts?platform=微博&status=关停") == "/accounts?platform=微博&status=关停"


async def test_the_login_redirect_keeps_the_whole_address(site: Site) -> None:
    async with site.browser() as client:
        path = "/accounts?platform=微博&status=关停"
        async with client.get(path, allow_redirects=False) as response:
            location = response.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    assert set(query) == {"next"} and query["next"] == [path]


def test_a_spray_of_names_does_not_free_a_locked_name() -> None:
    clock = [0.0]
    limiter = LoginLimiter(3, 600.0, clock=lambda: clock[0])
    for _ in range(3):
        limiter.failed("jinjiang", "10.0.0.1")
    assert limiter.blocked("jinjiang", "10.0.0.1") > 0
    for n in range(MAX_KEYS + 1):
        clock[0] = 1 + n / MAX_KEYS  # all within the window
        limiter.failed(f"user{n}", "10.0.0.2")
    assert limiter.blocked("jinjiang", "10.0.0.1") > 0


async def test_csrf_is_checked_on_every_post(site: Site) -> None:
    entry = site.entries["510104"]
    async with site.browser() as client:
        csrf = await login(client, "jinjiang")
        for data in ({"status": "整改中"}, {"status": "整改中", "csrf_token": "forged"}):
            async with client.post(f"/ledger/{entry}", data=data) as response:
                assert response.status == 403 and "CSRF" in await response.text()
        async with client.post("/logout", data={}) as response:
            assert response.status == 403
        async with client.post(
            f"/api/ledger/{entry}/feedback", json={"status": "整改中"}
        ) as response:
            assert response.status == 403
        async with client.post(
            f"/api/ledger/{entry}/feedback",
            json={"status": "整改中"},
            headers={"X-CSRF-Token": csrf},
        ) as response:
            assert response.status == 200
    # the login form itself carries a double-submit token
    async with (
        site.browser() as client,
        client.post("/login", data={"username": "jinjiang", "password": PASSWORD}) as response,
    ):
        assert response.status == 403


async def test_wrong_passwords_and_rate_limit(site: Site) -> None:
    async with site.browser() as client:
        for _ in range(3):
            async with client.get("/login") as response:
                token = csrf_of(await response.text())
            async with client.post(
                "/login",
                data={"username": "prov", "password": "wrong-password!", "csrf_token": token},
            ) as response:
                assert response.status == 401 and "用户名或密码错误" in await response.text()
        async with client.get("/login") as response:
            token = csrf_of(await response.text())
        async with client.post(
            "/login", data={"username": "prov", "password": PASSWORD, "csrf_token": token}
        ) as response:
            assert response.status == 429 and "过多" in await response.text()
        # another user name from the same address is not blocked
        await login(client, "reviewer")
    audit = await users.audit_entries(site.db)
    assert sum(a["action"] == "login.failed" for a in audit) == 3


async def test_revoked_user_and_token_lose_access(site: Site) -> None:
    async with site.browser() as client:
        await login(client, "qingyang")
        await users.revoke_user(site.db, "qingyang", now=NOW)
        async with client.get("/", allow_redirects=False) as response:
            assert response.status == 302
    async with site.api("qingyang") as client, client.get("/api/me") as response:
        assert response.status == 401
    listed = await users.list_users(site.db)
    token_id = next(r for r in listed if r["username"] == "chengdu")["tokens"][0]["id"]
    await users.revoke_token(site.db, token_id, now=NOW)
    async with site.api("chengdu") as client, client.get("/api/me") as response:
        assert response.status == 401
    async with site.browser() as client:
        await login(client, "chengdu")  # the user's password still works


async def test_stored_secrets_are_hashed(site: Site) -> None:
    from sqlalchemy import select

    from registry.schema import api_tokens
    from registry.schema import users as users_table

    async with site.db.read() as conn:
        hashes = [r.password_hash for r in await conn.execute(select(users_table))]
        tokens = [r.token_hash for r in await conn.execute(select(api_tokens))]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert not set(site.tokens.values()) & set(tokens)


async def test_a_user_changes_their_own_password(site: Site) -> None:
    new = "a-new-long-password"
    async with site.browser() as other_device:
        await login(other_device, "jinjiang")
        async with site.browser() as client:
            csrf = await login(client, "jinjiang")
            form = {"csrf_token": csrf, "password": PASSWORD, "new_password": new}
            async with client.post("/password", data=form) as response:  # no confirmation
                assert response.status == 400 and "不一致" in await response.text()
            wrong = {**form, "password": "not-the-password", "new_password_again": new}
            async with client.post("/password", data=wrong) as response:
                assert response.status == 400 and "当前密码不正确" in await response.text()
            short = {**form, "new_password": "short", "new_password_again": "short"}
            async with client.post("/password", data=short) as response:
                assert response.status == 400 and "至少" in await response.text()
            async with client.post("/password", data={**form, "csrf_token": "x"}) as response:
                assert response.status == 403
            assert await users.authenticate(site.db, "jinjiang", PASSWORD) is not None
            async with client.post("/password", data={**form, "new_password_again": new}) as r:
                assert r.status == 200 and "密码已修改" in await r.text()
            async with client.get("/", allow_redirects=False) as response:
                assert response.status == 200  # this session stays
        async with other_device.get("/", allow_redirects=False) as response:
            assert response.status == 302  # the other one ended
    assert await users.authenticate(site.db, "jinjiang", PASSWORD) is None
    assert await users.authenticate(site.db, "jinjiang", new) is not None
