"""The fetcher against a local simulated platform with injected faults."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import itertools
import pickle
import time
import zlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from simfixtures import fast_settings, serve

from checks.model import FetchStatus
from monitor.feeds import SHANGHAI
from monitor.fetch import (
    OUTSIDE_ACCOUNT,
    Fetcher,
    FetchRequest,
    FetchResult,
    FetchSettings,
    _retry_after,
    interleave_by_host,
)
from monitor.fetch_settings import HostLimits
from monitor.simserver import AccountBehaviour, Fault, SimConfig, running

pytestmark = pytest.mark.asyncio(loop_scope="module")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=SHANGHAI)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def pool() -> AsyncIterator[object]:
    from monitor.feed_workers import ParsePool

    async with ParsePool(workers=2, timeout_s=10) as parse_pool:
        yield parse_pool


def sim_config(**accounts: AccountBehaviour) -> SimConfig:
    return SimConfig(now=NOW, accounts=accounts, record_requests=True)


async def fetch_one(
    pool: object,
    config: SimConfig,
    account: str,
    settings: FetchSettings | None = None,
    **kwargs: object,
) -> tuple[FetchResult, object]:
    async with running(config) as sim, Fetcher(settings or fast_settings(), pool=pool) as f:
        result = await f.fetch(sim.feed_url(account), **kwargs)  # type: ignore[arg-type]
        return result, sim


async def test_ok_feed_gzip_and_posts(pool: object) -> None:
    config = sim_config(a=AccountBehaviour(newest_age=timedelta(hours=2)))
    async with running(config) as sim, Fetcher(fast_settings(), pool=pool) as fetcher:
        result = await fetcher.fetch(sim.feed_url("a"))
        assert "gzip" in sim.state.log[0].headers["Accept-Encoding"]
    assert result.status is FetchStatus.OK and result.http_status == 200
    assert result.attempts == 1
    assert result.posts is not None and len(result.posts) == 20
    newest = result.posts[0]
    assert newest.published_at == NOW - timedelta(hours=2)
    assert newest.url and newest.url.startswith("https://www.example.gov.cn/a/article/")
    assert "<p>" in newest.content and len(newest.content.encode()) > 2500
    assert result.etag and result.last_modified and result.feed_title == "政务号a"
    assert result.body_bytes > 60_000  # decompressed size


async def test_ok_without_gzip_reads_the_same_posts(pool: object) -> None:
    zipped, _ = await fetch_one(pool, sim_config(), "x")
    config = sim_config()
    config.gzip = False
    plain, _ = await fetch_one(pool, config, "x")
    assert plain.status is FetchStatus.OK and plain.posts == zipped.posts


async def test_500_then_200_is_retried(pool: object) -> None:
    result, sim = await fetch_one(pool, sim_config(a=AccountBehaviour(Fault.ERROR_THEN_OK)), "a")
    assert result.status is FetchStatus.OK and len(result.posts or ()) == 20
    assert result.attempts == 2 and sim.state.requests["a"] == 2  # type: ignore[attr-defined]


async def test_persistent_5xx_gives_up_after_retries(pool: object) -> None:
    config = sim_config(a=AccountBehaviour(Fault.ALWAYS_ERROR))
    result, sim = await fetch_one(pool, config, "a", fast_settings(retries=3))
    assert result.status is FetchStatus.HTTP_ERROR and result.http_status == 503
    assert result.attempts == 4 and sim.state.requests["a"] == 4  # type: ignore[attr-defined]
    assert result.posts is None and result.outside_account


async def test_429_honours_retry_after(pool: object) -> None:
    config = sim_config(a=AccountBehaviour(Fault.RATE_LIMITED, retry_after_s=0.4))
    result, _ = await fetch_one(pool, config, "a")
    assert result.status is FetchStatus.OK and result.attempts == 2
    assert result.elapsed_s >= 0.4  # the backoff alone would be <= 0.05 s


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "America/New_York"])
async def test_retry_after_dates_are_gmt_in_every_form(
    zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        moment = time.gmtime(time.time() + 30)
        forms = (
            time.strftime("%a, %d %b %Y %H:%M:%S GMT", moment),  # IMF-fixdate
            time.strftime("%A, %d-%b-%y %H:%M:%S GMT", moment),  # RFC 850
            time.strftime("%a %b %d %H:%M:%S %Y", moment).replace(" 0", "  "),  # asctime
        )
        for form in forms:
            assert 25 < (_retry_after(form) or 0) <= 30, form
    finally:
        monkeypatch.undo()
        time.tzset()


async def test_429_with_retry_after_beyond_cap_is_rate_limited(pool: object) -> None:
    config = sim_config(a=AccountBehaviour(Fault.RATE_LIMITED, retry_after_s=3600, fail_times=9))
    result, _sim = await fetch_one(pool, config, "a")
    assert result.status is FetchStatus.RATE_LIMITED and result.http_status == 429
    assert result.attempts == 1 and result.retry_after_s == 3600
    assert result.elapsed_s < 30  # not the hour the server asked for


async def test_429_pauses_the_whole_host(pool: object) -> None:
    config = sim_config(a=AccountBehaviour(Fault.RATE_LIMITED, retry_after_s=0.4))
    async with running(config) as sim, Fetcher(fast_settings(), pool=pool) as fetcher:
        first = asyncio.create_task(fetcher.fetch(sim.feed_url("a")))
        while not any(
            s.attempt_statuses[FetchStatus.RATE_LIMITED] for s in fetcher.host_stats.values()
        ):
            await asyncio.sleep(0.01)
        limited_at = time.monotonic()
        other = await fetcher.fetch(sim.feed_url("b"))
        await first
        b_arrival = next(r.at for r in sim.state.log if r.account_id == "b")
    assert other.status is FetchStatus.OK
    assert b_arrival - limited_at >= 0.3


@pytest.mark.parametrize(("fault", "code"), [(Fault.NOT_FOUND, 404), (Fault.GONE, 410)])
async def test_404_and_410_are_gone_and_not_retried(pool: object, fault: Fault, code: int) -> None:
    result, sim = await fetch_one(pool, sim_config(a=AccountBehaviour(fault)), "a")
    assert result.status is FetchStatus.GONE and result.http_status == code
    assert result.attempts == 1 and sim.state.requests["a"] == 1  # type: ignore[attr-defined]
    assert not result.outside_account


async def test_403_challenge_is_blocked(pool: object) -> None:
    result, _sim = await fetch_one(pool, sim_config(a=AccountBehaviour(Fault.CHALLENGE)), "a")
    assert result.status is FetchStatus.BLOCKED and result.http_status == 403
    assert result.attempts == 1 and result.outside_account


async def test_plain_403_and_200_challenge_page(pool: object) -> None:
    async def forbidden(_: web.Request) -> web.Response:
        return web.Response(status=403, text="forbidden")

    async def challenge(_: web.Request) -> web.Response:
        return web.Response(
            text="<html><title>Sina Visitor System</title></html>", content_type="text/html"
        )

    async with (
        serve({"/403": forbidden, "/200": challenge}) as base,
        Fetcher(fast_settings(), pool=pool) as fetcher,
    ):
        plain = await fetcher.fetch(f"{base}/403")
        disguised = await fetcher.fetch(f"{base}/200")
    assert plain.status is FetchStatus.HTTP_ERROR and plain.http_status == 403
    assert disguised.status is FetchStatus.BLOCKED and disguised.http_status == 200


@pytest.mark.parametrize("fault", [Fault.SLOW, Fault.TRICKLE])
async def test_slower_than_timeout(pool: object, fault: Fault) -> None:
    config = sim_config(a=AccountBehaviour(fault, slow_s=5))
    result, _sim = await fetch_one(pool, config, "a", fast_settings(total_timeout_s=0.3))
    assert result.status is FetchStatus.TIMEOUT and result.outside_account
    assert 0.3 <= result.elapsed_s < 4  # cut off well before the 5 s answer
    assert result.attempts == 1  # a total timeout is not retried by default


async def test_timeout_retried_when_configured(pool: object) -> None:
    config = sim_config(a=AccountBehaviour(Fault.SLOW, slow_s=5))
    settings = fast_settings(total_timeout_s=0.2, retry_timeouts=True, retries=1)
    result, _sim = await fetch_one(pool, config, "a", settings)
    assert result.status is FetchStatus.TIMEOUT and result.attempts == 2


async def test_oversized_body_is_cut_off_while_streaming(pool: object) -> None:
    total = 64 * 1024 * 1024
    config = sim_config(a=AccountBehaviour(Fault.OVERSIZED, oversized_bytes=total))
    settings = fast_settings(max_body_bytes=256 * 1024, total_timeout_s=5)
    result, sim = await fetch_one(pool, config, "a", settings)
    assert result.status is FetchStatus.TOO_LARGE and result.attempts == 1
    await asyncio.sleep(0.1)
    sent = sim.state.streamed_bytes["a"]  # type: ignore[attr-defined]
    assert sent < total / 4  # the client hung up instead of reading 64 MiB


async def test_declared_length_over_cap_is_refused_before_reading(pool: object) -> None:
    async def big(_: web.Request) -> web.Response:
        return web.Response(
            body=b"<rss>" + b" " * 300_000 + b"</rss>", content_type="application/rss+xml"
        )

    async with (
        serve({"/big": big}) as base,
        Fetcher(fast_settings(max_body_bytes=100_000), pool=pool) as fetcher,
    ):
        result = await fetcher.fetch(f"{base}/big")
    assert result.status is FetchStatus.TOO_LARGE and result.body_bytes == 0


async def test_malformed_xml_is_a_parse_error(pool: object) -> None:
    result, _ = await fetch_one(pool, sim_config(a=AccountBehaviour(Fault.MALFORMED)), "a")
    assert result.status is FetchStatus.PARSE_ERROR and result.posts is None
    assert result.attempts == 1 and result.error and not result.outside_account


async def test_empty_feed_is_ok_with_no_posts(pool: object) -> None:
    result, _ = await fetch_one(pool, sim_config(a=AccountBehaviour(Fault.EMPTY)), "a")
    assert result.status is FetchStatus.OK and result.posts == []


async def test_dormant_feed_has_old_items(pool: object) -> None:
    config = sim_config(a=AccountBehaviour(Fault.DORMANT, dormant_age=timedelta(days=120)))
    result, _ = await fetch_one(pool, config, "a")
    assert result.status is FetchStatus.OK and result.posts
    newest = max(p.published_at for p in result.posts if p.published_at)
    assert newest == NOW - timedelta(days=120)


async def test_conditional_get_reuses_previous_posts(pool: object) -> None:
    async with running(sim_config()) as sim, Fetcher(fast_settings(), pool=pool) as fetcher:
        first = await fetcher.fetch(sim.feed_url("a"))
        by_etag = await fetcher.fetch(
            sim.feed_url("a"), etag=first.etag, previous_posts=first.posts
        )
        by_date = await fetcher.fetch(
            sim.feed_url("a"), last_modified=first.last_modified, previous_posts=first.posts
        )
        stale = await fetcher.fetch(sim.feed_url("a"), etag='"other"')
        headers = [r.headers for r in sim.state.log]
        not_modified = sim.state.not_modified
    assert first.status is FetchStatus.OK
    assert by_etag.status is FetchStatus.NOT_MODIFIED and by_etag.http_status == 304
    assert by_etag.posts == first.posts and by_etag.etag == first.etag
    assert by_date.status is FetchStatus.NOT_MODIFIED and by_date.posts == first.posts
    assert by_date.last_modified == first.last_modified
    assert stale.status is FetchStatus.OK
    assert headers[1]["If-None-Match"] == first.etag
    assert headers[2]["If-Modified-Since"] == first.last_modified
    assert not_modified == 2


async def test_connection_errors_are_retried(pool: object) -> None:
    config = sim_config(a=AccountBehaviour(Fault.RESET_THEN_OK, fail_times=2))
    result, _ = await fetch_one(pool, config, "a")
    assert result.status is FetchStatus.OK and result.attempts >= 2
    async with Fetcher(fast_settings(retries=2), pool=pool) as fetcher:
        refused = await fetcher.fetch("http://127.0.0.1:9/feed")
        invalid = await fetcher.fetch("ftp://example.gov.cn/feed")
        broken = await fetcher.fetch("http://[::1/feed")
    assert refused.status is FetchStatus.NETWORK and refused.attempts == 3
    assert invalid.status is FetchStatus.NETWORK and invalid.attempts == 0
    assert broken.status is FetchStatus.NETWORK


async def test_host_min_interval_spaces_requests(pool: object) -> None:
    async def arrivals(settings: FetchSettings) -> list[float]:
        async with running(sim_config()) as sim, Fetcher(settings, pool=pool) as fetcher:
            results = await asyncio.gather(
                *(fetcher.fetch(sim.feed_url(f"a{i}")) for i in range(5))
            )
            assert all(r.status is FetchStatus.OK for r in results)
            return sorted(r.at for r in sim.state.log)

    paced = await arrivals(fast_settings(hosts={"127.0.0.1": HostLimits(min_interval_s=0.15)}))
    gaps = [b - a for a, b in itertools.pairwise(paced)]
    assert min(gaps) >= 0.13, gaps
    free = await arrivals(fast_settings())  # the default: no interval, global concurrency
    assert free[-1] - free[0] < 0.5  # paced, five requests would span at least 0.6 s


RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
    b"<item><title>a</title><link>https://example.gov.cn/1</link>"
    b"<pubDate>Fri, 20 Nov 2026 08:00:00 +0800</pubDate></item></channel></rss>"
)


async def test_redirects_are_followed_each_under_its_own_hosts_limits(pool: object) -> None:
    """A gateway (127.0.0.1) redirecting to a paced platform (localhost) must not bypass the
    platform's minimum interval; loops and non-http targets end as http errors."""
    arrived: list[float] = []

    async def feed(_: web.Request) -> web.Response:
        arrived.append(time.monotonic())
        return web.Response(body=RSS, content_type="application/rss+xml")

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://localhost:{request.url.port}/feed")

    async def loop(_: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def elsewhere(_: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("ftp://127.0.0.1/feed.xml")

    settings = fast_settings(hosts={"localhost": HostLimits(min_interval_s=0.3)})
    routes = {"/moved": moved, "/feed": feed, "/loop": loop, "/elsewhere": elsewhere}
    async with serve(routes) as base, Fetcher(settings, pool=pool) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(f"{base}/moved") for _ in range(3)))
        looped = await fetcher.fetch(f"{base}/loop")
        odd = await fetcher.fetch(f"{base}/elsewhere")
    assert [r.status for r in results] == [FetchStatus.OK] * 3
    assert results[0].url == f"{base}/moved" and results[0].final_url.startswith("http://localhost")
    assert [p.title for p in results[0].posts or []] == ["a"]
    assert min(b - a for a, b in itertools.pairwise(arrived)) >= 0.28, arrived
    assert looped.status is FetchStatus.HTTP_ERROR and looped.error == "too many redirects"
    assert odd.status is FetchStatus.HTTP_ERROR and odd.http_status == 301
    assert odd.error is not None and "ftp://" in odd.error


