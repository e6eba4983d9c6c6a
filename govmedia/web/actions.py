"""The operations the console and the API share, each one scope-checked, then handed to the
registry (which applies the same rules as the command line) and written to the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from govmedia.web.errors import bad_request, forbidden, not_found
from registry import filing, ledger, reviews, scoped, users
from registry.db import Database
from registry.errors import Refused
from registry.fields import CHANGEABLE, FIELD_BY_KEY, FieldError, Status, parse_date
from registry.lifecycle import Kind
from registry.queries import AccountRecord
from registry.scope import Scope
from registry.users import User
from registry.writer import FilingMeta

KINDS: dict[str, Kind] = {
    "open": Kind.OPEN,
    "change": Kind.CHANGE,
    "close": Kind.CLOSE,
    "deregister": Kind.DEREGISTER,
    "reopen": Kind.REOPEN,
}
KIND_BY_LABEL = {kind.value: key for key, kind in KINDS.items()}


# A unit's accounts stay where its offices can see them: moving one is an office's filing.
_UNIT_REGION = "运维单位不能把账号登记到本单位所在行政区划以外: 请由主管的网信或政务公开部门办理"


def parse_kind(text: str) -> str:
    text = text.strip()
    if text in KINDS:
        return text
    if text in KIND_BY_LABEL:
        return KIND_BY_LABEL[text]
    raise bad_request(f"未知的备案类型 '{text}',应为: 开设、变更、关停、注销、重新开设")


def _effective(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return parse_date(text)
    except FieldError as exc:
        raise bad_request(f"生效日期: {exc}") from exc


def _meta(user: User, now: datetime, doc_no: str, reason: str) -> FilingMeta:
    if len(doc_no) > 200 or len(reason) > 2000:
        raise bad_request("文号或原因过长")
    return FilingMeta(
        filed_by=user.display_name or user.username, filed_at=now, doc_no=doc_no, reason=reason
    )


async def file(
    db: Database,
    user: User,
    now: datetime,
    *,
    kind: str,
    account: str = "",
    fields: Mapping[str, Any] | None = None,
    effective_on: str = "",
    doc_no: str = "",
    reason: str = "",
    remote: str = "",
) -> filing.Receipt:
    """File one filing as ``user``; refusals raise Problem with the registry's message."""
    if not user.scope.can_write:
        raise forbidden("只读用户不能备案")
    key = parse_kind(kind)
    # A change may clear an optional field (an empty value); other filings take what is given.
    raw = {
        k: v
        for k, v in (fields or {}).items()
        if v is not None and (key == "change" or str(v).strip() != "")
    }
    for name, value in raw.items():
        if not isinstance(value, (str, int)):
            raise bad_request(f"{name}: 应为字符串")
    meta = _meta(user, now, doc_no.strip(), reason.strip())
    day = _effective(effective_on)
    scope = user.scope
    try:
        if key == "open":
            if scope.is_unit:
                if raw.get("sponsor", scope.value) != scope.value:
                    raise forbidden("运维单位只能为本单位开设账号")
                raw["sponsor"] = scope.value
            if raw.get("status", Status.ACTIVE.value) != Status.ACTIVE.value:
                raise bad_request("开设备案不能指定状态: 开设的账号状态为正常")
            raw.setdefault("opened_on", (day or now.date()).isoformat())
            values = filing.clean_values(raw, opening=True)
            if not scope.covers(values):
                raise forbidden("该账号的行政区划或主办单位不在您的管理范围内")
            if scope.is_unit:
                regions = await scoped.unit_regions(db, scope.value)
                if regions and values["region_code"] not in regions:
                    raise forbidden(_UNIT_REGION)
            receipt = await filing.file_open(db, raw, meta, day)
        else:
            record = await scoped.account_in_scope(db, scope, account.strip())
            if record is None:
                raise not_found(f"找不到账号 {account},或不在您的管理范围内")
            if key == "change":
                if not raw:
                    raise bad_request("变更备案至少填写一个要变更的字段")
                fixed = sorted(set(raw) - set(CHANGEABLE))
                if fixed:
                    names = "、".join(
                        FIELD_BY_KEY[k].header if k in FIELD_BY_KEY else k for k in fixed
                    )
                    raise bad_request(f"变更备案不能修改: {names}")
                values = filing.clean_values(raw, opening=False)
                if not scope.covers({**record.fields, **values}):
                    raise forbidden("变更后的账号将不在您的管理范围内")
                moved = values.get("region_code", record.fields["region_code"])
                if scope.is_unit and moved != record.fields["region_code"]:
                    raise forbidden(_UNIT_REGION)
            elif raw:
                raise bad_request(f"{KINDS[key].value}备案不接受字段变更")
            receipt = await filing.file_on_account(
                db, str(record.pk), KINDS[key], meta, day or now.date(), raw or None
            )
    except Refused as exc:
        raise bad_request(str(exc)) from exc
    await users.record(
        db,
        now,
        user.username,
        f"filing.{key}",
        f"account:{receipt.account_pk}",
        {"changes": {k: list(v) for k, v in receipt.changes.items()}, "doc_no": doc_no},
        remote=remote,
    )
    return receipt


async def feedback(
    db: Database,
    user: User,
    now: datetime,
    entry_id: int,
    *,
    status: str,
    note: str,
    remote: str = "",
) -> ledger.Transition:
    """A unit's or an office's rectification feedback: a status change with a note."""
    if not user.scope.can_write:
        raise forbidden("只读用户不能更新台账")
    if await scoped.entry_in_scope(db, user.scope, entry_id) is None:
        raise not_found(f"台账条目 #{entry_id} 不存在,或不在您的管理范围内")
    if len(note) > 4000:
        raise bad_request("说明过长(最多4000字)")
    try:
        done = await ledger.update_status(
            db,
            entry_id,
            status,
            actor=user.display_name or user.username,
            note=note.strip(),
            at=now,
        )
    except Refused as exc:
        raise bad_request(str(exc)) from exc
    await users.record(
        db,
        now,
        user.username,
        "ledger.update",
        f"entry:{entry_id}",
        {"from": done.old.value, "to": done.new.value, "note": note.strip()},
        remote=remote,
    )
    return done


async def submit_review(
    db: Database, user: User, now: datetime, record: Mapping[str, Any], *, remote: str = ""
) -> tuple[int, bool]:
    if not user.scope.can_write:
        raise forbidden("只读用户不能提交审核记录")
    try:  # a malformed identity is a bad request, before any scope question
        platform, account_id = reviews.review_account(record)
    except Refused as exc:
        raise bad_request(str(exc)) from exc
    if await scoped.account_in_scope(db, user.scope, f"{platform}:{account_id}") is None:
        raise not_found(f"账号 {platform}:{account_id} 未登记,或不在您的管理范围内")
    try:
        pk, added = await reviews.submit_review(db, record, now)
    except Refused as exc:
        raise bad_request(str(exc)) from exc
    await users.record(
        db,
        now,
        user.username,
        "review.submit",
        f"account:{pk}",
        {"title": record.get("title") or "", "url": record.get("url") or ""},
        remote=remote,
    )
    return pk, added


async def account_view(
    db: Database, scope: Scope, ref: str
) -> tuple[AccountRecord, dict[str, Any]]:
    """An account in the scope with its inspections and ledger entries, for the console's
    account page and the API (404 outside the scope)."""
    record = await scoped.account_in_scope(db, scope, ref)
    if record is None:
        raise not_found()
    return record, await scoped.account_activity(db, record.pk)
