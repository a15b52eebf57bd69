"""The first draft of a postmortem, written from what Herald knows about the incident.

Summary, impact (components and duration, from the status history), customer impact
(from the feedback reports), the timeline (audit events and scribe entries) and empty
headings for what only people can write. Pure text building over a few queries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import format_timedelta
from flask_babel import gettext as _
from sqlalchemy import select

from ...extensions import db
from ...models import (
    Audience,
    Component,
    ComponentStatus,
    ComponentStatusChange,
    Incident,
    IncidentStatus,
    MessageState,
    utcnow,
)
from ..feedback.impact import CustomerImpact, customer_impact
from ..feedback.labels import region_label, source_label
from ..public.views import IMPACT_LABELS, INCIDENT_STATUS_LABELS, STATUS_LABELS
from ..timeline import markdown_lines
from ..uptime import DOWNTIME_WEIGHT, worst_status


@dataclass(frozen=True)
class ComponentImpact:
    name: str
    worst: ComponentStatus
    seconds_by_status: dict[ComponentStatus, float]

    @property
    def downtime_seconds(self) -> float:
        """Statuspage's rule: a major outage counts fully, a partial outage 30%."""
        return sum(DOWNTIME_WEIGHT.get(s, 0.0) * n for s, n in self.seconds_by_status.items())


def internal_draft(incident: Incident, now: datetime | None = None) -> str:
    """The full internal document, ready to be completed by the problem manager."""
    now = now or utcnow()
    sections = [
        _summary(incident, now),
        _impact(incident, now),
        _customer_impact(customer_impact(incident.id)),
        _timeline(incident),
        _heading(_("Root cause"), _("Why did it happen? Keep asking why.")),
        _heading(_("What went well"), ""),
        _heading(_("What went wrong"), ""),
        _heading(_("Actions"), _("Each follow-up action is tracked below the document.")),
    ]
    return "\n\n".join(sections).strip() + "\n"


def public_draft(incident: Incident) -> str:
    """A starting point for what customers read: no internal names, no timeline."""
    return "\n\n".join(
        [
            _heading(_("What happened"), ""),
            _heading(_("Why it happened"), ""),
            _heading(_("What we are doing so it does not happen again"), ""),
        ]
    ).strip()


def component_impacts(incident: Incident, now: datetime) -> list[ComponentImpact]:
    """Time each component spent in each status while this incident moved it."""
    changes = db.session.scalars(
        select(ComponentStatusChange)
        .where(ComponentStatusChange.incident_id == incident.id)
        .order_by(ComponentStatusChange.changed_at, ComponentStatusChange.id)
    ).all()
    by_component: dict[int, list[ComponentStatusChange]] = defaultdict(list)
    for change in changes:
        by_component[change.component_id].append(change)
    end = incident.resolved_at or now
    names = {c.id: c.name for c in incident.components}
    missing = [i for i in by_component if i not in names]
    if missing:
        names |= _component_names(missing)
    return [
        _component_impact(names.get(cid, "?"), rows, end)
        for cid, rows in sorted(by_component.items(), key=lambda item: names.get(item[0], ""))
    ]


def duration_text(start: datetime | None, end: datetime | None) -> str:
    """A span like "2 hours 13 minutes"."""
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


# ---------------------------------------------------------------- sections


def _summary(incident: Incident, now: datetime) -> str:
    end = incident.resolved_at
    lines = [
        f"# {_('Postmortem')}: {_one_line(incident.name)}",
        "",
        f"### {_('Summary')}",
        "",
        f"- {_('Incident')}: {incident.public_id}",
        f"- {_('Impact')}: {IMPACT_LABELS.get(incident.impact, incident.impact)}",
        f"- {_('Started')}: {_when(incident.started_at)}",
        f"- {_('Resolved')}: {_when(end) if end else _('not yet')}",
        f"- {_('Duration')}: {duration_text(incident.started_at, end or now)}",
        "",
        _("In two or three sentences: what happened, who was affected, how it was fixed."),
    ]
    return "\n".join(lines)