async def test_host_and_global_concurrency_limits(pool: object) -> None:
    """Requests in flight at once, counted by the server (no timing involved)."""

    async def peak_in_flight(settings: FetchSettings) -> int:
        now = {"in_flight": 0, "peak": 0}
        release = asyncio.Event()

        async def handler(request: web.Request) -> web.Response:
            now["in_flight"] += 1
            now["peak"] = max(now["peak"], now["in_flight"])
            if now["in_flight"] >= 6:
                release.set()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(release.wait(), 0.3)  # hold until all 6 could overlap
            now["in_flight"] -= 1
            return web.Response(body=RSS, content_type="application/rss+xml")

        async with (
            serve({"/feed/{name}": handler}) as base,
            Fetcher(settings, pool=pool) as fetcher,
        ):
            await asyncio.gather(*(fetcher.fetch(f"{base}/feed/a{i}") for i in range(6)))
        return now["peak"]

    assert await peak_in_flight(fast_settings()) == 6  # one host may use the global limit
    assert await peak_in_flight(fast_settings(hosts={"127.0.0.1": HostLimits(concurrency=2)})) == 2
    assert await peak_in_flight(fast_settings(concurrency=3)) == 3


async def test_host_stats_count_attempts_and_failures(pool: object) -> None:
    config = sim_config(
        e=AccountBehaviour(Fault.ERROR_THEN_OK),
        b=AccountBehaviour(Fault.CHALLENGE),
        g=AccountBehaviour(Fault.GONE),
        x=AccountBehaviour(Fault.ALWAYS_ERROR),
    )
    async with running(config) as sim, Fetcher(fast_settings(retries=1), pool=pool) as f:
        for account in ("ok", "e", "b", "g", "x"):
            await f.fetch(sim.feed_url(account))
        stats = f.host_stats["127.0.0.1"]
    assert stats.fetches == 5 and stats.attempts == 1 + 2 + 1 + 1 + 2
    assert stats.by_status[FetchStatus.OK] == 2 and stats.by_status[FetchStatus.GONE] == 1
    assert stats.attempt_statuses[FetchStatus.HTTP_ERROR] == 3
    assert stats.failures == 2 and stats.failure_ratio == pytest.approx(0.4)
    assert FetchStatus.GONE not in OUTSIDE_ACCOUNT


