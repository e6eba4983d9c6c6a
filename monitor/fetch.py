"""Fetching account feeds: one HTTP session, polite limits, retries, and an outcome for each.

    async with Fetcher(FetchSettings.from_config(config["fetch"])) as fetcher:
        result = await fetcher.fetch(url, etag=prev.etag, last_modified=prev.last_modified,
                                     previous_posts=prev.posts)
        fetcher.host_stats["weibo.com"].failure_ratio

``fetch`` never raises for network, HTTP or parse problems: every outcome is a
:class:`FetchResult` whose ``status`` is one of :class:`checks.model.FetchStatus`.

Limits: a global semaphore (``concurrency``) and, per host (or parent domain listed in the host
table), a semaphore and a minimum interval between requests sent; a 429 pauses its whole host for
its Retry-After. Processes sharing a database (``monitor worker``) share a host's minimum
interval through a ``pacer`` (``registry.host_pace``). The global slot is held from the request
until the body is parsed, so at most ``concurrency`` bodies are ever held in memory whatever the
number of accounts; the host slot is released once the body is read. Slots are released while a
retry waits its backoff.
"""

from __future__ import annotations

import asyncio
import random
import time
import zlib
from collections import defaultdict, deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
    Sequence,
)
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from operator import attrgetter
from types import TracebackType
from typing import Self, TypeVar
from urllib.parse import urljoin, urlsplit

import aiohttp
import structlog

from checks.model import FetchStatus, Post
from monitor import batching, content_coding
from monitor.feed_workers import ParsePool
from monitor.feeds import looks_like_challenge
from monitor.fetch_settings import DEFAULT_CONCURRENCY, FetchSettings, HostLimits
from monitor.fetch_types import OUTSIDE_ACCOUNT, FetchRequest, FetchResult, HostStats
from registry import feed_copy

__all__ = [
    "DEFAULT_CONCURRENCY",
    "OUTSIDE_ACCOUNT",
    "FetchRequest",
    "FetchResult",
    "FetchSettings",
    "Fetcher",
    "HostLimits",
    "HostStats",
    "ParsePool",
    "interleave_by_host",
]

log = structlog.get_logger(__name__)
T = TypeVar("T")

#: (host key, minimum interval) -> seconds to wait before sending: the host's next send time,
#: reserved with the other processes that pace the same host
Pacer = Callable[[str, float], Awaitable[float]]
_PACER_TIMEOUT_S = 5.0

_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
_ERROR_BODY_LIMIT = 65536
_REDIRECTS = frozenset((301, 302, 303, 307, 308))


@dataclass
class _Host:
    key: str
    limits: HostLimits
    semaphore: asyncio.Semaphore
    pace_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_send: float = float("-inf")
    paused_until: float = 0.0
    stats: HostStats = field(default_factory=HostStats)
    pacer_failing: bool = False  # the shared pace could not be reserved last time (logged once)


@dataclass(frozen=True, slots=True)
class _Body:
    """A 2xx body as the server sent it (within the cap), for the parser processes to decode."""

    raw: bytes
    content_type: str | None
    coding: str


@dataclass(slots=True)
class _Outcome:
    status: FetchStatus
    http_status: int | None = None
    error: str | None = None
    retryable: bool = False
    retry_after_s: float | None = None
    result: FetchResult | None = None  # filled for a response that ends the fetch as is
    redirect_to: str | None = None  # a redirect's target, fetched next under its own host


