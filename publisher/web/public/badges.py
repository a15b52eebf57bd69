"""Shields-style flat SVG badges: the page's overall status and each component's."""

from __future__ import annotations

import unicodedata

from flask import Response, abort, current_app

from ...models import ComponentStatus, Impact
from ...services.public import find_component, load_status, page_info
from . import blueprint
from .caching import cached_public
from .feeds import xml_text

SVG_TYPE = "image/svg+xml; charset=utf-8"
MAX_TEXT = 48
PADDING = 10
STATUS_COLOURS = {  # shields.io's palette, so the badges look familiar
    ComponentStatus.OPERATIONAL: "#4c1",
    ComponentStatus.DEGRADED_PERFORMANCE: "#dfb317",
    ComponentStatus.PARTIAL_OUTAGE: "#fe7d37",
    ComponentStatus.MAJOR_OUTAGE: "#e05d44",
    ComponentStatus.UNDER_MAINTENANCE: "#007ec6",
}
INDICATOR_STATUS = {
    Impact.NONE: ComponentStatus.OPERATIONAL,
    Impact.MINOR: ComponentStatus.DEGRADED_PERFORMANCE,
    Impact.MAJOR: ComponentStatus.PARTIAL_OUTAGE,
    Impact.CRITICAL: ComponentStatus.MAJOR_OUTAGE,
    Impact.MAINTENANCE: ComponentStatus.UNDER_MAINTENANCE,
}
# Approximate advance widths of 11px Verdana, which shields.io badges use.
_NARROW = frozenset(" !'(),./:;I[]`fijlrt|")
_WIDE = frozenset("%@MWmw")


@blueprint.get("/badge.svg")
@cached_public()
def status_badge():
    overall = load_status()
    status = INDICATOR_STATUS.get(overall.indicator, ComponentStatus.OPERATIONAL)
    return _badge(page_info().name, overall.description, status)


@blueprint.get("/components/<public_id>/badge.svg")
@cached_public()
def component_badge(public_id: str):
    component = find_component(public_id)
    if component is None:
        abort(404)
    return _badge(component.name, component.status_label, component.status)


def _badge(label: str, message: str, status: ComponentStatus) -> Response:
    label, message = _fit(label), _fit(message)
    label_width, message_width = text_width(label), text_width(message)
    # Autoescaped (.svg), and rendered without the context processors: no session, no user.
    template = current_app.jinja_env.get_template("public/badge.svg")
    svg = template.render(
        label=label,
        message=message,
        colour=STATUS_COLOURS[status],
        label_width=label_width,
        message_width=message_width,
    )
    return Response(svg, content_type=SVG_TYPE)


def _fit(text: str) -> str:
    """One line of XML-safe text, cut to a badge's length."""
    text = " ".join(xml_text(text).split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1].rstrip() + "…"


def text_width(text: str) -> int:
    """The text's width in pixels plus padding, close enough to centre it."""
    return round(sum(_char_width(c) for c in text)) + PADDING


def _char_width(char: str) -> float:
    if char in _NARROW:
        return 3.9
    if char in _WIDE:
        return 10.0
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 11.0
    return 7.6 if char.isupper() or char.isdigit() else 6.8
