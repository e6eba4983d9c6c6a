"""Refusals: a request the registry will not carry out; nothing was written."""


class Refused(Exception):
    """Refused with a message for the office staff (Chinese); the CLI exits 1."""
