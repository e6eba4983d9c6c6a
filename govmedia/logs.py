"""Structured logs on stderr: readable on a terminal, JSON lines otherwise."""

from __future__ import annotations

import logging
import sys

import structlog

LEVELS = ("debug", "info", "warning", "error", "critical")


def configure(level: str = "info") -> None:
    if level.lower() not in LEVELS:
        raise ValueError(f"[logging] level 应为 {'、'.join(LEVELS)} 之一, 而不是 {level!r}")
    # On a terminal the console renderer shows an exception itself; in JSON lines it must be
    # turned into text first, or only "exc_info": true is left of it.
    renderers: list[structlog.typing.Processor] = (
        [structlog.dev.ConsoleRenderer()]
        if sys.stderr.isatty()
        else [
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ]
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=False),
            *renderers,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,  # tests capture logs after the CLI configured them
    )
