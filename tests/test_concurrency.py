"""Two processes writing to one SQLite file at once both succeed (no "database is locked")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import sample_rows, write_csv

OPENER = """
import asyncio, sys
from datetime import datetime, timezone
from govmedia.synthetic import inventory
from registry.db import Database
from registry.filing import file_open
from registry.writer import FilingMeta

async def main(url):
    db = Database(url)
    rows = list(inventory(150, seed=7))
    for row in rows:
        meta = FilingMeta(filed_by="b", filed_at=datetime.now(timezone.utc))
        await file_open(db, row, meta)
    await db.close()

asyncio.run(main(sys.argv[1]))
"""


def test_two_processes_import_and_file_at_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    govmedia = [sys.executable, "-m", "govmedia"]
    subprocess.run([*govmedia, "db", "upgrade", "--db", url], check=True, capture_output=True)
    big = write_csv(tmp_path / "big.csv", sample_rows(3000, seed=3))
    importer = subprocess.Popen(
        [*govmedia, "accounts", "import", str(big), "--db", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    opener = subprocess.Popen(
        [sys.executable, "-c", OPENER, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    results = [
        (p.wait(timeout=120), p.stderr.read().decode() if p.stderr else "")
        for p in (importer, opener)
    ]
    assert [code for code, _ in results] == [0, 0], results
    listed = subprocess.run(
        [*govmedia, "accounts", "list", "--json", "--db", url], check=True, capture_output=True
    )
    import json

    assert len(json.loads(listed.stdout)) == 3150
