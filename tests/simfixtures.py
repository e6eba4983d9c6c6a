"""Helpers shared by the fetch tests: fast settings and small ad-hoc servers.

The simulated platform itself is ``monitor.simserver``; this module only adds what tests need
beyond it (hand-written responses for edge cases).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from monitor.fetch import FetchSettings


def fast_settings(**overrides: Any) -> FetchSettings:
    """Settings with test-sized timeouts and backoff (the production defaults are seconds)."""
    base = FetchSettings(
        concurrency=20,
        connect_timeout_s=1.0,
        total_timeout_s=1.0,
        backoff_base_s=0.01,
        backoff_cap_s=0.05,
        retry_after_cap_s=2.0,
        parse_timeout_s=10.0,
    )
    return dataclasses.replace(base, **overrides)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def serve(routes: dict[str, Handler]) -> AsyncIterator[str]:
    """Serve ``{path: handler}`` on 127.0.0.1 (a free port); yields the base URL."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