async def test_fetch_many_yields_every_request_once(pool: object) -> None:
    config = sim_config(g=AccountBehaviour(Fault.GONE))
    async with running(config) as sim, Fetcher(fast_settings(concurrency=4), pool=pool) as f:
        requests = [FetchRequest(sim.feed_url(a), key=a) for a in ("g", *map(str, range(12)))]
        seen = {req.key: res async for req, res in f.fetch_many(requests, window=5)}
    assert set(seen) == {"g", *map(str, range(12))}
    assert seen["g"].status is FetchStatus.GONE
    assert all(seen[str(i)].status is FetchStatus.OK for i in range(12))


async def test_fetch_many_reads_a_stream_only_as_fetches_start(pool: object) -> None:
    pulled = 0
    ahead: list[int] = []  # requests taken from the stream and not yet answered, at each answer

    async def requests() -> AsyncIterator[FetchRequest]:
        nonlocal pulled
        for i in range(30):
            pulled += 1
            yield FetchRequest(sim.feed_url(str(i)), key=i)

    async with running(sim_config()) as sim, Fetcher(fast_settings(concurrency=4), pool=pool) as f:
        keys = []
        async for request, result in f.fetch_many(requests(), window=5):
            ahead.append(pulled - len(keys))
            keys.append(request.key)
            assert result.status is FetchStatus.OK
    assert sorted(keys) == list(range(30))
    assert max(ahead) <= 5  # the window, never the whole stream


