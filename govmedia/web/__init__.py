"""The web console and HTTP API (``govmedia serve``): aiohttp, scoped by region or unit."""

from govmedia.web.app import create_app

__all__ = ["create_app"]
