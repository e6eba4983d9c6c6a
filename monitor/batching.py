"""Batches and streams of work items: queued items gathered so that a commit's fixed cost is
shared, and a collection handed to a consumer that reads a stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import TypeVar

T = TypeVar("T")


async def gather_batch(
    queue: asyncio.Queue[T | None], limit: int, linger_s: float
) -> list[T | None]:
    """The next batch: waits for one item, then takes what arrives within ``linger_s`` of it,
    up to ``limit`` items; a ``None`` (the closing mark) ends the batch at once."""
    loop = asyncio.get_running_loop()
    batch = [await queue.get()]
    until = loop.time() + linger_s
    while batch[-1] is not None and len(batch) < limit:
        if not queue.empty():
            batch.append(queue.get_nowait())
            continue
        remaining = until - loop.time()
        if remaining <= 0:
            break
        try:
            batch.append(await asyncio.wait_for(queue.get(), remaining))
        except TimeoutError:
            break
    return batch


async def stream(items: Iterable[T]) -> AsyncIterator[T]:
    """``items`` as an async iterable."""
    for item in items:
        yield item
