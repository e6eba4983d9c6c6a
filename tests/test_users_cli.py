"""``govmedia users add/list/token/passwd/revoke`` and ``govmedia serve``'s options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from govmedia.cli import main
from registry import users


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from argon2 import PasswordHasher

    monkeypatch.setattr(users, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"

    def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(main, [*args, "--db", url], input=input, catch_exceptions=False)

    assert invoke("db", "upgrade").exit_code == 0
    return invoke


def test_users_add_list_token_revoke(cli) -> None:  # type: ignore[no-untyped-def]
    added = cli(
        "users",
        "add",
        "jinjiang",
        "--role",
        "county",
        "--scope",
        "510104",
        "--password-stdin",
        "--token",
        "发布系统",
        input="a-long-password\n",
    )
    assert added.exit_code == 0, added.output
    assert added.stdout.strip().splitlines()[-1].startswith("gm_")
    listed = json.loads(cli("users", "list", "--json").stdout)
    assert listed[0]["role"] == "county" and listed[0]["scope"] == "510104"
    assert len(listed[0]["tokens"]) == 1
    token = cli("users", "token", "jinjiang", "--name", "备用")
    assert token.exit_code == 0 and token.stdout.strip().startswith("gm_")
    assert cli("users", "revoke", "--token", str(listed[0]["tokens"][0]["id"])).exit_code == 0
    assert cli("users", "revoke", "jinjiang").exit_code == 0
    listed = json.loads(cli("users", "list", "--json").stdout)
    assert listed[0]["active"] is False and listed[0]["tokens"] == []
    assert "jinjiang" in cli("users", "list").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--role", "county", "--scope", "510100"), "级别不符"),
        (("--role", "city", "--scope", "51"), "6位"),
        (("--role", "unit", "--scope", " "), "主办单位"),
    ],
)
def test_users_add_refuses_bad_scopes(cli, args, message) -> None:  # type: ignore[no-untyped-def]
    result = cli("users", "add", "x", *args, "--password-stdin", input="a-long-password\n")
    assert result.exit_code == 1 and message in result.output


def test_users_add_refuses_short_passwords_and_duplicates(cli) -> None:  # type: ignore[no-untyped-def]
    args = ("users", "add", "prov", "--role", "province", "--scope", "510000", "--password-stdin")
    assert cli(*args, input="short\n").exit_code == 1
    assert cli(*args, input="a-long-password\n").exit_code == 0
    again = cli(*args, input="a-long-password\n")
    assert again.exit_code == 1 and "已存在" in again.output
    assert cli("users", "revoke").exit_code == 2
    assert cli("users", "revoke", "nobody").exit_code == 1


def test_serve_help_names_host_and_port(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("serve", "--help")
    assert "--host" in result.output and "--port" in result.output


def test_users_passwd_resets_a_password(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from registry.db import Database

    add = ("users", "add", "jinjiang", "--role", "county", "--scope", "510104")
    assert cli(*add, "--password-stdin", input="a-long-password\n").exit_code == 0
    short = cli("users", "passwd", "jinjiang", "--password-stdin", input="short\n")
    assert short.exit_code == 1 and "至少" in short.output
    missing = cli("users", "passwd", "nobody", "--password-stdin", input="another-password\n")
    assert missing.exit_code == 1 and "nobody" in missing.output
    reset = cli("users", "passwd", "jinjiang", "--password-stdin", input="another-password\n")
    assert reset.exit_code == 0, reset.output

    async def check(password: str) -> bool:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
        try:
            return await users.authenticate(db, "jinjiang", password) is not None
        finally:
            await db.close()

    assert not asyncio.run(check("a-long-password"))
    assert asyncio.run(check("another-password"))


def test_users_audit_lists_who_changed_what(cli) -> None:  # type: ignore[no-untyped-def]
    add = ("users", "add", "jinjiang", "--role", "county", "--scope", "510104")
    assert cli(*add, "--password-stdin", input="a-long-password\n").exit_code == 0
    assert cli("users", "revoke", "jinjiang").exit_code == 0
    entries = json.loads(cli("users", "audit", "--json").stdout)
    assert [(e["action"], e["target"]) for e in entries] == [
        ("user.revoke", "jinjiang"),
        ("user.add", "jinjiang"),
    ]
    assert entries[1]["detail"] == {"role": "county", "scope": "510104"}
    listed = cli("users", "audit", "--limit", "1")
    lines = listed.stdout.strip().splitlines()
    assert listed.exit_code == 0 and len(lines) == 3 and "user.revoke" in lines[1]
    assert lines[1].split("\t")[0].count(":") == 2  # a local time to the second
    only_adds = json.loads(cli("users", "audit", "--action", "user.add", "--json").stdout)
    assert [e["action"] for e in only_adds] == ["user.add"]
    assert json.loads(cli("users", "audit", "--actor", "nobody", "--json").stdout) == []
    assert cli("users", "audit", "--action", "no.such").exit_code != 0