class Fetcher:
    """Owns one aiohttp session and the parser pool; use as ``async with Fetcher(...)``."""

    def __init__(
        self,
        settings: FetchSettings | None = None,
        *,
        pool: ParsePool | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        """``pool``: a started parser pool to use (and leave open) instead of an own one;
        ``pacer``: keep hosts' minimum intervals with other processes too."""
        self.settings = settings or FetchSettings()
        self._lent_pool = pool
        self._pacer = pacer
        self._session: aiohttp.ClientSession | None = None
        self._pool: ParsePool | None = None
        self._global = asyncio.Semaphore(self.settings.concurrency)
        self._hosts: dict[str, _Host] = {}
        self._random = random.Random()

    async def __aenter__(self) -> Self:
        s = self.settings
        connector = aiohttp.TCPConnector(limit=s.concurrency, limit_per_host=0, ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=None, connect=s.connect_timeout_s, sock_connect=s.connect_timeout_s
            ),
            headers={
                "User-Agent": s.user_agent,
                "Accept": _ACCEPT,
                "Accept-Encoding": content_coding.ACCEPT_ENCODING,
            },
            cookie_jar=aiohttp.DummyCookieJar(),  # no state carried from one account to another
        )
        try:
            if self._lent_pool is not None:
                self._pool = self._lent_pool
            else:
                self._pool = ParsePool(s.parse_workers, s.parse_timeout_s)
                await self._pool.start()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
        if self._pool is not None and self._pool is not self._lent_pool:
            await self._pool.close()
        self._pool = None

    def parse_cpu(self) -> tuple[float, float] | None:
        """(median, mean) CPU seconds of one feed's parse in the parser processes so far."""
        return self._pool.parse_cpu() if self._pool is not None else None

    @property
    def host_stats(self) -> dict[str, HostStats]:
        """Per host-table key (or host): attempts and outcomes so far in this run."""
        return {key: host.stats for key, host in self._hosts.items()}

    def _host(self, hostname: str) -> _Host:
        key, limits = self.settings.limits_for(hostname)
        host = self._hosts.get(key)
        if host is None:
            total = self.settings.concurrency
            permits = min(limits.concurrency or total, total)
            host = self._hosts[key] = _Host(key, limits, asyncio.Semaphore(permits))
        return host

    async def fetch(
        self,
        url: str,
        etag: str | None = None,
        last_modified: str | None = None,
        previous_posts: Sequence[Post] | None = None,
    ) -> FetchResult:
        """Read and parse the feed at ``url``; on a 304 ``posts`` is ``previous_posts``."""
        if self._session is None or self._pool is None:
            raise RuntimeError("use Fetcher as 'async with Fetcher(...) as fetcher'")
        started = time.monotonic()
        hostname = _http_hostname(url)
        if hostname is None:
            result = FetchResult(url, FetchStatus.NETWORK, error="not an http(s) URL", host="")
            log.info("fetch.done", url=url, status=result.status, error=result.error)
            return result
        host = self._host(hostname)
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        attempts = 0
        while True:
            attempts += 1
            outcome = await self._follow(host, url, headers)
            host.stats.attempts += 1
            host.stats.attempt_statuses[outcome.status] += 1
            if not outcome.retryable or attempts > self.settings.retries:
                break
            delay = self._retry_delay(attempts, outcome.retry_after_s)
            if delay is None:
                break
            log.info(
                "fetch.retry",
                url=url,
                attempt=attempts,
                status=outcome.status,
                http_status=outcome.http_status,
                delay_s=round(delay, 3),
            )
            await asyncio.sleep(delay)
        result = outcome.result or FetchResult(
            url,
            outcome.status,
            outcome.http_status,
            error=outcome.error,
            retry_after_s=outcome.retry_after_s,
        )
        result.url = url  # the account's address, wherever its redirects led
        result.attempts = attempts
        result.elapsed_s = time.monotonic() - started
        result.host = host.key
        if result.status is FetchStatus.NOT_MODIFIED:
            result.posts = list(previous_posts) if previous_posts is not None else None
            result.etag = result.etag or etag
            result.last_modified = result.last_modified or last_modified
        host.stats.fetches += 1
        host.stats.by_status[result.status] += 1
        level = "warning" if result.outside_account else ("info" if not result.ok else "debug")
        getattr(log, level)(
            "fetch.done",
            url=url,
            status=result.status,
            http_status=result.http_status,
            attempts=attempts,
            error=result.error,
            elapsed_s=round(result.elapsed_s, 3),
        )
        return result

    def _retry_delay(self, attempt: int, retry_after: float | None) -> float | None:
        s = self.settings
        if retry_after is not None:
            return retry_after if retry_after <= s.retry_after_cap_s else None
        ceiling = min(s.backoff_cap_s, s.backoff_base_s * 2 ** (attempt - 1))
        return ceiling / 2 + self._random.uniform(0, ceiling / 2)  # "equal jitter"

    async def _wait_turn(self, host: _Host) -> None:
        """Honour the host's minimum interval and pause, then take a global slot."""
        if host.limits.min_interval_s <= 0 and host.paused_until <= time.monotonic():
            await self._global.acquire()
            return
        async with host.pace_lock:
            if self._pacer is not None and host.limits.min_interval_s > 0:
                await self._shared_turn(host, self._pacer)
                return
            due = max(host.last_send + host.limits.min_interval_s, host.paused_until)
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await self._global.acquire()
            host.last_send = time.monotonic()

    async def _shared_turn(self, host: _Host, pacer: Pacer) -> None:
        """Take a global slot, then the host's next send time from the pacer, and wait for it
        (the slot is held meanwhile: a reserved time must not be missed). A pacer that fails or
        hangs (the database away) leaves this process pacing itself alone."""
        await self._global.acquire()
        try:
            interval = host.limits.min_interval_s
            try:
                async with asyncio.timeout(_PACER_TIMEOUT_S):
                    shared = await pacer(host.key, interval)
            except Exception as exc:
                if not host.pacer_failing:
                    log.warning("fetch.shared_pace_failed", host=host.key, error=repr(exc))
                host.pacer_failing, shared = True, 0.0
            else:
                if host.pacer_failing:
                    log.info("fetch.shared_pace_restored", host=host.key)
                host.pacer_failing = False
            now = time.monotonic()
            delay = max(shared, host.last_send + interval - now, host.paused_until - now)
            if delay > 0:
                await asyncio.sleep(delay)
            host.last_send = time.monotonic()
        except BaseException:
            self._global.release()
            raise

    async def _follow(self, host: _Host, url: str, headers: dict[str, str]) -> _Outcome:
        """One attempt: the request, then each redirect under its own host's limits and pace
        (a gateway that redirects to a platform must not bypass the platform's)."""
        hops = 0
        while True:
            outcome = await self._attempt(host, url, headers)
            if outcome.redirect_to is None:
                return outcome
            hops += 1
            if hops > self.settings.max_redirects:
                return _Outcome(FetchStatus.HTTP_ERROR, outcome.http_status, "too many redirects")
            url = outcome.redirect_to
            hostname = _http_hostname(url)
            if hostname is None:
                error = f"redirected to a URL that is not http(s): {url}"[:300]
                return _Outcome(FetchStatus.HTTP_ERROR, outcome.http_status, error)
            host = self._host(hostname)

    async def _attempt(self, host: _Host, url: str, headers: dict[str, str]) -> _Outcome:
        await host.semaphore.acquire()
        host_held = True
        try:
            await self._wait_turn(host)
            try:
                outcome, body = await self._request(url, headers)
                host.semaphore.release()
                host_held = False
                if outcome.status is FetchStatus.RATE_LIMITED:
                    pause = min(outcome.retry_after_s or 0.0, self.settings.retry_after_cap_s)
                    host.paused_until = max(host.paused_until, time.monotonic() + pause)
                if body is not None and outcome.result is not None:
                    await self._parse(outcome.result, body)
                return outcome
            finally:
                self._global.release()
        finally:
            if host_held:
                host.semaphore.release()

    async def _parse(self, result: FetchResult, body: _Body) -> None:
        assert self._pool is not None
        parsed = await self._pool.parse(
            body.raw,
            body.content_type,
            result.final_url or result.url,
            body.coding,
            self.settings.max_body_bytes,
        )
        result.feed_title = parsed.title
        result.feed_format = parsed.format
        result.bozo = parsed.bozo
        result.body_bytes = parsed.body_bytes
        if parsed.ok:
            result.posts = parsed.posts
            result.stored_feed = parsed.stored or feed_copy.pack(
                body.raw, body.coding, body.content_type
            )
        else:
            if parsed.body_fault is not None:
                result.status = parsed.body_fault
            elif parsed.challenge:
                result.status = FetchStatus.BLOCKED
            else:
                result.status = FetchStatus.PARSE_ERROR
            result.error = parsed.error

    async def stored_posts(self, blob: bytes, url: str) -> list[Post] | None:
        """The posts of the feed copy an earlier fetch kept (``registry.feed_copy``), parsed
        again; ``None`` when it cannot be read."""
        if self._pool is None:
            raise RuntimeError("use Fetcher as 'async with Fetcher(...) as fetcher'")
        try:
            kept = feed_copy.unpack(blob)
        except (TypeError, ValueError, zlib.error) as exc:  # not a copy this code kept
            log.warning("fetch.stored_copy_unreadable", url=url, error=repr(exc))
            return None
        if isinstance(kept, list):
            return kept
        parsed = await self._pool.parse(
            kept.body, kept.content_type, url, kept.coding, self.settings.max_body_bytes
        )
        return parsed.posts if parsed.ok else None

    async def _request(self, url: str, headers: dict[str, str]) -> tuple[_Outcome, _Body | None]:
        """One HTTP exchange; the body is returned only for a 2xx within the size cap."""
        assert self._session is not None
        s = self.settings
        try:
            async with (
                asyncio.timeout(s.total_timeout_s),
                self._session.get(
                    url, headers=headers, allow_redirects=False, auto_decompress=False
                ) as resp,
            ):
                return await self._classify(url, resp)
        except aiohttp.ConnectionTimeoutError as exc:
            return (
                _Outcome(FetchStatus.TIMEOUT, error=f"connect timeout: {exc}", retryable=True),
                None,
            )
        except TimeoutError:
            return (
                _Outcome(
                    FetchStatus.TIMEOUT,
                    error=f"no complete answer in {s.total_timeout_s:g} s",
                    retryable=s.retry_timeouts,
                ),
                None,
            )
        except (aiohttp.InvalidURL, ValueError) as exc:
            return _Outcome(FetchStatus.NETWORK, error=f"invalid URL: {exc}"), None
        except (aiohttp.ClientError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
            return _Outcome(FetchStatus.NETWORK, error=error, retryable=True), None
        except Exception as exc:  # a corner of aiohttp: still an outcome, never an exception
            log.exception("fetch.unexpected_error", url=url)
            error = f"{type(exc).__name__}: {exc}"[:300]
            return _Outcome(FetchStatus.NETWORK, error=error), None

    async def _classify(
        self, url: str, resp: aiohttp.ClientResponse
    ) -> tuple[_Outcome, _Body | None]:
        status = resp.status
        if 200 <= status < 300:
            result = FetchResult(
                url,
                FetchStatus.OK,
                status,
                etag=resp.headers.get("ETag"),
                last_modified=resp.headers.get("Last-Modified"),
                final_url=str(resp.url),
            )
            cap = self.settings.max_body_bytes
            body = await _read_capped(resp, cap)
            if body is None:
                result.status = FetchStatus.TOO_LARGE
                result.error = f"body larger than {cap} bytes"
                return _Outcome(result.status, status, result.error, result=result), None
            coding = content_coding.normalise(resp.headers.get("Content-Encoding"))
            return (
                _Outcome(FetchStatus.OK, status, result=result),
                _Body(body, resp.headers.get("Content-Type"), coding),
            )
        if status in _REDIRECTS and "Location" in resp.headers:
            target = urljoin(str(resp.url), resp.headers["Location"].strip())
            return _Outcome(FetchStatus.HTTP_ERROR, status, redirect_to=target), None
        head = await _read_capped(resp, _ERROR_BODY_LIMIT, truncate=True) or b""
        try:
            head = content_coding.decode(
                head, resp.headers.get("Content-Encoding"), _ERROR_BODY_LIMIT, partial=True
            )
        except content_coding.BadCoding:
            head = b""
        if status == 304:
            result = FetchResult(
                url,
                FetchStatus.NOT_MODIFIED,
                status,
                etag=resp.headers.get("ETag"),
                last_modified=resp.headers.get("Last-Modified"),
            )
            return _Outcome(FetchStatus.NOT_MODIFIED, status, result=result), None
        if status in (404, 410):
            return _Outcome(FetchStatus.GONE, status, f"HTTP {status}"), None
        if status == 403:
            if resp.headers.get("cf-mitigated") == "challenge" or looks_like_challenge(head):
                return _Outcome(FetchStatus.BLOCKED, status, "HTTP 403 challenge page"), None
            return _Outcome(FetchStatus.HTTP_ERROR, status, "HTTP 403"), None
        retry_after = _retry_after(resp.headers.get("Retry-After"))
        if status == 429:
            return (
                _Outcome(
                    FetchStatus.RATE_LIMITED,
                    status,
                    "HTTP 429",
                    retryable=True,
                    retry_after_s=retry_after,
                ),
                None,
            )
        if status >= 500:
            return (
                _Outcome(
                    FetchStatus.HTTP_ERROR,
                    status,
                    f"HTTP {status}",
                    retryable=True,
                    retry_after_s=retry_after if status == 503 else None,
                ),
                None,
            )
        return _Outcome(FetchStatus.HTTP_ERROR, status, f"HTTP {status}"), None

    async def fetch_many(
        self,
        requests: Iterable[FetchRequest] | AsyncIterable[FetchRequest],
        *,
        window: int | None = None,
    ) -> AsyncGenerator[tuple[FetchRequest, FetchResult], None]:
        """Fetch every request, yielding ``(request, result)`` as each completes.

        At most ``window`` (default 2 x concurrency) fetches exist at a time, and a stream of
        requests (an async iterable) is read only as they start: memory stays flat however
        many accounts a run holds. A collection is first interleaved by host
        (``interleave_by_host``), so that a throttled host does not hold up the others; a
        stream is taken in its own order, which its producer chooses.
        """
        window = window or 2 * self.settings.concurrency
        if isinstance(requests, AsyncIterable):
            stream = aiter(requests)
        else:
            stream = batching.stream(interleave_by_host(requests, attrgetter("url")))
        done: asyncio.Queue[asyncio.Task[FetchResult]] = asyncio.Queue()
        pending: dict[asyncio.Task[FetchResult], FetchRequest] = {}
        more = True
        try:
            while True:
                while more and len(pending) < window:
                    request = await anext(stream, None)
                    if request is None:
                        more = False
                        break
                    task = asyncio.create_task(
                        self.fetch(
                            request.url, request.etag, request.last_modified, request.previous_posts
                        )
                    )
                    task.add_done_callback(done.put_nowait)
                    pending[task] = request
                if not pending:
                    return
                finished = await done.get()
                yield pending.pop(finished), finished.result()
        finally:
            for task in pending:
                task.cancel()


async def _read_capped(
    resp: aiohttp.ClientResponse, cap: int, truncate: bool = False
) -> bytes | None:
    """The body, read chunk by chunk; ``None`` (connection dropped) once it passes ``cap``."""
    if not truncate and resp.content_length is not None and resp.content_length > cap:
        resp.close()
        return None
    body = bytearray()
    async for chunk in resp.content.iter_any():
        body += chunk
        if len(body) > cap:
            resp.close()
            return bytes(body[:cap]) if truncate else None
    return bytes(body)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # the asctime form: HTTP dates are GMT, whatever the machine's zone
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - time.time())


def _http_hostname(url: str) -> str | None:
    """The host name of an http(s) URL; ``None`` for anything else."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        return None
    return hostname if hostname and parts.scheme in ("http", "https") else None


def interleave_by_host(items: Iterable[T], url: Callable[[T], str]) -> list[T]:
    """``items`` taken one host at a time in turn (host of ``url(item)``), each host's in order."""
    by_host: dict[str, deque[T]] = defaultdict(deque)
    for item in items:
        try:
            hostname = (urlsplit(url(item)).hostname or "").lower()
        except ValueError:
            hostname = ""
        by_host[hostname].append(item)
    queues = list(by_host.values())
    order: list[T] = []
    while queues:
        for q in queues:
            order.append(q.popleft())
        queues = [q for q in queues if q]
    return order
