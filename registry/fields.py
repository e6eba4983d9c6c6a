"""The inventory's fields: headers, validation and the canonical text form of each value.

An account's state is a mapping from field key to canonical text ("" when empty), the same
form an inventory file holds; filings record changes in that form, so history reads as the
office wrote it.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from registry.codes import credit_code_problem, region_code_problem
from registry.tabular import EXCEL_EXACT_LIMIT

PLATFORMS = (
    "微信公众号", "微信视频号", "微博", "抖音", "快手", "今日头条",
    "百家号", "哔哩哔哩", "小红书", "移动客户端", "小程序", "其他",
)  # fmt: skip


class Status(StrEnum):
    ACTIVE = "正常"
    CLOSED = "关停"
    DEREGISTERED = "注销"


class FieldError(ValueError):
    """A value that cannot be accepted; the message is for the office staff."""


_DATE_FORMS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日"),
    re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"),
)


def parse_date(text: str | date | datetime) -> date:
    """A date written as YYYY-MM-DD, YYYY/M/D or YYYY年M月D日 (or a spreadsheet date)."""
    if isinstance(text, datetime):
        return text.date()
    if isinstance(text, date):
        return text
    value = text.strip()
    if len(value) == 10 and value[4] == "-":
        with contextlib.suppress(ValueError):
            return date.fromisoformat(value)
    value = value.split(" ")[0] if re.fullmatch(r"\S+ 00:00(:00)?", value) else value
    for form in _DATE_FORMS:
        match = form.fullmatch(value)
        if match:
            try:
                return date(*(int(part) for part in match.groups()))
            except ValueError as exc:
                raise FieldError(f"日期无效: {text}") from exc
    raise FieldError(f"日期格式应为 YYYY-MM-DD、YYYY/M/D 或 YYYY年M月D日: {text}")


def _platform(value: str) -> str:
    if value not in PLATFORMS:
        raise FieldError(f"平台 '{value}' 不在允许的范围内: {'、'.join(PLATFORMS)}")
    return value


_URL = re.compile(r"https?://[^\s/?#]+\S*", re.IGNORECASE)


def _url(value: str) -> str:
    if not _URL.fullmatch(value):
        raise FieldError(f"地址应以 http:// 或 https:// 开头: {value}")
    return value


@functools.lru_cache(maxsize=65536)
def _credit_code(value: str) -> str:
    value = value.upper()
    problem = credit_code_problem(value)
    if problem:
        raise FieldError(problem)
    return value


_FULL_WIDTH_DIGITS = frozenset("０１２３４５６７８９")


def _half_width(value: str) -> None:
    if _FULL_WIDTH_DIGITS.intersection(value):
        raise FieldError(f"“{value}” 含全角数字: 请改用半角数字 0-9")


@functools.lru_cache(maxsize=4096)
def _region_code(value: str) -> str:
    _half_width(value)
    value = value.removesuffix(".0")  # a number cell read from a spreadsheet
    problem = region_code_problem(value)
    if problem:
        raise FieldError(problem)
    return value


def _date(value: str) -> str:
    _half_width(value)
    return parse_date(value).isoformat()


def _status(value: str) -> str:
    try:
        return Status(value).value
    except ValueError as exc:
        raise FieldError("状态应为 正常、关停 或 注销") from exc


def _interaction(value: str) -> str:
    if value not in ("有", "无"):
        raise FieldError("互动功能应为 有 或 无")
    return value


def _text(value: str) -> str:
    return value


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    header: str
    required: bool
    normalise: Callable[[str], str]
    default: str = ""
    max_length: int | None = None  # the column's width in the schema

    def clean(self, raw: object) -> str:
        """The canonical text of ``raw`` for this field; raises FieldError."""
        if type(raw) is str:
            text = raw.strip()
        elif isinstance(raw, float) and abs(raw) >= EXCEL_EXACT_LIMIT:
            raise FieldError("数字超过15位, 表格软件已改动其末几位: 请把该列设为文本后重新录入")
        elif isinstance(raw, (date, datetime)) and self.key == "opened_on":
            return parse_date(raw).isoformat()
        else:
            text = "" if raw is None else str(raw).strip()
        if not text:
            if self.required:
                raise FieldError("必填项为空")
            return self.default
        if self.max_length is not None and len(text) > self.max_length:
            raise FieldError(f"过长: 最多{self.max_length}个字符,实有{len(text)}个")
        return text if self.normalise is _text else self.normalise(text)


FIELDS: tuple[Field, ...] = (
    Field("name", "账号名称", True, _text, max_length=200),
    Field("platform", "平台", True, _platform),
    Field("account_id", "账号ID", True, _text, max_length=200),
    Field("home_url", "主页地址", False, _url),
    Field("feed_url", "订阅地址", False, _url),
    Field("sponsor", "主办单位", True, _text, max_length=200),
    Field("sponsor_code", "主办单位统一社会信用代码", False, _credit_code),
    Field("supervisor", "主管单位", False, _text, max_length=200),
    Field("region_code", "行政区划代码", True, _region_code),
    Field("opened_on", "开设日期", True, _date),
    Field("status", "状态", False, _status, Status.ACTIVE.value),
    Field("interaction", "互动功能", False, _interaction, "有"),
    Field("admin", "管理员", False, _text, max_length=100),
    Field("phone", "联系电话", False, _text, max_length=50),
)
FIELD_BY_KEY: Mapping[str, Field] = {f.key: f for f in FIELDS}
KEYS: tuple[str, ...] = tuple(f.key for f in FIELDS)
HEADER_TO_KEY: Mapping[str, str] = {
    **{f.header: f.key for f in FIELDS},
    **{f.key: f.key for f in FIELDS},
}
# Fields a 变更 filing may set; status moves only through 关停 / 注销 / 重新开设 filings.
CHANGEABLE = tuple(k for k in KEYS if k not in ("platform", "status"))


def normalise(key: str, raw: object) -> str:
    """The canonical text of ``raw`` for field ``key``; raises FieldError."""
    return FIELD_BY_KEY[key].clean(raw)
