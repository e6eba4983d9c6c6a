from pathlib import Path

import pytest

from govmedia import config

ROOT = Path(__file__).resolve().parents[1]


def test_packaged_defaults_are_the_repository_config() -> None:
    import tomllib

    assert config.load_defaults() == tomllib.loads((ROOT / "config.toml").read_text("utf-8"))


def test_user_file_overrides_one_key(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[database]\nurl = "sqlite+aiosqlite:///x.db"\n', encoding="utf-8")
    settings = config.load(path)
    assert settings["database"]["url"] == "sqlite+aiosqlite:///x.db"
    assert (
        settings["database"]["busy_timeout_s"]
        == config.load_defaults()["database"]["busy_timeout_s"]
    )


def test_unknown_key_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[database]\nurll = 1\n", encoding="utf-8")
    with pytest.raises(config.ConfigError, match=r"database\.urll"):
        config.load(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="no such file"):
        config.load(tmp_path / "absent.toml")
