"""Demo data: a realistic status page with 90 days of history and a team to sign in with."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..models import (
    Channel,
    ChannelKind,
    Component,
    ComponentGroup,
    ComponentStatus,
    Impact,
    Incident,
    IncidentKind,
    IncidentStatus,
    MaintenanceStatus,
    MessageTemplate,
    Role,
)
from . import composer, users
from .updates import record_published_update

GROUPS = {
    "Core platform": ["API", "Web application", "Authentication", "Database"],
    "Delivery": ["Email notifications", "Webhooks", "Push notifications", "CDN"],
    "Integrations": ["Slack app", "GitHub sync", "Billing", "Search"],
}
DESCRIPTIONS = {
    "API": "REST and GraphQL endpoints at api.example.com",
    "Web application": "The dashboard at app.example.com",
    "CDN": "Static assets and file downloads",
}
TEAM = [
    ("admin@example.com", "Ada Admin", Role.ADMIN),
    ("im@example.com", "Ian Manager", Role.INCIDENT_MANAGER),
    ("comms@example.com", "Cora Comms", Role.COMMS_MANAGER),
    ("social@example.com", "Sol Social", Role.SOCIAL_LEAD),
    ("support@example.com", "Sam Support", Role.SUPPORT_AGENT),
    ("oncall@example.com", "Remy Responder", Role.RESPONDER),
]
PAST_INCIDENTS = [
    ("Elevated API error rates", Impact.MAJOR, ["API"], ComponentStatus.PARTIAL_OUTAGE),
    (
        "Delayed email notifications",
        Impact.MINOR,
        ["Email notifications"],
        ComponentStatus.DEGRADED_PERFORMANCE,
    ),
    (
        "Login failures for SSO users",
        Impact.MAJOR,
        ["Authentication"],
        ComponentStatus.PARTIAL_OUTAGE,
    ),
    (
        "Dashboard unavailable",
        Impact.CRITICAL,
        ["Web application", "API"],
        ComponentStatus.MAJOR_OUTAGE,
    ),
    (
        "Webhook deliveries delayed",
        Impact.MINOR,
        ["Webhooks"],
        ComponentStatus.DEGRADED_PERFORMANCE,
    ),
    ("Slow search results", Impact.MINOR, ["Search"], ComponentStatus.DEGRADED_PERFORMANCE),
    (
        "Database failover",
        Impact.CRITICAL,
        ["Database", "API", "Web application"],
        ComponentStatus.MAJOR_OUTAGE,
    ),
    ("Billing page errors", Impact.MINOR, ["Billing"], ComponentStatus.PARTIAL_OUTAGE),
    ("CDN cache misses in Europe", Impact.MINOR, ["CDN"], ComponentStatus.DEGRADED_PERFORMANCE),
    ("GitHub sync stalled", Impact.MAJOR, ["GitHub sync"], ComponentStatus.PARTIAL_OUTAGE),
    (
        "Push notifications not delivered",
        Impact.MAJOR,
        ["Push notifications"],
        ComponentStatus.MAJOR_OUTAGE,
    ),
    (
        "Intermittent timeouts on the API",
        Impact.MINOR,
        ["API"],
        ComponentStatus.DEGRADED_PERFORMANCE,
    ),
    ("Slack app unresponsive", Impact.MAJOR, ["Slack app"], ComponentStatus.MAJOR_OUTAGE),
    (
        "Password reset emails delayed",
        Impact.MINOR,
        ["Email notifications", "Authentication"],
        ComponentStatus.DEGRADED_PERFORMANCE,
    ),
    (
        "Increased latency for file downloads",
        Impact.NONE,
        ["CDN"],
        ComponentStatus.DEGRADED_PERFORMANCE,
    ),
]
ACTIVE_UPDATES = [
    (
        IncidentStatus.INVESTIGATING,
        "We are investigating reports of **failed webhook deliveries** "
        "and delays in email notifications. Some customers may not receive alerts.",
    ),
    (
        IncidentStatus.IDENTIFIED,
        "We have identified a saturated message queue in one region as "
        "the cause. Webhooks are being retried; no events have been lost.",
    ),
    (
        IncidentStatus.MONITORING,
        "A fix has been deployed and the backlog is draining. Deliveries "
        "are catching up; we are monitoring the results.",
    ),
]


TEMPLATES = [
    (
        "Investigating",
        IncidentStatus.INVESTIGATING,
        "We are investigating reports of problems with {affected_components}. We will post an "
        "update by {next_update_time}.",
    ),
    (
        "Investigating: degraded performance",
        IncidentStatus.INVESTIGATING,
        "{affected_components} is slower than usual. We are investigating and will post an "
        "update by {next_update_time}.",
    ),
    (
        "Identified",
        IncidentStatus.IDENTIFIED,
        "We have identified the cause of {incident_name} and are working on a fix.",
    ),
    (
        "Monitoring",
        IncidentStatus.MONITORING,
        "A fix has been deployed. We are monitoring {affected_components} to make sure it holds.",
    ),
    (
        "Resolved",
        IncidentStatus.RESOLVED,
        "{incident_name} has been resolved. {affected_components} is working normally again. "
        "We are sorry for the trouble.",
    ),
    (
        "Scheduled maintenance reminder",
        MaintenanceStatus.SCHEDULED,
        "Reminder: {incident_name} is scheduled. Details: {incident_url}",
    ),
]
DEMO_CHANNELS = [
    (ChannelKind.X, "@example_status", ["public"]),
    (ChannelKind.MASTODON, "@status@example.social", ["public"]),
    (ChannelKind.BLUESKY, "status.example.com", ["public"]),
    (ChannelKind.SLACK, "#incidents (internal)", ["internal"]),
    (ChannelKind.EMAIL, "Email subscribers", ["public"]),
]


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    role: Role
    password: str


def is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(Component))


def load_demo(now: datetime, seed: int = 7) -> list[DemoAccount]:
    """Fill an empty database with the demo page; returns the team's sign-in details."""
    rng = random.Random(seed)
    components = _components(now)
    _past_incidents(components, now, rng)
    active = _active_incident(components, now)
    _scheduled_maintenance(components, now)
    _templates_and_channels()
    db.session.commit()
    accounts = _team()
    _update_in_review(active)
    return accounts


