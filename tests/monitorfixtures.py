"""Helpers for the monitor tests: settings sized for tests, an inventory on the sim server."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from conftest import META, TODAY, sample_rows, write_csv

from govmedia import config
from registry.db import Database
from registry.inventory import import_inventory


def monitor_settings(*, unreviewed: bool = False, **fetch: Any) -> dict[str, Any]:
    """The defaults with test-sized fetch timeouts (and the review rule off unless asked)."""
    settings = copy.deepcopy(config.load_defaults())
    fast = {
        "concurrency": 20, "connect_timeout_s": 1.0, "total_timeout_s": 1.0, "backoff_base_s": 0.01,
        "backoff_cap_s": 0.05, "retry_after_cap_s": 2.0, "parse_workers": 1,
    }  # fmt: skip
    settings["fetch"].update(fast | fetch)
    settings["checks"]["unreviewed_post"]["enabled"] = unreviewed
    return settings


async def seed_inventory(
    db: Database, tmp_path: Path, sim_url: str, count: int, seed: int = 5
) -> list[dict[str, str]]:
    rows = sample_rows(count, seed=seed)
    for row in rows:
        row["feed_url"] = f"{sim_url}/feed/{row['account_id']}"
    await import_inventory(db, write_csv(tmp_path / "inventory.csv", rows), META, TODAY)
    return rows