async def test_interleave_by_host_takes_hosts_in_turn() -> None:
    urls = ["http://a/1", "http://a/2", "http://a/3", "http://B/1", "bad", "http://b/2"]
    assert interleave_by_host(urls, str) == [
        "http://a/1",
        "http://B/1",
        "bad",
        "http://a/2",
        "http://b/2",
        "http://a/3",
    ]


async def test_result_pickles(pool: object) -> None:
    result, _ = await fetch_one(pool, sim_config(), "a")
    assert pickle.loads(pickle.dumps(result)) == result


async def test_worker_death_costs_one_feed(pool: object) -> None:
    from monitor.feed_workers import ParsePool

    huge = (
        b'<?xml version="1.0"?><rss version="2.0"><channel>'
        + b"<item><title>t</title><description>x</description></item>" * 100_000
        + b"</channel></rss>"
    )
    async with ParsePool(workers=1, timeout_s=10) as own:
        doomed = asyncio.create_task(own.parse(huge, "application/rss+xml", "http://h/"))
        await asyncio.sleep(0.3)
        for worker in list(own._workers):
            worker.proc.kill()
        failed = await doomed
        after = await own.parse(
            b'<rss version="2.0"><channel><item><title>ok</title></item></channel></rss>',
            None,
            "http://h/",
        )
    assert failed.error and "died" in failed.error
    assert after.ok and after.posts[0].title == "ok" and own.restarts == 1


