"""Frames read from a pipe into one reused buffer (``monitor.pipe_frames``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Iterator

import pytest

from monitor.pipe_frames import HEADER, MAX_FRAME, FrameReader


def frame(payload: bytes) -> bytes:
    return HEADER.pack(len(payload)) + payload


async def read(reader: FrameReader) -> bytes:
    return await asyncio.wait_for(reader.next(bytes), 5)  # a broken reader fails, never hangs


@contextlib.contextmanager
def fed(data: bytes, pieces: list[int] | None = None) -> Iterator[FrameReader]:
    """A reader of a pipe that a thread writes ``data`` to, cut at ``pieces`` (a pause after
    each)."""
    read_end, write_end = os.pipe()
    reader = FrameReader(read_end)

    def write() -> None:
        view, cursor = memoryview(data), 0
        with contextlib.suppress(BrokenPipeError):  # the reader gave up
            for cut in [*(pieces or []), len(data)]:
                while cursor < cut:
                    cursor += os.write(write_end, view[cursor:cut])
                threading.Event().wait(0.02)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        yield reader
    finally:
        reader.close()  # first: a writer blocked on a full pipe gets EPIPE instead of waiting
        writer.join()
        os.close(write_end)


async def test_frames_cut_anywhere_are_read_whole_and_in_order() -> None:
    payloads = [b"first", b"", b"x" * 70_000, "第四".encode()]
    data = b"".join(frame(p) for p in payloads)
    with fed(data, pieces=[2, 7, 12, 40_000]) as reader:  # a header cut in two, too
        assert [await read(reader) for _ in payloads] == payloads


async def test_a_frame_larger_than_the_buffer_is_read_whole() -> None:
    big = os.urandom(3 << 20)  # 3 MiB: the reader's buffer starts at 256 KiB
    with fed(frame(big) + frame(b"after")) as reader:
        assert await read(reader) == big
        assert await read(reader) == b"after"


async def test_the_end_of_the_pipe_is_an_incomplete_read() -> None:
    read_end, write_end = os.pipe()
    reader = FrameReader(read_end)
    os.write(write_end, frame(b"whole") + HEADER.pack(10) + b"cut")
    os.close(write_end)
    assert await read(reader) == b"whole"
    with pytest.raises(asyncio.IncompleteReadError) as caught:
        await read(reader)
    assert caught.value.partial == HEADER.pack(10) + b"cut"
    with pytest.raises(asyncio.IncompleteReadError):  # and stays so
        await read(reader)
    reader.close()


async def test_closing_wakes_a_waiting_reader() -> None:
    read_end, write_end = os.pipe()
    reader = FrameReader(read_end)
    waiting = asyncio.create_task(reader.next(bytes))
    await asyncio.sleep(0.01)
    reader.close()
    with pytest.raises(ConnectionError):
        await waiting
    os.close(write_end)


async def test_a_frame_is_decoded_in_place_and_the_view_released() -> None:
    read_end, write_end = os.pipe()
    reader = FrameReader(read_end)
    os.write(write_end, frame(b"abc") + frame(b"defg"))
    seen: list[memoryview] = []
    assert await asyncio.wait_for(reader.next(lambda v: seen.append(v) or len(v)), 5) == 3
    with pytest.raises(ValueError):  # released: a kept view cannot pin the buffer
        bytes(seen[0])
    assert await read(reader) == b"defg"
    os.close(write_end)
    reader.close()


async def test_an_impossible_size_is_a_broken_stream() -> None:
    read_end, write_end = os.pipe()
    reader = FrameReader(read_end)
    os.write(write_end, HEADER.pack(MAX_FRAME + 1) + b"....")
    with pytest.raises(ConnectionError):
        await read(reader)
    os.close(write_end)
