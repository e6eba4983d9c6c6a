"""Feed decoding and parsing off the event loop, in worker processes driven by the loop itself.

feedparser is pure Python: in a thread it would hold the GIL and stall the event loop, and only
one core would parse. Each worker here is a child process (``python -m monitor.feed_workers``)
fed length-prefixed pickles over its stdin and answering on its stdout, through asyncio pipes:
no helper threads (``ProcessPoolExecutor``'s feeder and manager threads fight the event loop for
the GIL and left a quarter of the CPU idle in the benchmark), and every worker has the next feed
already waiting in its pipe (``depth``) so it never idles while the loop is busy.

A worker takes a body as the server sent it (gzip, deflate or not compressed), decodes it within
the size cap and parses it; a body that came uncompressed it also compresses into the copy kept
for the next 304 (``registry.feed_copy``). A compressed body is kept as it came, by the caller,
which has it already: it does not cross the pipe twice.

Failures cost only the feed that caused them: a feed that takes longer than ``timeout_s`` or kills
its worker is a parse error, the worker is replaced, and feeds queued behind it are re-queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog

from checks.model import FetchStatus, Post
from monitor import content_coding
from monitor.feeds import ParsedFeed, parse_feed
from monitor.pipe_frames import HEADER, FrameReader
from registry import feed_copy

log = structlog.get_logger(__name__)
_STARTUP_TIMEOUT_S = 60.0
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass(eq=False)
class _Worker:
    proc: asyncio.subprocess.Process
    answers: FrameReader  # the worker's stdout


@dataclass(eq=False)
class _Job:
    args: tuple[bytes, str | None, str, str, int | None]  # see ``read_body``
    future: asyncio.Future[ParsedFeed]


class ParsePool:
    """``workers`` parser processes (0 = one per CPU); ``await pool.parse(...)`` from any task.

    Use as ``async with ParsePool() as pool`` or call ``start()``/``close()``.
    """

    def __init__(
        self, workers: int = 0, timeout_s: float = 30.0, depth: int = 2, stop_grace_s: float = 2.0
    ) -> None:
        self.workers = workers or default_workers()
        self.timeout_s = timeout_s
        self.depth = depth
        self.stop_grace_s = stop_grace_s  # a closed worker's time to finish its feed
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._drivers: list[asyncio.Task[None]] = []
        self._workers: set[_Worker] = set()
        self._alive = 0
        self._broken: str | None = None  # why no worker is left, if so
        self.restarts = 0
        self._parse_cpu: Counter[int] = Counter()  # feeds read, by parse CPU time in 0.1 ms

    def parse_cpu(self) -> tuple[float, float] | None:
        """(median, mean) CPU seconds one feed's parse (``parse_feed``) has taken in the
        workers over the feeds read so far: how heavy a run's feeds are, measured where they
        are read. ``None`` before the first feed."""
        total = self._parse_cpu.total()
        if not total:
            return None
        mean = sum(tenths * count for tenths, count in self._parse_cpu.items()) / total
        seen = 0
        for tenths in sorted(self._parse_cpu):
            seen += self._parse_cpu[tenths]
            if 2 * seen >= total:
                return tenths / 10_000, mean / 10_000
        raise AssertionError("unreachable")

    async def __aenter__(self) -> ParsePool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        workers = await asyncio.gather(*(self._spawn() for _ in range(self.workers)))
        self._alive = len(workers)
        self._drivers = [asyncio.create_task(self._drive(worker)) for worker in workers]

    async def parse(
        self,
        body: bytes,
        content_type: str | None,
        url: str,
        coding: str = content_coding.IDENTITY,
        cap: int | None = None,
    ) -> ParsedFeed:
        """``read_body`` in a worker process."""
        if not self._drivers:
            raise RuntimeError("ParsePool not started")
        if self._broken:
            return ParsedFeed(error=self._broken)
        args = (body, content_type, url, coding, cap)
        job = _Job(args, asyncio.get_running_loop().create_future())
        self._queue.put_nowait(job)
        return await job.future

    async def close(self) -> None:
        for task in self._drivers:
            task.cancel()
        await asyncio.gather(*self._drivers, return_exceptions=True)
        self._drivers = []
        await asyncio.gather(*(self._stop(worker) for worker in list(self._workers)))
        self._fail_queued("parser pool closed")

    async def _spawn(self) -> _Worker:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
        answers, their_end = os.pipe()
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "monitor.feed_workers",
                stdin=asyncio.subprocess.PIPE,
                stdout=their_end,
                env=env,
            )
        except BaseException:
            os.close(answers)
            raise
        finally:
            os.close(their_end)
        worker = _Worker(proc, FrameReader(answers))
        self._workers.add(worker)
        try:  # the worker says it is ready (imports done) with an empty frame
            await asyncio.wait_for(worker.answers.next(len), _STARTUP_TIMEOUT_S)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError) as exc:
            await self._stop(worker)
            raise RuntimeError("parser process did not start") from exc
        return worker

    async def _stop(self, worker: _Worker) -> None:
        """Close the worker's stdin and let it finish (killed after ``stop_grace_s``); an answer
        it writes meanwhile is still read, so that it never blocks on a full pipe or finds it
        closed."""
        self._workers.discard(worker)
        proc = worker.proc
        try:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    if proc.stdin is not None:
                        proc.stdin.close()
                    try:
                        await asyncio.wait_for(proc.wait(), self.stop_grace_s)
                    except TimeoutError:
                        proc.kill()
                        await proc.wait()
        finally:
            worker.answers.close()

    async def _drive(self, worker: _Worker) -> None:
        """Keep one worker busy: up to ``depth`` feeds in its pipe, answers read in order."""
        inflight: deque[_Job] = deque()
        try:
            while True:
                while len(inflight) < self.depth:
                    if inflight:
                        if self._queue.empty():
                            break
                        job = self._queue.get_nowait()
                    else:
                        job = await self._queue.get()
                    if job.future.done():  # the caller gave up
                        continue
                    frame = pickle.dumps(job.args, pickle.HIGHEST_PROTOCOL)
                    assert worker.proc.stdin is not None
                    worker.proc.stdin.write(HEADER.pack(len(frame)) + frame)
                    inflight.append(job)
                try:
                    async with asyncio.timeout(self.timeout_s):
                        result = await worker.answers.next(_read)
                except (
                    TimeoutError,
                    asyncio.IncompleteReadError,
                    ConnectionError,
                    pickle.UnpicklingError,
                    EOFError,
                ) as exc:
                    worker = await self._replace(worker, inflight, exc)
                    continue
                job = inflight.popleft()
                if result.ok:
                    self._parse_cpu[round(result.parse_cpu_s * 10_000)] += 1
                if not job.future.done():
                    job.future.set_result(result)
        except Exception as exc:  # a worker could not be restarted
            log.error("parse.worker_lost", error=f"{type(exc).__name__}: {exc}")
            self._alive -= 1
            if self._alive <= 0:
                self._broken = f"no parser process left ({type(exc).__name__}: {exc})"
                self._fail_queued(self._broken)
        finally:
            for job in inflight:  # nobody will answer these here
                if not job.future.done():
                    self._queue.put_nowait(job)
            if self._broken:
                self._fail_queued(self._broken)

    def _fail_queued(self, error: str) -> None:
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if not job.future.done():
                job.future.set_result(ParsedFeed(error=error))

    async def _replace(self, worker: _Worker, inflight: deque[_Job], exc: BaseException) -> _Worker:
        """The feed at the head of ``inflight`` hung or killed the worker: fail it, restart."""
        culprit = inflight.popleft()
        url = culprit.args[2]
        if isinstance(exc, TimeoutError):
            error = f"parsing took longer than {self.timeout_s:g} s"
        else:
            error = f"the parser process died on this feed ({type(exc).__name__})"
        log.warning("parse.worker_replaced", url=url, bytes=len(culprit.args[0]), error=error)
        if not culprit.future.done():
            culprit.future.set_result(ParsedFeed(error=error))
        while inflight:  # innocent feeds queued behind it: parse them elsewhere
            self._queue.put_nowait(inflight.popleft())
        self._workers.discard(worker)
        with contextlib.suppress(ProcessLookupError):
            worker.proc.kill()
        await worker.proc.wait()
        worker.answers.close()
        self.restarts += 1
        return await self._spawn()


# A ParsedFeed crosses the pipe as plain tuples: unpickling 20 slotted frozen dataclasses goes
# through dataclasses' Python-level __setstate__ and cost the event loop 0.3 ms a feed.
_Packed = tuple[
    list[tuple[str, str | None, datetime | None, str]],
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    bool,
    bytes | None,
    int,
    str | None,
    float,
]


def _pack(feed: ParsedFeed) -> _Packed:
    posts = [(p.title, p.url, p.published_at, p.content) for p in feed.posts]
    return (
        posts,
        feed.title,
        feed.format,
        feed.encoding,
        feed.bozo,
        feed.error,
        feed.challenge,
        feed.stored,
        feed.body_bytes,
        feed.body_fault and feed.body_fault.value,
        feed.parse_cpu_s,
    )


def _read(frame: memoryview) -> ParsedFeed:
    return _unpack(pickle.loads(frame))


def _unpack(packed: Any) -> ParsedFeed:
    try:
        posts, title, fmt, encoding, bozo, error, challenge, stored, size, fault, cpu = packed
        return ParsedFeed(
            [Post(*post) for post in posts],
            title,
            fmt,
            encoding,
            bozo,
            error,
            challenge,
            stored,
            size,
            fault and FetchStatus(fault),
            cpu,
        )
    except (TypeError, ValueError) as exc:
        raise pickle.UnpicklingError("unexpected answer from parser process") from exc


def read_body(
    body: bytes, content_type: str | None, url: str, coding: str, cap: int | None
) -> ParsedFeed:
    """A body as received in ``coding``: decoded (at most ``cap`` bytes), parsed, and kept."""
    try:
        decoded = content_coding.decode(body, coding, cap)
    except content_coding.TooLarge as exc:
        return ParsedFeed(error=str(exc), body_fault=FetchStatus.TOO_LARGE)
    except content_coding.BadCoding as exc:
        return ParsedFeed(error=str(exc), body_fault=FetchStatus.NETWORK)
    started = time.process_time()
    result = parse_feed(decoded, content_type, url)
    result.parse_cpu_s = time.process_time() - started
    result.body_bytes = len(decoded)
    coding = content_coding.normalise(coding)
    if result.ok and coding == content_coding.IDENTITY:  # compressed, the caller keeps its own
        result.stored = feed_copy.pack(body, coding, content_type)
    return result


def _serve() -> None:
    """Worker side: read ``read_body`` arguments on stdin, answer ParsedFeed frames."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but frames may reach the parent's pipe
    stdout.write(HEADER.pack(0))  # ready
    stdout.flush()
    while True:
        header = stdin.read(HEADER.size)
        if len(header) < HEADER.size:
            return
        (size,) = HEADER.unpack(header)
        result = read_body(*pickle.loads(stdin.read(size)))
        frame = pickle.dumps(_pack(result), pickle.HIGHEST_PROTOCOL)
        stdout.write(HEADER.pack(len(frame)) + frame)
        stdout.flush()


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    try:
        _serve()
    except BrokenPipeError:  # the parent stopped reading: nobody wants the answer
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # so that the exit's flush fails quietly