async def test_parse_timeout_fails_only_that_feed() -> None:
    from monitor.feed_workers import ParsePool

    huge = (
        b'<?xml version="1.0"?><rss version="2.0"><channel>'
        + b"<item><title>t</title><description>x</description></item>" * 100_000
        + b"</channel></rss>"
    )
    async with ParsePool(workers=1, timeout_s=0.3) as own:
        slow = await own.parse(huge, None, "http://h/")
        fine = await own.parse(b'<rss version="2.0"><channel></channel></rss>', None, "u")
    assert slow.error and "longer than" in slow.error
    assert fine.ok and own.restarts == 1


async def test_settings_from_config() -> None:
    settings = FetchSettings.from_config(
        {
            "concurrency": 8,
            "total_timeout_s": 5,
            "max_body_bytes": 1024,
            "hosts": {"weibo.com": {"concurrency": 1, "min_interval_s": 0.5}},
        }
    )
    assert settings.concurrency == 8 and settings.total_timeout_s == 5.0
    assert settings.limits_for("m.weibo.com") == ("weibo.com", HostLimits(1, 0.5))
    assert settings.limits_for("rsshub.example.gov.cn") == ("rsshub.example.gov.cn", HostLimits())
    assert settings.with_concurrency(3).concurrency == 3
    assert settings.with_concurrency(None) is settings
    for bad in (
        {"concurency": 1},
        {"concurrency": "8"},
        {"concurrency": 0},
        {"hosts": {"weibo.com": {"interval": 1}}},
        {"retry_timeouts": 1},
    ):
        with pytest.raises(ValueError):
            FetchSettings.from_config(bad)


