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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[daemon]\ncatch_up = "no"\n', r"daemon\.catch_up' 应为 true 或 false"),
        ('[fetch]\ntotal_timeout_s = "20"\n', r"fetch\.total_timeout_s' 应为 数字"),
        ("[fetch]\ntotal_timeout_s = inf\n", r"fetch\.total_timeout_s' 应为有限的数字"),
        ("[fetch]\nconcurrency = 5.5\n", r"fetch\.concurrency' 应为 整数"),
        ("[database]\nurl = 5\n", r"database\.url' 应为 文本"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_with_its_name(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(config.ConfigError, match=message):
        config.load(path)


def test_a_whole_number_stands_for_a_number(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[fetch]\ntotal_timeout_s = 20\n", encoding="utf-8")
    value = config.load(path)["fetch"]["total_timeout_s"]
    assert value == 20.0 and isinstance(value, float)


def test_unreadable_files_are_named_and_a_bom_is_fine(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="cannot read"):
        config.load(tmp_path)  # a folder
    gbk = tmp_path / "gbk.toml"
    gbk.write_bytes('[fetch]\nuser_agent = "政务"\n'.encode("gbk"))
    with pytest.raises(config.ConfigError, match="not UTF-8"):
        config.load(gbk)
    bom = tmp_path / "bom.toml"
    bom.write_text('[fetch]\nuser_agent = "政务"\n', encoding="utf-8-sig")
    assert config.load(bom)["fetch"]["user_agent"] == "政务"


def test_a_dictionary_path_is_read_from_the_config_files_folder(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    path = folder / "c.toml"
    path.write_text('[checks.wording_error]\nextra_dictionary = "words.txt"\n', encoding="utf-8")
    assert config.load(path)["checks"]["wording_error"]["extra_dictionary"] == str(
        folder / "words.txt"
    )


@pytest.mark.parametrize("value", ["-1", "1e9"])
def test_a_busy_timeout_out_of_range_is_refused_with_its_name(tmp_path: Path, value: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[database]\nbusy_timeout_s = {value}\n", encoding="utf-8")
    with pytest.raises(config.ConfigError, match=r"database\.busy_timeout_s' 应在 0 到 3600"):
        config.load(path)
