"""The filing state machine, pure: golden cases and a property over any filing sequence."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.fields import KEYS
from registry.lifecycle import AccountState, FilingFacts, Kind, LifecycleError, apply, replay

D0 = date(2025, 1, 1)
VALUES = {key: "" for key in KEYS} | {
    "name": "平安锦江",
    "platform": "微博",
    "account_id": "a1",
    "sponsor": "成都市锦江区公安分局",
    "region_code": "510104",
    "opened_on": "2025-01-01",
    "interaction": "有",
}


def opened() -> AccountState:
    state, _ = apply(None, FilingFacts(Kind.OPEN, D0, VALUES))
    return state


def test_open_sets_active_and_records_every_value() -> None:
    state, changes = apply(None, FilingFacts(Kind.OPEN, D0, VALUES | {"status": "注销"}))
    assert state.fields["status"] == "正常"
    assert changes["name"] == ("", "平安锦江")
    assert state.status_since == D0


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([Kind.DEREGISTER, Kind.CHANGE], "已注销"),
        ([Kind.DEREGISTER, Kind.CLOSE], "已注销"),
        ([Kind.CLOSE, Kind.CLOSE], "已关停"),
        ([Kind.DEREGISTER, Kind.REOPEN], "已注销"),
        ([Kind.REOPEN], "只有已关停"),
        ([Kind.DEREGISTER, Kind.DEREGISTER], "已注销"),
    ],
)
def test_refusals(steps: list[Kind], message: str) -> None:
    state = opened()
    *allowed, refused = steps
    for kind in allowed:
        state, _ = apply(state, FilingFacts(kind, D0))
    with pytest.raises(LifecycleError, match=message):
        apply(state, FilingFacts(refused, D0, {"name": "新名称"}))


def test_open_twice_and_filing_before_open_are_refused() -> None:
    with pytest.raises(LifecycleError, match="重复开设"):
        apply(opened(), FilingFacts(Kind.OPEN, D0, VALUES))
    with pytest.raises(LifecycleError, match="尚未开设"):
        apply(None, FilingFacts(Kind.CLOSE, D0))


def test_close_then_reopen_is_an_explicit_filing() -> None:
    state, _ = apply(opened(), FilingFacts(Kind.CLOSE, D0 + timedelta(days=3)))
    state, changes = apply(state, FilingFacts(Kind.REOPEN, D0 + timedelta(days=9)))
    assert state.fields["status"] == "正常"
    assert changes == {"status": ("关停", "正常")}
    assert state.status_since == D0 + timedelta(days=9)


def test_change_records_old_and_new_and_refuses_noop_and_status() -> None:
    state, changes = apply(
        opened(), FilingFacts(Kind.CHANGE, D0, {"name": "锦江公安", "phone": ""})
    )
    assert changes == {"name": ("平安锦江", "锦江公安")}
    with pytest.raises(LifecycleError, match="相同"):
        apply(state, FilingFacts(Kind.CHANGE, D0, {"name": "锦江公安"}))
    with pytest.raises(LifecycleError, match="status"):
        apply(state, FilingFacts(Kind.CHANGE, D0, {"status": "关停"}))
    with pytest.raises(LifecycleError, match="platform"):
        apply(state, FilingFacts(Kind.CHANGE, D0, {"platform": "抖音"}))


def test_backdated_filing_is_refused() -> None:
    state, _ = apply(opened(), FilingFacts(Kind.CLOSE, D0 + timedelta(days=5)))
    with pytest.raises(LifecycleError, match="早于"):
        apply(state, FilingFacts(Kind.REOPEN, D0 + timedelta(days=4)))


def test_replay_as_of_a_past_date() -> None:
    filings = [
        FilingFacts(Kind.OPEN, D0, VALUES),
        FilingFacts(Kind.CHANGE, D0 + timedelta(days=10), {"name": "锦江公安"}),
        FilingFacts(Kind.CLOSE, D0 + timedelta(days=20)),
    ]
    assert replay(filings, D0 - timedelta(days=1)) is None
    before = replay(filings, D0 + timedelta(days=15))
    assert before is not None
    assert (before.fields["name"], before.fields["status"]) == ("锦江公安", "正常")
    after = replay(filings, D0 + timedelta(days=20))
    assert after is not None and after.fields["status"] == "关停"


filing_strategy = st.tuples(
    st.sampled_from(list(Kind)),
    st.integers(min_value=-3, max_value=10),  # days after the previous attempt
    st.fixed_dictionaries(
        {},
        optional={
            "name": st.sampled_from(["甲", "乙", "平安锦江"]),
            "phone": st.sampled_from(["", "110"]),
        },
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(filing_strategy, max_size=25))
def test_any_sequence_state_equals_replay_of_accepted(
    attempts: list[tuple[Kind, int, dict[str, str]]],
) -> None:
    state: AccountState | None = None
    accepted: list[FilingFacts] = []
    day = D0
    for kind, step, values in attempts:
        day += timedelta(days=step)
        facts = FilingFacts(kind, day, VALUES | values if kind is Kind.OPEN else values)
        try:
            state, _ = apply(state, facts)
        except LifecycleError:
            continue
        accepted.append(facts)
        assert replay(accepted) == state
    # The invariants the refusals protect, checked on the accepted history:
    statuses = [f.kind for f in accepted]
    if Kind.DEREGISTER in statuses:
        assert statuses[-1] is Kind.DEREGISTER
    assert all(a.effective_on <= b.effective_on for a, b in itertools.pairwise(accepted))
    assert statuses.count(Kind.OPEN) <= 1 and (not statuses or statuses[0] is Kind.OPEN)
