"""Building a policy from settings, including the office's wording file (this module does I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from checks.dictionary import load_dictionary
from checks.policy import Policy


def load_policy(checks_table: Mapping[str, Any], base_dir: Path | None = None) -> Policy:
    """``Policy.from_config`` plus the terms of ``extra_dictionary`` (relative to ``base_dir``)."""
    policy = Policy.from_config(checks_table)
    name = policy.wording_error.extra_dictionary
    if not name:
        return policy
    path = Path(name)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    return policy.with_wording_terms(load_dictionary(path))
