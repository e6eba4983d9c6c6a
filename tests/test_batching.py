"""The writer's batches: what arrives within the linger time, up to the limit, until the end."""

from __future__ import annotations

import asyncio

from monitor.batching import gather_batch


async def _put_later(queue: asyncio.Queue[int | None], delay_s: float, *items: int | None) -> None:
    await asyncio.sleep(delay_s)
    for item in items:
        queue.put_nowait(item)


async def test_items_arriving_within_the_linger_share_a_batch() -> None:
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    queue.put_nowait(1)
    later = asyncio.create_task(_put_later(queue, 0.05, 2, 3))
    assert await gather_batch(queue, limit=3, linger_s=5.0) == [1, 2, 3]
    await later


async def test_the_limit_ends_a_batch_and_leaves_the_rest_queued() -> None:
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    for item in range(5):
        queue.put_nowait(item)
    assert await gather_batch(queue, limit=3, linger_s=5.0) == [0, 1, 2]
    assert await gather_batch(queue, limit=3, linger_s=0.0) == [3, 4]


async def test_the_linger_ends_a_batch_and_the_late_item_starts_the_next() -> None:
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    queue.put_nowait(1)
    later = asyncio.create_task(_put_later(queue, 0.3, 2))
    assert await gather_batch(queue, limit=10, linger_s=0.05) == [1]
    assert await gather_batch(queue, limit=10, linger_s=0.05) == [2]
    await later


async def test_the_closing_mark_ends_a_batch_without_waiting() -> None:
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    for item in (1, None, 2):
        queue.put_nowait(item)
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await gather_batch(queue, limit=10, linger_s=30.0) == [1, None]
    assert loop.time() - start < 5.0
    assert queue.qsize() == 1
