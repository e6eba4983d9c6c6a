"""The ``[web]`` settings (config.toml documents every key)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8470
    secure_cookies: bool = False
    session_hours: float = 12
    login_max_attempts: int = 5
    login_window_s: float = 300
    dashboard_cache_s: float = 30
    page_size: int = 50
    list_cache_s: float = 5
    auth_cache_s: float = 5

    @classmethod
    def from_config(cls, settings: dict[str, Any]) -> WebSettings:
        web = settings.get("web", {})
        return cls(
            host=str(web["host"]),
            port=int(web["port"]),
            secure_cookies=bool(web["secure_cookies"]),
            session_hours=float(web["session_hours"]),
            login_max_attempts=int(web["login_max_attempts"]),
            login_window_s=float(web["login_window_s"]),
            dashboard_cache_s=float(web["dashboard_cache_s"]),
            page_size=int(web["page_size"]),
            list_cache_s=float(web["list_cache_s"]),
            auth_cache_s=float(web["auth_cache_s"]),
        )
