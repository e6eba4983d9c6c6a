"""Typed keys for what the application and each request carry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from govmedia.web.cache import AuthCache, ReadCache
from govmedia.web.ratelimit import LoginLimiter
from govmedia.web.settings import WebSettings
from registry.db import Database
from registry.users import Session, User

DB = web.AppKey("db", Database)
CONFIG: web.AppKey[Mapping[str, Any]] = web.AppKey("config")
SETTINGS = web.AppKey("settings", WebSettings)
NOW: web.AppKey[Callable[[], datetime]] = web.AppKey("now")
LIMITER = web.AppKey("limiter", LoginLimiter)
CACHE = web.AppKey("cache", ReadCache)
AUTH = web.AppKey("auth", AuthCache)
SESSION_LIFETIME = web.AppKey("session_lifetime", timedelta)

USER = web.RequestKey("user", User)
SESSION = web.RequestKey("session", Session)
VIA = web.RequestKey("via", str)  # "session" or "token"
