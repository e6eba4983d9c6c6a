"""The policy: defaults equal the documented configuration; bad values name their key."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

import pytest

from checks import Policy
from checks.dictionary import WordingTerm

REPO = Path(__file__).resolve().parent.parent
FRAGMENT = Path("/tmp/fragments/checks.toml")


def documented_checks_table() -> dict[str, Any]:
    """``[checks]`` of the repository's config.toml when merged there, else the fragment."""
    config = REPO / "config.toml"
    if config.exists() and "checks" in tomllib.loads(config.read_text(encoding="utf-8")):
        from govmedia.config import load_defaults

        return load_defaults()["checks"]
    return tomllib.loads(FRAGMENT.read_text(encoding="utf-8"))["checks"]


def test_documented_configuration_equals_defaults() -> None:
    table = documented_checks_table()
    assert Policy.from_config(table) == Policy()
    # Every setting is documented: each rule table and each configurable key appears.
    for rule in dataclasses.fields(Policy):
        section = table[rule.name]
        for key in dataclasses.fields(getattr(Policy(), rule.name)):
            if key.metadata.get("config", True):
                assert key.name in section, f"checks.{rule.name}.{key.name} not documented"


def test_partial_configuration_keeps_other_defaults() -> None:
    policy = Policy.from_config({"dormant": {"days": 7}, "empty_shell": {"min_original_posts": 1}})
    assert policy.dormant.days == 7 and policy.empty_shell.min_original_posts == 1
    assert policy.zombie == Policy().zombie and policy.empty_shell.window_days == 90
    assert Policy.from_config({}) == Policy()


BAD = [
    ({"dormant": {"days": "14"}}, "checks.dormant.days"),
    ({"dormant": {"days": 0}}, "checks.dormant.days"),
    ({"dormant": {"days": True}}, "checks.dormant.days"),
    ({"dormant": {"dayz": 3}}, "checks.dormant.dayz"),
    ({"zombie": {"days": 7}}, "checks.zombie.days"),
    ({"empty_shell": {"repost_markers": "转发"}}, "checks.empty_shell.repost_markers"),
    ({"empty_shell": {"repost_markers": [""]}}, "checks.empty_shell.repost_markers"),
    ({"empty_shell": {"window_days": -1}}, "checks.empty_shell.window_days"),
    ({"empty_shell": {"window_days": 99_999_999}}, "checks.empty_shell.window_days"),  # overflows
    ({"unreviewed_post": {"required_levels": ["三审"]}}, "checks.unreviewed_post.required_levels"),
    ({"privacy_leak": {"mobile": "yes"}}, "checks.privacy_leak.mobile"),
    ({"wording_error": {"extra_dictionary": 5}}, "checks.wording_error.extra_dictionary"),
    ({"wording_error": {"extra_terms": []}}, "checks.wording_error.extra_terms"),
    ({"bogus": {}}, "checks.bogus"),
    ({"dormant": 14}, "checks.dormant"),
]


@pytest.mark.parametrize(("table", "key"), BAD)
def test_bad_values_name_the_key(table: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        Policy.from_config(table)


def test_policy_is_frozen_and_hashable() -> None:
    policy = Policy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.dormant = policy.dormant  # type: ignore[misc]
    assert hash(policy) == hash(Policy())
    extended = policy.with_wording_terms([WordingTerm("攻付", "政府")])
    assert extended != policy and extended.dormant == policy.dormant
