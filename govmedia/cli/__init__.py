"""The ``govmedia`` command: a thin layer over the registry and monitor APIs.

Each top-level command's module is imported only when that command runs, so that a quick
command (``accounts list``) does not pay for the web console's or the monitor's imports.
"""

from __future__ import annotations

import importlib

import click

COMMANDS = {
    "db": "registry_commands:db",
    "accounts": "registry_commands:accounts",
    "file": "registry_commands:file_group",
    "filings": "registry_commands:filings",
    "reviews": "registry_commands:reviews",
    "demo": "monitor_commands:demo",
    "sample": "monitor_commands:sample",
    "monitor": "monitor_commands:monitor",
    "ledger": "ledger_commands:ledger_group",
    "report": "ledger_commands:report",
    "serve": "web_commands:serve",
    "users": "web_commands:users",
}


class LazyGroup(click.Group):
    """A group whose subcommands are loaded from ``COMMANDS`` on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute = COMMANDS[cmd_name].split(":")
        command = getattr(importlib.import_module(f"govmedia.cli.{module}"), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="govmedia")
def main() -> None:
    """govmedia: 政务新媒体账号登记与监测."""
