"""History feeds (RSS 2.0 and Atom, Statuspage's URLs) and the maintenance calendar."""

from __future__ import annotations

import re
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator
from flask import Response, abort, current_app, request
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from icalendar import Calendar, Event
from markupsafe import Markup, escape

from ...models import MaintenanceStatus
from ...services.markdown import markdown_to_text
from ...services.public import (
    IncidentView,
    PageInfo,
    PostmortemView,
    UpdateView,
    find_component,
    incidents_for_component,
    incidents_query,
    load_incidents,
    maintenance_calendar_query,
    page_info,
)
from ..i18n import supported
from ..template_helpers import utc
from . import blueprint
from .caching import cached_public

FEED_ENTRIES = 50
CALENDAR_EVENTS = 500
CALENDAR_PAST_DAYS = 30
# The 30-day window moves with the clock, not only with publishing.
CALENDAR_FRESHNESS = 3600
RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
CALENDAR_TYPE = "text/calendar; charset=utf-8"
# What XML 1.0 forbids (lxml refuses it): a hostile name must not turn a feed into a 500.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_STARTED_STATUSES = (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)


# ---------------------------------------------------------------- routes


@blueprint.get("/history.rss")
@cached_public()
def history_rss():
    return _feed_response(_in_language(_page_feed, "rss"), "rss")


@blueprint.get("/history.atom")
@cached_public()
def history_atom():
    return _feed_response(_in_language(_page_feed, "atom"), "atom")


@blueprint.get("/components/<public_id>/history.rss")
@cached_public()
def component_history_rss(public_id: str):
    return _feed_response(_in_language(_component_feed, "rss", public_id), "rss")


@blueprint.get("/components/<public_id>/history.atom")
@cached_public()
def component_history_atom(public_id: str):
    return _feed_response(_in_language(_component_feed, "atom", public_id), "atom")


@blueprint.get("/maintenance.ics")
@cached_public(freshness=CALENDAR_FRESHNESS)
def maintenance_calendar():
    info = page_info()
    items = load_incidents(
        maintenance_calendar_query(datetime.now(UTC) - timedelta(days=CALENDAR_PAST_DAYS)),
        limit=CALENDAR_EVENTS,
        newest_first=False,
    )
    calendar = _new_calendar(info)
    for item in items:
        calendar.add_component(_event(item, info))
    return Response(calendar.to_ical(), content_type=CALENDAR_TYPE)


# ---------------------------------------------------------------- feeds


def xml_text(text: str | None) -> str:
    """Text with the characters XML cannot carry removed (shared with the badges)."""
    return _NOT_XML.sub("", text or "")


def feed_language() -> str | None:
    """The language a feed was asked in (?lang=pl), None for the original text; 404 for a
    language Herald does not have."""
    raw = request.args.get("lang")
    if raw is None:
        return None
    if supported(raw) is None:
        abort(404)
    return raw


def _in_language(build, fmt: str, *args) -> FeedGenerator:
    """Build a feed in one language throughout: the one asked for (?lang=pl), else the
    reader's, chosen as for the pages. `asked` only names the feed's own URL."""
    asked = feed_language()
    with force_locale(asked) if asked else nullcontext():
        return build(fmt, asked, *args)


def _feed_locale() -> str:
    """The language the feed is built in: its wording, its declared language, its updates."""
    return str(get_locale())


def _page_feed(fmt: str, asked: str | None) -> FeedGenerator:
    info = page_info()
    feed = _new_feed(
        info,
        fmt,
        asked,
        _("%(page)s status", page=info.name),
        _("Incidents and maintenance on %(page)s", page=info.name),
    )
    items = load_incidents(incidents_query(), limit=FEED_ENTRIES)
    _add_entries(feed, items, fmt, _feed_locale())
    return feed


def _component_feed(fmt: str, asked: str | None, public_id: str) -> FeedGenerator:
    component = find_component(public_id)
    if component is None:
        abort(404)
    info = page_info()
    names = {"page": info.name, "component": component.name}
    feed = _new_feed(
        info,
        fmt,
        asked,
        _("%(page)s status: %(component)s", **names),
        _("Incidents and maintenance affecting %(component)s on %(page)s", **names),
    )
    items = load_incidents(incidents_for_component(component.id), limit=FEED_ENTRIES)
    _add_entries(feed, items, fmt, _feed_locale())
    return feed


def _new_feed(
    info: PageInfo, fmt: str, asked: str | None, title: str, subtitle: str
) -> FeedGenerator:
    feed = FeedGenerator()
    self_url = f"{info.url}{request.path}" + (f"?lang={asked}" if asked else "")
    feed.id(self_url)
    feed.title(xml_text(title))
    # Atom's subtitle is text; RSS readers render a channel description as HTML.
    feed.subtitle(xml_text(str(escape(subtitle)) if fmt == "rss" else subtitle))
    feed.author(name=xml_text(info.name))
    feed.link(href=self_url, rel="self")
    # feedgen uses the last link added as the RSS <link>: the page, not the feed.
    feed.link(href=f"{info.url}/", rel="alternate")
    feed.language(_feed_locale().replace("_", "-"))
    feed.updated(info.updated_at)
    feed.generator("Herald")
    return feed


