"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, current_app, request
from flask_babel import format_datetime, format_timedelta, get_locale

from . import labels, security
from .i18n import languages, translation_languages


def init_app(app: Flask) -> None:
    security.init_app(app)
    labels.init_app(app)
    app.jinja_env.filters["iso"] = iso
    app.jinja_env.filters["utc"] = utc
    app.jinja_env.filters["ago"] = ago
    app.jinja_env.globals["page_name"] = page_name
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())
    app.jinja_env.globals["languages"] = languages
    app.jinja_env.globals["translation_languages"] = translation_languages
    app.jinja_env.globals["here"] = here
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True


def iso(value: datetime | None) -> str:
    """ISO 8601 in UTC with a Z, for <time datetime> and machine readers."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc(value: datetime | None, format: str = "medium") -> str:
    """A locale-formatted time in UTC, with the zone named (what no-JS visitors see)."""
    if value is None:
        return ""
    return f"{format_datetime(value, format)} UTC"


def ago(value: datetime | None) -> str:
    """How long ago, in words ("5 minutes")."""
    if value is None:
        return ""
    return format_timedelta(datetime.now(UTC) - value, threshold=1.0)


def here() -> str:
    """This page's path and query, for a form that comes back here (the language switcher)."""
    query = request.query_string.decode("latin-1")
    return f"{request.script_root}{request.path}{'?' + query if query else ''}"


def page_name() -> str:
    return current_app.config["PAGE_NAME"]
