"""Every file of feedparser's own test corpus, served over HTTP, fetched without an exception.

Files are served with the Content-Type their header comment asks for (``Header: Content-type:``)
and otherwise as ``application/xml``; each must come back as a FetchResult with a status of the
taxonomy, and the well-formed ones must mostly parse.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from aiohttp import web
from simfixtures import fast_settings

from checks.model import FetchStatus
from monitor.fetch import Fetcher, FetchRequest, FetchResult

CORPUS = Path("/work/shared/corpora/feedparser-tests")
_HEADER = re.compile(rb"^Header:\s*Content-type:\s*(.+?)\s*$", re.MULTILINE | re.IGNORECASE)

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="feedparser corpus not present")


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*.xml") if p.is_file())


async def serve_file(request: web.Request) -> web.Response:
    path = (CORPUS / request.match_info["path"]).resolve()
    if CORPUS.resolve() not in path.parents or not path.is_file():
        raise web.HTTPNotFound()
    body = path.read_bytes()
    match = _HEADER.search(body[:2048])
    content_type = match.group(1).decode("latin-1") if match else "application/xml"
    return web.Response(body=body, headers={"Content-Type": content_type})


async def test_every_corpus_file_is_fetched_and_classified() -> None:
    files = corpus_files()
    assert len(files) > 900
    app = web.Application()
    app.router.add_get("/{path:.+}", serve_file)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    results: dict[str, FetchResult] = {}
    try:
        settings = fast_settings(concurrency=32, total_timeout_s=10, retries=0)
        async with Fetcher(settings) as fetcher:
            requests = [FetchRequest(f"{base}/{p.relative_to(CORPUS)}", key=p) for p in files]
            async for request, result in fetcher.fetch_many(requests):
                results[str(request.key)] = result
    finally:
        await runner.cleanup()

    assert len(results) == len(files)
    statuses = Counter(r.status for r in results.values())
    assert set(statuses) <= set(FetchStatus)
    # nothing here is a network or HTTP problem: every file was served with a 200
    assert set(statuses) <= {FetchStatus.OK, FetchStatus.PARSE_ERROR}, statuses
    wellformed = [r for k, r in results.items() if "/wellformed/" in k]
    ok = sum(r.status is FetchStatus.OK for r in wellformed)
    assert ok / len(wellformed) > 0.9, statuses
    for result in results.values():
        if result.status is FetchStatus.OK:
            assert result.posts is not None
        else:
            assert result.posts is None and result.error