def _add_entries(feed: FeedGenerator, items: list[IncidentView], fmt: str, lang: str) -> None:
    for item in items:  # newest first; feedgen prepends unless told to append
        _add_entry(feed, item, fmt, lang)


def _add_entry(feed: FeedGenerator, item: IncidentView, fmt: str, lang: str) -> None:
    url = incident_url(item)
    entry = feed.add_entry(order="append")
    entry.guid(url, permalink=True)
    entry.title(xml_text(item.name) or _("Untitled incident"))
    entry.link(href=url, rel="alternate")
    entry.updated(_last_change(item))
    # RSS has no "updated": its pubDate moves with each update so readers notice.
    entry.published(_last_change(item) if fmt == "rss" else _first_public(item))
    entry.content(xml_text(str(_entry_html(item, lang))), type="html")


def _feed_response(feed: FeedGenerator, fmt: str) -> Response:
    if fmt == "rss":
        return Response(feed.rss_str(pretty=True), content_type=RSS_TYPE)
    return Response(feed.atom_str(pretty=True), content_type=ATOM_TYPE)


def incident_url(item: IncidentView) -> str:
    return f"{current_app.config['BASE_URL']}/incidents/{item.public_id}"


def _last_change(item: IncidentView) -> datetime:
    """The latest publication or revision of any of its updates, or of its postmortem."""
    times = [update.changed_at for update in item.updates]
    times += [item.postmortem.updated_at] if item.postmortem else []
    return max(times, default=item.created_at)


def _first_public(item: IncidentView) -> datetime:
    return item.updates[-1].display_at if item.updates else item.created_at


def _entry_html(item: IncidentView, lang: str) -> Markup:
    """The public updates, newest first: time, status and the cleaned body (in `lang` when
    translated into it, else the original, as the pages show it)."""
    parts = [_schedule_html(item)] if item.is_maintenance else []
    parts += [_postmortem_html(item.postmortem)] if item.postmortem else []
    parts += [_update_html(update, lang) for update in item.updates]
    return Markup("\n").join(parts)


def _update_html(update: UpdateView, lang: str) -> Markup:
    return Markup("<p><small>{time}</small><br><strong>{status}</strong></p>\n{body}").format(
        time=utc(update.display_at), status=update.status_label, body=_update_body(update, lang)
    )


def _update_body(update: UpdateView, lang: str) -> Markup:
    """The update's text for a feed in `lang`, marked with its language when it differs."""
    text = update.localized(lang)
    if text.lang == lang:
        return text.html
    return Markup('<div lang="{lang}">{html}</div>').format(lang=text.lang, html=text.html)


def _postmortem_html(postmortem: PostmortemView) -> Markup:
    return Markup("<p><small>{time}</small><br><strong>{title}</strong></p>\n{body}").format(
        time=utc(postmortem.updated_at), title=_("Postmortem"), body=postmortem.body_html
    )


def _schedule_html(item: IncidentView) -> Markup:
    if item.scheduled_for is None:
        return Markup("")
    text = _(
        "Scheduled for %(start)s until %(end)s",
        start=utc(item.scheduled_for),
        end=utc(item.scheduled_until) or _("further notice"),
    )
    return Markup("<p><em>{}</em></p>").format(text)


# ---------------------------------------------------------------- calendar


def _new_calendar(info: PageInfo) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//Herald//Maintenance calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _one_line(_("%(page)s maintenance", page=info.name)))
    # Ask subscribers to re-read hourly (RFC 7986, and the older Microsoft name).
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    return calendar


def _event(item: IncidentView, info: PageInfo) -> Event:
    event = Event()
    event.add("uid", f"{item.public_id}@{urlsplit(info.url).hostname}")
    _add_times(event, item)
    event.add("summary", _one_line(item.name) or _("Scheduled maintenance"))
    event.add("description", _description(item))
    event.add("url", incident_url(item))
    event.add("status", "CANCELLED" if _never_started(item) else "CONFIRMED")
    return event


def _add_times(event: Event, item: IncidentView) -> None:
    changed = _last_change(item).astimezone(UTC)
    event.add("dtstamp", changed)
    event.add("last-modified", changed)
    event.add("sequence", len(item.updates))  # grows with every public update
    event.add("dtstart", (item.scheduled_for or item.started_at).astimezone(UTC))
    end = item.scheduled_until or item.resolved_at
    if end is not None:
        event.add("dtend", end.astimezone(UTC))


def _description(item: IncidentView) -> str:
    latest = item.latest_update
    return _calendar_text(markdown_to_text(latest.body)) if latest else ""


def _never_started(item: IncidentView) -> bool:
    """Completed without a public "in progress" or "verifying" update: it did not happen."""
    if item.status != MaintenanceStatus.COMPLETED:
        return False
    return not any(update.status in _STARTED_STATUSES for update in item.updates)


def _calendar_text(text: str) -> str:
    """Text for a TEXT value: icalendar escapes line breaks; other controls go."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in text if c in "\t\n" or (c >= " " and c != "\x7f"))


def _one_line(text: str) -> str:
    return " ".join(_calendar_text(text).split())