def _components(now: datetime) -> dict[str, Component]:
    created = now - timedelta(days=120)
    result = {}
    for g_pos, (group_name, names) in enumerate(GROUPS.items()):
        group = ComponentGroup(name=group_name, position=g_pos, created_at=created)
        db.session.add(group)
        for pos, name in enumerate(names):
            result[name] = Component(
                name=name,
                description=DESCRIPTIONS.get(name),
                position=g_pos * 10 + pos,
                group=group,
                created_at=created,
                updated_at=created,
            )
            db.session.add(result[name])
    db.session.flush()
    return result


def _past_incidents(components: dict[str, Component], now: datetime, rng: random.Random) -> None:
    start = now - timedelta(days=88)
    for index, (name, impact, affected, status) in enumerate(PAST_INCIDENTS):
        began = start + timedelta(days=index * 5.6 + rng.uniform(0, 2), hours=rng.uniform(0, 20))
        duration = timedelta(minutes=rng.randint(25, 300))
        _resolved_incident(name, impact, [components[c] for c in affected], status, began, duration)


def _resolved_incident(name, impact, affected, status, began, duration) -> None:
    incident = Incident(
        name=name,
        impact=impact,
        status=IncidentStatus.INVESTIGATING,
        started_at=began,
        created_at=began,
        components=affected,
    )
    db.session.add(incident)
    db.session.flush()
    down = {c: status for c in affected}
    up = {c: ComponentStatus.OPERATIONAL for c in affected}
    steps = [
        (IncidentStatus.INVESTIGATING, f"We are investigating an issue: {name.lower()}.", down),
        (
            IncidentStatus.IDENTIFIED,
            "The cause has been identified and a fix is being worked on.",
            None,
        ),
        (
            IncidentStatus.MONITORING,
            "A fix has been implemented; we are monitoring the results.",
            up,
        ),
        (IncidentStatus.RESOLVED, "This incident has been resolved.", None),
    ]
    for n, (step_status, body, statuses) in enumerate(steps):
        at = began + duration * n / (len(steps) - 1)
        record_published_update(incident, step_status, body, at, statuses)


def _active_incident(components: dict[str, Component], now: datetime) -> Incident:
    affected = [components["Webhooks"], components["Email notifications"]]
    began = now - timedelta(minutes=95)
    incident = Incident(
        name="Delayed webhook and email deliveries",
        impact=Impact.MAJOR,
        status=IncidentStatus.INVESTIGATING,
        started_at=began,
        created_at=began,
        components=affected,
    )
    db.session.add(incident)
    db.session.flush()
    statuses = [
        {
            affected[0]: ComponentStatus.PARTIAL_OUTAGE,
            affected[1]: ComponentStatus.DEGRADED_PERFORMANCE,
        },
        None,
        {affected[0]: ComponentStatus.DEGRADED_PERFORMANCE},
    ]
    for n, ((status, body), changes) in enumerate(zip(ACTIVE_UPDATES, statuses, strict=True)):
        record_published_update(incident, status, body, began + timedelta(minutes=35 * n), changes)
    incident.next_update_due_at = now + timedelta(minutes=25)
    return incident


def _scheduled_maintenance(components: dict[str, Component], now: datetime) -> None:
    begins = (now + timedelta(days=3)).replace(hour=2, minute=0, second=0, microsecond=0)
    maintenance = Incident(
        kind=IncidentKind.MAINTENANCE,
        name="Database upgrade",
        impact=Impact.MAINTENANCE,
        status=MaintenanceStatus.SCHEDULED,
        started_at=begins,
        created_at=now,
        scheduled_for=begins,
        scheduled_until=begins + timedelta(hours=2),
        components=[components["Database"], components["API"]],
    )
    db.session.add(maintenance)
    db.session.flush()
    body = (
        "We will upgrade our primary database. The API may respond slowly for a few "
        "minutes during the switch-over; no downtime is expected."
    )
    record_published_update(maintenance, MaintenanceStatus.SCHEDULED, body, now)


def _templates_and_channels() -> None:
    for name, status, body in TEMPLATES:
        db.session.add(MessageTemplate(name=name, incident_status=status, body=body))
    # Channels are configured but off: the demo must never post to a real network.
    for kind, name, audiences in DEMO_CHANNELS:
        db.session.add(Channel(kind=kind, name=name, audiences=audiences, enabled=False))


def _update_in_review(incident: Incident) -> None:
    """An update by the comms manager, waiting for the incident manager's approval."""
    comms = users.find_by_email("comms@example.com")
    message = composer.create_draft(
        comms,
        incident,
        incident_status=IncidentStatus.RESOLVED,
        body="Webhook and email deliveries are back to normal and the backlog has been "
        "delivered. We are sorry for the delay.",
        component_statuses={c: ComponentStatus.OPERATIONAL for c in incident.components},
    )
    composer.submit(comms, message, comment="Ready once the queue is empty.")


def _team() -> list[DemoAccount]:
    accounts = []
    for email, name, role in TEAM:
        if users.find_by_email(email) is not None:
            continue
        password = secrets.token_urlsafe(12)
        users.create_user(email, name, role, password)
        accounts.append(DemoAccount(email, name, role, password))
    return accounts
