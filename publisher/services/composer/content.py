"""What a message says: its content hash, template filling and per-outlet variants."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

from flask import current_app

from ...models import Incident, Message, MessageVariant, Outlet
from ..outlets import lengths, variants
from ..public.views import INCIDENT_STATUS_LABELS

# The only names a template may use; anything else in braces stays literally as written.
PLACEHOLDERS = (
    "incident_name",
    "affected_components",
    "status",
    "impact",
    "next_update_time",
    "incident_url",
    "page_name",
)
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def content_hash(message: Message) -> str:
    """A digest of everything the public would read; an approval is bound to it."""
    content = {
        "audience": str(message.audience),
        "incident_status": message.incident_status,
        "body": message.body,
        "changes": sorted((c.component_id, str(c.new_status)) for c in message.component_changes),
        "variants": sorted((str(v.outlet), v.text) for v in message.variants),
    }
    if message.translations:  # absent when none, so older approvals keep their hash
        content["translations"] = sorted((t.locale, t.body) for t in message.translations)
    encoded = json.dumps(content, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()


def fill_template(body: str, values: Mapping[str, str]) -> str:
    """Plain {name} substitution from a fixed list; nothing is ever evaluated."""

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        return values[name] if name in PLACEHOLDERS and name in values else match.group(0)

    return _PLACEHOLDER.sub(substitute, body)


def template_values(incident: Incident, status: str) -> dict[str, str]:
    due = incident.next_update_due_at
    return {
        "incident_name": incident.name,
        "affected_components": ", ".join(c.name for c in incident.components),
        "status": status_label(status),
        "impact": str(incident.impact),
        "next_update_time": due.strftime("%H:%M UTC") if due else "",
        "incident_url": incident_url(incident),
        "page_name": current_app.config["PAGE_NAME"],
    }


def incident_url(incident: Incident) -> str:
    return f"{current_app.config['BASE_URL']}/incidents/{incident.public_id}"


def status_label(status: str) -> str:
    return str(INCIDENT_STATUS_LABELS.get(status, status))


def refresh_variants(message: Message, incident: Incident) -> None:
    """Derive every variant nobody has edited by hand from the body."""
    derived = variants.derive(
        message.body,
        incident_url(incident),
        incident.name,
        current_app.config["PAGE_NAME"],
        status_label(message.incident_status),
    )
    existing = {v.outlet: v for v in message.variants}
    for outlet in Outlet:
        variant = existing.get(outlet)
        if variant is None:
            message.variants.append(MessageVariant(outlet=outlet, text=derived[outlet]))
        elif not variant.edited:
            variant.text = derived[outlet]


def misfit(outlet: Outlet, text: str) -> lengths.Measure | None:
    """The measure of a text that does not fit its outlet (too long, or unusable), else None."""
    measure = lengths.measure(outlet, text)
    return None if measure.ok else measure
