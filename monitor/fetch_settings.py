"""Settings of the feed fetcher: the ``[fetch]`` table of ``config.toml``."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_CONCURRENCY = 50


@dataclass(frozen=True, slots=True)
class HostLimits:
    """Limits for one host (and its subdomains): ``[fetch.hosts."weibo.com"]``."""

    concurrency: int | None = None  # requests in flight to the host; None = the global limit
    min_interval_s: float = 0.0  # least time between two requests sent to the host


@dataclass(frozen=True)
class FetchSettings:
    concurrency: int = DEFAULT_CONCURRENCY  # requests in flight in all (monitor run --concurrency)
    connect_timeout_s: float = 10.0
    total_timeout_s: float = 20.0  # one attempt: connect, headers and the whole body
    max_body_bytes: int = 5 * 1024 * 1024  # after decompression; read streamed, never whole
    retries: int = 2  # extra attempts after a transient failure (network, 5xx, 429)
    backoff_base_s: float = 1.0  # delay before retry n: base * 2**(n-1), jittered, capped
    backoff_cap_s: float = 30.0
    retry_after_cap_s: float = 60.0  # a longer Retry-After ends the fetch as rate_limited
    retry_timeouts: bool = False  # whether a total-timeout is retried (connect timeouts are)
    max_redirects: int = 5
    user_agent: str = "govmedia-monitor/0.1 (government new-media inspection)"
    parse_workers: int = 0  # parser processes; 0 = one per CPU
    parse_timeout_s: float = 30.0  # a feed that takes longer to parse is a parse_error
    hosts: Mapping[str, HostLimits] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("concurrency", "max_body_bytes", "max_redirects"):
            if getattr(self, name) < 1:
                raise ValueError(f"fetch.{name} must be at least 1")
        for name in ("connect_timeout_s", "total_timeout_s", "parse_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"fetch.{name} must be positive")
        if self.retries < 0 or self.parse_workers < 0:
            raise ValueError("fetch.retries and fetch.parse_workers must not be negative")
        for host, limits in self.hosts.items():
            if limits.concurrency is not None and limits.concurrency < 1:
                raise ValueError(f'fetch.hosts."{host}".concurrency must be at least 1')
            if limits.min_interval_s < 0:
                raise ValueError(f'fetch.hosts."{host}".min_interval_s must not be negative')

    @classmethod
    def from_config(cls, mapping: Mapping[str, Any]) -> FetchSettings:
        """Build from the parsed ``[fetch]`` table; unknown keys and wrong types are refused."""
        kwargs: dict[str, Any] = {}
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for key, value in mapping.items():
            if key == "hosts":
                kwargs["hosts"] = _hosts_from_config(value)
                continue
            if key not in fields:
                raise ValueError(f"fetch.{key}: unknown setting")
            default = fields[key].default
            if isinstance(default, bool):
                ok = isinstance(value, bool)
            elif isinstance(default, int):
                ok = isinstance(value, int) and not isinstance(value, bool)
            elif isinstance(default, float):
                ok = isinstance(value, int | float) and not isinstance(value, bool)
                value = float(value)
            else:
                ok = isinstance(value, str)
            if not ok:
                raise ValueError(f"fetch.{key}: expected {type(default).__name__}, got {value!r}")
            kwargs[key] = value
        return cls(**kwargs)

    def with_concurrency(self, concurrency: int | None) -> FetchSettings:
        """These settings with the global limit replaced (``monitor run --concurrency N``)."""
        if concurrency is None:
            return self
        return dataclasses.replace(self, concurrency=concurrency)

    def limits_for(self, host: str) -> tuple[str, HostLimits]:
        """The host-table key that governs ``host`` (itself or a parent domain) and its limits.

        Hosts not in the table get their own key and the defaults: the global concurrency and
        no minimum interval, so a single feed gateway can serve a whole run.
        """
        host = host.lower().rstrip(".")
        probe = host
        while True:
            if probe in self.hosts:
                return probe, self.hosts[probe]
            if "." not in probe:
                return host, HostLimits()
            probe = probe.split(".", 1)[1]


def _hosts_from_config(table: Any) -> dict[str, HostLimits]:
    if not isinstance(table, Mapping):
        raise ValueError("fetch.hosts must be a table of host tables")
    hosts: dict[str, HostLimits] = {}
    for host, limits in table.items():
        if not isinstance(limits, Mapping):
            raise ValueError(f'fetch.hosts."{host}" must be a table')
        unknown = set(limits) - {"concurrency", "min_interval_s"}
        if unknown:
            raise ValueError(f'fetch.hosts."{host}": unknown setting {sorted(unknown)[0]}')
        concurrency = limits.get("concurrency")
        interval = limits.get("min_interval_s", 0.0)
        if concurrency is not None and (
            not isinstance(concurrency, int) or isinstance(concurrency, bool)
        ):
            raise ValueError(f'fetch.hosts."{host}".concurrency: expected an integer')
        if not isinstance(interval, int | float) or isinstance(interval, bool):
            raise ValueError(f'fetch.hosts."{host}".min_interval_s: expected a number')
        hosts[str(host).lower()] = HostLimits(concurrency, float(interval))
    return hosts
