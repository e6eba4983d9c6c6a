"""Query-string parsing shared by pages and the API: bad values are refused with a message."""

from __future__ import annotations

from collections.abc import Mapping

from govmedia.web.errors import bad_request
from monitor.quarter import Quarter
from registry.fields import PLATFORMS, Status
from registry.ledger_status import parse_status
from registry.scoped import MAX_PER_PAGE, AccountFilters


def is_number(text: str, max_digits: int = 18) -> bool:
    """ASCII digits only (``str.isdigit`` takes ``²``, which ``int`` refuses), and few enough
    (18 digits: below 2**63, so any such id fits a database column)."""
    return text.isascii() and text.isdigit() and len(text) <= max_digits


def integer(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = query.get(name, "").strip()
    if not text:
        return default
    if not is_number(text, len(str(high))) or not low <= int(text) <= high:
        raise bad_request(f"参数 {name} 应为 {low} 到 {high} 之间的整数")
    return int(text)


def paging(query: Mapping[str, str], default_size: int) -> tuple[int, int]:
    return (
        integer(query, "page", 1, 1, 1_000_000),
        integer(query, "per_page", default_size, 1, MAX_PER_PAGE),
    )


def account_filters(query: Mapping[str, str]) -> AccountFilters:
    platform = query.get("platform", "").strip()
    if platform and platform not in PLATFORMS:
        raise bad_request(f"未知平台 '{platform}'")
    status = query.get("status", "").strip()
    if status and status not in {s.value for s in Status}:
        raise bad_request(f"未知状态 '{status}',应为 正常、关停、注销")
    region = query.get("region", "").strip()
    if region and (not is_number(region) or len(region) > 6):
        raise bad_request("region 应为行政区划代码(或其前缀)")
    q = query.get("q", "").strip()
    if len(q) > 100:
        raise bad_request("搜索词过长")
    return AccountFilters(q=q, platform=platform, status=status, region=region)


def quarter(query: Mapping[str, str], default: Quarter) -> Quarter:
    text = query.get("quarter", "").strip()
    if not text:
        return default
    try:
        chosen = Quarter.parse(text)
        chosen.previous()  # a bulletin compares with the quarter before: 0001Q1 has none
        chosen.next()
    except ValueError as exc:
        raise bad_request(f"季度应写作 2026Q4: {text}") from exc
    return chosen


def ledger_status(query: Mapping[str, str]) -> str:
    text = query.get("status", "").strip()
    if not text:
        return ""
    status = parse_status(text)
    if status is None:
        raise bad_request(f"未知的整改状态 '{text}'")
    return status.value
