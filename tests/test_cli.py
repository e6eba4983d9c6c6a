"""The command line: documented, exit statuses, JSON output, messages naming what was refused."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import sample_rows, write_csv

from govmedia.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def leaf_commands(group: click.Group, prefix: str = "govmedia") -> list[str]:
    names = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            names.extend(leaf_commands(command, f"{prefix} {name}"))
        else:
            names.append(f"{prefix} {name}")
    return names


def test_every_command_is_documented_in_the_readme() -> None:
    readme = README.read_text("utf-8")
    commands = leaf_commands(main)
    assert len(commands) >= 12
    missing = [c for c in commands if f"`{c}" not in readme]
    assert missing == []


def test_every_command_accepts_config_and_db() -> None:
    """The interface: every command accepts --config PATH and --db URL."""
    lacking = []
    for name in leaf_commands(main):
        _, *groups, leaf = name.split()  # "govmedia" first
        group: click.Group = main
        ctx = click.Context(main)
        for part in groups:
            group = group.get_command(ctx, part)  # type: ignore[assignment]
        command = group.get_command(ctx, leaf)
        assert command is not None
        options = {o for p in command.params for o in p.opts}
        lacking += [f"{name} {o}" for o in ("--config", "--db") if o not in options]
    assert lacking == []


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"

    def invoke(*args: str) -> click.testing.Result:
        return runner.invoke(main, [*args, "--db", url], catch_exceptions=False)

    assert invoke("db", "upgrade").exit_code == 0
    return invoke


def test_import_list_show_json(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = sample_rows(5)
    path = write_csv(tmp_path / "inv.csv", rows)
    result = cli("accounts", "import", str(path))
    assert result.exit_code == 0 and "新开设 5 个" in result.output
    listed = cli("accounts", "list", "--json", "--region", rows[0]["region_code"])
    assert {a["account_id"] for a in json.loads(listed.stdout)} == {
        r["account_id"] for r in rows if r["region_code"] == rows[0]["region_code"]
    }
    shown = json.loads(
        cli("accounts", "show", f"{rows[0]['platform']}:{rows[0]['account_id']}", "--json").stdout
    )
    assert shown["account"]["name"] == rows[0]["name"] and shown["filings"][0]["kind"] == "开设"


def test_bad_import_exits_1_with_file_row_column(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = sample_rows(3)
    rows[1]["platform"] = "推特"
    path = write_csv(tmp_path / "inv.csv", rows)
    result = cli("accounts", "import", str(path))
    assert result.exit_code == 1
    assert f"{path}:3:平台:" in result.stderr
    assert json.loads(cli("accounts", "list", "--json").stdout) == []


def test_sample_seed_out_of_range_is_a_usage_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("accounts", "import", str(write_csv(tmp_path / "inv.csv", sample_rows(4))))
    result = cli("sample", "draw", "--quarter", "2026Q4", "--seed", str(2**63))
    assert result.exit_code == 2 and "--seed" in result.stderr
    assert cli("sample", "draw", "--quarter", "2026Q4", "--seed", str(2**63 - 1)).exit_code == 0


def test_lifecycle_refusal_exits_1(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = sample_rows(1)
    cli("accounts", "import", str(write_csv(tmp_path / "inv.csv", rows)))
    assert cli("file", "deregister", "1", "--reason", "机构调整").exit_code == 0
    refused = cli("file", "change", "1", "--set", "name=新名称")
    assert refused.exit_code == 1 and "已注销" in refused.stderr


def test_file_open_then_change_and_close(cli) -> None:  # type: ignore[no-untyped-def]
    opened = cli(
        "file", "open", "--platform", "微博", "--account-id", "pajj", "--name", "平安锦江",
        "--sponsor", "成都市锦江区公安分局", "--region-code", "510104", "--doc-no", "锦公〔2026〕3号",
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    assert cli("file", "change", "微博:pajj", "--set", "phone=028-1").exit_code == 0
    future = cli("file", "close", "微博:pajj", "--effective", "2099-01-01")
    assert future.exit_code == 1 and "生效日期 2099-01-01 晚于备案当天" in future.stderr
    assert cli("file", "close", "微博:pajj").exit_code == 0
    record = json.loads(cli("accounts", "show", "微博:pajj", "--json").stdout)
    assert [f["kind"] for f in record["filings"]] == ["开设", "变更", "关停"]
    assert record["filings"][0]["doc_no"] == "锦公〔2026〕3号"


def test_usage_errors_exit_2(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("file", "change", "1", "--set", "nonsense").exit_code == 2
    assert cli("accounts", "list", "--platform", "推特").exit_code == 2
    for args, option in (
        (("accounts", "list", "--region", "abc"), "--region"),
        (("ledger", "list", "--status", "待整修"), "--status"),
        (("ledger", "list", "--quarter", "2026"), "--quarter"),
    ):
        result = cli(*args)
        assert result.exit_code == 2 and option in result.stderr, (args, result.stderr)


def test_export_formats(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("accounts", "import", str(write_csv(tmp_path / "inv.csv", sample_rows(4))))
    for fmt in ("csv", "xlsx", "json"):
        out = tmp_path / f"e.{fmt}"
        assert cli("accounts", "export", "-o", str(out)).exit_code == 0
        assert out.stat().st_size > 0
        again = cli("accounts", "import", str(out))
        assert "无变化 4 个" in again.output


def test_db_may_be_a_sqlite_file_path_and_bad_urls_are_named(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "inv.csv", sample_rows(3))
    assert cli("accounts", "import", str(path)).exit_code == 0  # into cli.db, by URL
    runner = CliRunner()
    for db in ("cli.db", str(tmp_path / "cli.db"), f"sqlite:///{tmp_path / 'cli.db'}"):
        listed = runner.invoke(main, ["accounts", "list", "--json", "--db", db])
        assert listed.exit_code == 0, listed.output
        assert len(json.loads(listed.stdout)) == 3, db  # the same file, however it is named
    for db, message in (
        ("mysql://root@localhost/govmedia", "不支持的数据库 'mysql'"),
        ("postgresql://host:notaport/db", "无法识别的数据库地址"),
    ):
        refused = runner.invoke(main, ["accounts", "list", "--db", db])
        assert refused.exit_code == 2 and message in refused.output, refused.output


def test_database_url_puts_in_the_async_drivers() -> None:
    from registry.db import database_url

    assert database_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert (
        database_url("postgresql+psycopg2://u:p@h:5433/db") == "postgresql+asyncpg://u:p@h:5433/db"
    )
    assert database_url("sqlite:///./x.db") == "sqlite+aiosqlite:///./x.db"
    assert database_url("data/x.db") == "sqlite+aiosqlite:///data/x.db"
    assert database_url("/srv/x.db") == "sqlite+aiosqlite:////srv/x.db"
    with pytest.raises(ValueError, match="数据库地址为空"):
        database_url("  ")


def test_bad_settings_and_unusable_paths_are_errors_not_tracebacks(
    cli,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    runner = CliRunner()

    def bare(*args: str) -> click.testing.Result:
        return runner.invoke(main, list(args), catch_exceptions=False)

    cron = tmp_path / "cron.toml"
    cron.write_text('[daemon]\nsweep_cron = "1 2"\n', encoding="utf-8")
    result = bare("monitor", "daemon", "--config", str(cron), "--db", str(tmp_path / "d.db"))
    assert result.exit_code == 2 and "sweep_cron" in result.stderr
    low = tmp_path / "low.toml"
    low.write_text("[sampling]\nratio = 0.2\n", encoding="utf-8")
    point = ("--as-of", "2026-11-20T09:00:00")
    result = bare("monitor", "run", "--quarter", "2026Q4", *point, "--config", str(low))
    assert result.exit_code == 2 and "minimum_ratio" in result.stderr
    level = tmp_path / "level.toml"
    level.write_text('[logging]\nlevel = "verbose"\n', encoding="utf-8")
    assert bare("accounts", "list", "--config", str(level)).exit_code == 2
    result = bare("accounts", "list", "--db", "postgresql://nobody@127.0.0.1:1/x")
    assert result.exit_code == 1 and result.stderr.startswith("错误:")
    (tmp_path / "folder").mkdir()
    result = bare("accounts", "list", "--db", str(tmp_path / "folder"))
    assert result.exit_code == 1 and "不可用" in result.stderr
    assert cli("accounts", "export", "-o", str(tmp_path / "folder")).exit_code == 1
    result = cli("monitor", "run", "--quarter", "2026Q4", "--as-of", "9999-12-31T00:00:00")
    assert result.exit_code == 2 and "--as-of" in result.stderr
    result = cli("monitor", "run", "--quarter", "2027Q1", "--as-of", "2026-01-01T00:00:00")
    assert result.exit_code == 2 and "不在 2027Q1 (2027-01-01 至 2027-03-31) 内" in result.stderr
    result = cli("monitor", "run", "--quarter", "2099Q4", "--as-of", "2099-12-01T00:00:00")
    assert result.exit_code == 2 and "晚于现在" in result.stderr
    assert bare("serve", "--port", "99999").exit_code == 2
    result = cli(
        "report", "--quarter", "2026Q4", "-o", str(tmp_path / "b.html"), "--issued", "9999-12-31"
    )
    assert result.exit_code == 2 and "--issued" in result.stderr


def test_an_unusable_output_folder_or_port_is_an_error_not_a_traceback(
    cli,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    inside_a_file = str(tmp_path / "a-file" / "ledger.csv")
    for args in (
        ("ledger", "export", "--quarter", "2026Q4", "-o", inside_a_file),
        ("accounts", "export", "-o", inside_a_file),
    ):
        result = cli(*args)
        assert result.exit_code == 1 and "无法创建输出文件夹" in result.stderr, result.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("serve", "--host", "127.0.0.1", "--port", str(port))
    assert result.exit_code == 1 and f"无法在 127.0.0.1:{port} 上提供服务" in result.stderr


def test_run_summary_and_quarter_errors_speak_chinese(cli, capsys) -> None:  # type: ignore[no-untyped-def]
    from collections import Counter

    from govmedia.cli.monitor_commands import print_summary
    from monitor.run import RunSummary

    reasons = Counter({"timeout": 2, "no_feed": 1})
    print_summary(RunSummary(1, "2026Q4", "sample", False, 3, incomplete_by_reason=reasons))
    out = capsys.readouterr().out
    assert "访问超时 (timeout): 2" in out and "未登记订阅地址 (no_feed): 1" in out
    result = cli("sample", "show", "--quarter", "2026Q5")
    assert result.exit_code == 2 and "季度应写作 2026Q4 这样的形式" in result.stderr


def test_file_change_takes_chinese_field_names_and_explains_refusals(cli) -> None:  # type: ignore[no-untyped-def]
    opened = cli(
        "file", "open", "--platform", "微博", "--account-id", "zh", "--name", "平安锦江",
        "--sponsor", "成都市锦江区公安分局", "--region-code", "510104",
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    assert cli("file", "change", "微博:zh", "--set", "联系电话=028-1").exit_code == 0
    record = json.loads(cli("accounts", "show", "微博:zh", "--json").stdout)
    assert record["account"]["phone"] == "028-1"
    refused = cli("file", "change", "微博:zh", "--set", "平台=抖音")
    assert refused.exit_code == 1 and "请注销本账号, 再开设新账号" in refused.stderr
    assert "状态请用" not in refused.stderr
