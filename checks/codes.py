"""The problem codes of the interface: Chinese labels and severities (a stable contract)."""

from __future__ import annotations

from collections.abc import Collection

from checks.model import Severity

PROBLEM_LABELS: dict[str, str] = {
    "dormant": "监测时间点前2周内无更新",
    "zombie": "超过3个月未更新(僵尸账号)",
    "empty_shell": "空壳账号",
    "unreviewed_post": "未经审核发布",
    "no_interaction": "未提供有效互动功能",
    "wording_error": "严重表述错误",
    "privacy_leak": "个人信息未去标识化",
    "commercial_content": "发布商业广告",
    "filing_mismatch": "备案状态与实际不符",
    "unreachable": "账号无法访问",
}

SEVERITY: dict[str, Severity] = {
    code: Severity.VETO
    for code in ("dormant", "zombie", "empty_shell", "unreviewed_post", "no_interaction",
                 "wording_error")
} | {
    code: Severity.SERIOUS
    for code in ("privacy_leak", "commercial_content", "filing_mismatch", "unreachable")
}  # fmt: skip

#: What a finding stands for besides its own code: a zombie account is dormant too, and the
#: empty-shell rule is not run on it (zombie supersedes both), so neither is rectified.
COVERS: dict[str, frozenset[str]] = {"zombie": frozenset({"dormant", "empty_shell"})}


def still_failing(codes: Collection[str]) -> set[str]:
    """The problems an inspection that found ``codes`` cannot count as rectified."""
    return set(codes).union(*(COVERS.get(code, ()) for code in codes))
