"""The ``govmedia`` command: a thin layer over the registry and monitor APIs."""

from __future__ import annotations

import click

from govmedia.cli import ledger_commands, monitor_commands, registry_commands, web_commands


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="govmedia")
def main() -> None:
    """govmedia: 政务新媒体账号登记与监测."""


for group in (
    registry_commands.db,
    registry_commands.accounts,
    registry_commands.file_group,
    registry_commands.filings,
    registry_commands.reviews,
    monitor_commands.demo,
    monitor_commands.sample,
    monitor_commands.monitor,
    ledger_commands.ledger_group,
    ledger_commands.report,
    web_commands.serve,
    web_commands.users,
):
    main.add_command(group)
