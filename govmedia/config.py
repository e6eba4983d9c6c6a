"""Settings: the documented defaults in ``config.toml``, overlaid by the user's file.

The repository's ``config.toml`` is the single source of defaults (the package reads it as
``defaults.toml``). A user file may set any subset; a key the defaults do not know is refused
so that a typo never silently falls back to a default. Tables listed in ``OPEN_TABLES`` accept
keys of the user's choosing (for example per-host fetch limits).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

OPEN_TABLES = frozenset({"fetch.hosts", "ledger.calendar"})
DEFAULT_PATH = Path("config.toml")
# Settings naming a file: a relative path is read from the configuration file's folder.
PATH_KEYS = (("checks", "wording_error", "extra_dictionary"),)
_KINDS = {bool: "true 或 false", int: "整数", float: "数字", str: "文本", list: "列表"}
# Bounds of the settings no object built from them checks (most are checked where they are used).
RANGES = {"database.busy_timeout_s": (0.0, 3600.0)}


class ConfigError(Exception):
    """The configuration file cannot be used; the message names the file and key."""


def load_defaults() -> dict[str, Any]:
    text = resources.files("govmedia").joinpath("defaults.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def load(path: Path | None = None) -> dict[str, Any]:
    """Defaults overlaid by ``path`` (or ``./config.toml`` when it exists)."""
    settings = load_defaults()
    if path is None:
        if not DEFAULT_PATH.exists():
            return settings
        path = DEFAULT_PATH
    try:
        user = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file") from exc
    except OSError as exc:  # a folder, no permission
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    _overlay(settings, user, path, prefix="")
    for keys in PATH_KEYS:
        table = settings
        for key in keys[:-1]:
            table = table[key]
        value = table[keys[-1]]
        if value and not Path(value).is_absolute():
            table[keys[-1]] = str(path.parent / value)
    return settings


def _overlay(base: dict[str, Any], user: Mapping[str, Any], path: Path, prefix: str) -> None:
    for key, value in user.items():
        dotted = f"{prefix}{key}"
        if prefix.rstrip(".") in OPEN_TABLES:
            base[key] = value
        elif key not in base:
            raise ConfigError(f"{path}: unknown setting '{dotted}'")
        elif isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: '{dotted}' must be a table")
            _overlay(base[key], value, path, prefix=f"{dotted}.")
        else:
            base[key] = _checked(base[key], value, path, dotted)
            low, high = RANGES.get(dotted, (None, None))
            if low is not None and not low <= base[key] <= high:
                raise ConfigError(
                    f"{path}: '{dotted}' 应在 {low:g} 到 {high:g} 之间, 而不是 {value!r}"
                )


def _checked(default: Any, value: Any, path: Path, dotted: str) -> Any:
    """``value`` when it has the default's type (an integer may stand for a number)."""
    kind = type(default)
    fits = (
        isinstance(value, (int, float)) and not isinstance(value, bool)
        if kind is float
        else type(value) is kind
    )
    if not fits:
        raise ConfigError(
            f"{path}: '{dotted}' 应为 {_KINDS.get(kind, kind.__name__)}, 而不是 {value!r}"
        )
    if kind is float and not math.isfinite(value):
        raise ConfigError(f"{path}: '{dotted}' 应为有限的数字, 而不是 {value!r}")
    return float(value) if kind is float else value