async def test_defaults_let_one_host_serve_the_run() -> None:
    settings = FetchSettings()
    assert (settings.connect_timeout_s, settings.total_timeout_s) == (10, 20)
    assert settings.max_body_bytes == 5 * 1024 * 1024
    _key, limits = settings.limits_for("rsshub.internal")
    assert limits.concurrency is None and limits.min_interval_s == 0


async def test_defaults_match_config_toml() -> None:
    from govmedia import config

    try:
        table = config.load_defaults()["fetch"]
    except (FileNotFoundError, KeyError):
        pytest.skip("config.toml has no [fetch] section yet")
    assert FetchSettings.from_config(table) == FetchSettings()


async def test_fault_mix_is_stable_and_proportional() -> None:
    config = SimConfig(fault_mix={Fault.GONE: 0.1, Fault.DORMANT: 0.2})
    faults = [config.behaviour(f"acc{i}").fault for i in range(5000)]
    assert faults == [config.behaviour(f"acc{i}").fault for i in range(5000)]
    assert 0.08 < faults.count(Fault.GONE) / 5000 < 0.12
    assert 0.17 < faults.count(Fault.DORMANT) / 5000 < 0.23
    pinned = SimConfig(fault_mix={Fault.GONE: 1.0}, accounts={"x": AccountBehaviour()})
    assert pinned.behaviour("x").fault is Fault.NONE and pinned.behaviour("y").fault is Fault.GONE


async def test_simserver_runs_standalone(pool: object) -> None:
    import sys

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "monitor.simserver",
        "--port",
        "0",
        "--fault-mix",
        "gone=1.0",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert line.startswith("simserver listening on http://127.0.0.1:")
        base = line.rsplit(" ", 1)[1].strip()
        async with Fetcher(fast_settings(), pool=pool) as fetcher:
            result = await fetcher.fetch(f"{base}/feed/anyone")
        assert result.status is FetchStatus.GONE
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0


async def test_simserver_cached_bodies_are_the_same_feed(pool: object) -> None:
    plain_config = sim_config()
    cached_config = sim_config()
    cached_config.cache_bodies = True
    async with running(cached_config) as sim, Fetcher(fast_settings(), pool=pool) as fetcher:
        first = await fetcher.fetch(sim.feed_url("c"))
        again = await fetcher.fetch(sim.feed_url("c"))
        assert list(sim.state.bodies) == [("c", True)]
    uncached, plain_sim = await fetch_one(pool, plain_config, "c")
    assert plain_sim.state.bodies == {}  # type: ignore[attr-defined]
    assert first.status is again.status is FetchStatus.OK
    assert first.posts == again.posts == uncached.posts and first.etag == uncached.etag