def _impact(incident: Incident, now: datetime) -> str:
    lines = [f"### {_('Impact')}", "", f"**{_('Components')}**", ""]
    impacts = component_impacts(incident, now)
    lines += [_component_line(item) for item in impacts] or [
        f"- {_('No component changed status during this incident.')}"
    ]
    lines += ["", f"**{_('Status history')}**", ""]
    lines += _status_history(incident) or [f"- {_('No public update was published.')}"]
    return "\n".join(lines)


def _customer_impact(impact: CustomerImpact) -> str:
    lines = [f"### {_('Customer impact')}", ""]
    if not impact.total:
        lines.append(f"- {_('No customer reported being affected.')}")
        return "\n".join(lines)
    lines.append(f"- {_('Customers who reported being affected: %(n)d', n=impact.total)}")
    lines.append(f"- {_('By component')}: {_counts(impact.by_component)}")
    sources = [(source_label(name), n) for name, n in impact.by_source]
    lines.append(f"- {_('By source')}: {_counts(sources)}")
    if any(name for name, _n in impact.by_region):
        regions = [(region_label(name), n) for name, n in impact.by_region]
        lines.append(f"- {_('By region')}: {_counts(regions)}")
    lines.append(f"- {_('Asked to hear back: %(n)d', n=impact.want_updates)}")
    return "\n".join(lines)


def _timeline(incident: Incident) -> str:
    entries = markdown_lines(incident) or [f"- {_('Nothing was recorded.')}"]
    return "\n".join([f"### {_('Timeline')}", "", *entries])


def _heading(title: str, hint: str) -> str:
    return f"### {title}\n\n{hint}".strip()


# ---------------------------------------------------------------- helpers


def _component_impact(name: str, rows: list[ComponentStatusChange], end: datetime):
    seconds: dict[ComponentStatus, float] = defaultdict(float)
    for change, following in zip(rows, [*rows[1:], None], strict=True):
        stop = following.changed_at if following is not None else max(end, change.changed_at)
        status = ComponentStatus(change.to_status)
        if status != ComponentStatus.OPERATIONAL:
            seconds[status] += max((stop - change.changed_at).total_seconds(), 0.0)
    return ComponentImpact(name, worst_status(seconds) if seconds else _worst(rows), seconds)


def _worst(rows: list[ComponentStatusChange]) -> ComponentStatus:
    return worst_status(row.to_status for row in rows)


def _component_line(item: ComponentImpact) -> str:
    spans = ", ".join(
        f"{STATUS_LABELS[status]} {duration_text(_zero, _zero + timedelta(seconds=n))}"
        for status, n in sorted(item.seconds_by_status.items(), key=lambda p: -p[1])
        if n >= 60
    )
    worst = STATUS_LABELS[item.worst]
    return f"- {_one_line(item.name)}: {_('worst')} {worst}" + (f" ({spans})" if spans else "")


def _status_history(incident: Incident) -> list[str]:
    """When the incident entered each status: its own stamps and its published updates."""
    points = [(incident.started_at, IncidentStatus.INVESTIGATING)]
    points += [
        (m.published_at, m.incident_status)
        for m in incident.messages
        if m.state == MessageState.PUBLISHED
        and m.audience == Audience.PUBLIC
        and m.superseded_at is None
        and m.published_at is not None
    ]
    points += (
        [(incident.monitoring_at, IncidentStatus.MONITORING)] if incident.monitoring_at else []
    )
    points += [(incident.resolved_at, IncidentStatus.RESOLVED)] if incident.resolved_at else []
    lines, last = [], None
    for at, status in sorted(points, key=lambda point: point[0]):
        if status == last:
            continue
        last = status
        lines.append(f"- `{_when(at)}`: {INCIDENT_STATUS_LABELS.get(status, status)}")
    return lines


def _counts(pairs: list[tuple[str, int]]) -> str:
    return ", ".join(f"{_one_line(name) or _('not named')} {n}" for name, n in pairs)


def _component_names(ids: list[int]) -> dict[int, str]:
    rows = db.session.execute(select(Component.id, Component.name).where(Component.id.in_(ids)))
    return dict(rows.all())


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _one_line(text: str) -> str:
    return " ".join((text or "").split())


_zero = datetime(2000, 1, 1)
