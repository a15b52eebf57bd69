"""View objects of the public read model, with their translatable labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import lazy_gettext as _l

from ...config import SUPPORTED_LOCALES
from ...models import ComponentStatus, Impact, IncidentKind, MaintenanceStatus
from ..markdown import render_markdown
from ..uptime import UptimeRun, runs_uptime, worst_status

ACTIVE_INCIDENT_STATUSES = ("investigating", "identified", "monitoring")
ACTIVE_MAINTENANCE_STATUSES = (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)

STATUS_LABELS = {
    ComponentStatus.OPERATIONAL: _l("Operational"),
    ComponentStatus.DEGRADED_PERFORMANCE: _l("Degraded performance"),
    ComponentStatus.PARTIAL_OUTAGE: _l("Partial outage"),
    ComponentStatus.MAJOR_OUTAGE: _l("Major outage"),
    ComponentStatus.UNDER_MAINTENANCE: _l("Under maintenance"),
}
INDICATOR_DESCRIPTIONS = {
    Impact.NONE: _l("All Systems Operational"),
    Impact.MINOR: _l("Minor Service Outage"),
    Impact.MAJOR: _l("Partial System Outage"),
    Impact.CRITICAL: _l("Major System Outage"),
    Impact.MAINTENANCE: _l("Service Under Maintenance"),
}
INCIDENT_STATUS_LABELS = {
    "investigating": _l("Investigating"),
    "identified": _l("Identified"),
    "monitoring": _l("Monitoring"),
    "resolved": _l("Resolved"),
    "postmortem": _l("Postmortem"),
    "scheduled": _l("Scheduled"),
    "in_progress": _l("In progress"),
    "verifying": _l("Verifying"),
    "completed": _l("Completed"),
}
IMPACT_LABELS = {
    Impact.NONE: _l("No impact"),
    Impact.MINOR: _l("Minor"),
    Impact.MAJOR: _l("Major"),
    Impact.CRITICAL: _l("Critical"),
    Impact.MAINTENANCE: _l("Maintenance"),
}
COMPONENT_INDICATOR = {
    ComponentStatus.DEGRADED_PERFORMANCE: Impact.MINOR,
    ComponentStatus.PARTIAL_OUTAGE: Impact.MAJOR,
    ComponentStatus.MAJOR_OUTAGE: Impact.CRITICAL,
}
INDICATOR_ORDER = [Impact.NONE, Impact.MAINTENANCE, Impact.MINOR, Impact.MAJOR, Impact.CRITICAL]


# ---------------------------------------------------------------- view objects


@dataclass(frozen=True)
class PageInfo:
    id: str
    name: str
    url: str
    time_zone: str
    updated_at: datetime
    version: int


@dataclass(frozen=True)
class OverallStatus:
    indicator: Impact
    description: str


@dataclass
class ComponentView:
    id: int
    public_id: str
    name: str
    description: str | None
    status: ComponentStatus
    position: int
    group_public_id: str | None
    only_show_if_degraded: bool
    showcase: bool
    created_at: datetime
    updated_at: datetime
    start_date: datetime | None
    # The uptime bar's days, as runs of alike consecutive days (oldest first).
    uptime_runs: list[UptimeRun] = field(default_factory=list)

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    @property
    def is_visible(self) -> bool:
        return not self.only_show_if_degraded or self.status != ComponentStatus.OPERATIONAL

    @property
    def uptime_percent(self) -> float | None:
        return runs_uptime(self.uptime_runs)

    @property
    def uptime_day_count(self) -> int:
        return sum(run.length for run in self.uptime_runs)


@dataclass
class GroupView:
    id: int
    public_id: str
    name: str
    description: str | None
    position: int
    created_at: datetime
    updated_at: datetime
    components: list[ComponentView]

    @property
    def status(self) -> ComponentStatus:
        return worst_status(c.status for c in self.components)

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    @property
    def visible_components(self) -> list[ComponentView]:
        return [c for c in self.components if c.is_visible]


@dataclass(frozen=True)
class AffectedComponent:
    code: str
    name: str
    old_status: ComponentStatus | None
    new_status: ComponentStatus


# The language updates are written in (the first configured one); translations add others.
ORIGINAL_LOCALE = SUPPORTED_LOCALES[0]


@dataclass(frozen=True)
class LocalizedText:
    """An update's text in one language, and which language that is (for `lang`)."""

    body: str
    lang: str

    @property
    def html(self):
        return render_markdown(self.body)


@dataclass(frozen=True)
class UpdateView:
    public_id: str
    status: str
    body: str
    created_at: datetime
    updated_at: datetime
    display_at: datetime
    affected_components: list[AffectedComponent]
    edited: bool = False
    # The published text in other languages ({locale: body}); `body` is the original.
    translations: dict[str, str] = field(default_factory=dict)

    @property
    def body_html(self):
        return render_markdown(self.body)

    @property
    def changed_at(self) -> datetime:
        """When its public text last changed: a revision keeps the original's `display_at`,
        so an edited update changed when the revision was published (its `updated_at`)."""
        return max(self.display_at, self.updated_at) if self.edited else self.display_at

    def localized(self, locale: str) -> LocalizedText:
        """What a reader of `locale` sees: the translation into it, else the original."""
        if locale in self.translations:
            return LocalizedText(self.translations[locale], locale)
        return LocalizedText(self.body, ORIGINAL_LOCALE)

    @property
    def status_label(self) -> str:
        return str(INCIDENT_STATUS_LABELS.get(self.status, self.status))


@dataclass(frozen=True)
class PostmortemView:
    """The published public version of an incident's postmortem (never a draft)."""

    body: str
    published_at: datetime
    updated_at: datetime

    @property
    def body_html(self):
        return render_markdown(self.body)

    @property
    def edited(self) -> bool:
        return self.updated_at != self.published_at


@dataclass
class IncidentView:
    id: int
    public_id: str
    kind: IncidentKind
    name: str
    status: str
    impact: Impact
    created_at: datetime
    updated_at: datetime
    started_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    scheduled_for: datetime | None
    scheduled_until: datetime | None
    components: list[ComponentView]
    updates: list[UpdateView]  # newest first
    next_update_due_at: datetime | None = None
    postmortem: PostmortemView | None = None

    @property
    def is_maintenance(self) -> bool:
        return self.kind == IncidentKind.MAINTENANCE

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_INCIDENT_STATUSES or self.status in ACTIVE_MAINTENANCE_STATUSES

    @property
    def latest_update(self) -> UpdateView | None:
        return self.updates[0] if self.updates else None

    @property
    def status_label(self) -> str:
        return str(INCIDENT_STATUS_LABELS.get(self.status, self.status))

    @property
    def impact_label(self) -> str:
        return str(IMPACT_LABELS[self.impact])

    @property
    def display_at(self) -> datetime:
        """When the event happened or happens, for grouping by day and month."""
        return self.scheduled_for if self.is_maintenance and self.scheduled_for else self.started_at

    @property
    def ended_at(self) -> datetime | None:
        return self.resolved_at


@dataclass
class HistoryMonth:
    first_day: date
    incidents: list[IncidentView]


@dataclass
class HistoryDay:
    day: date
    incidents: list[IncidentView]


@dataclass
class Summary:
    page: PageInfo
    status: OverallStatus
    groups: list[GroupView]
    ungrouped: list[ComponentView]
    components: list[ComponentView]
    incidents: list[IncidentView]  # unresolved incidents
    active_maintenance: list[IncidentView]
    upcoming_maintenance: list[IncidentView]

    @property
    def scheduled_maintenances(self) -> list[IncidentView]:
        return self.active_maintenance + self.upcoming_maintenance
