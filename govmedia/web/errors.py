"""Refusals raised by handlers: an HTTP status and a message for the user (Chinese)."""

from __future__ import annotations


class Problem(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad_request(message: str) -> Problem:
    return Problem(400, message)


def forbidden(message: str = "没有权限执行此操作") -> Problem:
    return Problem(403, message)


def not_found(message: str = "找不到该记录,或不在您的管理范围内") -> Problem:
    return Problem(404, message)