async def test_bodies_are_decoded_off_the_loop_within_the_cap(pool: object) -> None:
    feed = (
        b'<rss version="2.0"><channel><title>t</title><item><title>a</title></item></channel></rss>'
    )

    def answer(body: bytes, coding: str, status: int = 200) -> Any:
        async def handler(_: web.Request) -> web.Response:
            headers = {"Content-Encoding": coding, "Content-Type": "application/rss+xml"}
            return web.Response(status=status, body=body, headers=headers)

        return handler

    page = "<html><title>安全验证</title></html>".encode()
    routes = {
        "/deflate": answer(zlib.compress(feed), "deflate"),
        "/bomb": answer(gzip.compress(b" " * (8 << 20)), "gzip"),
        "/corrupt": answer(b"not gzip at all", "gzip"),
        "/brotli": answer(b"\x1b\x00", "br"),
        "/challenge": answer(gzip.compress(page), "gzip", status=403),
        "/long-challenge": answer(gzip.compress(page + b" " * 200_000), "gzip", status=403),
    }
    async with (
        serve(routes) as base,
        Fetcher(fast_settings(max_body_bytes=1 << 20), pool=pool) as fetcher,
    ):
        results = {path: await fetcher.fetch(f"{base}{path}") for path in routes}
    deflated = results["/deflate"]
    assert deflated.status is FetchStatus.OK and [p.title for p in deflated.posts or ()] == ["a"]
    assert deflated.body_bytes == len(feed)
    bomb = results["/bomb"]  # 8 KB on the wire, 8 MiB decoded: stopped at the 1 MiB cap
    assert bomb.status is FetchStatus.TOO_LARGE and "1048576" in (bomb.error or "")
    for path in ("/corrupt", "/brotli"):  # the server's fault, not the account's
        assert results[path].status is FetchStatus.NETWORK and results[path].outside_account
    assert "corrupt gzip" in (results["/corrupt"].error or "")
    assert results["/challenge"].status is FetchStatus.BLOCKED  # read through its gzip
    assert results["/long-challenge"].status is FetchStatus.BLOCKED  # its opening is enough


async def test_the_kept_copy_reads_as_the_same_posts(pool: object) -> None:
    async with running(sim_config()) as sim, Fetcher(fast_settings(), pool=pool) as fetcher:
        first = await fetcher.fetch(sim.feed_url("a"))
        assert first.stored_feed is not None and len(first.stored_feed) < first.body_bytes / 2
        assert await fetcher.stored_posts(first.stored_feed, sim.feed_url("a")) == first.posts
        assert await fetcher.stored_posts(b"not a kept feed", sim.feed_url("a")) is None


async def test_parse_time_is_measured_where_feeds_are_read() -> None:
    from monitor.feed_workers import ParsePool

    async with ParsePool(workers=1, timeout_s=10) as own:
        unreadable = await own.parse(b"<html>not a feed</html>", "text/html", "u")
        assert not unreadable.ok and own.parse_cpu() is None  # only feeds read count
        feeds = [await own.parse(_feed(i), "application/rss+xml", "u") for i in range(5)]
        measured = own.parse_cpu()
    assert all(feed.ok and len(feed.posts) == 20 and feed.parse_cpu_s > 0 for feed in feeds)
    tenths = sorted(round(feed.parse_cpu_s * 10_000) for feed in feeds)
    assert measured == (tenths[2] / 10_000, sum(tenths) / 5 / 10_000)


async def test_fetcher_reports_its_parsers_parse_time() -> None:
    async with running(sim_config()) as sim, Fetcher(fast_settings()) as fetcher:
        assert fetcher.parse_cpu() is None
        await fetcher.fetch(sim.feed_url("a"))
        measured = fetcher.parse_cpu()
    assert measured is not None and 0 < measured[0] == measured[1] < 1


def _feed(index: int) -> bytes:
    items = "".join(f"<item><title>第{index}-{k}条</title></item>" for k in range(20))
    return f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


async def test_closing_the_pool_mid_parse_lets_the_worker_answer_and_exit_quietly(
    capfd: pytest.CaptureFixture[str],
) -> None:
    from monitor.feed_workers import ParsePool

    slow = (
        b'<?xml version="1.0"?><rss version="2.0"><channel>'
        + b"<item><title>t</title><description>x</description></item>" * 8_000
        + b"</channel></rss>"
    )
    # The grace outlasts the parse on a slow, busy machine (0.4-1.7 s idle on the ones seen).
    own = ParsePool(workers=1, timeout_s=60, stop_grace_s=60)
    await own.start()
    parsing = asyncio.create_task(own.parse(slow, "application/rss+xml", "http://h/"))
    await asyncio.sleep(0.1)  # the worker is inside the parse
    (worker,) = own._workers
    await own.close()
    assert worker.proc.returncode == 0  # it finished the feed and left on its own
    assert "Error" not in capfd.readouterr().err  # no broken pipe in its last answer
    assert (await parsing).error == "parser pool closed"  # its caller is told
