"""The status page, incident pages and history: server-rendered, complete without JavaScript."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import lru_cache

from babel.dates import format_date as babel_format_date
from babel.dates import format_skeleton
from babel.numbers import format_percent as babel_format_percent
from flask import abort, current_app, render_template, request
from flask_babel import format_date, format_timedelta, get_locale

from ...models import ComponentStatus, utcnow
from ...services.public import (
    STATUS_LABELS,
    find_incident,
    load_history,
    load_recent_days,
    load_summary,
    oldest_event_at,
    page_zone,
)
from . import blueprint
from .caching import cached_public

RECENT_DAYS = 7
# Public ids are short tokens; anything else is refused before it reaches the database.
PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
PAGE_NUMBER = re.compile(r"[0-9]{1,6}")


@blueprint.get("/")
@cached_public(freshness=300)
def index():
    now = utcnow()
    summary = load_summary(now, with_uptime=True)
    return render_template(
        "public/index.html",
        summary=summary,
        groups=summary.groups,
        ungrouped=summary.ungrouped,
        recent_days=load_recent_days(now, RECENT_DAYS),
    )


@blueprint.get("/incidents/<public_id>")
@cached_public()
def incident(public_id: str):
    found = find_incident(public_id) if PUBLIC_ID.fullmatch(public_id) else None
    if found is None:
        abort(404)
    return render_template("public/incident.html", incident=found)


@blueprint.get("/history")
@cached_public(freshness=300)
def history():
    now = utcnow()
    per_page = current_app.config["HISTORY_MONTHS_PER_PAGE"]
    last_page = _last_history_page(now, per_page)
    page = _page_number(request.args.get("page"), last_page)
    return render_template(
        "public/history.html",
        months=load_history(page, per_page, now),
        page=page,
        newer=page - 1 if page > 1 else None,
        older=page + 1 if page < last_page else None,
    )


def _page_number(raw: str | None, last_page: int) -> int:
    """The requested page (1 = current months); 404 for anything malformed or out of range."""
    if raw is None:
        return 1
    if not PAGE_NUMBER.fullmatch(raw) or not 1 <= int(raw) <= last_page:
        abort(404)
    return int(raw)


def _last_history_page(now: datetime, per_page: int) -> int:
    oldest = oldest_event_at()
    if oldest is None:
        return 1
    zone = page_zone()
    months = _month_index(now.astimezone(zone).date()) - _month_index(
        oldest.astimezone(zone).date()
    )
    return max(months, 0) // per_page + 1


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


# ---------------------------------------------------------------- template filters


@blueprint.app_template_filter("status_label")
def status_label(status: str) -> str:
    return str(STATUS_LABELS[ComponentStatus(status)])


@blueprint.app_template_filter("long_date")
def long_date(day: date) -> str:
    return format_date(day, "long")


@blueprint.app_template_filter("short_date")
def short_date(day: date) -> str:
    # `/` formats the same 90 days once per component: remember them per locale.
    return _short_date(day, str(get_locale()))


@lru_cache(maxsize=2048)
def _short_date(day: date, locale: str) -> str:
    return babel_format_date(day, "medium", locale=locale)


@blueprint.app_template_filter("month_name")
def month_name(day: date) -> str:
    return format_skeleton("yMMMM", day, locale=get_locale())


@blueprint.app_template_filter("percent")
def percent(value: float | None) -> str:
    return "" if value is None else _percent(value, str(get_locale()))


@lru_cache(maxsize=4096)
def _percent(value: float, locale: str) -> str:
    return babel_format_percent(value / 100, "#,##0.##%", locale=locale)


@blueprint.app_template_filter("duration")
def duration(start: datetime | None, end: datetime | None) -> str:
    """A span like "2 hours 13 minutes" (days, hours and minutes that are not zero)."""
    if start is None or end is None or end < start:
        return ""
    minutes = max(int((end - start).total_seconds() // 60), 1)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    return " ".join(
        format_timedelta(timedelta(**{f"{unit}s": n}), granularity=unit, threshold=10**9)
        for n, unit in parts
        if n
    )
