"""What people read for the feedback values stored in English: sources and regions.

The stored value never changes with the language; only its label does. The console's
pages, the responders' digests and the postmortem's customer-impact section all use these.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

SOURCE_LABELS = {
    "status_page": _l("Status page"),
    "support": _l("Support"),
    "x": "X",
    "mastodon": "Mastodon",
    "bluesky": "Bluesky",
}
# The regions Herald offers when FEEDBACK_REGIONS is not set; names set there are shown as is.
REGION_LABELS = {
    "Africa": _l("Africa"),
    "Asia Pacific": _l("Asia Pacific"),
    "Europe": _l("Europe"),
    "Middle East": _l("Middle East"),
    "North America": _l("North America"),
    "South America": _l("South America"),
}


def source_label(source: str | None) -> str:
    """A report's source as people read it (anything unknown is shown as stored)."""
    return str(SOURCE_LABELS.get(source, source or ""))


def region_label(region: str | None) -> str:
    """A region in the reader's language; "" when none was given."""
    if not region:
        return ""
    return str(REGION_LABELS.get(region, region))
