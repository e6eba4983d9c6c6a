"""A simulated platform: many accounts' feeds, with latency and injected faults.

Used by the tests, the end-to-end demo and the benchmarks. Feeds are served at
``/feed/{account_id}``; what each account does is an :class:`AccountBehaviour`::

    config = SimConfig(latency_s=0.1, accounts={"a404": AccountBehaviour(fault=Fault.NOT_FOUND)})
    async with running(config) as sim:        # 127.0.0.1, a free port
        url = sim.feed_url("a404")             # http://127.0.0.1:PORT/feed/a404
        ...
        sim.state.requests["a404"]             # requests seen for that account

or standalone: ``python -m monitor.simserver --port 8080 --latency-ms 100 --fault-mix gone=0.01``.

Content is deterministic per account (titles, links, bodies) and dated relative to
``SimConfig.now``; responses carry ``ETag`` and ``Last-Modified`` and answer conditional requests
with 304; bodies are gzip-compressed when the client accepts it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from enum import StrEnum

from aiohttp import web

from monitor import sim_content
from monitor.feeds import SHANGHAI


class Fault(StrEnum):
    NONE = "none"
    ERROR_THEN_OK = "error_then_ok"  # 500 for the first ``fail_times`` requests, then the feed
    ALWAYS_ERROR = "always_error"  # 503 every time (a platform outage)
    RATE_LIMITED = "rate_limited"  # 429 + Retry-After for the first ``fail_times``, then the feed
    RESET_THEN_OK = "reset_then_ok"  # connection dropped for ``fail_times`` requests, then the feed
    NOT_FOUND = "not_found"  # 404
    GONE = "gone"  # 410
    CHALLENGE = "challenge"  # 403 with an anti-bot challenge page
    SLOW = "slow"  # answers after ``slow_s``
    TRICKLE = "trickle"  # headers at once, then the body a chunk every ``slow_s``
    OVERSIZED = "oversized"  # streams ``oversized_bytes`` without a Content-Length
    MALFORMED = "malformed"  # 200 with ill-formed XML holding no item
    DORMANT = "dormant"  # newest item ``dormant_age`` old
    EMPTY = "empty"  # a valid feed that never published anything


@dataclass(frozen=True, slots=True)
class AccountBehaviour:
    fault: Fault = Fault.NONE
    format: str = "rss"  # rss | atom | json
    encoding: str = "utf-8"  # e.g. gb18030 (XML formats only)
    date_style: str = "rfc822"  # rfc822 | iso | chinese | naive (RSS only)
    items: int = 20
    item_bytes: int = 3000
    newest_age: timedelta = timedelta(hours=6)  # age of the newest item at ``SimConfig.now``
    spacing: timedelta = timedelta(days=1)  # between consecutive items
    dormant_age: timedelta = timedelta(days=100)
    fail_times: int = 1
    retry_after_s: float = 1.0
    slow_s: float = 30.0
    oversized_bytes: int = 64 * 1024 * 1024
    latency_s: float | None = None  # overrides ``SimConfig.latency_s``


@dataclass(frozen=True, slots=True)
class RequestRecord:
    account_id: str
    at: float  # time.monotonic() on arrival
    headers: Mapping[str, str]


@dataclass
class SimConfig:
    now: datetime | None = None  # default: the time the app is created, Asia/Shanghai
    latency_s: float = 0.0
    gzip: bool = True
    gzip_level: int = 1
    accounts: Mapping[str, AccountBehaviour] = field(default_factory=dict)
    default: AccountBehaviour = field(default_factory=AccountBehaviour)
    # share of the other accounts given each fault, chosen by a stable hash of the account id
    fault_mix: Mapping[Fault, float] = field(default_factory=dict)
    record_requests: bool = False  # keep a RequestRecord per request in ``SimState.log``
    # keep every body served (rendered and compressed once): a benchmark fetches every feed
    # once before it times a run, so that the server's CPU in the run is the HTTP exchange only
    cache_bodies: bool = False

    def behaviour(self, account_id: str) -> AccountBehaviour:
        if account_id in self.accounts:
            return self.accounts[account_id]
        if self.fault_mix:
            point = (sim_content.account_seed(account_id) % 1_000_000) / 1_000_000
            for fault, share in self.fault_mix.items():
                if point < share:
                    return _replace_fault(self.default, fault)
                point -= share
        return self.default


def _replace_fault(base: AccountBehaviour, fault: Fault) -> AccountBehaviour:
    return replace(base, fault=fault)


@dataclass
class SimState:
    requests: Counter[str] = field(default_factory=Counter)  # by account id
    statuses: Counter[int] = field(default_factory=Counter)
    not_modified: int = 0
    streamed_bytes: Counter[str] = field(default_factory=Counter)  # OVERSIZED/TRICKLE bytes sent
    log: list[RequestRecord] = field(default_factory=list)
    bodies: dict[tuple[str, bool], tuple[bytes, str]] = field(default_factory=dict)


SIM_CONFIG = web.AppKey("sim_config", SimConfig)
SIM_STATE = web.AppKey("sim_state", SimState)
_NOW = web.AppKey("sim_now", datetime)


def create_app(config: SimConfig | None = None) -> web.Application:
    config = config or SimConfig()
    app = web.Application()
    app[SIM_CONFIG] = config
    app[SIM_STATE] = SimState()
    app[_NOW] = (config.now or datetime.now(SHANGHAI)).replace(microsecond=0)
    app.router.add_get("/feed/{account_id}", _handle_feed)
    return app


def _gzip(body: bytes, level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    return compressor.compress(body) + compressor.flush()


async def _handle_feed(request: web.Request) -> web.StreamResponse:
    config = request.app[SIM_CONFIG]
    state = request.app[SIM_STATE]
    account_id = request.match_info["account_id"]
    state.requests[account_id] += 1
    seen = state.requests[account_id]
    if config.record_requests:
        state.log.append(RequestRecord(account_id, time.monotonic(), dict(request.headers)))
    behaviour = config.behaviour(account_id)
    latency = config.latency_s if behaviour.latency_s is None else behaviour.latency_s
    if latency > 0:
        await asyncio.sleep(latency)
    fault = behaviour.fault
    response = await _faulty_response(request, behaviour, seen, state)
    if response is None:
        response = _feed_response(request, behaviour, config, request.app[_NOW])
    if fault is Fault.SLOW:
        await asyncio.sleep(behaviour.slow_s)
    state.statuses[response.status] += 1
    return response


async def _faulty_response(
    request: web.Request, behaviour: AccountBehaviour, seen: int, state: SimState
) -> web.StreamResponse | None:
    fault = behaviour.fault
    failing = seen <= behaviour.fail_times
    if fault is Fault.ERROR_THEN_OK and failing:
        return web.Response(status=500, text="internal error")
    if fault is Fault.ALWAYS_ERROR:
        return web.Response(status=503, text="service unavailable")
    if fault is Fault.RATE_LIMITED and failing:
        retry_after = f"{behaviour.retry_after_s:g}"
        return web.Response(
            status=429, text="too many requests", headers={"Retry-After": retry_after}
        )
    if fault is Fault.RESET_THEN_OK and failing:
        if request.transport is not None:
            request.transport.close()
        raise asyncio.CancelledError  # aiohttp drops the connection without an answer
    if fault is Fault.NOT_FOUND:
        return web.Response(status=404, text="not found")
    if fault is Fault.GONE:
        return web.Response(status=410, text="gone")
    if fault is Fault.CHALLENGE:
        return web.Response(
            status=403, body=sim_content.CHALLENGE_PAGE, content_type="text/html", charset="utf-8"
        )
    if fault is Fault.MALFORMED:
        return web.Response(body=sim_content.MALFORMED, content_type="application/rss+xml")
    if fault in (Fault.OVERSIZED, Fault.TRICKLE):
        return await _stream(request, behaviour, state)
    return None


async def _stream(
    request: web.Request, behaviour: AccountBehaviour, state: SimState
) -> web.StreamResponse:
    account_id = request.match_info["account_id"]
    response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
    await response.prepare(request)
    chunk = b'<?xml version="1.0"?><rss version="2.0"><channel>' + b" " * 65536
    total = behaviour.oversized_bytes if behaviour.fault is Fault.OVERSIZED else 10 * len(chunk)
    try:
        while state.streamed_bytes[account_id] < total:
            await response.write(chunk)
            state.streamed_bytes[account_id] += len(chunk)
            if behaviour.fault is Fault.TRICKLE:
                await asyncio.sleep(behaviour.slow_s)
        await response.write_eof()
    except (ConnectionError, RuntimeError):  # the client went away, as it should
        pass
    return response


def _feed_response(
    request: web.Request, behaviour: AccountBehaviour, config: SimConfig, now: datetime
) -> web.Response:
    account_id = request.match_info["account_id"]
    newest_age = behaviour.dormant_age if behaviour.fault is Fault.DORMANT else behaviour.newest_age
    newest = now - newest_age
    items = 0 if behaviour.fault is Fault.EMPTY else behaviour.items
    etag = f'"{sim_content.account_seed(account_id):x}-{int(newest.timestamp())}-{items}"'
    last_modified = format_datetime(newest.astimezone(UTC), usegmt=True)
    headers = {"ETag": etag, "Last-Modified": last_modified}
    if _not_modified(request, etag, newest):
        request.app[SIM_STATE].not_modified += 1
        return web.Response(status=304, headers=headers)
    gzipped = config.gzip and "gzip" in request.headers.get("Accept-Encoding", "")
    cache = request.app[SIM_STATE].bodies
    cached = cache.get((account_id, gzipped))
    if cached is None:
        body, content_type = sim_content.render(
            account_id,
            fmt=behaviour.format,
            items=items,
            item_bytes=behaviour.item_bytes,
            newest=newest,
            spacing=behaviour.spacing,
            date_style=behaviour.date_style,
            build_date=now,  # like RSSHub: the render time, not an item's date
            encoding=behaviour.encoding,
        )
        if gzipped:
            body = _gzip(body, config.gzip_level)
        cached = (body, content_type)
        if config.cache_bodies:
            cache[(account_id, gzipped)] = cached
    body, headers["Content-Type"] = cached
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return web.Response(body=body, headers=headers)


def _not_modified(request: web.Request, etag: str, newest: datetime) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        return etag in {tag.strip() for tag in if_none_match.split(",")} or if_none_match == "*"
    if_modified_since = request.headers.get("If-Modified-Since")
    if if_modified_since:
        try:
            return newest.replace(microsecond=0) <= parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
    return False


@dataclass
class RunningSim:
    runner: web.AppRunner
    url: str  # http://127.0.0.1:PORT
    app: web.Application

    @property
    def state(self) -> SimState:
        return self.app[SIM_STATE]

    def feed_url(self, account_id: str) -> str:
        return f"{self.url}/feed/{account_id}"

    async def close(self) -> None:
        await self.runner.cleanup()


async def start(
    config: SimConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningSim:
    """Start the simulated platform on ``host:port`` (0 = a free port) in this event loop."""
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    server = site._server
    assert server is not None and server.sockets  # type: ignore[attr-defined]
    bound = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    return RunningSim(runner=runner, url=f"http://{host}:{bound}", app=app)


@contextlib.asynccontextmanager
async def running(config: SimConfig | None = None) -> AsyncIterator[RunningSim]:
    sim = await start(config)
    try:
        yield sim
    finally:
        await sim.close()


def _parse_mix(text: str) -> dict[Fault, float]:
    mix: dict[Fault, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, share = part.partition("=")
        mix[Fault(name.strip())] = float(share)
    return mix


async def _serve(args: argparse.Namespace) -> None:
    config = SimConfig(
        now=datetime.fromisoformat(args.now) if args.now else None,
        latency_s=args.latency_ms / 1000,
        gzip=not args.no_gzip,
        fault_mix=_parse_mix(args.fault_mix),
        cache_bodies=args.cache_bodies,
        default=AccountBehaviour(items=args.items, item_bytes=args.item_bytes),
    )
    sim = await start(config, args.host, args.port)
    print(f"simserver listening on {sim.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await sim.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m monitor.simserver",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 = a free port (printed)")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--item-bytes", type=int, default=3000)
    parser.add_argument("--no-gzip", action="store_true")
    parser.add_argument("--now", help="ISO 8601 time the feeds are dated against")
    parser.add_argument(
        "--cache-bodies", action="store_true", help="keep every body served (for benchmarks)"
    )
    parser.add_argument(
        "--fault-mix", default="", help="e.g. gone=0.01,dormant=0.05 (share of accounts per fault)"
    )
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    sys.exit(0)


if __name__ == "__main__":
    main()
