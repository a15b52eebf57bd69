"""Status badges: valid SVG, coloured by status, accessible, and inert with hostile names."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from publisher.models import ComponentStatus

from ..corpus import lines

HOSTILE = lines("xss.txt")
SVG = "{http://www.w3.org/2000/svg}"
COLOURS = {
    ComponentStatus.OPERATIONAL: ("#4c1", "Operational"),
    ComponentStatus.DEGRADED_PERFORMANCE: ("#dfb317", "Degraded performance"),
    ComponentStatus.PARTIAL_OUTAGE: ("#fe7d37", "Partial outage"),
    ComponentStatus.MAJOR_OUTAGE: ("#e05d44", "Major outage"),
    ComponentStatus.UNDER_MAINTENANCE: ("#007ec6", "Under maintenance"),
}


def fetch_badge(client, path: str) -> tuple[ElementTree.Element, bytes]:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    return ElementTree.fromstring(response.data), response.data


def message_colour(svg: ElementTree.Element) -> str:
    return svg.findall(f"{SVG}g/{SVG}rect")[1].get("fill")


def visible_texts(svg: ElementTree.Element) -> list[str]:
    return [t.text for t in svg.iter(f"{SVG}text") if t.get("aria-hidden") != "true"]


def test_page_badge_names_the_page_and_its_overall_status_accessibly(client, make):
    make.component("API")
    svg, _ = fetch_badge(client, "/badge.svg")
    assert svg.tag == f"{SVG}svg"
    assert svg.get("role") == "img"
    assert svg.get("aria-label") == "Example Status: All Systems Operational"
    assert svg.findtext(f"{SVG}title") == "Example Status: All Systems Operational"
    assert visible_texts(svg) == ["Example Status", "All Systems Operational"]
    assert message_colour(svg) == "#4c1"


@pytest.mark.parametrize(
    ("status", "colour"),
    [
        (ComponentStatus.DEGRADED_PERFORMANCE, "#dfb317"),
        (ComponentStatus.PARTIAL_OUTAGE, "#fe7d37"),
        (ComponentStatus.MAJOR_OUTAGE, "#e05d44"),
        (ComponentStatus.UNDER_MAINTENANCE, "#007ec6"),
    ],
)
def test_page_badge_takes_the_colour_of_the_worst_status(client, make, status, colour):
    make.component("API")
    make.component("Web", position=1, status=status)
    svg, _ = fetch_badge(client, "/badge.svg")
    assert message_colour(svg) == colour


@pytest.mark.parametrize("status", list(COLOURS))
def test_component_badge_shows_the_component_status_in_its_colour(client, make, status):
    component = make.component("Search", status=status)
    svg, _ = fetch_badge(client, f"/components/{component.public_id}/badge.svg")
    colour, label = COLOURS[status]
    assert message_colour(svg) == colour
    assert visible_texts(svg) == ["Search", label]
    assert svg.get("aria-label") == f"Search: {label}"


def test_component_badge_follows_a_status_change_at_once(client, make):
    from publisher.extensions import db

    component = make.component("Search")
    path = f"/components/{component.public_id}/badge.svg"
    fetch_badge(client, path)
    component.status = ComponentStatus.MAJOR_OUTAGE
    db.session.commit()
    svg, _ = fetch_badge(client, path)
    assert message_colour(svg) == "#e05d44"


def test_unknown_component_badge_is_not_found(client):
    assert client.get("/components/nosuchthing/badge.svg").status_code == 404


def test_badge_width_grows_with_its_text(client, make):
    short = make.component("DB")
    long = make.component("Customer-facing payments gateway", position=1)
    short_svg, _ = fetch_badge(client, f"/components/{short.public_id}/badge.svg")
    long_svg, _ = fetch_badge(client, f"/components/{long.public_id}/badge.svg")
    assert int(long_svg.get("width")) > int(short_svg.get("width")) + 100


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_component_names_are_escaped_text(client, make, name):
    component = make.component(name=name)
    svg, raw = fetch_badge(client, f"/components/{component.public_id}/badge.svg")
    assert b"<script" not in raw.lower()
    elements = {element.tag.removeprefix(SVG) for element in svg.iter()}
    assert elements <= {"svg", "title", "linearGradient", "stop", "clipPath", "rect", "g", "text"}
    for element in svg.iter():
        assert not any(attribute.startswith("on") for attribute in element.attrib)
        assert not any(attribute.endswith("href") for attribute in element.attrib)
    shown = " ".join(name.split())
    shown = shown if len(shown) <= 48 else shown[:47].rstrip() + "…"
    assert visible_texts(svg)[0] == shown
    assert svg.get("aria-label") == f"{shown}: Operational"


def test_control_characters_and_line_breaks_in_a_name_still_give_valid_svg(client, make):
    component = make.component(name="API\x01\x1b\r\nstatus")
    svg, _ = fetch_badge(client, f"/components/{component.public_id}/badge.svg")
    assert visible_texts(svg)[0] == "API status"
